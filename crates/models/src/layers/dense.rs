//! Fully connected layer on the last axis (Keras `Dense`): `y = act(x @ kernel + bias)`.
//!
//! Spec (`type = "dense"`): `units`, `activation` (`"linear"`). Shapes: `(B, F)` → `(B, U)` or
//! `(B, T, F)` → `(B, T, U)`; a mask passes through. Parameters (Keras): `kernel` `(F, U)`
//! glorot-uniform, `bias` `(U)` zeros. The model's last layer is a dense layer whose activation
//! (sigmoid or softmax) decides the model's [`crate::Output`]; it is not applied there (the model
//! returns logits).
//!
//! ```
//! use candle_core::{DType, Device, Module, Tensor};
//! use candle_nn::VarBuilder;
//! use textrnn_models::Activation;
//! let dense = textrnn_models::dense(8, 3, Activation::Relu, VarBuilder::zeros(DType::F32, &Device::Cpu))?;
//! let x = Tensor::ones((2, 5, 8), DType::F32, &Device::Cpu)?;
//! assert_eq!(dense.forward(&x)?.dims(), &[2, 5, 3]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::{BuildContext, FeatureShape, Flow, Forward, LayerKind, PlanContext, Planned, Work};
use crate::error::Result;
use crate::init::{Initializer, ParamSpec};
use crate::layers::activation::Activation;
use crate::onnx::OnnxLayer;
use crate::Mode;

/// Keras `Dense`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseSpec {
    /// Output width.
    pub units: usize,
    /// Activation; for the last layer it decides the model [`crate::Output`] and is not applied
    /// to logits.
    #[serde(default)]
    pub activation: Activation,
}

impl LayerKind for DenseSpec {
    fn plan(&self, cx: &PlanContext) -> Result<Planned> {
        if self.units == 0 {
            return Err(cx.err("units must be positive"));
        }
        let output = match cx.input {
            FeatureShape::Seq(t, _) => FeatureShape::Seq(t, self.units),
            _ => FeatureShape::Flat(self.units),
        };
        Ok(cx.planned(output, params(cx.input.features(), self.units)))
    }

    fn build(&self, cx: BuildContext) -> Result<Arc<dyn Forward>> {
        let activation = if cx.output_layer {
            Activation::Linear
        } else {
            self.activation
        };
        Ok(Arc::new(dense(
            cx.input.features(),
            self.units,
            activation,
            cx.vb,
        )?))
    }

    /// `MatMul` + `Add` + the activation (none on the output layer, which leaves logits).
    fn to_onnx(&self, cx: &mut OnnxLayer) -> Result<()> {
        let (kernel, bias) = (cx.param()?, cx.param()?);
        let kernel = cx.tensor("kernel", &kernel)?;
        let bias = cx.tensor("bias", &bias)?;
        let x = cx.x.clone();
        let y = cx.op("MatMul", "matmul", &[&x, &kernel], Vec::new());
        let y = cx.op("Add", "add", &[&y, &bias], Vec::new());
        cx.x = if cx.output_layer {
            y
        } else {
            self.activation.onnx(cx, &y)
        };
        Ok(())
    }

    /// The affine output and its activation.
    fn training_elements(&self, _input: FeatureShape, output: FeatureShape) -> Option<Work> {
        let out = output.elements()?;
        Work::of(&[out, out])
    }
}

/// A dense layer.
#[derive(Debug, Clone)]
pub struct Dense {
    kernel: Tensor,
    bias: Tensor,
    activation: Activation,
}

/// Declared parameters (local names).
pub(crate) fn params(in_dim: usize, units: usize) -> Vec<ParamSpec> {
    vec![
        ParamSpec::new("kernel", vec![in_dim, units], Initializer::GlorotUniform),
        ParamSpec::new("bias", vec![units], Initializer::Zeros),
    ]
}

/// Builds a dense layer `in_dim → units`.
pub fn dense(in_dim: usize, units: usize, activation: Activation, vb: VarBuilder) -> Result<Dense> {
    let mut t = super::get_all(&params(in_dim, units), &vb)?.into_iter();
    Ok(Dense {
        kernel: super::next(&mut t, "dense")?,
        bias: super::next(&mut t, "dense")?,
        activation,
    })
}

impl Module for Dense {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = match x.dims() {
            [b, t, f] => x
                .reshape((b * t, *f))?
                .matmul(&self.kernel)?
                .reshape((*b, *t, ()))?,
            _ => x.matmul(&self.kernel)?,
        };
        self.activation.apply(&y.broadcast_add(&self.bias)?)
    }
}

impl Forward for Dense {
    fn forward_flow(&self, flow: Flow, _mode: &mut Mode) -> candle_core::Result<Flow> {
        flow.map(|x| self.forward(x))
    }
}

//! Fully connected layer on the last axis: `y = act(x @ kernel + bias)`.
//!
//! Shapes: `(B, F)` → `(B, U)` or `(B, T, F)` → `(B, T, U)`. Parameters (Keras): `kernel` `(F, U)`
//! glorot-uniform, `bias` `(U)` zeros.
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

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;

use crate::error::Result;
use crate::init::{Initializer, ParamSpec};
use crate::spec::Activation;

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

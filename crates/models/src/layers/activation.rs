//! The activations of `dense` and `conv1d` layers (Keras names).
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use textrnn_models::Activation;
//! let x = Tensor::new(&[-1f32, 2.0], &Device::Cpu)?;
//! assert_eq!(Activation::Relu.apply(&x)?.to_vec1::<f32>()?, vec![0.0, 2.0]);
//! # Ok::<(), candle_core::Error>(())
//! ```

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// Elementwise (or, for softmax, last-axis) activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Identity.
    #[default]
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// Softmax over the last axis.
    Softmax,
}

impl Activation {
    /// Applies the activation.
    pub fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Linear => Ok(x.clone()),
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => candle_nn::ops::sigmoid(x),
            Activation::Softmax => candle_nn::ops::softmax_last_dim(x),
        }
    }

    /// The activation applied to the ONNX value `x` of a layer: the output value (`x` itself
    /// for `linear`).
    pub(crate) fn onnx(self, cx: &mut crate::onnx::OnnxLayer, x: &str) -> String {
        let (op, attrs) = match self {
            Activation::Linear => return x.to_string(),
            Activation::Relu => ("Relu", Vec::new()),
            Activation::Tanh => ("Tanh", Vec::new()),
            Activation::Sigmoid => ("Sigmoid", Vec::new()),
            Activation::Softmax => ("Softmax", vec![crate::onnx::int("axis", -1)]),
        };
        cx.op(op, self.name(), &[x], attrs)
    }

    /// The Keras name (`"relu"`), as written in a spec.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
        }
    }
}

//! 1-D convolution over time, channels last (Keras `Conv1D`).
//!
//! Spec (`type = "conv1d"`): `filters` `F`, `kernel_size` `K`, `strides` `s` (1), `padding`
//! (`"valid"`), `activation` (`"linear"`, not softmax). It needs a sequence input and, as in
//! Keras, rejects a masked one.
//!
//! `y[b, j, f] = act(bias[f] + Σ_{k, c} x[b, j·s + k − pad_l, c] · kernel[k, c, f])`.
//! Shapes: `(B, T, C)` → `(B, T', F)` with `T' = ⌊(T − K)/s⌋ + 1` (`valid`) or `⌈T/s⌉` (`same`,
//! zero padding `pad_l = ⌊P/2⌋`, `pad_r = P − pad_l`, `P = max((T'−1)·s + K − T, 0)`, as
//! TensorFlow). Parameters (Keras): `kernel` `(K, C, F)` glorot-uniform (fan_in `K·C`, fan_out
//! `K·F`), `bias` `(F)` zeros. Masks are not supported (as in Keras).
//!
//! Computed as im2col + one matmul: the windows are gathered with a single `index_select` into
//! `(B, T', K·C)` and multiplied by the kernel viewed as `(K·C, F)`. This avoids candle's
//! `conv1d`, whose CPU kernel gradient is wrong in candle 0.11.1 (backward passes a
//! non-contiguous kernel to the CPU `conv1d`, which mishandles it: huggingface/candle#3836),
//! keeps the Keras `(B, T, C)` layout throughout, and works the same on every device.
//!
//! ```
//! use candle_core::{DType, Device, Module, Tensor};
//! use candle_nn::VarBuilder;
//! use textrnn_models::{Activation, Conv1dSpec, Padding};
//! let spec = Conv1dSpec { filters: 6, kernel_size: 3, strides: 2, padding: Padding::Same, activation: Activation::Relu };
//! let conv = textrnn_models::conv1d(4, &spec, VarBuilder::zeros(DType::F32, &Device::Cpu))?;
//! let x = Tensor::ones((2, 9, 4), DType::F32, &Device::Cpu)?;
//! assert_eq!(conv.forward(&x)?.dims(), &[2, 5, 6]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::window::{pads, planned_len, same_padding, seq_dims, Padding};
use super::{BuildContext, FeatureShape, Flow, Forward, LayerKind, PlanContext, Planned, Work};
use crate::error::Result;
use crate::init::{Initializer, ParamSpec};
use crate::layers::activation::Activation;
use crate::onnx::{dim, ints, OnnxLayer};
use crate::Mode;

/// Keras `Conv1D` on `(T, C)` inputs (channels last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv1dSpec {
    /// Output channels.
    pub filters: usize,
    /// Kernel width `k`.
    pub kernel_size: usize,
    /// Stride `s`.
    #[serde(default = "default_strides")]
    pub strides: usize,
    /// Padding.
    #[serde(default)]
    pub padding: Padding,
    /// Activation (not softmax).
    #[serde(default)]
    pub activation: Activation,
}

fn default_strides() -> usize {
    1
}

impl LayerKind for Conv1dSpec {
    fn plan(&self, cx: &PlanContext) -> Result<Planned> {
        let (t, f) = cx.sequence("conv1d")?;
        cx.reject_mask("conv1d")?;
        if self.filters == 0 || self.kernel_size == 0 || self.strides == 0 {
            return Err(cx.err("filters, kernel_size and strides must be positive"));
        }
        if self.activation == Activation::Softmax {
            return Err(cx.err("conv1d activation cannot be softmax"));
        }
        let t_out = planned_len(
            cx,
            t,
            ("kernel_size", self.kernel_size),
            self.strides,
            self.padding,
        )?;
        Ok(cx.planned(
            FeatureShape::Seq(t_out, self.filters),
            params(f, self.filters, self.kernel_size),
        ))
    }

    fn build(&self, cx: BuildContext) -> Result<Arc<dyn Forward>> {
        Ok(Arc::new(conv1d(cx.input.features(), self, cx.vb)?))
    }

    /// `Conv` on `(B, C, T)` (kernel `(K, C, F)` as ONNX's `(F, C, K)`, TensorFlow's `same`
    /// split as explicit pads) + the activation, between two `Transpose`s.
    fn to_onnx(&self, cx: &mut OnnxLayer) -> Result<()> {
        let (kernel, bias) = (cx.param()?, cx.param()?);
        let kernel = cx.tensor("kernel", &kernel.permute((2, 1, 0))?)?;
        let bias = cx.tensor("bias", &bias)?;
        let (t, _) = seq_dims(cx)?;
        let (left, right) = pads(t, self.kernel_size, self.strides, self.padding);
        let x = cx.x.clone();
        let ncw = cx.transpose(&x, &[0, 2, 1]);
        let attrs = vec![
            ints("kernel_shape", &[dim(self.kernel_size)?]),
            ints("strides", &[dim(self.strides)?]),
            ints("pads", &[dim(left)?, dim(right)?]),
        ];
        let y = cx.op("Conv", "conv", &[&ncw, &kernel, &bias], attrs);
        let y = self.activation.onnx(cx, &y);
        cx.x = cx.transpose(&y, &[0, 2, 1]);
        Ok(())
    }

    /// The gathered windows `(T', k·C)`, the convolution and its activation `(T', filters)`.
    fn training_elements(&self, input: FeatureShape, output: FeatureShape) -> Option<Work> {
        let out = output.elements()?;
        let windows = (output.dims().first().copied().unwrap_or(0))
            .checked_mul(self.kernel_size)?
            .checked_mul(input.features())?;
        Work::of(&[windows, out, out])
    }
}

/// A 1-D convolution.
#[derive(Debug, Clone)]
pub struct Conv1d {
    /// Keras layout `(K, C, F)`.
    kernel: Tensor,
    bias: Tensor,
    kernel_size: usize,
    stride: usize,
    padding: Padding,
    activation: Activation,
}

/// Declared parameters (local names).
pub(crate) fn params(in_channels: usize, filters: usize, kernel_size: usize) -> Vec<ParamSpec> {
    vec![
        ParamSpec::new(
            "kernel",
            vec![kernel_size, in_channels, filters],
            Initializer::GlorotUniform,
        ),
        ParamSpec::new("bias", vec![filters], Initializer::Zeros),
    ]
}

/// Builds a convolution on `in_channels` input channels.
pub fn conv1d(in_channels: usize, spec: &Conv1dSpec, vb: VarBuilder) -> Result<Conv1d> {
    let decl = params(in_channels, spec.filters, spec.kernel_size);
    let mut t = super::get_all(&decl, &vb)?.into_iter();
    Ok(Conv1d {
        kernel: super::next(&mut t, "conv1d")?,
        bias: super::next(&mut t, "conv1d")?,
        kernel_size: spec.kernel_size,
        stride: spec.strides,
        padding: spec.padding,
        activation: spec.activation,
    })
}

impl Module for Conv1d {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, c) = x.dims3()?;
        let (k, s) = (self.kernel_size, self.stride);
        let (x, t_pad) = match self.padding {
            Padding::Valid => (x.clone(), t),
            Padding::Same => {
                let (l, r) = same_padding(t, k, s);
                (x.pad_with_zeros(1, l, r)?, t + l + r)
            }
        };
        if t_pad < k || k == 0 || s == 0 {
            candle_core::bail!("conv1d: kernel_size {k} does not fit {t} steps");
        }
        let t_out = (t_pad - k) / s + 1;
        let idx: Vec<u32> = (0..t_out)
            .flat_map(|j| (0..k).map(move |kk| (j * s + kk) as u32))
            .collect();
        let idx = Tensor::from_vec(idx, t_out * k, x.device())?;
        let filters = self.bias.dim(0)?;
        let cols = x.index_select(&idx, 1)?.reshape((b * t_out, k * c))?;
        let y = cols
            .matmul(&self.kernel.reshape((k * c, filters))?)?
            .broadcast_add(&self.bias)?
            .reshape((b, t_out, filters))?;
        self.activation.apply(&y)
    }
}

impl Forward for Conv1d {
    fn forward_flow(&self, flow: Flow, _mode: &mut Mode) -> candle_core::Result<Flow> {
        flow.map(|x| self.forward(x))
    }
}

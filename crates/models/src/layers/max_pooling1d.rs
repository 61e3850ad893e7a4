//! 1-D max pooling over time, channels last (Keras `MaxPooling1D`).
//!
//! Spec (`type = "max_pooling1d"`): `pool_size` `p` (2), `strides` `s` (= `pool_size`),
//! `padding` (`"valid"`). It needs a sequence input and, as in Keras, rejects a masked one; no
//! parameters.
//!
//! `y[b, j, c] = max_{k < p} x[b, j·s + k − pad_l, c]`. Shapes: `(B, T, C)` → `(B, T', C)` with
//! `T' = ⌊(T − p)/s⌋ + 1` (`valid`) or `⌈T/s⌉` (`same`, TensorFlow padding, padded positions never
//! win). candle-nn has no 1-D pool (and `max_pool2d` has no backward pass when stride ≠ size),
//! so the windows are gathered with one `index_select` into `(B, T', p, C)` and reduced with
//! `max`; out-of-range (padding) indices are clamped onto the nearest real step, which lies in
//! the same window, so the maximum is unchanged. Masks are not supported (as in Keras).
//!
//! Gradient: all of it goes to the first step of the window holding the maximum (TensorFlow's
//! `MaxPoolGrad`), not shared by tied steps; ties are common where identical padding vectors
//! fill a window, and a clamped padding index ties with the step it repeats.
//!
//! ```
//! use candle_core::{Device, Module, Tensor};
//! use textrnn_models::{MaxPooling1d, MaxPooling1dSpec, Padding};
//! let pool = MaxPooling1d::new(&MaxPooling1dSpec { pool_size: 2, strides: None, padding: Padding::Valid });
//! let x = Tensor::new(&[[[1f32], [5.], [2.], [0.], [9.]]], &Device::Cpu)?;
//! assert_eq!(pool.forward(&x)?.flatten_all()?.to_vec1::<f32>()?, vec![5.0, 2.0]);
//! # Ok::<(), candle_core::Error>(())
//! ```

use std::sync::Arc;

use candle_core::{Module, Tensor};
use serde::{Deserialize, Serialize};

use super::window::{pads, planned_len, same_padding, seq_dims, window_len, Padding};
use super::{BuildContext, FeatureShape, Flow, Forward, LayerKind, PlanContext, Planned, Work};
use crate::error::Result;
use crate::onnx::{dim, ints, OnnxLayer};
use crate::Mode;

/// Keras `MaxPooling1D` on `(T, C)` inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPooling1dSpec {
    /// Window `p`.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Stride; `None` means `pool_size`.
    #[serde(default)]
    pub strides: Option<usize>,
    /// Padding.
    #[serde(default)]
    pub padding: Padding,
}

fn default_pool_size() -> usize {
    2
}

impl MaxPooling1dSpec {
    /// The stride actually used.
    pub fn stride(&self) -> usize {
        self.strides.unwrap_or(self.pool_size)
    }
}

impl LayerKind for MaxPooling1dSpec {
    fn plan(&self, cx: &PlanContext) -> Result<Planned> {
        let (t, f) = cx.sequence("max_pooling1d")?;
        cx.reject_mask("max_pooling1d")?;
        if self.pool_size == 0 || self.stride() == 0 {
            return Err(cx.err("pool_size and strides must be positive"));
        }
        let t_out = planned_len(
            cx,
            t,
            ("pool_size", self.pool_size),
            self.stride(),
            self.padding,
        )?;
        Ok(cx.planned(FeatureShape::Seq(t_out, f), Vec::new()))
    }

    fn build(&self, _cx: BuildContext) -> Result<Arc<dyn Forward>> {
        Ok(Arc::new(MaxPooling1d::new(self)))
    }

    /// `MaxPool` on `(B, C, T)` (padding never wins) between two `Transpose`s.
    fn to_onnx(&self, cx: &mut OnnxLayer) -> Result<()> {
        let (t, _) = seq_dims(cx)?;
        let (left, right) = pads(t, self.pool_size, self.stride(), self.padding);
        let x = cx.x.clone();
        let ncw = cx.transpose(&x, &[0, 2, 1]);
        let attrs = vec![
            ints("kernel_shape", &[dim(self.pool_size)?]),
            ints("strides", &[dim(self.stride())?]),
            ints("pads", &[dim(left)?, dim(right)?]),
        ];
        let y = cx.op("MaxPool", "max_pool", &[&ncw], attrs);
        cx.x = cx.transpose(&y, &[0, 2, 1]);
        Ok(())
    }

    /// The gathered windows `(T', p·C)` and the maxima `(T', C)`.
    fn training_elements(&self, _input: FeatureShape, output: FeatureShape) -> Option<Work> {
        let out = output.elements()?;
        Work::of(&[out.checked_mul(self.pool_size)?, out])
    }
}

/// A 1-D max pooling layer (no parameters).
#[derive(Debug, Clone, Copy)]
pub struct MaxPooling1d {
    pool_size: usize,
    stride: usize,
    padding: Padding,
}

impl MaxPooling1d {
    /// Builds the layer from its spec (`strides = None` means `pool_size`).
    pub fn new(spec: &MaxPooling1dSpec) -> Self {
        Self {
            pool_size: spec.pool_size,
            stride: spec.stride(),
            padding: spec.padding,
        }
    }
}

impl Module for MaxPooling1d {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, c) = x.dims3()?;
        let (p, s) = (self.pool_size, self.stride);
        let t_out = window_len(t, p, s, self.padding);
        if t_out == 0 || p == 0 {
            candle_core::bail!("max_pooling1d: pool_size {p} does not fit {t} steps");
        }
        let left = match self.padding {
            Padding::Valid => 0,
            Padding::Same => same_padding(t, p, s).0,
        };
        let mut idx = Vec::with_capacity(t_out * p);
        for j in 0..t_out {
            for k in 0..p {
                let pos = (j * s + k) as i64 - left as i64;
                idx.push(pos.clamp(0, t as i64 - 1) as u32);
            }
        }
        let idx = Tensor::from_vec(idx, t_out * p, x.device())?;
        let windows = x.index_select(&idx, 1)?.reshape((b, t_out, p, c))?;
        // The value at the window's first maximum, as a gather: its backward pass sends the
        // gradient to that one step, as TensorFlow's MaxPoolGrad does. `max(2)` would send it to
        // every tied step, and the padded stretch of a pre-padded sequence is all ties.
        let first = windows.argmax_keepdim(2)?;
        windows.gather(&first, 2)?.squeeze(2)
    }
}

impl Forward for MaxPooling1d {
    fn forward_flow(&self, flow: Flow, _mode: &mut Mode) -> candle_core::Result<Flow> {
        flow.map(|x| self.forward(x))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// d(Σ_j w_j y_j)/dx for `x` `(1, T, 1)`, with weights `w` on the pooled outputs.
    fn grad(spec: &MaxPooling1dSpec, x: &[f32], w: &[f32]) -> Vec<f32> {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::from_slice(x, (1, x.len(), 1), &dev).unwrap()).unwrap();
        let y = MaxPooling1d::new(spec).forward(x.as_tensor()).unwrap();
        let w = Tensor::from_slice(w, (1, w.len(), 1), &dev).unwrap();
        let grads = (y * w).unwrap().sum_all().unwrap().backward().unwrap();
        grads
            .get(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn the_gradient_goes_to_the_first_maximum_of_a_window() {
        let spec = MaxPooling1dSpec {
            pool_size: 2,
            strides: None,
            padding: Padding::Valid,
        };
        // windows [3, 3] and [1, 1]: y = [3, 1]; TensorFlow routes each output's gradient to
        // the first step of its window that holds the maximum
        assert_eq!(
            grad(&spec, &[3.0, 3.0, 1.0, 1.0], &[1.0, 2.0]),
            [1.0, 0.0, 2.0, 0.0]
        );
        // no ties: the maximum's own step
        assert_eq!(
            grad(&spec, &[1.0, 4.0, 6.0, 2.0], &[1.0, 2.0]),
            [0.0, 1.0, 2.0, 0.0]
        );
    }

    #[test]
    fn a_clamped_padding_step_does_not_double_the_gradient() {
        // T = 3, pool 2, stride 2, same: windows [x0, x1] and [x2, pad]; the pad index is
        // clamped onto x2, which must still get the gradient once
        let spec = MaxPooling1dSpec {
            pool_size: 2,
            strides: None,
            padding: Padding::Same,
        };
        assert_eq!(grad(&spec, &[5.0, 1.0, 2.0], &[1.0, 3.0]), [1.0, 0.0, 3.0]);
    }
}

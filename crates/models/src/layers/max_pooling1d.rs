//! 1-D max pooling over time, channels last (Keras `MaxPooling1D`).
//!
//! `y[b, j, c] = max_{k < p} x[b, j·s + k − pad_l, c]`. Shapes: `(B, T, C)` → `(B, T', C)` with
//! `T' = ⌊(T − p)/s⌋ + 1` (`valid`) or `⌈T/s⌉` (`same`, TensorFlow padding, padded positions never
//! win). candle-nn has no 1-D pool (and `max_pool2d` has no backward pass when stride ≠ size),
//! so the windows are gathered with one `index_select` into `(B, T', p, C)` and reduced with
//! `max`; out-of-range (padding) indices are clamped onto the nearest real step, which lies in
//! the same window, so the maximum is unchanged. Masks are not supported (as in Keras).
//!
//! ```
//! use candle_core::{Device, Module, Tensor};
//! use textrnn_models::{MaxPooling1d, MaxPooling1dSpec, Padding};
//! let pool = MaxPooling1d::new(&MaxPooling1dSpec { pool_size: 2, strides: None, padding: Padding::Valid });
//! let x = Tensor::new(&[[[1f32], [5.], [2.], [0.], [9.]]], &Device::Cpu)?;
//! assert_eq!(pool.forward(&x)?.flatten_all()?.to_vec1::<f32>()?, vec![5.0, 2.0]);
//! # Ok::<(), candle_core::Error>(())
//! ```

use candle_core::{Module, Tensor};

use crate::spec::{same_padding, window_len, MaxPooling1dSpec, Padding};

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
        x.index_select(&idx, 1)?.reshape((b, t_out, p, c))?.max(2)
    }
}

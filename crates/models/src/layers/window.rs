//! Window arithmetic shared by `conv1d` and `max_pooling1d`: padding modes, output lengths and
//! TensorFlow's `same` padding split.
//!
//! ```
//! use textrnn_models::Padding;
//! let padding: Padding = serde_json::from_str(r#""same""#)?;
//! assert_eq!(padding, Padding::Same);
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};

/// `valid` (no padding) or `same` (TensorFlow-style padding to `⌈T/s⌉` outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// No padding.
    #[default]
    Valid,
    /// Pad so that the output has `⌈T / strides⌉` steps (left gets the smaller half).
    Same,
}

/// Output length of a window op (conv or pooling) on `t` steps.
pub(crate) fn window_len(t: usize, window: usize, stride: usize, padding: Padding) -> usize {
    match padding {
        Padding::Valid if t < window => 0,
        Padding::Valid => (t - window) / stride + 1,
        Padding::Same => t.div_ceil(stride),
    }
}

/// Left and right padding of a `same` window op, TensorFlow convention.
pub(crate) fn same_padding(t: usize, window: usize, stride: usize) -> (usize, usize) {
    let out = t.div_ceil(stride);
    // `(out - 1)·stride < t`, so only adding a (planned, bounded) window could overflow.
    let total = (out.saturating_sub(1) * stride)
        .saturating_add(window)
        .saturating_sub(t);
    (total / 2, total - total / 2)
}

/// The planned output length of a window op on `t` steps; when the length is known, a window
/// longer than a `valid` input is an error naming `field` (`kernel_size`, `pool_size`).
pub(crate) fn planned_len(
    cx: &super::PlanContext,
    t: usize,
    (field, window): (&str, usize),
    stride: usize,
    padding: Padding,
) -> crate::Result<usize> {
    let t_out = window_len(t, window, stride, padding);
    if cx.check_lengths && t_out == 0 {
        return Err(cx.err(format!(
            "{field} {window} is longer than the input ({t} steps) with valid padding"
        )));
    }
    Ok(t_out)
}

/// Left and right padding of a window op on `t` steps (none for `valid`): the ONNX `pads`.
pub(crate) fn pads(t: usize, window: usize, stride: usize, padding: Padding) -> (usize, usize) {
    match padding {
        Padding::Valid => (0, 0),
        Padding::Same => same_padding(t, window, stride),
    }
}

/// The `(T, C)` input of a window op's ONNX emission.
pub(crate) fn seq_dims(cx: &crate::onnx::OnnxLayer) -> crate::Result<(usize, usize)> {
    match cx.input {
        super::FeatureShape::Seq(t, c) => Ok((t, c)),
        other => Err(crate::Error::InvalidSpec {
            layer: cx.name.to_string(),
            reason: format!(
                "expects a sequence input (None, T, C), got {:?}",
                other.dims()
            ),
        }),
    }
}

//! How a recurrence runs: [`Options`] (direction, outputs, mask, recurrent dropout, backend,
//! buffer pool).

use candle_core::{DType, Result, Tensor};

use crate::pool::Pool;

/// Which hidden states [`run`](crate::run) returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Outputs {
    /// Every step, `(B,T,u)` (Keras `return_sequences=True`).
    #[default]
    Sequence,
    /// The final state only, `(B,u)`: step `T-1`, or step 0 when `reverse` (masked steps carry
    /// the state). The fused ops then output nothing else: at inference they keep nothing else,
    /// and when training they keep the steps' states for backward themselves, so the graph never
    /// holds (or zero-fills the gradient of) a `(B,T,u)` sequence.
    Final,
}

impl Outputs {
    /// `out` `(B,T',u)` as this selection (`T' = 1` when the op already kept the final state).
    pub(crate) fn select(self, out: Tensor, reverse: bool) -> Result<Tensor> {
        match self {
            Outputs::Sequence => Ok(out),
            Outputs::Final => {
                let last = if reverse { 0 } else { out.dim(1)? - 1 };
                out.narrow(1, last, 1)?.squeeze(1)
            }
        }
    }
}

/// Which implementation runs the recurrence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The fused CPU kernels for f32/f64 tensors on the CPU, the step-wise reference otherwise.
    #[default]
    Auto,
    /// The fused CPU kernels; an error for other devices and dtypes.
    Fused,
    /// The step-wise candle reference (ground truth, any device and float dtype).
    Reference,
}

impl Backend {
    /// Whether this backend runs the fused kernels on tensors like `like` (an error when it
    /// must and cannot).
    pub fn runs_fused(self, like: &Tensor) -> Result<bool> {
        let supported = like.device().is_cpu() && matches!(like.dtype(), DType::F32 | DType::F64);
        match self {
            Backend::Auto => Ok(supported),
            Backend::Reference => Ok(false),
            Backend::Fused if supported => Ok(true),
            Backend::Fused => candle_core::bail!(
                "the fused recurrence runs on the CPU in f32 or f64, got {:?} on {:?}",
                like.dtype(),
                like.device().location()
            ),
        }
    }
}

/// How [`run`](crate::run) runs, with [`Default`] for a forward, unmasked recurrence over every
/// step without dropout on the automatic backend and without buffer reuse.
///
/// Gradients follow the tensors, as everywhere in candle: at inference pass detached tensors
/// ([`Tensor::detach`]) and the fused ops keep no activations for backward.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// Visit the steps from `T-1` down to 0 (the backward direction of a bidirectional layer).
    /// Output position `t` is input position `t` either way.
    pub reverse: bool,
    /// Every step or the final state only.
    pub outputs: Outputs,
    /// `(B,T)` padding mask, 1 for a real step and 0 for padding (any float dtype): a step with
    /// mask `m` blends `state = m·new + (1-m)·old`, so a padded step carries the state and
    /// outputs the carried `h`.
    pub mask: Option<&'a Tensor>,
    /// `(B,u)` recurrent dropout mask already scaled by `1/(1-p)`, applied to `h` before the
    /// recurrent product at every step.
    pub recurrent_dropout: Option<&'a Tensor>,
    /// The implementation.
    pub backend: Backend,
    /// Where the fused ops take their large per-batch buffers from and give them back to; `None`
    /// allocates them per call.
    pub pool: Option<&'a Pool>,
}

/// Visiting order of the time steps.
pub(crate) fn step_order(t: usize, reverse: bool) -> Vec<usize> {
    if reverse {
        (0..t).rev().collect()
    } else {
        (0..t).collect()
    }
}

//! The recurrent cell a caller runs: its kind, recurrent weights and initial state.

use candle_core::{Result, Tensor};

/// A recurrent cell: its recurrent weights and initial state (`B` batch, `u` units).
///
/// - LSTM, gate order i, f, c, o: `z = xproj_t + (h ⊙ rd) · w_hh`, `i, f, g, o = σ, σ, tanh, σ`
///   of the slices, `c = f ⊙ c + i ⊙ g`, `h = o ⊙ tanh(c)`.
/// - GRU (Keras `reset_after`), gate order z, r, h: `hi = (h ⊙ rd) · w_hh + b_hh`,
///   `z = σ(x_z + hi_z)`, `r = σ(x_r + hi_r)`, `n = tanh(x_h + r ⊙ hi_h)`,
///   `h = z ⊙ h_prev + (1 - z) ⊙ n`.
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    /// LSTM: `w_hh` `(u,4u)`, initial hidden and cell states `h0`, `c0` `(B,u)`.
    Lstm {
        /// Recurrent kernel `(u,4u)`.
        w_hh: &'a Tensor,
        /// Initial hidden state `(B,u)`.
        h0: &'a Tensor,
        /// Initial cell state `(B,u)`.
        c0: &'a Tensor,
    },
    /// GRU (`reset_after`): `w_hh` `(u,3u)`, recurrent bias `b_hh` `(3u)`, initial state `h0`
    /// `(B,u)`.
    Gru {
        /// Recurrent kernel `(u,3u)`.
        w_hh: &'a Tensor,
        /// Recurrent bias `(3u)`.
        b_hh: &'a Tensor,
        /// Initial hidden state `(B,u)`.
        h0: &'a Tensor,
    },
}

impl<'a> Cell<'a> {
    /// Gates per unit (`G`): 4 for the LSTM, 3 for the GRU.
    pub fn gates(&self) -> usize {
        match self {
            Cell::Lstm { .. } => 4,
            Cell::Gru { .. } => 3,
        }
    }

    /// `"lstm"` or `"gru"`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Cell::Lstm { .. } => "lstm",
            Cell::Gru { .. } => "gru",
        }
    }

    /// The recurrent kernel.
    pub(crate) fn w_hh(&self) -> &'a Tensor {
        match *self {
            Cell::Lstm { w_hh, .. } | Cell::Gru { w_hh, .. } => w_hh,
        }
    }

    /// The initial hidden state.
    pub(crate) fn h0(&self) -> &'a Tensor {
        match *self {
            Cell::Lstm { h0, .. } | Cell::Gru { h0, .. } => h0,
        }
    }

    /// The initial states in the order the fused ops keep them: `[h0, c0]` or `[h0]`.
    pub(crate) fn states(&self) -> Vec<&'a Tensor> {
        match *self {
            Cell::Lstm { h0, c0, .. } => vec![h0, c0],
            Cell::Gru { h0, .. } => vec![h0],
        }
    }

    /// The fused op's weights: `[proj..; w_hh]` (LSTM) or `[proj..; w_hh; b_hh]` (GRU), where
    /// `proj` is `[kernel; bias]` when the op owns the input projection, else empty.
    pub(crate) fn op_weights(&self, proj: &[&Tensor]) -> Result<Tensor> {
        let mut parts: Vec<Tensor> = proj.iter().map(|&t| t.clone()).collect();
        match *self {
            Cell::Lstm { w_hh, .. } => parts.push(w_hh.clone()),
            Cell::Gru { w_hh, b_hh, .. } => {
                parts.push(w_hh.clone());
                parts.push(b_hh.to_dtype(w_hh.dtype())?.unsqueeze(0)?);
            }
        }
        Tensor::cat(&parts, 0)
    }
}

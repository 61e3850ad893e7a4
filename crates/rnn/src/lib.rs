#![doc = include_str!("../README.md")]
//!
//! # Contract
//!
//! `B` batch, `T` steps, `u` units, `G` gates per unit (LSTM 4, GRU 3). The recurrence reads a
//! projected input term `xproj_t` `(B,G·u)` at every step ([`Input`]: given, or computed from the
//! layer input, from token ids and a projected table, or from token ids under an embedding with
//! input dropout) and runs the [`Cell`] from its initial state. Steps are visited `t = 0..T`
//! (or `T-1..=0` when [`Options::reverse`]); a step with mask `m` blends
//! `state = m·new + (1-m)·old`, so a padded step (m = 0) carries `h` (and `c`) unchanged and
//! outputs the carried `h`. Output position `t` is input position `t`. The result is every
//! step's `h` `(B,T,u)` or the final state `(B,u)` ([`Outputs`]).
//!
//! # Two implementations
//!
//! - The step-wise reference: one small chain of candle ops per step under autograd (ground
//!   truth; used on CUDA/Metal, for dtypes other than f32/f64, and with
//!   [`Backend::Reference`]).
//! - The fused CPU custom ops: one `(B,u)·(u,G·u)` GEMM per step plus one fused pass for gates
//!   and state, batch rows split across rayon threads; backward is BPTT with fused gate
//!   gradients and a single `(u, B·T)·(B·T, G·u)` GEMM for the recurrent weight gradient. The
//!   forward/backward skeleton is written once, generic over the cell maths (the LSTM and GRU
//!   cells differ only there). The op's output is exactly the visible hidden states; what
//!   backward needs besides them (LSTM: `c_t` and gate activations, GRU: `z, r, n, hi_h`) is
//!   kept by the op itself and released with the graph. When no input tracks a gradient
//!   (detached tensors: inference) nothing is kept.
//!
//! # Fused kernel internals
//!
//! - With [`Input::Raw`] the `(B,T,G·u)` projection is never materialised: the LSTM multiplies
//!   `[x_t, h] · [kernel; w_hh]` in one GEMM per step, the GRU projects `x_t` next to its
//!   recurrent GEMM; backward returns `dx` and `d[kernel; bias]` from `(B·T, ·)` GEMMs.
//! - With [`Input::Embedded`] the per-step GEMM is the recurrent one alone; each step reads its
//!   rows from the table (prefetched during the previous step's GEMM), and backward scatters the
//!   projected-input gradient onto the table rows, one vocabulary range per thread.
//! - With [`Input::Embeddings`] the op projects the vocabulary rows the batch uses once and, under
//!   input dropout, subtracts one small `(T, |D_b|)·(|D_b|, G·u)` GEMM per sequence for the
//!   features `D_b` it drops (`(e ⊙ keep_b)·K = s·e·K − s·e[D_b]·K[D_b]`), with the matching
//!   corrections in backward; neither the table nor the projection becomes a graph tensor.
//! - Backward consumes the activations the op kept (gate gradients overwrite them), so one
//!   forward supports one backward (a second is a clear error).
//! - The large per-batch buffers the ops overwrite entirely (activations, `h_{t-1}`, projected
//!   inputs) come from a [`Pool`] of buffers freed by earlier calls when the caller passes one,
//!   instead of being zeroed afresh.
//! - The cells loop over a row's units in 8-wide vectors (a copy of each kernel is compiled for
//!   AVX2+FMA and picked at run time); the last `u mod 8` units are copied into padded blocks
//!   and run through the same kernel, and `Wᵀ` for the per-step backward GEMM is padded to a
//!   multiple of 8 columns so `gemm` never repacks it. `tanh` and `σ` (f32) are a rational
//!   approximation (absolute error below 5e-7); f64 uses the exact functions.
#![warn(missing_docs)]

mod cell;
mod dropout_projection;
mod grads;
mod gru;
mod input;
mod lstm;
mod matrix;
mod options;
mod parallel;
mod pool;
mod real;
mod recurrence;
mod reference;
mod simd;
mod storage;
mod tail;

use candle_core::{Result, Tensor};

pub use cell::Cell;
pub use input::Input;
pub use options::{Backend, Options, Outputs};
pub use pool::Pool;

use input::check_shapes;
use recurrence::{apply, build_aux, OpInput};

/// Runs `cell` over the sequence that `input` describes: every step's hidden state `(B,T,u)` or
/// the final state `(B,u)`, as [`Options::outputs`] selects. Gradients flow to every input that
/// tracks one (weights, initial states, the input and its projection); masks are constants.
///
/// Errors on shapes or dtypes that do not fit together, on a token id outside its table, and on
/// [`Backend::Fused`] for tensors the fused kernels do not take.
pub fn run(cell: Cell<'_>, input: Input<'_>, opts: &Options<'_>) -> Result<Tensor> {
    let what = format!("{} on {} input", cell.name(), input.kind());
    let u = cell.h0().dims().last().copied().unwrap_or(0);
    let stand_in = input.check(&what, cell.gates() * u)?;
    let btu = check_shapes(&what, &cell, &stand_in, opts)?;
    let out = if opts.backend.runs_fused(input.data())? {
        let (x, op_input, proj) = match input {
            Input::Projected(x) => (x, OpInput::Projected, None),
            Input::Raw { x, kernel, bias } => (x, OpInput::Raw(x.dim(2)?), Some((kernel, bias))),
            Input::Embedded { table, .. } => {
                (table, OpInput::Gathered(input.checked_ids(&what)?), None)
            }
            Input::Embeddings {
                embeddings,
                kernel,
                bias,
                ..
            } => (
                embeddings,
                OpInput::Embeddings(input.fold(&what)?),
                Some((kernel, bias)),
            ),
        };
        let aux = build_aux(x, &cell.states(), opts.mask, opts.recurrent_dropout)?;
        let w = match proj {
            Some((kernel, bias)) => cell.op_weights(&[kernel, &bias.unsqueeze(0)?])?,
            None => cell.op_weights(&[])?,
        };
        match cell {
            Cell::Lstm { .. } => apply::<lstm::Lstm>(x, &w, &aux, btu, op_input, opts)?,
            Cell::Gru { .. } => apply::<gru::Gru>(x, &w, &aux, btu, op_input, opts)?,
        }
    } else {
        let xproj = input.project_unfused(&what)?;
        reference::sequence(&cell, &xproj, opts)?
    };
    opts.outputs.select(out, opts.reverse)
}

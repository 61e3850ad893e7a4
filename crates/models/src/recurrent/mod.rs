//! The recurrence on projected inputs: LSTM and GRU (Keras `reset_after`) over a whole sequence.
//!
//! Contract (`docs/ARCHITECTURE.md`, "Recurrence contract"), `B` batch, `T` steps, `u` units:
//!
//! ```text
//! lstm_sequence(xproj (B,T,4u) = x@kernel + bias, w_hh (u,4u), h0 (B,u), c0 (B,u),
//!               mask (B,T) 1 real / 0 pad, rec_dropout (B,u) already scaled, reverse) -> (B,T,u)
//!   z = xproj_t + (h ⊙ rd) @ w_hh;  i,f,g,o = σ,σ,tanh,σ of the slices (order i, f, c, o)
//!   c = f ⊙ c + i ⊙ g;  h = o ⊙ tanh(c)
//! gru_sequence(xproj (B,T,3u) = x@kernel + input_bias, w_hh (u,3u), b_hh (3u), h0, mask, rec_dropout,
//!              reverse) -> (B,T,u)
//!   hi = (h ⊙ rd) @ w_hh + b_hh;  z = σ(x_z + hi_z);  r = σ(x_r + hi_r)
//!   n = tanh(x_h + r ⊙ hi_h);  h = z ⊙ h_prev + (1 - z) ⊙ n           (slice order z, r, h)
//! ```
//!
//! Steps are visited `t = 0..T` (or `T-1..=0` when `reverse`); a step with mask `m` blends
//! `state = m·new + (1-m)·old`, so a padded step (m = 0) carries `h` (and `c`) unchanged and
//! outputs the carried `h`. Output position `t` is input position `t`.
//!
//! Two implementations:
//! - [`reference`](mod@reference): one small chain of candle ops per step under autograd (ground truth; used on
//!   CUDA/Metal, for dtypes other than f32/f64, and when [`set_fused_enabled`]`(false)`).
//! - fused CPU custom ops (`lstm.rs`, `gru.rs`): one `(B,u)·(u,G·u)` GEMM per step plus one fused
//!   pass for gates and state, batch rows split across rayon threads; backward is BPTT with fused
//!   gate gradients and a single `(u, B·T)·(B·T, G·u)` GEMM for the recurrent weight gradient.
//!   The op's output is exactly the visible `(B,T,u)` hidden states; what backward needs besides
//!   them (LSTM: `c_t` and gate activations, GRU: `z, r, n, hi_h`) is kept by the op itself and
//!   released with the graph. When nothing requires a gradient (no input tracks an op) nothing is
//!   saved.
//!
//! [`lstm_projected`] / [`gru_projected`] take the layer input `x (B,T,F)`, `kernel` and bias
//! instead of `xproj` and fold the projection into the fused op (the LSTM multiplies
//! `[x_t, h] · [kernel; w_hh]` in one GEMM per step; the GRU projects `x_t` next to its recurrent
//! GEMM), so the `(B,T,G·u)` projection is never materialised and its gradient never becomes a
//! graph tensor. The recurrent layer uses these; [`no_grad`] makes it run on detached weights.
//! [`lstm_embedded`] / [`gru_embedded`] take token ids and a `(V,G·u)` table of projected
//! embedding rows instead (the layer's fold of the embedding into its projection). All four
//! return every step or only the final state ([`Outputs`]). Under the layer's input dropout,
//! [`embedded_dropout_projection`] keeps the fold: it projects the vocabulary once and corrects
//! each sequence for the features its keep mask drops (the layer runs the same computation
//! inside the fused op).
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use textrnn_models::lstm_sequence;
//! let dev = Device::Cpu;
//! let (b, t, u) = (2, 3, 4);
//! let xproj = Tensor::zeros((b, t, 4 * u), DType::F32, &dev)?;
//! let w_hh = Tensor::zeros((u, 4 * u), DType::F32, &dev)?;
//! let h0 = Tensor::zeros((b, u), DType::F32, &dev)?;
//! let out = lstm_sequence(&xproj, &w_hh, &h0, &h0, None, None, false)?;
//! assert_eq!(out.dims(), &[b, t, u]);
//! # Ok::<(), candle_core::Error>(())
//! ```

mod buffers;
mod cell_tail;
mod dropout_projection;
mod gru;
pub(crate) mod kernels;
mod lstm;
pub mod reference;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU8, Ordering};

use candle_core::{DType, Result, Tensor};

/// 0 = follow `TEXTRNN_FUSED`, 1 = fused, 2 = reference.
static FUSED: AtomicU8 = AtomicU8::new(0);

/// Turns the fused CPU kernels on or off for the whole process (benchmarks, A/B checks); this
/// overrides `TEXTRNN_FUSED`.
pub fn set_fused_enabled(enabled: bool) {
    FUSED.store(if enabled { 1 } else { 2 }, Ordering::Relaxed);
}

/// Whether the fused CPU kernels are used: as set by [`set_fused_enabled`], otherwise on unless
/// the environment variable `TEXTRNN_FUSED` is `0` (read at each call: one lookup per sequence).
pub fn fused_enabled() -> bool {
    match FUSED.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => std::env::var("TEXTRNN_FUSED").map_or(true, |v| v.trim() != "0"),
    }
}

thread_local! {
    static NO_GRAD: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs `f` in an inference scope on this thread: recurrent layers then run on detached weights,
/// so the fused ops keep no activations for backward (less memory, faster) and no gradient flows
/// to the layer's parameters. `Mode::Eval` alone does not imply this (gradient checks
/// differentiate through evaluation mode); evaluation/prediction loops should wrap their forward
/// passes in it. Nests; restored on unwind.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            NO_GRAD.with(|c| c.set(c.get() - 1));
        }
    }
    NO_GRAD.with(|c| c.set(c.get() + 1));
    let _guard = Guard;
    f()
}

/// Frees the large buffers the fused ops keep for reuse from one training step to the next
/// (activations and gradients of a batch, up to 512 MB per float type). `textrnn_train::fit`
/// calls it when training ends; a process that trains its own loop can call it when done.
///
/// ```
/// textrnn_models::recurrent::release_buffers();
/// ```
pub fn release_buffers() {
    buffers::release::<f32>();
    buffers::release::<f64>();
}

/// Whether the current thread is inside [`no_grad`].
pub fn no_grad_active() -> bool {
    NO_GRAD.with(|c| c.get() > 0)
}

/// Whether the fused CPU kernels run for inputs like `xproj` (f32/f64 on the CPU, unless
/// disabled with `TEXTRNN_FUSED=0`).
pub(crate) fn use_fused(xproj: &Tensor) -> bool {
    fused_enabled() && xproj.device().is_cpu() && matches!(xproj.dtype(), DType::F32 | DType::F64)
}

/// LSTM over a sequence of projected inputs: `(B,T,4u)` to hidden states `(B,T,u)`.
///
/// `xproj = x @ kernel + bias` (gate order i, f, c, o), `w_hh` the `(u,4u)` recurrent kernel,
/// `h0`/`c0` `(B,u)` initial states, `mask` `(B,T)` (1 real, 0 padding), `rec_dropout` a `(B,u)`
/// mask already scaled by `1/(1-p)` applied to `h` before the recurrent product, `reverse` to
/// visit steps from the end. Fused CPU kernel for f32/f64 on the CPU, [`reference`](mod@reference) otherwise.
pub fn lstm_sequence(
    xproj: &Tensor,
    w_hh: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
) -> Result<Tensor> {
    check_shapes(
        "lstm_sequence",
        4,
        xproj,
        w_hh,
        h0,
        Some(c0),
        mask,
        rec_dropout,
    )?;
    if use_fused(xproj) {
        lstm::lstm_fused(xproj, w_hh, h0, c0, mask, rec_dropout, reverse)
    } else {
        reference::lstm_sequence(xproj, w_hh, h0, c0, mask, rec_dropout, reverse)
    }
}

/// GRU (`reset_after`) over a sequence of projected inputs: `(B,T,3u)` to `(B,T,u)`.
///
/// `xproj = x @ kernel + input_bias` (gate order z, r, h), `w_hh` `(u,3u)`, `b_hh` the `(3u)`
/// recurrent bias, other arguments as in [`lstm_sequence`].
#[allow(clippy::too_many_arguments)]
pub fn gru_sequence(
    xproj: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    h0: &Tensor,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
) -> Result<Tensor> {
    check_shapes("gru_sequence", 3, xproj, w_hh, h0, None, mask, rec_dropout)?;
    check_b_hh("gru_sequence", b_hh, h0, xproj)?;
    if use_fused(xproj) {
        gru::gru_fused(xproj, w_hh, b_hh, h0, mask, rec_dropout, reverse)
    } else {
        reference::gru_sequence(xproj, w_hh, b_hh, h0, mask, rec_dropout, reverse)
    }
}

/// Checks `x (B,T,F)`, `kernel (F, G·u)` and `bias (G·u)`; returns a zero-stride stand-in with the
/// shape and dtype of `xproj` for [`check_shapes`].
fn check_projection(
    what: &str,
    gates: usize,
    x: &Tensor,
    kernel: &Tensor,
    bias: &Tensor,
    h0: &Tensor,
) -> Result<Tensor> {
    let (b, t, f) = match x.dims() {
        &[b, t, f] => (b, t, f),
        d => candle_core::bail!("{what}: x must be (batch, steps, features), got {d:?}"),
    };
    let g = gates * h0.dims().last().copied().unwrap_or(0);
    if kernel.dims() != [f, g] {
        candle_core::bail!(
            "{what}: kernel has shape {:?}, expected [{f}, {g}]",
            kernel.dims()
        );
    }
    if bias.dims() != [g] {
        candle_core::bail!("{what}: bias has shape {:?}, expected [{g}]", bias.dims());
    }
    for (name, w) in [("kernel", kernel), ("bias", bias)] {
        if w.dtype() != x.dtype() {
            candle_core::bail!("{what}: {name} is {:?} but x is {:?}", w.dtype(), x.dtype());
        }
    }
    stand_in(x, (b, t, g))
}

/// `[x, 1] · [kernel; bias]` as `(B,T,G·u)`: the bias gradient comes out of the matmul backward
/// instead of a `(B·T, G·u)` column sum (`broadcast_add`'s backward, slow on the CPU).
fn project_unfused(x: &Tensor, kernel: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let (b, t, f) = x.dims3()?;
    let ones = Tensor::ones((b * t, 1), x.dtype(), x.device())?;
    let x1 = Tensor::cat(&[&x.reshape((b * t, f))?, &ones], 1)?;
    let kb = Tensor::cat(&[kernel, &bias.unsqueeze(0)?], 0)?;
    x1.matmul(&kb)?.reshape((b, t, kernel.dim(1)?))
}

/// Which hidden states [`lstm_projected`], [`gru_projected`], [`lstm_embedded`] and
/// [`gru_embedded`] return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outputs {
    /// Every step, `(B,T,u)` (Keras `return_sequences=True`).
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

/// [`lstm_sequence`] on `xproj = x @ kernel + bias`, with the projection inside the fused op on
/// the CPU (one GEMM over all `B·T` rows; the `(B,T,4u)` projection and its gradient never become
/// graph tensors, and the bias gradient is a column sum inside the op). `x` `(B,T,F)`, `kernel`
/// `(F,4u)`, `bias` `(4u)`; other arguments as in [`lstm_sequence`]; `outputs` selects every
/// step `(B,T,u)` or the final state `(B,u)`.
#[allow(clippy::too_many_arguments)]
pub fn lstm_projected(
    x: &Tensor,
    kernel: &Tensor,
    bias: &Tensor,
    w_hh: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
    outputs: Outputs,
) -> Result<Tensor> {
    let what = "lstm_projected";
    let stand_in = check_projection(what, 4, x, kernel, bias, h0)?;
    check_shapes(what, 4, &stand_in, w_hh, h0, Some(c0), mask, rec_dropout)?;
    let out = if use_fused(x) {
        let final_only = outputs == Outputs::Final;
        lstm::lstm_fused_projected(
            x,
            kernel,
            bias,
            w_hh,
            h0,
            c0,
            mask,
            rec_dropout,
            reverse,
            final_only,
        )?
    } else {
        let xproj = project_unfused(x, kernel, bias)?;
        reference::lstm_sequence(&xproj, w_hh, h0, c0, mask, rec_dropout, reverse)?
    };
    outputs.select(out, reverse)
}

/// [`gru_sequence`] on `xproj = x @ kernel + b_in`, the projection inside the fused op on the
/// CPU (see [`lstm_projected`]). `kernel` `(F,3u)`, `b_in` `(3u)`, `b_hh` `(3u)`.
#[allow(clippy::too_many_arguments)]
pub fn gru_projected(
    x: &Tensor,
    kernel: &Tensor,
    b_in: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    h0: &Tensor,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
    outputs: Outputs,
) -> Result<Tensor> {
    let what = "gru_projected";
    let stand_in = check_projection(what, 3, x, kernel, b_in, h0)?;
    check_shapes(what, 3, &stand_in, w_hh, h0, None, mask, rec_dropout)?;
    check_b_hh(what, b_hh, h0, x)?;
    let out = if use_fused(x) {
        let final_only = outputs == Outputs::Final;
        gru::gru_fused_projected(
            x,
            kernel,
            b_in,
            w_hh,
            b_hh,
            h0,
            mask,
            rec_dropout,
            reverse,
            final_only,
        )?
    } else {
        let xproj = project_unfused(x, kernel, b_in)?;
        reference::gru_sequence(&xproj, w_hh, b_hh, h0, mask, rec_dropout, reverse)?
    };
    outputs.select(out, reverse)
}

/// [`lstm_sequence`] on token ids under an embedding: `table` `(V,4u)` holds
/// `embeddings · kernel + bias` for every vocabulary row, and step `t` of row `b` takes row
/// `ids[b, t]` (`ids` `(B,T)` u32) as its projected input. This replaces the `(B·T, E)·(E, 4u)`
/// projection (and, when training, its two gradient GEMMs) by `(V, E)·(E, 4u)` ones, cheaper
/// whenever `V < B·T`, and the fused op's per-step GEMM is the recurrent one alone; its backward
/// scatters the projected-input gradient onto the table rows. Off the fused path the rows are
/// gathered (`index_select`) and [`lstm_sequence`] runs on them: same result, same gradients.
/// An id `≥ V` is an error; `rec_dropout` as in [`lstm_sequence`].
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// let dev = Device::Cpu;
/// let (v, e, u) = (10, 3, 2);
/// let emb = Tensor::rand(-1f32, 1f32, (v, e), &dev)?;
/// let kernel = Tensor::rand(-1f32, 1f32, (e, 4 * u), &dev)?;
/// let bias = Tensor::zeros(4 * u, DType::F32, &dev)?;
/// let table = emb.matmul(&kernel)?.broadcast_add(&bias)?;
/// let ids = Tensor::new(&[[1u32, 4, 9], [0, 0, 7]], &dev)?;
/// let w_hh = Tensor::zeros((u, 4 * u), DType::F32, &dev)?;
/// let h0 = Tensor::zeros((2, u), DType::F32, &dev)?;
/// use textrnn_models::recurrent::{lstm_embedded, Outputs};
/// let out = lstm_embedded(&ids, &table, &w_hh, &h0, &h0, None, None, false, Outputs::Sequence)?;
/// assert_eq!(out.dims(), &[2, 3, u]);
/// let last = lstm_embedded(&ids, &table, &w_hh, &h0, &h0, None, None, false, Outputs::Final)?;
/// assert_eq!(last.dims(), &[2, u]);
/// # Ok::<(), candle_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn lstm_embedded(
    ids: &Tensor,
    table: &Tensor,
    w_hh: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
    outputs: Outputs,
) -> Result<Tensor> {
    let what = "lstm_embedded";
    let (stand_in, bt) = check_embedded(what, 4, ids, table, h0)?;
    check_shapes(what, 4, &stand_in, w_hh, h0, Some(c0), mask, rec_dropout)?;
    let out = if use_fused(table) {
        let ids_v = checked_ids(what, ids, table)?;
        let final_only = outputs == Outputs::Final;
        lstm::lstm_fused_embedded(
            table,
            ids_v,
            bt,
            w_hh,
            h0,
            c0,
            mask,
            rec_dropout,
            reverse,
            final_only,
        )?
    } else {
        let xproj = gather_rows(what, ids, table)?;
        lstm_sequence(&xproj, w_hh, h0, c0, mask, rec_dropout, reverse)?
    };
    outputs.select(out, reverse)
}

/// [`gru_sequence`] on token ids under an embedding (see [`lstm_embedded`]): `table` `(V,3u)`
/// holds `embeddings · kernel + b_in`, `b_hh` the `(3u)` recurrent bias.
#[allow(clippy::too_many_arguments)]
pub fn gru_embedded(
    ids: &Tensor,
    table: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    h0: &Tensor,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
    outputs: Outputs,
) -> Result<Tensor> {
    let what = "gru_embedded";
    let (stand_in, bt) = check_embedded(what, 3, ids, table, h0)?;
    check_shapes(what, 3, &stand_in, w_hh, h0, None, mask, rec_dropout)?;
    check_b_hh(what, b_hh, h0, table)?;
    let out = if use_fused(table) {
        let ids_v = checked_ids(what, ids, table)?;
        let final_only = outputs == Outputs::Final;
        gru::gru_fused_embedded(
            table,
            ids_v,
            bt,
            w_hh,
            b_hh,
            h0,
            mask,
            rec_dropout,
            reverse,
            final_only,
        )?
    } else {
        let xproj = gather_rows(what, ids, table)?;
        gru_sequence(&xproj, w_hh, b_hh, h0, mask, rec_dropout, reverse)?
    };
    outputs.select(out, reverse)
}

/// The projected input of a recurrent layer directly above an embedding, under the layer's input
/// dropout: `(embeddings[ids] ⊙ keep[b]) · kernel + bias` as `(B,T,G)`, for `ids` `(B,T)` u32,
/// `embeddings` `(V,E)`, `kernel` `(E,G)`, `bias` `(G)` and `keep` `(B,E)` the rows' scaled keep
/// masks (every entry 0 or one common scale `1/(1−p)`: one mask per sequence, fixed across time,
/// as Keras's `dropout` draws it). Feed the result to [`lstm_sequence`] or [`gru_sequence`].
///
/// On the fused path the vocabulary is projected once and each sequence is corrected for the
/// features it drops (`s·e·K − s·e[D_b]·K[D_b]`): about `V + p·B·T` projected rows instead of
/// `B·T`, in forward and in both gradient GEMMs, and the masked `(B,T,E)` input is never built.
/// Elsewhere the rows are gathered, masked and projected. An id `≥ V` is an error, and so is a
/// `keep` with two different non-zero values.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use textrnn_models::recurrent::embedded_dropout_projection;
/// let dev = Device::Cpu;
/// let emb = Tensor::new(&[[1f32, 2.], [3., 4.], [5., 6.]], &dev)?;
/// let kernel = Tensor::new(&[[1f32, 0., 1.], [0., 1., 1.]], &dev)?;
/// let bias = Tensor::new(&[0f32, 0., 10.], &dev)?;
/// let ids = Tensor::new(&[[2u32, 0]], &dev)?;
/// let keep = Tensor::new(&[[0f32, 2.]], &dev)?; // drop feature 0, scale the rest by 1/(1-0.5)
/// let x = embedded_dropout_projection(&ids, &emb, &kernel, &bias, &keep)?;
/// assert_eq!(x.to_vec3::<f32>()?, [[[0., 12., 22.], [0., 4., 14.]]]);
/// # Ok::<(), candle_core::Error>(())
/// ```
pub fn embedded_dropout_projection(
    ids: &Tensor,
    embeddings: &Tensor,
    kernel: &Tensor,
    bias: &Tensor,
    keep: &Tensor,
) -> Result<Tensor> {
    let input = EmbeddingProjection {
        ids,
        embeddings,
        kernel,
        bias,
        keep: Some(keep),
    };
    input.project()
}

/// Token ids under an embedding with a recurrent layer's input projection and, under input
/// dropout, the rows' keep masks: the arguments of [`embedded_dropout_projection`], for the fused
/// recurrences that run that projection inside their own op ([`lstm_on_embeddings`],
/// [`gru_on_embeddings`]). The layer trains through them with or without input dropout, so
/// neither the `(V, G·u)` table nor its gradient becomes a graph tensor.
pub(crate) struct EmbeddingProjection<'a> {
    pub ids: &'a Tensor,
    pub embeddings: &'a Tensor,
    pub kernel: &'a Tensor,
    pub bias: &'a Tensor,
    /// The rows' scaled keep masks `(B, E)`; `None` keeps every feature.
    pub keep: Option<&'a Tensor>,
}

impl EmbeddingProjection<'_> {
    /// [`embedded_dropout_projection`] as a graph tensor `(B,T,G)`.
    fn project(&self) -> Result<Tensor> {
        let what = "embedded_dropout_projection";
        self.check(what)?;
        if !use_fused(self.embeddings) {
            let mut x = gather_rows(what, self.ids, self.embeddings)?;
            if let Some(keep) = self.keep {
                x = x.broadcast_mul(&keep.unsqueeze(1)?)?;
            }
            return project_unfused(&x, self.kernel, self.bias);
        }
        let kb = Tensor::cat(&[self.kernel, &self.bias.unsqueeze(0)?], 0)?;
        dropout_projection::DropoutProjectionOp(self.fold(what)?).apply(self.embeddings, &kb)
    }

    /// Checks shapes and dtypes; returns a zero-stride `(B,T,G)` stand-in for the projection (for
    /// [`check_shapes`]).
    fn check(&self, what: &str) -> Result<Tensor> {
        let (b, t) = ids_dims(what, self.ids)?;
        let e = match self.embeddings.dims() {
            &[_, e] => e,
            d => candle_core::bail!("{what}: embeddings must be (vocabulary, features), got {d:?}"),
        };
        let g = match self.kernel.dims() {
            &[ke, g] if ke == e && g > 0 => g,
            d => candle_core::bail!("{what}: kernel has shape {d:?}, expected [{e}, G], G > 0"),
        };
        if self.bias.dims() != [g] {
            candle_core::bail!(
                "{what}: bias has shape {:?}, expected [{g}]",
                self.bias.dims()
            );
        }
        if let Some(keep) = self.keep {
            if keep.dims() != [b, e] {
                candle_core::bail!(
                    "{what}: keep has shape {:?}, expected [{b}, {e}]",
                    keep.dims()
                );
            }
        }
        let weights = [
            ("kernel", Some(self.kernel)),
            ("bias", Some(self.bias)),
            ("keep", self.keep),
        ];
        for (name, w) in weights.iter().filter_map(|(n, w)| w.map(|w| (n, w))) {
            if w.dtype() != self.embeddings.dtype() {
                candle_core::bail!(
                    "{what}: {name} is {:?} but embeddings are {:?}",
                    w.dtype(),
                    self.embeddings.dtype()
                );
            }
        }
        stand_in(self.embeddings, (b, t, g))
    }

    /// The checked ids and the keep masks as dropped-feature lists (after [`Self::check`]).
    fn fold(&self, what: &str) -> Result<dropout_projection::DropoutFold> {
        let ids = checked_ids(what, self.ids, self.embeddings)?;
        let (b, t) = self.ids.dims2()?;
        let e = self.embeddings.dim(1)?;
        dropout_projection::DropoutFold::new(what, &ids, (b, t), self.keep, e)
    }
}

/// [`lstm_sequence`] on [`embedded_dropout_projection`]`(input)` (on the embedded rows when
/// `input.keep` is `None`), the projection inside the fused op on the CPU (its result and
/// gradient stay buffers of the op); `outputs` as in [`lstm_projected`].
pub(crate) fn lstm_on_embeddings(
    input: &EmbeddingProjection<'_>,
    w_hh: &Tensor,
    (h0, c0): (&Tensor, &Tensor),
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
    outputs: Outputs,
) -> Result<Tensor> {
    let what = "lstm_on_embeddings";
    if !use_fused(input.embeddings) {
        let xproj = input.project()?;
        let out = lstm_sequence(&xproj, w_hh, h0, c0, mask, rec_dropout, reverse)?;
        return outputs.select(out, reverse);
    }
    let stand_in = input.check(what)?;
    check_shapes(what, 4, &stand_in, w_hh, h0, Some(c0), mask, rec_dropout)?;
    let fold = input.fold(what)?;
    lstm::lstm_fused_on_embeddings(
        input.embeddings,
        input.kernel,
        input.bias,
        fold,
        w_hh,
        h0,
        c0,
        mask,
        rec_dropout,
        reverse,
        outputs == Outputs::Final,
    )
    .and_then(|out| outputs.select(out, reverse))
}

/// [`gru_sequence`] on [`embedded_dropout_projection`]`(input)` (see [`lstm_on_embeddings`]);
/// `input.bias` is the GRU's input bias `b_in`.
pub(crate) fn gru_on_embeddings(
    input: &EmbeddingProjection<'_>,
    (w_hh, b_hh): (&Tensor, &Tensor),
    h0: &Tensor,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
    outputs: Outputs,
) -> Result<Tensor> {
    let what = "gru_on_embeddings";
    if !use_fused(input.embeddings) {
        let xproj = input.project()?;
        let out = gru_sequence(&xproj, w_hh, b_hh, h0, mask, rec_dropout, reverse)?;
        return outputs.select(out, reverse);
    }
    let stand_in = input.check(what)?;
    check_shapes(what, 3, &stand_in, w_hh, h0, None, mask, rec_dropout)?;
    check_b_hh(what, b_hh, h0, input.embeddings)?;
    let fold = input.fold(what)?;
    gru::gru_fused_on_embeddings(
        input.embeddings,
        input.kernel,
        input.bias,
        fold,
        w_hh,
        b_hh,
        h0,
        mask,
        rec_dropout,
        reverse,
        outputs == Outputs::Final,
    )
    .and_then(|out| outputs.select(out, reverse))
}

/// Checks `ids` `(B,T)` u32 and `table` `(V, G·u)`; returns a broadcast stand-in for the
/// `(B,T,G·u)` projection (no allocation) and `(B, T)`.
fn check_embedded(
    what: &str,
    gates: usize,
    ids: &Tensor,
    table: &Tensor,
    h0: &Tensor,
) -> Result<(Tensor, (usize, usize))> {
    let (b, t) = ids_dims(what, ids)?;
    let g = gates * h0.dims().last().copied().unwrap_or(0);
    if table.rank() != 2 || table.dim(1)? != g {
        candle_core::bail!(
            "{what}: table has shape {:?}, expected [vocabulary, {g}]",
            table.dims()
        );
    }
    Ok((stand_in(table, (b, t, g))?, (b, t)))
}

/// `(B, T)` of token ids, which must be a `(batch, steps)` u32 tensor.
fn ids_dims(what: &str, ids: &Tensor) -> Result<(usize, usize)> {
    match ids.dims() {
        &[b, t] if ids.dtype() == DType::U32 => Ok((b, t)),
        d => candle_core::bail!(
            "{what}: ids must be (batch, steps) u32, got {d:?} {:?}",
            ids.dtype()
        ),
    }
}

/// A zero-stride stand-in of shape `dims` in the dtype and device of `like` (no allocation), for
/// [`check_shapes`] where the op never materialises the projection.
fn stand_in(like: &Tensor, dims: (usize, usize, usize)) -> Result<Tensor> {
    Tensor::zeros(1, like.dtype(), like.device())?.broadcast_as(dims)
}

/// The ids, flattened, each checked to index a table row.
fn checked_ids(what: &str, ids: &Tensor, table: &Tensor) -> Result<Vec<u32>> {
    let flat = ids.flatten_all()?.to_vec1::<u32>()?;
    kernels::check_ids(what, &flat, table.dim(0)?)?;
    Ok(flat)
}

/// `table[ids]` as `(B,T,G·u)` (graph op: gradients flow to the table), ids checked first.
fn gather_rows(what: &str, ids: &Tensor, table: &Tensor) -> Result<Tensor> {
    let (b, t) = ids.dims2()?;
    checked_ids(what, ids, table)?;
    table
        .index_select(&ids.flatten_all()?, 0)?
        .reshape((b, t, table.dim(1)?))
}

/// The GRU recurrent bias must be `(3u)` with `u` from `h0`, in the dtype of `like`.
fn check_b_hh(what: &str, b_hh: &Tensor, h0: &Tensor, like: &Tensor) -> Result<()> {
    let u = h0.dim(1)?;
    if b_hh.dims() != [3 * u] || b_hh.dtype() != like.dtype() {
        candle_core::bail!(
            "{what}: b_hh has shape {:?} ({:?}), expected [{}] ({:?})",
            b_hh.dims(),
            b_hh.dtype(),
            3 * u,
            like.dtype()
        );
    }
    Ok(())
}

/// Validates the contract shapes; returns `(B, T, u)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_shapes(
    what: &str,
    gates: usize,
    xproj: &Tensor,
    w_hh: &Tensor,
    h0: &Tensor,
    c0: Option<&Tensor>,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
) -> Result<(usize, usize, usize)> {
    let (b, u) = match h0.dims() {
        &[b, u] => (b, u),
        d => candle_core::bail!("{what}: h0 must be (batch, units), got {d:?}"),
    };
    let t = match xproj.dims() {
        &[xb, t, g] if xb == b && g == gates * u => t,
        d => candle_core::bail!(
            "{what}: xproj has shape {d:?}, expected [{b}, T, {}] (batch from h0, {gates} x units)",
            gates * u
        ),
    };
    if b == 0 || t == 0 || u == 0 {
        candle_core::bail!("{what}: empty batch, sequence or units (B={b}, T={t}, u={u})");
    }
    if w_hh.dims() != [u, gates * u] {
        candle_core::bail!(
            "{what}: w_hh has shape {:?}, expected [{u}, {}]",
            w_hh.dims(),
            gates * u
        );
    }
    if let Some(c0) = c0 {
        if c0.dims() != [b, u] {
            candle_core::bail!("{what}: c0 has shape {:?}, expected [{b}, {u}]", c0.dims());
        }
    }
    if let Some(m) = mask {
        if m.dims() != [b, t] {
            candle_core::bail!("{what}: mask has shape {:?}, expected [{b}, {t}]", m.dims());
        }
    }
    if let Some(rd) = rec_dropout {
        if rd.dims() != [b, u] {
            candle_core::bail!(
                "{what}: rec_dropout has shape {:?}, expected [{b}, {u}]",
                rd.dims()
            );
        }
    }
    for (name, x) in [("w_hh", w_hh), ("h0", h0)] {
        if x.dtype() != xproj.dtype() {
            candle_core::bail!(
                "{what}: {name} is {:?} but xproj is {:?}",
                x.dtype(),
                xproj.dtype()
            );
        }
    }
    Ok((b, t, u))
}

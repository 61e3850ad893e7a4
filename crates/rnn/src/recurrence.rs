//! The fused recurrence: one candle `CustomOp3` running a whole sequence, forward and BPTT,
//! generic over the cell maths ([`CellMath`], implemented by `Lstm` and `Gru`).
//!
//! Inputs: `arg1` the op's input (`xproj (B,T,G·u)`, the layer input `x (B,T,F)`, a `(V,G·u)`
//! table read by token id, or the embeddings `(V,E)`: [`OpInput`]); `arg2` the weights,
//! `[kernel (F,G·u); bias (1,G·u)]` when the op owns the input projection, then the recurrent
//! kernel `w_hh (u,G·u)` and, for a cell with a recurrent bias, `b_hh (1,G·u)` (built with
//! `Tensor::cat` under autograd, so each part gets its gradient through the cat); `arg3 = aux`,
//! the flat concatenation `[h0 (B·u) | c0 (B·u), if the cell has a cell state | mask (B·T), if
//! any | rec_dropout (B·u), if any]` (its gradient slots carry `dh0`, `dc0`, zeros elsewhere).
//!
//! Output: the hidden states `(B,T,u)`, or the final state `(B,1,u)` alone. When training the op
//! also keeps, per step, what the cell's backward reads ([`CellLayout::saved`] values per unit:
//! the LSTM's gate activations, the GRU's `z, r, n, hi_h`) and the cell state `c_t` if any;
//! `h_{t-1}` is read back from the output, or from a kept `(B,T,u)` buffer when the output is
//! the final state (whose gradient then enters the carried `dh` before the last visited step).
//! The large buffers come from and go back to the caller's [`Pool`], if any.
//!
//! Forward, per visited step and batch chunk (one chunk per rayon thread): `Z = (H ⊙ RD) · W`
//! (one GEMM `(nb,u)·(u,G·u)`), then the cell per row. Backward (reverse visiting order), with
//! `dh` the carried gradient plus `dout_t`: the cell's gradients overwrite the kept values of
//! that step (backward consumes what forward kept, and runs once per forward), then
//! `dh ← … + (dz · Wᵀ) ⊙ rd`; finally `dW = [h_{t-1} ⊙ rd (, 1)]ᵀ · dz` as one
//! `(u, B·T)·(B·T, G·u)` GEMM (its last row the recurrent bias gradient when there is one).

use std::marker::PhantomData;
use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use crate::dropout_projection::DropoutFold;
use crate::grads::{add_recurrent_grad, project_bwd, scatter_rows};
use crate::input::check_ids;
use crate::matrix::{
    mat, mat_mut, matmul, matmul_sum_k, padded_width, transpose_padded, Mat, MatMut,
};
use crate::options::{step_order, Options, Outputs};
use crate::parallel::{gemm_threads, rows_per_chunk, run_chunks, split, split_mut, split_opt};
use crate::pool::{Buffers, Pool};
use crate::real::Real;
use crate::simd::mul_into;
use crate::storage::{cpu_slice, to_vec, with_slice};

/// The maths of one cell kind; the recurrence around it (GEMMs, chunks, masks, saving, BPTT) is
/// [`RecurrenceOp`]'s. Row functions work on one batch row of one step, `u` units, `m` the
/// step's mask value.
pub(crate) trait CellMath: Send + Sync + 'static {
    /// Name in error messages.
    const NAME: &'static str;
    /// The candle op's name.
    const OP_NAME: &'static str;
    /// What the recurrence keeps, passes and projects for this cell.
    const LAYOUT: CellLayout;

    /// A training (or masked) step: updates `row.h` (and `row.c`), writes the kept values to
    /// `row.save` (`saved·u`).
    fn row_fwd<T: Real>(m: T, row: FwdRow<'_, T>);

    /// An unmasked inference step: updates `row.h` (and `row.c`), keeps nothing (`row.save` is
    /// empty).
    fn row_infer<T: Real>(row: FwdRow<'_, T>);

    /// A backward step: writes the recurrent pre-activation gradient over `row.saved[..G·u]`,
    /// the projected-input gradient to `row.dx` (empty with [`CellLayout::dx_in_saved`]) and leaves
    /// the new carry in `row.dh` (and `row.dc`).
    fn row_bwd<T: Real>(m: T, row: BwdRow<'_, T>);
}

/// Where a cell's values sit in the recurrence, built with the `const` methods, e.g.
/// `CellLayout::gates(4).cell_state()`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CellLayout {
    /// Gates per unit, `G`.
    pub(crate) gates: usize,
    /// Values per unit kept for backward at each step (the first `G` become the gradient of the
    /// recurrent pre-activations in backward); `G` unless set.
    pub(crate) saved: usize,
    /// The cell carries a cell state `c` beside `h` (then kept at each step).
    pub(crate) cell_state: bool,
    /// The recurrent weights end with a bias row `b_hh` (then passed to the cell, and its
    /// gradient is the last row of the weight-gradient GEMM).
    pub(crate) recurrent_bias: bool,
    /// A raw input's projection joins the recurrent GEMM, `[x_t, H ⊙ RD] · [kernel; w_hh]`, the
    /// cell adding the input bias as its `x` (else `x_t · kernel + bias` has a GEMM of its own).
    pub(crate) joint_projection: bool,
    /// Backward's projected-input gradient is the kept row itself, overwritten in place (else a
    /// separate `(B,T,G·u)` buffer).
    pub(crate) dx_in_saved: bool,
}

impl CellLayout {
    /// `gates` gates per unit, nothing else set.
    pub(crate) const fn gates(gates: usize) -> Self {
        CellLayout {
            gates,
            saved: gates,
            cell_state: false,
            recurrent_bias: false,
            joint_projection: false,
            dx_in_saved: false,
        }
    }

    /// `saved` values per unit kept at each step.
    pub(crate) const fn saved(self, saved: usize) -> Self {
        CellLayout { saved, ..self }
    }

    /// With a cell state.
    pub(crate) const fn cell_state(self) -> Self {
        CellLayout {
            cell_state: true,
            ..self
        }
    }

    /// With a recurrent bias.
    pub(crate) const fn recurrent_bias(self) -> Self {
        CellLayout {
            recurrent_bias: true,
            ..self
        }
    }

    /// With the raw input's projection in the recurrent GEMM.
    pub(crate) const fn joint_projection(self) -> Self {
        CellLayout {
            joint_projection: true,
            ..self
        }
    }

    /// With the projected-input gradient written over the kept row.
    pub(crate) const fn dx_in_saved(self) -> Self {
        CellLayout {
            dx_in_saved: true,
            ..self
        }
    }
}

/// One batch row of one forward step, `u` units.
pub(crate) struct FwdRow<'a, T> {
    /// The step's projected input term `(G·u)`.
    pub(crate) x: &'a [T],
    /// The recurrent product `(G·u)`.
    pub(crate) zr: &'a [T],
    /// The recurrent bias `(G·u)`, empty without [`CellLayout::recurrent_bias`].
    pub(crate) bias: &'a [T],
    /// The hidden state, updated in place.
    pub(crate) h: &'a mut [T],
    /// The cell state, updated in place; empty without [`CellLayout::cell_state`].
    pub(crate) c: &'a mut [T],
    /// Where the kept values go (`saved·u`; empty at inference).
    pub(crate) save: &'a mut [T],
    /// Scratch of `u` values.
    pub(crate) tmp: &'a mut [T],
}

/// One batch row of one backward step, `u` units.
pub(crate) struct BwdRow<'a, T> {
    /// The values kept by forward (`saved·u`), overwritten with the step's gradients.
    pub(crate) saved: &'a mut [T],
    /// The previous hidden state.
    pub(crate) hp: &'a [T],
    /// The previous cell state (empty without one).
    pub(crate) cp: &'a [T],
    /// The step's output gradient.
    pub(crate) dout: &'a [T],
    /// The carried hidden-state gradient.
    pub(crate) dh: &'a mut [T],
    /// The carried cell-state gradient (empty without a cell state).
    pub(crate) dc: &'a mut [T],
    /// The projected-input gradient `(G·u)` (empty with [`CellLayout::dx_in_saved`]).
    pub(crate) dx: &'a mut [T],
}

/// What a fused op's first input holds.
#[derive(Debug)]
pub(crate) enum OpInput {
    /// `xproj (B,T,G·u)`, already projected.
    Projected,
    /// The layer input `x (B,T,F)` with `F` here: the op projects it itself, its weights start
    /// with `[kernel (F,G·u); bias (1,G·u)]`, and backward returns `dx` and `d[kernel; bias]`.
    Raw(usize),
    /// A `(V,G·u)` table of projected embeddings, step `t` of row `b` reading row
    /// `ids[b·T + t]` (`B·T` ids, checked against `V` before the kernels run).
    Gathered(Vec<u32>),
    /// The embeddings `(V,E)`, with the layer's input dropout or none: the op projects the rows
    /// of the batch's token ids itself ([`DropoutFold::with_input`]: the table of used rows, read
    /// by id, when nothing is dropped); its weights start with `[kernel (E,G·u); bias (1,G·u)]`
    /// as for `Raw(E)`, and backward returns `d embeddings` and `d[kernel; bias]`.
    Embeddings(DropoutFold),
}

impl OpInput {
    /// `F` when the op owns the input projection (its weights then start with `[kernel; bias]`).
    fn projection_features(&self) -> Option<usize> {
        match self {
            OpInput::Raw(f) => Some(*f),
            OpInput::Embeddings(fold) => Some(fold.features()),
            OpInput::Projected | OpInput::Gathered(_) => None,
        }
    }
}

/// Runs the fused recurrence of cell `C` on `x` (as `input` describes it), weights `w` and
/// `aux` (see the module header), `(B, T, u)` = `btu`.
pub(crate) fn apply<C: CellMath>(
    x: &Tensor,
    w: &Tensor,
    aux: &Tensor,
    btu: (usize, usize, usize),
    input: OpInput,
    opts: &Options<'_>,
) -> Result<Tensor> {
    let (x, w) = (x.contiguous()?, w.contiguous()?);
    // With backward (the op keeps its activations) when any input tracks a gradient.
    let train = x.track_op() || w.track_op() || aux.track_op();
    let op = RecurrenceOp::<C> {
        dims: Dims::new(
            btu,
            (opts.mask, opts.recurrent_dropout),
            opts.reverse,
            opts.outputs == Outputs::Final,
        ),
        input,
        train,
        saved: Mutex::new(None),
        pool: opts.pool.cloned(),
        cell: PhantomData,
    };
    if train {
        x.apply_op3(&w, aux, op)
    } else {
        x.apply_op3_no_bwd(&w, aux, &op)
    }
}

/// Builds the flat `aux` tensor under autograd, in `like`'s dtype.
pub(crate) fn build_aux(
    like: &Tensor,
    states: &[&Tensor],
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
) -> Result<Tensor> {
    let dt = like.dtype();
    let mut parts = Vec::with_capacity(states.len() + 2);
    for s in states {
        parts.push(s.to_dtype(dt)?.flatten_all()?);
    }
    for x in [mask, rd].into_iter().flatten() {
        parts.push(x.detach().to_dtype(dt)?.flatten_all()?);
    }
    Tensor::cat(&parts, 0)
}

/// Sizes and flags shared by forward and backward.
#[derive(Clone, Copy, Debug)]
struct Dims {
    b: usize,
    t: usize,
    u: usize,
    has_mask: bool,
    has_rd: bool,
    reverse: bool,
    /// Output only the final hidden state, `(B,1,u)` (backward reads every step).
    last_only: bool,
}

/// Borrowed views of `aux` = `[h0 | c0? | mask? | rd?]` (`c0` empty without a cell state).
struct Aux<'a, T> {
    h0: &'a [T],
    c0: &'a [T],
    mask: Option<&'a [T]>,
    rd: Option<&'a [T]>,
}

impl Dims {
    /// `(B, T, u)`, the optional inputs present, the direction, and `last_only` (the final
    /// state only).
    fn new(
        (b, t, u): (usize, usize, usize),
        (mask, rd): (Option<&Tensor>, Option<&Tensor>),
        reverse: bool,
        last_only: bool,
    ) -> Self {
        Dims {
            b,
            t,
            u,
            has_mask: mask.is_some(),
            has_rd: rd.is_some(),
            reverse,
            last_only,
        }
    }

    /// Length of `aux` (`with_c0` when the cell has a cell state).
    fn aux_len(&self, with_c0: bool) -> usize {
        let (b, t, u) = (self.b, self.t, self.u);
        b * u * (1 + usize::from(with_c0) + usize::from(self.has_rd))
            + if self.has_mask { b * t } else { 0 }
    }

    /// Splits `aux` into its parts.
    fn aux<'a, T>(&self, aux: &'a [T], with_c0: bool) -> Result<Aux<'a, T>> {
        if aux.len() != self.aux_len(with_c0) {
            candle_core::bail!(
                "fused recurrence: aux has {} values, expected {}",
                aux.len(),
                self.aux_len(with_c0)
            );
        }
        let bu = self.b * self.u;
        let (h0, rest) = aux.split_at(bu);
        let (c0, rest) = rest.split_at(if with_c0 { bu } else { 0 });
        let (mask, rest) = if self.has_mask {
            let (m, r) = rest.split_at(self.b * self.t);
            (Some(m), r)
        } else {
            (None, rest)
        };
        let rd = self.has_rd.then_some(rest);
        Ok(Aux { h0, c0, mask, rd })
    }
}

/// `split` padded with empty slices to `n` chunks (a part the cell does not have).
fn split_n<T>(data: &[T], row_len: usize, rows: usize, n: usize) -> Vec<&[T]> {
    let mut parts = split(data, row_len, rows);
    parts.resize(n, &[]);
    parts
}

/// `split_mut` padded with empty slices to `n` chunks (a part the cell does not have).
fn split_mut_n<T>(data: &mut [T], row_len: usize, rows: usize, n: usize) -> Vec<&mut [T]> {
    let mut parts = split_mut(data, row_len, rows);
    parts.resize_with(n, Default::default);
    parts
}

/// Per chunk of `rows` batch rows, where a forward pass writes its hidden states: `(steps, last)`,
/// every step's `h` `(nb·T, u)` and the final `h` `(nb, u)`. With the whole sequence as output,
/// `steps` is the output and `last` is `None`; with the final state only, `last` is the output and
/// `steps` the buffer `h_all` kept for backward (`None` when `h_all` is empty: inference).
#[allow(clippy::type_complexity)]
fn step_and_last_outputs<'a, T>(
    out: &'a mut [T],
    h_all: &'a mut [T],
    d: Dims,
    rows: usize,
) -> Vec<(Option<&'a mut [T]>, Option<&'a mut [T]>)> {
    let n = d.b.div_ceil(rows.max(1));
    if !d.last_only {
        return split_mut(out, d.t * d.u, rows)
            .into_iter()
            .map(|o| (Some(o), None))
            .collect();
    }
    let lasts = split_mut(out, d.u, rows);
    let steps: Vec<Option<&mut [T]>> = if h_all.is_empty() {
        (0..n).map(|_| None).collect()
    } else {
        split_mut(h_all, d.t * d.u, rows)
            .into_iter()
            .map(Some)
            .collect()
    };
    steps.into_iter().zip(lasts.into_iter().map(Some)).collect()
}

/// Asks the CPU to start loading rows `ids` of a `(V, g)` table into its caches (x86-64
/// `prefetcht0`, one per 64-byte line; nothing on other targets). The cells read one table row
/// per sequence and step, from a table too large for the core's L2 cache; fetched during the
/// previous step's GEMM, those loads no longer stall the cell.
fn prefetch_rows<T>(table: &[T], g: usize, ids: impl Iterator<Item = u32>) {
    #[cfg(target_arch = "x86_64")]
    for id in ids {
        let row = &table[id as usize * g..(id as usize + 1) * g];
        let p = row.as_ptr().cast::<i8>();
        for off in (0..std::mem::size_of_val(row)).step_by(64) {
            // SAFETY: `prefetcht0` is SSE, part of every x86-64 CPU, and a hint that never faults
            // or writes; the address is inside `row` anyway.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    p.wrapping_add(off),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (table, g, ids);
}

/// What forward keeps for backward (training only).
struct Saved {
    /// [`CellLayout::saved`] values per unit and step.
    rows: CpuStorage,
    /// Every step's cell state, for a cell that has one.
    c: Option<CpuStorage>,
    /// Every step's `h` when the output holds only the final state.
    h: Option<CpuStorage>,
}

/// The fused op of cell `C` (see the module header).
struct RecurrenceOp<C> {
    dims: Dims,
    input: OpInput,
    train: bool,
    saved: Mutex<Option<Saved>>,
    pool: Option<Pool>,
    cell: PhantomData<fn() -> C>,
}

/// Where a step's input term comes from.
#[derive(Clone, Copy)]
enum XSource<'a, T> {
    /// `xproj` rows `(nb·T, G·u)`.
    Projected(&'a [T]),
    /// Row `ids[r·T + t]` of a `(V, G·u)` table of projected embeddings (ids checked).
    Gathered { table: &'a [T], ids: &'a [u32] },
    /// The layer input `x` rows `(nb·T, F)`, projected step by step: no `(B,T,G·u)` buffer is
    /// written or read. With [`CellLayout::joint_projection`], `kernel` is `[kernel; w_hh]`
    /// `(F + u, G·u)` for the joint GEMM, else `kernel` `(F, G·u)`.
    Raw {
        x: &'a [T],
        f: usize,
        kernel: &'a [T],
        bias: &'a [T],
    },
}

impl<'a, T> XSource<'a, T> {
    /// One source per chunk of `rows` batch rows of `t` steps, `g` = `G·u`.
    fn split(self, t: usize, g: usize, rows: usize) -> Vec<Self> {
        match self {
            XSource::Projected(x) => split(x, t * g, rows)
                .into_iter()
                .map(XSource::Projected)
                .collect(),
            XSource::Gathered { table, ids } => split(ids, t, rows)
                .into_iter()
                .map(|ids| XSource::Gathered { table, ids })
                .collect(),
            XSource::Raw { x, f, kernel, bias } => split(x, t * f, rows)
                .into_iter()
                .map(|x| XSource::Raw { x, f, kernel, bias })
                .collect(),
        }
    }
}

struct FwdChunk<'a, T> {
    x: XSource<'a, T>,
    h0: &'a [T],
    /// Empty without a cell state.
    c0: &'a [T],
    mask: Option<&'a [T]>,
    rd: Option<&'a [T]>,
    /// Where each step's `h` goes, `(nb·T, u)`: the output, or (final state only, training)
    /// a saved buffer; `None` at inference on the final state.
    steps: Option<&'a mut [T]>,
    /// The final state `(nb, u)` when the output holds only that.
    last: Option<&'a mut [T]>,
    /// Training: the kept rows `(nb·T, SAVED·u)` and cell states `(nb·T, u)` (empty without).
    save: Option<(&'a mut [T], &'a mut [T])>,
}

fn fwd_chunk<C: CellMath, T: Real>(d: Dims, w: &[T], ch: FwdChunk<'_, T>) {
    let (t_len, u) = (d.t, d.u);
    let (g, sw) = (C::LAYOUT.gates * u, C::LAYOUT.saved * u);
    let (w, rbias) = w.split_at(u * g);
    let nb = ch.h0.len() / u;
    let mut h = ch.h0.to_vec();
    let mut c = ch.c0.to_vec();
    // GEMM left operand per step: `H ⊙ RD` (`(nb, u)`), or `[x_t, H ⊙ RD]` (`(nb, F + u)`) for
    // a joint projection.
    let f = match ch.x {
        XSource::Raw { f, .. } if C::LAYOUT.joint_projection => f,
        _ => 0,
    };
    let k = f + u;
    let mut ain = if ch.rd.is_some() || f > 0 {
        vec![T::ZERO; nb * k]
    } else {
        Vec::new()
    };
    let mut zb = vec![T::ZERO; nb * g];
    // A raw input's projected step `x_t · kernel + bias` when it has a GEMM of its own.
    let mut zx = match ch.x {
        XSource::Raw { .. } if !C::LAYOUT.joint_projection => vec![T::ZERO; nb * g],
        _ => Vec::new(),
    };
    let mut scratch = vec![T::ZERO; sw];
    let mut tmp = vec![T::ZERO; u];
    let (mut steps, last) = (ch.steps, ch.last);
    let mut save = ch.save;
    // Inference on unmasked steps: the cheaper cell that keeps nothing and blends nothing.
    let plain = save.is_none() && ch.mask.is_none();
    let order = step_order(t_len, d.reverse);
    for (k_step, &s) in order.iter().enumerate() {
        // The table rows of the next step load while this step's GEMM runs.
        if let (XSource::Gathered { table, ids }, Some(&next)) = (ch.x, order.get(k_step + 1)) {
            prefetch_rows(table, g, (0..nb).map(|r| ids[r * t_len + next]));
        }
        if let (XSource::Raw { x, f, kernel, bias }, false) = (ch.x, C::LAYOUT.joint_projection) {
            for r in 0..nb {
                zx[r * g..(r + 1) * g].copy_from_slice(bias);
            }
            let x_t = Mat {
                data: &x[s * f..],
                rows: nb,
                cols: f,
                rs: t_len * f,
                cs: 1,
            };
            matmul(mat_mut(&mut zx, nb, g), true, x_t, mat(kernel, f, g), 1);
        }
        let (a, wk): (&[T], &[T]) = match (ch.x, ch.rd) {
            (XSource::Raw { x, kernel, .. }, rd) if f > 0 => {
                for r in 0..nb {
                    let dst = &mut ain[r * k..(r + 1) * k];
                    let row = r * t_len + s;
                    dst[..f].copy_from_slice(&x[row * f..(row + 1) * f]);
                    let hr = &h[r * u..(r + 1) * u];
                    match rd {
                        Some(rd) => mul_into(&mut dst[f..], hr, &rd[r * u..(r + 1) * u]),
                        None => dst[f..].copy_from_slice(hr),
                    }
                }
                (&ain, kernel)
            }
            (_, Some(rd)) => {
                mul_into(&mut ain, &h, rd);
                (&ain, w)
            }
            (_, None) => (&h, w),
        };
        matmul(
            mat_mut(&mut zb, nb, g),
            false,
            mat(a, nb, k),
            mat(wk, k, g),
            1,
        );
        for r in 0..nb {
            let row = r * t_len + s;
            let m = ch.mask.map_or(T::ONE, |m| m[row]);
            let hr = &mut h[r * u..(r + 1) * u];
            let cr: &mut [T] = if C::LAYOUT.cell_state {
                &mut c[r * u..(r + 1) * u]
            } else {
                &mut []
            };
            let sv = match save.as_mut() {
                Some((sv, _)) => &mut sv[row * sw..(row + 1) * sw],
                None => &mut scratch[..],
            };
            let xr = match ch.x {
                XSource::Projected(x) => &x[row * g..(row + 1) * g],
                XSource::Gathered { table, ids } => {
                    let v = ids[row] as usize;
                    &table[v * g..(v + 1) * g]
                }
                XSource::Raw { bias, .. } if C::LAYOUT.joint_projection => bias,
                XSource::Raw { .. } => &zx[r * g..(r + 1) * g],
            };
            let zr = &zb[r * g..(r + 1) * g];
            let cell_in = FwdRow {
                x: xr,
                zr,
                bias: rbias,
                h: &mut *hr,
                c: &mut *cr,
                save: if plain { &mut [] } else { sv },
                tmp: &mut tmp,
            };
            if plain {
                C::row_infer(cell_in);
            } else {
                C::row_fwd(m, cell_in);
            }
            if let Some(hs) = steps.as_mut() {
                hs[row * u..(row + 1) * u].copy_from_slice(hr);
            }
            if let (Some((_, cs)), true) = (save.as_mut(), C::LAYOUT.cell_state) {
                cs[row * u..(row + 1) * u].copy_from_slice(cr);
            }
        }
    }
    if let Some(last) = last {
        last.copy_from_slice(&h);
    }
}

struct BwdChunk<'a, T> {
    h0: &'a [T],
    /// Empty without a cell state (so are `c_all`, `dc0`).
    c0: &'a [T],
    mask: Option<&'a [T]>,
    rd: Option<&'a [T]>,
    h_out: &'a [T],
    c_all: &'a [T],
    dout: &'a [T],
    /// The kept rows, whose first `G·u` values become `dz` step by step.
    saved: &'a mut [T],
    /// The projected-input gradient, empty when it is `saved` itself.
    dx: &'a mut [T],
    hin: &'a mut [T],
    dh0: &'a mut [T],
    dc0: &'a mut [T],
}

fn bwd_chunk<C: CellMath, T: Real>(d: Dims, w_t: &[T], ch: BwdChunk<'_, T>) {
    let (t_len, u) = (d.t, d.u);
    let (g, sw) = (C::LAYOUT.gates * u, C::LAYOUT.saved * u);
    let u1 = u + usize::from(C::LAYOUT.recurrent_bias);
    let nb = ch.h0.len() / u;
    let steps = step_order(t_len, d.reverse);
    // On the final state only, its gradient enters the carry before the last step; no step
    // gets a gradient of its own.
    let mut dh = if d.last_only {
        ch.dout.to_vec()
    } else {
        vec![T::ZERO; nb * u]
    };
    let no_dout = vec![T::ZERO; if d.last_only { u } else { 0 }];
    let mut dc = vec![T::ZERO; if C::LAYOUT.cell_state { nb * u } else { 0 }];
    let up = padded_width(u);
    let mut dhin = vec![T::ZERO; nb * up];
    let w_t = mat(w_t, g, up);
    for k in (0..steps.len()).rev() {
        let s = steps[k];
        let prev = k.checked_sub(1).map(|p| steps[p]);
        for r in 0..nb {
            let row = r * t_len + s;
            let (hp, cp) = match prev {
                Some(q) => {
                    let pr = r * t_len + q;
                    (&ch.h_out[pr * u..(pr + 1) * u], cell_row(ch.c_all, pr, u))
                }
                None => (&ch.h0[r * u..(r + 1) * u], cell_row(ch.c0, r, u)),
            };
            let hin_row = &mut ch.hin[row * u1..(row + 1) * u1];
            match ch.rd {
                Some(rd) => mul_into(&mut hin_row[..u], hp, &rd[r * u..(r + 1) * u]),
                None => hin_row[..u].copy_from_slice(hp),
            }
            if C::LAYOUT.recurrent_bias {
                hin_row[u] = T::ONE;
            }
            let m = ch.mask.map_or(T::ONE, |m| m[row]);
            let dout = if d.last_only {
                &no_dout
            } else {
                &ch.dout[row * u..(row + 1) * u]
            };
            let dc_r: &mut [T] = if C::LAYOUT.cell_state {
                &mut dc[r * u..(r + 1) * u]
            } else {
                &mut []
            };
            let dx: &mut [T] = if C::LAYOUT.dx_in_saved {
                &mut []
            } else {
                &mut ch.dx[row * g..(row + 1) * g]
            };
            let bwd_row = BwdRow {
                saved: &mut ch.saved[row * sw..(row + 1) * sw],
                hp,
                cp,
                dout,
                dh: &mut dh[r * u..(r + 1) * u],
                dc: dc_r,
                dx,
            };
            C::row_bwd(m, bwd_row);
        }
        let dz = Mat {
            data: &ch.saved[s * sw..],
            rows: nb,
            cols: g,
            rs: t_len * sw,
            cs: 1,
        };
        add_recurrent_grad(&mut dh, &mut dhin, dz, w_t, ch.rd);
    }
    ch.dh0.copy_from_slice(&dh);
    ch.dc0.copy_from_slice(&dc);
}

/// Row `r` of a `(·, u)` cell-state buffer, empty when the buffer is (no cell state).
fn cell_row<T>(c: &[T], r: usize, u: usize) -> &[T] {
    if c.is_empty() {
        c
    } else {
        &c[r * u..(r + 1) * u]
    }
}

impl<C: CellMath> RecurrenceOp<C> {
    fn bufs(&self) -> Buffers<'_> {
        self.pool.as_ref().map(Pool::buffers).unwrap_or_default()
    }

    fn err(&self, what: &str) -> candle_core::Error {
        candle_core::Error::Msg(format!("fused {}: {what}", C::NAME))
    }

    fn fwd_any<T: Real>(&self, x: &[T], w: &[T], aux: &[T]) -> Result<(CpuStorage, Shape)> {
        let (rows, u) = (self.dims.b * self.dims.t, self.dims.u);
        let g = C::LAYOUT.gates * u;
        let w_rec = (u + usize::from(C::LAYOUT.recurrent_bias)) * g;
        let what = format!("fused {}", C::NAME);
        let sizes = || self.err("unexpected input sizes");
        let f = match &self.input {
            OpInput::Gathered(ids) => {
                if ids.len() != rows || !x.len().is_multiple_of(g) || w.len() != w_rec {
                    return Err(sizes());
                }
                check_ids(&what, ids, x.len() / g)?;
                return self.fwd(XSource::Gathered { table: x, ids }, w, aux);
            }
            OpInput::Projected => {
                if x.len() != rows * g || w.len() != w_rec {
                    return Err(sizes());
                }
                return self.fwd(XSource::Projected(x), w, aux);
            }
            OpInput::Embeddings(fold) => {
                let f = fold.features();
                if fold.tokens() != rows
                    || w.len() != (f + 1) * g + w_rec
                    || !x.len().is_multiple_of(f.max(1))
                {
                    return Err(sizes());
                }
                check_ids(&what, fold.used(), x.len() / f.max(1))?;
                let (kb, w_rec) = w.split_at((f + 1) * g);
                return fold.with_input(self.bufs(), x, kb, g, |ids, rows| match ids {
                    Some(ids) => self.fwd(XSource::Gathered { table: rows, ids }, w_rec, aux),
                    None => self.fwd(XSource::Projected(rows), w_rec, aux),
                });
            }
            OpInput::Raw(f) => *f,
        };
        if x.len() != rows * f || w.len() != (f + 1) * g + w_rec {
            return Err(sizes());
        }
        let (kernel, rest) = w.split_at(f * g);
        let (bias, w_rec) = rest.split_at(g);
        // `[kernel; w_hh]` contiguous for the joint GEMM on `[x_t, h]`.
        let joint;
        let kernel = if C::LAYOUT.joint_projection {
            joint = [kernel, &w_rec[..u * g]].concat();
            &joint[..]
        } else {
            kernel
        };
        let src = XSource::Raw { x, f, kernel, bias };
        self.fwd(src, w_rec, aux)
    }

    fn fwd<T: Real>(&self, x: XSource<'_, T>, w: &[T], aux: &[T]) -> Result<(CpuStorage, Shape)> {
        let d = self.dims;
        let (b, t, u) = (d.b, d.t, d.u);
        let aux = d.aux(aux, C::LAYOUT.cell_state)?;
        let bufs = self.bufs();
        let t_out = if d.last_only { 1 } else { t };
        // Every value of these buffers is written before it is read (see `pool`).
        let mut out = bufs.take(b * t_out * u);
        let mut c_all = if self.train && C::LAYOUT.cell_state {
            bufs.take(b * t * u)
        } else {
            Vec::new()
        };
        let mut saved = if self.train {
            bufs.take(b * t * C::LAYOUT.saved * u)
        } else {
            Vec::new()
        };
        // Training on the final state only: the steps' `h` are kept for backward, not output.
        let mut h_all = if self.train && d.last_only {
            bufs.take(b * t * u)
        } else {
            Vec::new()
        };
        let rows = rows_per_chunk(b);
        let xs = x.split(t, C::LAYOUT.gates * u, rows);
        let n = xs.len();
        let saves: Vec<Option<(&mut [T], &mut [T])>> = if self.train {
            split_mut(&mut saved, t * C::LAYOUT.saved * u, rows)
                .into_iter()
                .zip(split_mut_n(&mut c_all, t * u, rows, n))
                .map(Some)
                .collect()
        } else {
            (0..n).map(|_| None).collect()
        };
        let chunks: Vec<FwdChunk<'_, T>> = xs
            .into_iter()
            .zip(split(aux.h0, u, rows))
            .zip(split_n(aux.c0, u, rows, n))
            .zip(split_opt(aux.mask, t, rows, n))
            .zip(split_opt(aux.rd, u, rows, n))
            .zip(step_and_last_outputs(&mut out, &mut h_all, d, rows))
            .zip(saves)
            .map(
                |((((((x, h0), c0), mask), rd), (steps, last)), save)| FwdChunk {
                    x,
                    h0,
                    c0,
                    mask,
                    rd,
                    steps,
                    last,
                    save,
                },
            )
            .collect();
        run_chunks(chunks, |ch| fwd_chunk::<C, T>(d, w, ch));
        if self.train {
            *self.saved.lock().map_err(|_| self.err("poisoned lock"))? = Some(Saved {
                rows: T::to_cpu_storage_owned(saved),
                c: C::LAYOUT.cell_state.then(|| T::to_cpu_storage_owned(c_all)),
                h: d.last_only.then(|| T::to_cpu_storage_owned(h_all)),
            });
        }
        Ok((T::to_cpu_storage_owned(out), Shape::from((b, t_out, u))))
    }

    /// Gradients as tensors: `(dx or None, dw, daux)` for the op's three inputs. `w` holds the
    /// recurrent weights, preceded by `[kernel; bias]` `(f + 1, g)` when the op owns the input
    /// projection; `dx` is `None` when the op owns the projection and `x` needs no gradient.
    /// With `ids` the op's `x` is a `(V, g)` table read by token id, and its gradient is
    /// `d xproj` scattered back onto the table rows.
    #[allow(clippy::type_complexity)]
    fn bwd_t<T: Real>(
        &self,
        (x, w, aux): (&Tensor, &Tensor, &Tensor),
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Tensor, Tensor)> {
        let d = self.dims;
        let (b, t, g) = (d.b, d.t, C::LAYOUT.gates * d.u);
        let bufs = self.bufs();
        let dev = w.device();
        let wv = to_vec::<T>(w)?;
        let proj = self.input.projection_features();
        let off = proj.map_or(0, |f| (f + 1) * g);
        let (dxp, dw_rec, daux) = self.bwd_core::<T>(&wv[off..], aux, res, grad)?;
        let daux = Tensor::from_vec(daux, aux.elem_count(), dev)?;
        if let OpInput::Gathered(ids) = &self.input {
            let vocab = x.dim(0)?;
            let dtable = scatter_rows(&dxp, ids, vocab, g);
            bufs.give(dxp);
            return Ok((
                Some(Tensor::from_vec(dtable, (vocab, g), dev)?),
                Tensor::from_vec(dw_rec, w.dims(), dev)?,
                daux,
            ));
        }
        let Some(f) = proj else {
            return Ok((
                Some(Tensor::from_vec(dxp, (b, t, g), dev)?),
                Tensor::from_vec(dw_rec, w.dims(), dev)?,
                daux,
            ));
        };
        let (mut dw, dx) = with_slice::<T, _>(x, |xs| match &self.input {
            OpInput::Embeddings(fold) => {
                let (demb, dkb) = fold.project_bwd(bufs, xs, &wv[..off], &dxp, g);
                (dkb, Some(demb))
            }
            _ => project_bwd(xs, &wv[..off], &dxp, b * t, (f, g), x.track_op()),
        })?;
        bufs.give(dxp);
        dw.extend_from_slice(&dw_rec);
        let dx = dx
            .map(|dx| Tensor::from_vec(dx, x.dims(), dev))
            .transpose()?;
        Ok((dx, Tensor::from_vec(dw, w.dims(), dev)?, daux))
    }

    /// BPTT on the recurrence: `(dxproj, d recurrent weights, daux)`.
    #[allow(clippy::type_complexity)]
    fn bwd_core<T: Real>(
        &self,
        w: &[T],
        aux: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Vec<T>, Vec<T>, Vec<T>)> {
        let d = self.dims;
        let (b, t, u) = (d.b, d.t, d.u);
        let (g, sw) = (C::LAYOUT.gates * u, C::LAYOUT.saved * u);
        let u1 = u + usize::from(C::LAYOUT.recurrent_bias);
        let bufs = self.bufs();
        // Backward consumes what forward kept: `dz` overwrites the kept rows in place (no second
        // `(B,T,SAVED·u)` buffer).
        let saved = self
            .saved
            .lock()
            .map_err(|_| self.err("poisoned lock"))?
            .take();
        let Some(saved) = saved else {
            return Err(
                self.err("no saved activations (backward runs once per forward through the op)")
            );
        };
        let c_all = saved
            .c
            .map(T::cpu_storage_data)
            .transpose()?
            .unwrap_or_default();
        let mut sv = T::cpu_storage_data(saved.rows)?;
        let w_t = transpose_padded(&w[..u * g], u, g);
        let aux_v = to_vec::<T>(aux)?;
        let a = d.aux(&aux_v, C::LAYOUT.cell_state)?;
        let mut dx = if C::LAYOUT.dx_in_saved {
            Vec::new()
        } else {
            bufs.take(b * t * g)
        };
        let mut hin = bufs.take(b * t * u1);
        let mut daux = vec![T::ZERO; aux_v.len()];
        let h_saved = saved.h.map(T::cpu_storage_data).transpose()?;
        let t_out = if d.last_only { 1 } else { t };
        let mut body = |h_out: &[T]| {
            with_slice::<T, _>(grad, |dout| {
                let rows = rows_per_chunk(b);
                let hs = split(a.h0, u, rows);
                let n = hs.len();
                let (dh0, rest) = daux.split_at_mut(b * u);
                let dc0 = &mut rest[..if C::LAYOUT.cell_state { b * u } else { 0 }];
                let chunks: Vec<BwdChunk<'_, T>> = hs
                    .into_iter()
                    .zip(split_n(a.c0, u, rows, n))
                    .zip(split_opt(a.mask, t, rows, n))
                    .zip(split_opt(a.rd, u, rows, n))
                    .zip(split(h_out, t * u, rows))
                    .zip(split_n(&c_all, t * u, rows, n))
                    .zip(split(dout, t_out * u, rows))
                    .zip(split_mut(&mut sv, t * sw, rows))
                    .zip(split_mut_n(&mut dx, t * g, rows, n))
                    .zip(split_mut(&mut hin, t * u1, rows))
                    .zip(split_mut(dh0, u, rows))
                    .zip(split_mut_n(dc0, u, rows, n))
                    .map(
                        |(
                            (
                                (
                                    ((((((((h0, c0), mask), rd), h_out), c_all), dout), saved), dx),
                                    hin,
                                ),
                                dh0,
                            ),
                            dc0,
                        )| BwdChunk {
                            h0,
                            c0,
                            mask,
                            rd,
                            h_out,
                            c_all,
                            dout,
                            saved,
                            dx,
                            hin,
                            dh0,
                            dc0,
                        },
                    )
                    .collect();
                run_chunks(chunks, |ch| bwd_chunk::<C, T>(d, &w_t, ch));
            })
        };
        match &h_saved {
            Some(h) => body(h)?,
            None => with_slice::<T, _>(res, body)??,
        }
        // dW = [Hin (, 1)]ᵀ · dZ over all B·T rows at once.
        let mut dw = vec![T::ZERO; u1 * g];
        let hin_t = Mat {
            data: &hin,
            rows: u1,
            cols: b * t,
            rs: 1,
            cs: u1,
        };
        let dz = Mat {
            data: &sv,
            rows: b * t,
            cols: g,
            rs: sw,
            cs: 1,
        };
        let dw_view = MatMut {
            data: &mut dw,
            rows: u1,
            cols: g,
            rs: g,
            cs: 1,
        };
        matmul_sum_k(dw_view, hin_t, dz, gemm_threads());
        bufs.give(hin);
        bufs.give(c_all);
        let dx = if C::LAYOUT.dx_in_saved {
            sv
        } else {
            bufs.give(sv);
            dx
        };
        if let Some(h) = h_saved {
            bufs.give(h);
        }
        Ok((dx, dw, daux))
    }
}

impl<C: CellMath> CustomOp3 for RecurrenceOp<C> {
    fn name(&self) -> &'static str {
        C::OP_NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        match s1 {
            CpuStorage::F32(_) => {
                self.fwd_any::<f32>(cpu_slice(s1, l1)?, cpu_slice(s2, l2)?, cpu_slice(s3, l3)?)
            }
            CpuStorage::F64(_) => {
                self.fwd_any::<f64>(cpu_slice(s1, l1)?, cpu_slice(s2, l2)?, cpu_slice(s3, l3)?)
            }
            _ => Err(self.err("only f32 and f64 are supported")),
        }
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        aux: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, dw, daux) = match res.dtype() {
            candle_core::DType::F32 => self.bwd_t::<f32>((x, w, aux), res, grad_res)?,
            candle_core::DType::F64 => self.bwd_t::<f64>((x, w, aux), res, grad_res)?,
            dt => return Err(self.err(&format!("unsupported dtype {dt:?}"))),
        };
        Ok((dx, Some(dw), Some(daux)))
    }
}

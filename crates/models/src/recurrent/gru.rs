//! Fused CPU GRU (Keras `reset_after`): a candle `CustomOp3` running the whole recurrence.
//!
//! Inputs: `arg1 = xproj (B,T,3u)`, `arg2 = [w_hh; b_hh] (u+1,3u)` (built with `Tensor::cat`
//! under autograd, so `b_hh` gets its gradient through the cat), `arg3 = aux`, the flat
//! `[h0 (B·u) | mask (B·T), if any | rec_dropout (B·u), if any]` (gradient: `dh0`, zeros elsewhere).
//! Output: the hidden states `(B,T,u)`, or the final state `(B,1,u)` alone. When training the op
//! also keeps `z, r, n, hi_h` `(B,T,4u)` for backward; `h_{t-1}` is read back from the output, or
//! from a kept `(B,T,u)` buffer when the output is the final state (as in the LSTM).
//!
//! Forward, per visited step and batch chunk: `Z = (H ⊙ RD) · W` (one GEMM `(nb,u)·(u,3u)`), then
//! one fused pass per row: `hi = Z + b`, `z = σ(x_z + hi_z)`, `r = σ(x_r + hi_r)`,
//! `n = tanh(x_h + r hi_h)`, `h' = n + z (h - n)`, `h = m h' + (1-m) h`.
//!
//! Backward, with `dh` the carried gradient plus `dout_t` and `dh' = m dh`:
//! `dz = dh' (h_{t-1} - n) z(1-z)`, `dn = dh' (1-z)(1-n²)`, `dr = dn hi_h r(1-r)`;
//! `dxproj_t = [dz, dr, dn]`, `dhi_t = [dz, dr, dn r]` (written over the saved `z, r, n` of that
//! step: backward consumes what forward kept, and runs once per forward);
//! `dh ← (1-m) dh + dh' z + (dhi · Wᵀ) ⊙ rd`.
//! Finally `[dW; db] = [h_{t-1} ⊙ rd, 1]ᵀ · dhi`, one `(u+1, B·T)·(B·T, 3u)` GEMM whose last row is
//! the bias gradient.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::buffers;
use super::cell_tail::{Tail, LANES};
use super::dropout_projection::DropoutFold;
use super::kernels::{
    add_recurrent_grad, build_aux, check_ids, cpu_slice, fused_op_grads, gemm_threads, mat,
    mat_mut, matmul, matmul_sum_k, mul_into, padded_width, prefetch_rows, rows_per_chunk,
    run_chunks, run_op, simd_kernel, split, split_mut, split_opt, step_and_last_outputs,
    step_order, to_vec, transpose_padded, with_slice, Dims, Mat, MatMut, OpInput, Real, Run,
};

simd_kernel! {
    /// Units `0..h.len()` of one row of one step (gate `k` of `x`, `zr`, `bias` and `save` at
    /// `k·gs`): gates from `x` and `zr + bias`, `h` updated in place, `z, r, n, hi_h` written to
    /// `save`.
    fn gru_cell_fwd<T>(m: T, gs: usize, x: &[T], zr: &[T], bias: &[T], h: &mut [T], save: &mut [T]) {
        let u = h.len();
        let keep = T::ONE - m;
        let (xz, xr, xh) = (&x[..u], &x[gs..gs + u], &x[2 * gs..2 * gs + u]);
        let (zz, zrr, zh) = (&zr[..u], &zr[gs..gs + u], &zr[2 * gs..2 * gs + u]);
        let (bz, br, bh) = (&bias[..u], &bias[gs..gs + u], &bias[2 * gs..2 * gs + u]);
        let (sz, rest) = save[..3 * gs + u].split_at_mut(gs);
        let (sr, rest) = rest.split_at_mut(gs);
        let (sn, sh) = rest.split_at_mut(gs);
        let (sz, sr, sn, sh) = (&mut sz[..u], &mut sr[..u], &mut sn[..u], &mut sh[..u]);
        for j in 0..u {
            let hh = zh[j] + bh[j];
            let z = (xz[j] + zz[j] + bz[j]).sigmoid_k::<FMA>();
            let r = (xr[j] + zrr[j] + br[j]).sigmoid_k::<FMA>();
            let n = (xh[j] + r * hh).tanh_k::<FMA>();
            let hn = n + z * (h[j] - n);
            sz[j] = z;
            sr[j] = r;
            sn[j] = n;
            sh[j] = hh;
            h[j] = m * hn + keep * h[j];
        }
    }
}

simd_kernel! {
    /// [`gru_cell_fwd`] for inference on an unmasked step: nothing kept, no blend.
    fn gru_cell_infer<T>(gs: usize, x: &[T], zr: &[T], bias: &[T], h: &mut [T]) {
        let u = h.len();
        let (xz, xr, xh) = (&x[..u], &x[gs..gs + u], &x[2 * gs..2 * gs + u]);
        let (zz, zrr, zh) = (&zr[..u], &zr[gs..gs + u], &zr[2 * gs..2 * gs + u]);
        let (bz, br, bh) = (&bias[..u], &bias[gs..gs + u], &bias[2 * gs..2 * gs + u]);
        for j in 0..u {
            let z = (xz[j] + zz[j] + bz[j]).sigmoid_k::<FMA>();
            let r = (xr[j] + zrr[j] + br[j]).sigmoid_k::<FMA>();
            let n = (xh[j] + r * (zh[j] + bh[j])).tanh_k::<FMA>();
            h[j] = n + z * (h[j] - n);
        }
    }
}

simd_kernel! {
    /// Units `0..dh.len()` of one row of one backward step (gate `k` of `sd` and `dx` at
    /// `k·gs`): `dx` (xproj gradient) and `dhi` (recurrent pre-activation gradient) from the
    /// carried `dh` plus `dout`; `dhi` overwrites the first three gates of the saved
    /// `z, r, n, hi_h` row `sd`. Leaves `(1-m) dh + m dh z` in `dh`.
    fn gru_cell_bwd<T>(m: T, gs: usize, sd: &mut [T], hp: &[T], dout: &[T], dh: &mut [T], dx: &mut [T]) {
        let u = dh.len();
        let keep = T::ONE - m;
        let one = T::ONE;
        let (hp, dout) = (&hp[..u], &dout[..u]);
        let (dxz, rest) = dx[..2 * gs + u].split_at_mut(gs);
        let (dxr, dxh) = rest.split_at_mut(gs);
        let (dxz, dxr, dxh) = (&mut dxz[..u], &mut dxr[..u], &mut dxh[..u]);
        let (dhz, rest) = sd[..3 * gs + u].split_at_mut(gs);
        let (dhr, rest) = rest.split_at_mut(gs);
        let (dhh, sh) = rest.split_at_mut(gs);
        let (dhz, dhr, dhh, sh) = (&mut dhz[..u], &mut dhr[..u], &mut dhh[..u], &sh[..u]);
        for j in 0..u {
            let (z, r, n, hh) = (dhz[j], dhr[j], dhh[j], sh[j]);
            let dht = dh[j] + dout[j];
            let dhn = m * dht;
            let dzp = dhn * (hp[j] - n) * z * (one - z);
            let dnp = dhn * (one - z) * (one - n * n);
            let drp = dnp * hh * r * (one - r);
            dxz[j] = dzp;
            dxr[j] = drp;
            dxh[j] = dnp;
            dhz[j] = dzp;
            dhr[j] = drp;
            dhh[j] = dnp * r;
            dh[j] = keep * dht + dhn * z;
        }
    }
}

/// The [`Tail`] of a step's three gate inputs: `x`, `zr` and `bias`.
#[allow(clippy::type_complexity)]
fn pack_inputs<T: Real>(
    t: Tail,
    x: &[T],
    zr: &[T],
    bias: &[T],
) -> ([T; 3 * LANES], [T; 3 * LANES], [T; 3 * LANES]) {
    (t.pack(x), t.pack(zr), t.pack(bias))
}

/// One row of one step (`u = h.len()` units): [`gru_cell_fwd`] on the units the vector loop
/// covers, then on the [`Tail`] padded to full vectors.
fn gru_row_fwd<T: Real>(m: T, x: &[T], zr: &[T], bias: &[T], h: &mut [T], save: &mut [T]) {
    let u = h.len();
    let (lo, tail) = Tail::split(u);
    gru_cell_fwd(m, u, x, zr, bias, &mut h[..lo], save);
    if let Some(t) = tail {
        let (xt, zt, bt) = pack_inputs(t, x, zr, bias);
        let mut ht = t.pack::<T, LANES>(h);
        let mut st = [T::ZERO; 4 * LANES];
        gru_cell_fwd(m, LANES, &xt, &zt, &bt, &mut ht, &mut st);
        t.unpack(&ht, h);
        t.unpack(&st, save);
    }
}

/// [`gru_row_fwd`] for inference on an unmasked step ([`gru_cell_infer`]).
fn gru_row_infer<T: Real>(x: &[T], zr: &[T], bias: &[T], h: &mut [T]) {
    let u = h.len();
    let (lo, tail) = Tail::split(u);
    gru_cell_infer(u, x, zr, bias, &mut h[..lo]);
    if let Some(t) = tail {
        let (xt, zt, bt) = pack_inputs(t, x, zr, bias);
        let mut ht = t.pack::<T, LANES>(h);
        gru_cell_infer(LANES, &xt, &zt, &bt, &mut ht);
        t.unpack(&ht, h);
    }
}

/// One row of one backward step ([`gru_cell_bwd`], the [`Tail`] padded to full vectors).
fn gru_row_bwd<T: Real>(m: T, sd: &mut [T], hp: &[T], dout: &[T], dh: &mut [T], dx: &mut [T]) {
    let u = dh.len();
    let (lo, tail) = Tail::split(u);
    gru_cell_bwd(m, u, sd, hp, dout, &mut dh[..lo], dx);
    if let Some(t) = tail {
        let mut sdt = t.pack::<T, { 4 * LANES }>(sd);
        let (hpt, doutt) = (t.pack::<T, LANES>(hp), t.pack::<T, LANES>(dout));
        let mut dht = t.pack::<T, LANES>(dh);
        let mut dxt = [T::ZERO; 3 * LANES];
        gru_cell_bwd(m, LANES, &mut sdt, &hpt, &doutt, &mut dht, &mut dxt);
        t.unpack(&sdt, sd);
        t.unpack(&dht, dh);
        t.unpack(&dxt, dx);
    }
}

/// What forward keeps for backward (training only): `z, r, n, hi_h` per step.
struct Saved {
    gates: CpuStorage,
    /// Every step's `h` when the output holds only the final state.
    h: Option<CpuStorage>,
}

/// The fused GRU op (see the module header).
pub(crate) struct GruOp {
    dims: Dims,
    /// `arg1`: `xproj`, the layer input `x` (then `arg2 = [kernel (F,3u); b_in (1,3u);
    /// w_hh (u,3u); b_hh (1,3u)]`: the op projects `x` itself and returns `dx`,
    /// `d[kernel; b_in]`), or a `(V,3u)` table read by token id.
    input: OpInput,
    train: bool,
    saved: Mutex<Option<Saved>>,
}

/// `[w_hh; b_hh]` `(u+1, 3u)`, `b_hh` in `w_hh`'s dtype.
fn with_b_hh(w_hh: &Tensor, b_hh: &Tensor) -> Result<Tensor> {
    Tensor::cat(&[w_hh, &b_hh.to_dtype(w_hh.dtype())?.unsqueeze(0)?], 0)
}

/// Fused GRU entry point (shapes already checked by the caller).
pub(crate) fn gru_fused(
    xproj: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    h0: &Tensor,
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
    reverse: bool,
) -> Result<Tensor> {
    let (b, t, _) = xproj.dims3()?;
    let aux = build_aux(xproj, &[h0], mask, rd)?;
    let wb = with_b_hh(w_hh, b_hh)?;
    let run = (mask, rd, reverse, false);
    apply(
        xproj,
        &wb,
        &aux,
        (b, t, h0.dim(1)?),
        OpInput::Projected,
        run,
    )
}

/// Fused GRU with the input projection `x · kernel + b_in` inside the op (shapes checked by the
/// caller).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_fused_projected(
    x: &Tensor,
    kernel: &Tensor,
    b_in: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    h0: &Tensor,
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
    reverse: bool,
    final_only: bool,
) -> Result<Tensor> {
    let (b, t, f) = x.dims3()?;
    let run = (mask, rd, reverse, final_only);
    apply_projecting(
        x,
        (kernel, b_in),
        (w_hh, b_hh),
        h0,
        (b, t),
        OpInput::Raw(f),
        run,
    )
}

/// Fused GRU on token ids (see `lstm::lstm_fused_embedded`): `table (V,3u)` holds
/// `embeddings · kernel + b_in`; backward scatters `d xproj` onto the table rows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_fused_embedded(
    table: &Tensor,
    ids: Vec<u32>,
    (b, t): (usize, usize),
    w_hh: &Tensor,
    b_hh: &Tensor,
    h0: &Tensor,
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
    reverse: bool,
    final_only: bool,
) -> Result<Tensor> {
    let aux = build_aux(table, &[h0], mask, rd)?;
    let wb = with_b_hh(w_hh, b_hh)?;
    let run = (mask, rd, reverse, final_only);
    apply(
        table,
        &wb,
        &aux,
        (b, t, h0.dim(1)?),
        OpInput::Gathered(ids),
        run,
    )
}

/// Fused GRU on token ids under the layer's input dropout: `embeddings (V,E)` is the op's input,
/// projected inside it with each sequence's dropped features corrected ([`DropoutFold`]), so the
/// `(B,T,3u)` projection and its gradient never become graph tensors; backward returns
/// `d embeddings` and `d[kernel; b_in]`. Training only (the whole sequence is returned).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_fused_on_embeddings(
    embeddings: &Tensor,
    kernel: &Tensor,
    b_in: &Tensor,
    fold: DropoutFold,
    w_hh: &Tensor,
    b_hh: &Tensor,
    h0: &Tensor,
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
    reverse: bool,
    final_only: bool,
) -> Result<Tensor> {
    let bt = fold.batch_steps();
    let run = (mask, rd, reverse, final_only);
    let input = OpInput::Embeddings(fold);
    apply_projecting(embeddings, (kernel, b_in), (w_hh, b_hh), h0, bt, input, run)
}

/// The op with the input projection inside it (`x` as `input` describes it): its weights are
/// `[kernel; b_in; w_hh; b_hh]`.
fn apply_projecting(
    x: &Tensor,
    (kernel, b_in): (&Tensor, &Tensor),
    (w_hh, b_hh): (&Tensor, &Tensor),
    h0: &Tensor,
    (b, t): (usize, usize),
    input: OpInput,
    run: Run<'_>,
) -> Result<Tensor> {
    let aux = build_aux(x, &[h0], run.0, run.1)?;
    let w = Tensor::cat(&[kernel, &b_in.unsqueeze(0)?, w_hh, &b_hh.unsqueeze(0)?], 0)?;
    apply(x, &w, &aux, (b, t, h0.dim(1)?), input, run)
}

fn apply(
    x: &Tensor,
    w: &Tensor,
    aux: &Tensor,
    btu: (usize, usize, usize),
    input: OpInput,
    (mask, rd, reverse, final_only): Run<'_>,
) -> Result<Tensor> {
    run_op(x, w, aux, |train| GruOp {
        dims: Dims::new(btu, (mask, rd), reverse, final_only),
        input,
        train,
        saved: Mutex::new(None),
    })
}

/// Where a step's input term comes from.
#[derive(Clone, Copy)]
enum XSource<'a, T> {
    /// `xproj` rows `(nb·T, 3u)`.
    Projected(&'a [T]),
    /// Row `ids[r·T + t]` of a `(V, 3u)` table of projected embeddings (ids checked).
    Gathered { table: &'a [T], ids: &'a [u32] },
    /// The layer input `x` rows `(nb·T, F)`, projected step by step (`x_t · kernel + b_in` into a
    /// small `(nb, 3u)` buffer next to the recurrent GEMM): no `(B,T,3u)` buffer is written or read.
    Raw {
        x: &'a [T],
        f: usize,
        kernel: &'a [T],
        b_in: &'a [T],
    },
}

struct FwdChunk<'a, T> {
    x: XSource<'a, T>,
    h0: &'a [T],
    mask: Option<&'a [T]>,
    rd: Option<&'a [T]>,
    /// Where each step's `h` goes (see `kernels::step_and_last_outputs`).
    steps: Option<&'a mut [T]>,
    /// The final state `(nb, u)` when the output holds only that.
    last: Option<&'a mut [T]>,
    save: Option<&'a mut [T]>,
}

fn fwd_chunk<T: Real>(d: Dims, wb: &[T], ch: FwdChunk<'_, T>) {
    let (t_len, u) = (d.t, d.u);
    let g3 = 3 * u;
    let (w, bias) = wb.split_at(u * g3);
    let nb = ch.h0.len() / u;
    let mut h = ch.h0.to_vec();
    let mut hin = if ch.rd.is_some() {
        vec![T::ZERO; nb * u]
    } else {
        Vec::new()
    };
    let mut zb = vec![T::ZERO; nb * g3];
    let mut zx = match ch.x {
        XSource::Raw { .. } => vec![T::ZERO; nb * g3],
        XSource::Projected(_) | XSource::Gathered { .. } => Vec::new(),
    };
    let mut scratch = vec![T::ZERO; 4 * u];
    let (mut steps, last) = (ch.steps, ch.last);
    let mut save = ch.save;
    // Inference on unmasked steps: the cheaper cell that keeps nothing and blends nothing.
    let plain = save.is_none() && ch.mask.is_none();
    let order = step_order(t_len, d.reverse);
    for (k_step, &s) in order.iter().enumerate() {
        // The table rows of the next step load while this step's GEMMs run.
        if let (XSource::Gathered { table, ids }, Some(&next)) = (ch.x, order.get(k_step + 1)) {
            prefetch_rows(table, g3, (0..nb).map(|r| ids[r * t_len + next]));
        }
        if let XSource::Raw { x, f, kernel, b_in } = ch.x {
            for r in 0..nb {
                zx[r * g3..(r + 1) * g3].copy_from_slice(b_in);
            }
            let x_t = Mat {
                data: &x[s * f..],
                rows: nb,
                cols: f,
                rs: t_len * f,
                cs: 1,
            };
            matmul(mat_mut(&mut zx, nb, g3), true, x_t, mat(kernel, f, g3), 1);
        }
        let a: &[T] = match ch.rd {
            Some(rd) => {
                mul_into(&mut hin, &h, rd);
                &hin
            }
            None => &h,
        };
        matmul(
            mat_mut(&mut zb, nb, g3),
            false,
            mat(a, nb, u),
            mat(w, u, g3),
            1,
        );
        for r in 0..nb {
            let row = r * t_len + s;
            let m = ch.mask.map_or(T::ONE, |m| m[row]);
            let hr = &mut h[r * u..(r + 1) * u];
            let sv = match save.as_mut() {
                Some(g) => &mut g[row * 4 * u..(row + 1) * 4 * u],
                None => &mut scratch[..],
            };
            let xr = match ch.x {
                XSource::Projected(x) => &x[row * g3..(row + 1) * g3],
                XSource::Gathered { table, ids } => {
                    let v = ids[row] as usize;
                    &table[v * g3..(v + 1) * g3]
                }
                XSource::Raw { .. } => &zx[r * g3..(r + 1) * g3],
            };
            let zr = &zb[r * g3..(r + 1) * g3];
            if plain {
                gru_row_infer(xr, zr, bias, hr);
            } else {
                gru_row_fwd(m, xr, zr, bias, hr, sv);
            }
            if let Some(hs) = steps.as_mut() {
                hs[row * u..(row + 1) * u].copy_from_slice(hr);
            }
        }
    }
    if let Some(last) = last {
        last.copy_from_slice(&h);
    }
}

struct BwdChunk<'a, T> {
    h0: &'a [T],
    mask: Option<&'a [T]>,
    rd: Option<&'a [T]>,
    h_out: &'a [T],
    dout: &'a [T],
    dx: &'a mut [T],
    /// The saved `z, r, n, hi_h` rows (`4u`), whose first `3u` become `dhi` step by step.
    dhi: &'a mut [T],
    hin: &'a mut [T],
    dh0: &'a mut [T],
}

fn bwd_chunk<T: Real>(d: Dims, w_t: &[T], ch: BwdChunk<'_, T>) {
    let (t_len, u) = (d.t, d.u);
    let (g3, g4) = (3 * u, 4 * u);
    let u1 = u + 1;
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
    let up = padded_width(u);
    let mut dhin = vec![T::ZERO; nb * up];
    let w_t = mat(w_t, g3, up);
    for k in (0..steps.len()).rev() {
        let s = steps[k];
        let prev = k.checked_sub(1).map(|p| steps[p]);
        for r in 0..nb {
            let row = r * t_len + s;
            let hp = match prev {
                Some(q) => {
                    let pr = r * t_len + q;
                    &ch.h_out[pr * u..(pr + 1) * u]
                }
                None => &ch.h0[r * u..(r + 1) * u],
            };
            let hin_row = &mut ch.hin[row * u1..(row + 1) * u1];
            match ch.rd {
                Some(rd) => mul_into(&mut hin_row[..u], hp, &rd[r * u..(r + 1) * u]),
                None => hin_row[..u].copy_from_slice(hp),
            }
            hin_row[u] = T::ONE;
            let m = ch.mask.map_or(T::ONE, |m| m[row]);
            gru_row_bwd(
                m,
                &mut ch.dhi[row * g4..(row + 1) * g4],
                hp,
                if d.last_only {
                    &no_dout
                } else {
                    &ch.dout[row * u..(row + 1) * u]
                },
                &mut dh[r * u..(r + 1) * u],
                &mut ch.dx[row * g3..(row + 1) * g3],
            );
        }
        let dz = Mat {
            data: &ch.dhi[s * g4..],
            rows: nb,
            cols: g3,
            rs: t_len * g4,
            cs: 1,
        };
        add_recurrent_grad(&mut dh, &mut dhin, dz, w_t, ch.rd);
    }
    ch.dh0.copy_from_slice(&dh);
}

fn lock_err<E>(_: E) -> candle_core::Error {
    candle_core::Error::Msg("fused gru: poisoned lock".into())
}

impl GruOp {
    fn fwd_any<T: Real>(&self, x: &[T], w: &[T], aux: &[T]) -> Result<(CpuStorage, Shape)> {
        let (rows, u) = (self.dims.b * self.dims.t, self.dims.u);
        let g = 3 * u;
        let f = match &self.input {
            OpInput::Gathered(ids) => {
                if ids.len() != rows || !x.len().is_multiple_of(g) || w.len() != (u + 1) * g {
                    candle_core::bail!("fused gru: unexpected input sizes");
                }
                check_ids("fused gru", ids, x.len() / g)?;
                return self.fwd(XSource::Gathered { table: x, ids }, w, aux);
            }
            OpInput::Projected => {
                if x.len() != rows * g || w.len() != (u + 1) * g {
                    candle_core::bail!("fused gru: unexpected input sizes");
                }
                return self.fwd(XSource::Projected(x), w, aux);
            }
            OpInput::Embeddings(fold) => {
                let f = fold.features();
                if fold.tokens() != rows
                    || w.len() != (f + 1 + u + 1) * g
                    || !x.len().is_multiple_of(f.max(1))
                {
                    candle_core::bail!("fused gru: unexpected input sizes");
                }
                check_ids("fused gru", fold.used(), x.len() / f.max(1))?;
                let (kb, w_rec) = w.split_at((f + 1) * g);
                return fold.with_input(x, kb, g, |ids, rows| match ids {
                    Some(ids) => self.fwd(XSource::Gathered { table: rows, ids }, w_rec, aux),
                    None => self.fwd(XSource::Projected(rows), w_rec, aux),
                });
            }
            OpInput::Raw(f) => *f,
        };
        if x.len() != rows * f || w.len() != (f + 1 + u + 1) * g {
            candle_core::bail!("fused gru: unexpected input sizes");
        }
        let src = XSource::Raw {
            x,
            f,
            kernel: &w[..f * g],
            b_in: &w[f * g..(f + 1) * g],
        };
        self.fwd(src, &w[(f + 1) * g..], aux)
    }

    fn fwd<T: Real>(&self, x: XSource<'_, T>, wb: &[T], aux: &[T]) -> Result<(CpuStorage, Shape)> {
        let d = self.dims;
        let (b, t, u) = (d.b, d.t, d.u);
        let aux = d.aux(aux, false)?;
        let t_out = if d.last_only { 1 } else { t };
        // Every value of these buffers is written before it is read (see `buffers`).
        let mut out = buffers::take(b * t_out * u);
        let mut gates = if self.train {
            buffers::take(b * t * 4 * u)
        } else {
            Vec::new()
        };
        // Training on the final state only: the steps' `h` are kept for backward, not output.
        let mut h_all = if self.train && d.last_only {
            buffers::take(b * t * u)
        } else {
            Vec::new()
        };
        let rows = rows_per_chunk(b);
        let xs: Vec<XSource<'_, T>> = match x {
            XSource::Projected(x) => split(x, t * 3 * u, rows)
                .into_iter()
                .map(XSource::Projected)
                .collect(),
            XSource::Gathered { table, ids } => split(ids, t, rows)
                .into_iter()
                .map(|ids| XSource::Gathered { table, ids })
                .collect(),
            XSource::Raw { x, f, kernel, b_in } => split(x, t * f, rows)
                .into_iter()
                .map(|x| XSource::Raw { x, f, kernel, b_in })
                .collect(),
        };
        let n = xs.len();
        let saves: Vec<Option<&mut [T]>> = if self.train {
            split_mut(&mut gates, t * 4 * u, rows)
                .into_iter()
                .map(Some)
                .collect()
        } else {
            (0..n).map(|_| None).collect()
        };
        let chunks: Vec<FwdChunk<'_, T>> = xs
            .into_iter()
            .zip(split(aux.h0, u, rows))
            .zip(split_opt(aux.mask, t, rows, n))
            .zip(split_opt(aux.rd, u, rows, n))
            .zip(step_and_last_outputs(&mut out, &mut h_all, d, rows))
            .zip(saves)
            .map(|(((((x, h0), mask), rd), (steps, last)), save)| FwdChunk {
                x,
                h0,
                mask,
                rd,
                steps,
                last,
                save,
            })
            .collect();
        run_chunks(chunks, |ch| fwd_chunk(d, wb, ch));
        if self.train {
            *self.saved.lock().map_err(lock_err)? = Some(Saved {
                gates: T::to_cpu_storage_owned(gates),
                h: d.last_only.then(|| T::to_cpu_storage_owned(h_all)),
            });
        }
        Ok((T::to_cpu_storage_owned(out), Shape::from((b, t_out, u))))
    }

    /// Gradients as tensors: `(dx or None, dw, daux)` for the op's three inputs.
    fn bwd_t<T: Real>(
        &self,
        x: &Tensor,
        w: &Tensor,
        aux: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Tensor, Tensor)> {
        let d = self.dims;
        fused_op_grads::<T>(&self.input, (d.b, d.t, 3 * d.u), x, w, aux, |w_rec| {
            self.bwd_core::<T>(w_rec, aux, res, grad)
        })
    }

    /// BPTT on the recurrence: `(dxproj, d[w_hh; b_hh], daux)`.
    #[allow(clippy::type_complexity)]
    fn bwd_core<T: Real>(
        &self,
        wb_v: &[T],
        aux: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Vec<T>, Vec<T>, Vec<T>)> {
        let d = self.dims;
        let (b, t, u) = (d.b, d.t, d.u);
        let (g3, u1) = (3 * u, u + 1);
        // Backward consumes what forward kept: `dhi` overwrites the saved rows in place.
        let saved = self.saved.lock().map_err(lock_err)?.take();
        let Some(saved) = saved else {
            candle_core::bail!(
                "fused gru: no saved activations (backward runs once per forward through the op)"
            );
        };
        let mut dhi = T::cpu_storage_data(saved.gates)?;
        let w_t = transpose_padded(&wb_v[..u * g3], u, g3);
        let aux_v = to_vec::<T>(aux)?;
        let a = d.aux(&aux_v, false)?;
        let mut dx = buffers::take(b * t * g3);
        let mut hin = buffers::take(b * t * u1);
        let mut daux = vec![T::ZERO; aux_v.len()];
        let h_saved = saved.h.map(T::cpu_storage_data).transpose()?;
        let t_out = if d.last_only { 1 } else { t };
        let mut body = |h_out: &[T]| {
            with_slice::<T, _>(grad, |dout| {
                let rows = rows_per_chunk(b);
                let hs = split(a.h0, u, rows);
                let n = hs.len();
                let dh0 = &mut daux[..b * u];
                let chunks: Vec<BwdChunk<'_, T>> = hs
                    .into_iter()
                    .zip(split_opt(a.mask, t, rows, n))
                    .zip(split_opt(a.rd, u, rows, n))
                    .zip(split(h_out, t * u, rows))
                    .zip(split(dout, t_out * u, rows))
                    .zip(split_mut(&mut dx, t * g3, rows))
                    .zip(split_mut(&mut dhi, t * 4 * u, rows))
                    .zip(split_mut(&mut hin, t * u1, rows))
                    .zip(split_mut(dh0, u, rows))
                    .map(
                        |((((((((h0, mask), rd), h_out), dout), dx), dhi), hin), dh0)| BwdChunk {
                            h0,
                            mask,
                            rd,
                            h_out,
                            dout,
                            dx,
                            dhi,
                            hin,
                            dh0,
                        },
                    )
                    .collect();
                run_chunks(chunks, |ch| bwd_chunk(d, &w_t, ch));
            })
        };
        match &h_saved {
            Some(h) => body(h)?,
            None => with_slice::<T, _>(res, body)??,
        }
        // [dW; db] = [Hin, 1]ᵀ · dHi over all B·T rows at once.
        let mut dwb = vec![T::ZERO; u1 * g3];
        let hin_t = Mat {
            data: &hin,
            rows: u1,
            cols: b * t,
            rs: 1,
            cs: u1,
        };
        matmul_sum_k(
            MatMut {
                data: &mut dwb,
                rows: u1,
                cols: g3,
                rs: g3,
                cs: 1,
            },
            hin_t,
            Mat {
                data: &dhi,
                rows: b * t,
                cols: g3,
                rs: 4 * u,
                cs: 1,
            },
            gemm_threads(),
        );
        buffers::give(hin);
        buffers::give(dhi);
        if let Some(h) = h_saved {
            buffers::give(h);
        }
        Ok((dx, dwb, daux))
    }
}

impl CustomOp3 for GruOp {
    fn name(&self) -> &'static str {
        "textrnn-fused-gru"
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
            _ => candle_core::bail!("fused gru: only f32 and f64 are supported"),
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
            candle_core::DType::F32 => self.bwd_t::<f32>(x, w, aux, res, grad_res)?,
            candle_core::DType::F64 => self.bwd_t::<f64>(x, w, aux, res, grad_res)?,
            dt => candle_core::bail!("fused gru: unsupported dtype {dt:?}"),
        };
        Ok((dx, Some(dw), Some(daux)))
    }
}

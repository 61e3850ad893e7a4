//! Fused CPU LSTM: a candle `CustomOp3` running the whole recurrence (forward and BPTT).
//!
//! Inputs: `arg1 = xproj (B,T,4u)`, `arg2 = w_hh (u,4u)`, `arg3 = aux`, the flat concatenation
//! `[h0 (B·u) | c0 (B·u) | mask (B·T), if any | rec_dropout (B·u), if any]` built with
//! `Tensor::cat` under autograd (its gradient slots carry `dh0`, `dc0`, zeros elsewhere).
//! Output: the hidden states `(B,T,u)`, or the final state `(B,1,u)` alone. When training, the op
//! also keeps `c_t (B,T,u)` and the gate activations `i,f,g,o (B,T,4u)` for backward; `h_{t-1}`
//! is read back from the output, or from a kept `(B,T,u)` buffer when the output is the final
//! state (whose gradient then enters the carried `dh` before the last visited step). The large
//! buffers come from and go back to [`super::buffers`].
//!
//! Forward, per visited step `t` and batch chunk (one chunk per rayon thread):
//! `Z = (H ⊙ RD) · W` (one GEMM `(nb,u)·(u,4u)`), then the cell per row (two passes over the
//! units, see [`lstm_cell_fwd`]; the last `u mod 8` units padded to a full vector by
//! [`super::cell_tail`]):
//! `i,f,g,o = σ,σ,tanh,σ(x_t + Z)`, `c' = f c + i g`, `h' = o tanh c'`, `c = m c' + (1-m) c`,
//! `h = m h' + (1-m) h`.
//!
//! Backward (reverse visiting order), with `dh` the carried gradient plus `dout_t`:
//! `dh' = m dh`, `dc' = m dc + dh' o (1 - tanh² c')`, `dz = [dc' g i(1-i), dc' c_{t-1} f(1-f),
//! dc' i (1-g²), dh' tanh c' o(1-o)]` written over the saved gate activations of that step (the
//! buffer becomes `dxproj`: backward consumes what forward kept, and runs once per forward); then
//! `dc ← (1-m) dc + dc' f`, `dh ← (1-m) dh + (dz · Wᵀ) ⊙ rd`. Finally
//! `dW = [h_{t-1} ⊙ rd]ᵀ · dz` as one `(u, B·T)·(B·T, 4u)` GEMM.

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
    /// Units `0..h.len()` of one row of one step (gate `k` of `x`, `zr` and `gates` at `k·gs`):
    /// gates from `x + zr`, state update in place, activations to `gates`; `cn` is scratch.
    ///
    /// Two passes over the row: the four gates and the new cell state first, then `h`. In one
    /// pass each unit chains two rational functions (a gate, then `tanh c'`), a dependency chain
    /// longer than the out-of-order window hides; split, each pass's units are independent
    /// (11–15% faster per cell in a single-thread micro-benchmark).
    fn lstm_cell_fwd<T>(m: T, gs: usize, x: &[T], zr: &[T], h: &mut [T], c: &mut [T], gates: &mut [T], cn: &mut [T]) {
        let n = h.len();
        let keep = T::ONE - m;
        let (xi, xf, xg, xo) = (&x[..n], &x[gs..gs + n], &x[2 * gs..2 * gs + n], &x[3 * gs..3 * gs + n]);
        let (zi, zf, zg, zo) = (&zr[..n], &zr[gs..gs + n], &zr[2 * gs..2 * gs + n], &zr[3 * gs..3 * gs + n]);
        let (gi, rest) = gates[..3 * gs + n].split_at_mut(gs);
        let (gf, rest) = rest.split_at_mut(gs);
        let (gg, go) = rest.split_at_mut(gs);
        let (gi, gf, gg, go) = (&mut gi[..n], &mut gf[..n], &mut gg[..n], &mut go[..n]);
        let (c, cn) = (&mut c[..n], &mut cn[..n]);
        for j in 0..n {
            let i = (xi[j] + zi[j]).sigmoid_k::<FMA>();
            let f = (xf[j] + zf[j]).sigmoid_k::<FMA>();
            let g = (xg[j] + zg[j]).tanh_k::<FMA>();
            gi[j] = i;
            gf[j] = f;
            gg[j] = g;
            go[j] = (xo[j] + zo[j]).sigmoid_k::<FMA>();
            let cj = f * c[j] + i * g;
            cn[j] = cj;
            c[j] = m * cj + keep * c[j];
        }
        for j in 0..n {
            h[j] = m * (go[j] * cn[j].tanh_k::<FMA>()) + keep * h[j];
        }
    }
}

simd_kernel! {
    /// [`lstm_cell_fwd`] for inference on an unmasked step: no gate activations kept, no blend
    /// (`o` is scratch, the same two passes).
    fn lstm_cell_infer<T>(gs: usize, x: &[T], zr: &[T], h: &mut [T], c: &mut [T], o: &mut [T]) {
        let n = h.len();
        let (xi, xf, xg, xo) = (&x[..n], &x[gs..gs + n], &x[2 * gs..2 * gs + n], &x[3 * gs..3 * gs + n]);
        let (zi, zf, zg, zo) = (&zr[..n], &zr[gs..gs + n], &zr[2 * gs..2 * gs + n], &zr[3 * gs..3 * gs + n]);
        let (c, o) = (&mut c[..n], &mut o[..n]);
        for j in 0..n {
            let i = (xi[j] + zi[j]).sigmoid_k::<FMA>();
            let f = (xf[j] + zf[j]).sigmoid_k::<FMA>();
            let g = (xg[j] + zg[j]).tanh_k::<FMA>();
            o[j] = (xo[j] + zo[j]).sigmoid_k::<FMA>();
            c[j] = f * c[j] + i * g;
        }
        for j in 0..n {
            h[j] = o[j] * c[j].tanh_k::<FMA>();
        }
    }
}

simd_kernel! {
    /// Units `0..dh.len()` of one row of one backward step (gate `k` of `gz` at `k·gs`):
    /// overwrites the gate activations `i, f, g, o` in `gz` with `dz` (their pre-activation
    /// gradients) from the carried `dh`, `dc` plus `dout`; leaves the masked carry `(1-m) dh` in
    /// `dh` and the new `dc`.
    fn lstm_cell_bwd<T>(m: T, gs: usize, gz: &mut [T], cp: &[T], dout: &[T], dh: &mut [T], dc: &mut [T]) {
        let n = dh.len();
        let keep = T::ONE - m;
        let one = T::ONE;
        let (dzi, rest) = gz[..3 * gs + n].split_at_mut(gs);
        let (dzf, rest) = rest.split_at_mut(gs);
        let (dzg, dzo) = rest.split_at_mut(gs);
        let (dzi, dzf, dzg, dzo) = (&mut dzi[..n], &mut dzf[..n], &mut dzg[..n], &mut dzo[..n]);
        let (cp, dout, dc) = (&cp[..n], &dout[..n], &mut dc[..n]);
        for j in 0..n {
            let (i, f, g, o) = (dzi[j], dzf[j], dzg[j], dzo[j]);
            let cn = f * cp[j] + i * g;
            let tc = cn.tanh_k::<FMA>();
            let dht = dh[j] + dout[j];
            let dhn = m * dht;
            let dcn = m * dc[j] + dhn * o * (one - tc * tc);
            dzi[j] = dcn * g * i * (one - i);
            dzf[j] = dcn * cp[j] * f * (one - f);
            dzg[j] = dcn * i * (one - g * g);
            dzo[j] = dhn * tc * o * (one - o);
            dc[j] = keep * dc[j] + dcn * f;
            dh[j] = keep * dht;
        }
    }
}

/// One row of one step (`u = h.len()` units): [`lstm_cell_fwd`] on the units the vector loop
/// covers, then on the [`Tail`] padded to full vectors.
/// `tmp` is scratch of at least `u` values.
fn lstm_row_fwd<T: Real>(
    m: T,
    x: &[T],
    zr: &[T],
    (h, c): (&mut [T], &mut [T]),
    gates: &mut [T],
    tmp: &mut [T],
) {
    let u = h.len();
    let (lo, tail) = Tail::split(u);
    lstm_cell_fwd(m, u, x, zr, &mut h[..lo], &mut c[..lo], gates, tmp);
    if let Some(t) = tail {
        let (xt, zt) = (
            t.pack::<T, { 4 * LANES }>(x),
            t.pack::<T, { 4 * LANES }>(zr),
        );
        let (mut ht, mut ct) = (t.pack::<T, LANES>(h), t.pack::<T, LANES>(c));
        let mut gt = [T::ZERO; 4 * LANES];
        let mut tt = [T::ZERO; LANES];
        lstm_cell_fwd(m, LANES, &xt, &zt, &mut ht, &mut ct, &mut gt, &mut tt);
        t.unpack(&ht, h);
        t.unpack(&ct, c);
        t.unpack(&gt, gates);
    }
}

/// [`lstm_row_fwd`] for inference on an unmasked step ([`lstm_cell_infer`]).
fn lstm_row_infer<T: Real>(x: &[T], zr: &[T], h: &mut [T], c: &mut [T], tmp: &mut [T]) {
    let u = h.len();
    let (lo, tail) = Tail::split(u);
    lstm_cell_infer(u, x, zr, &mut h[..lo], &mut c[..lo], tmp);
    if let Some(t) = tail {
        let (xt, zt) = (
            t.pack::<T, { 4 * LANES }>(x),
            t.pack::<T, { 4 * LANES }>(zr),
        );
        let (mut ht, mut ct) = (t.pack::<T, LANES>(h), t.pack::<T, LANES>(c));
        let mut tt = [T::ZERO; LANES];
        lstm_cell_infer(LANES, &xt, &zt, &mut ht, &mut ct, &mut tt);
        t.unpack(&ht, h);
        t.unpack(&ct, c);
    }
}

/// One row of one backward step ([`lstm_cell_bwd`], the [`Tail`] padded to full vectors).
fn lstm_row_bwd<T: Real>(m: T, gz: &mut [T], cp: &[T], dout: &[T], dh: &mut [T], dc: &mut [T]) {
    let u = dh.len();
    let (lo, tail) = Tail::split(u);
    lstm_cell_bwd(m, u, gz, cp, dout, &mut dh[..lo], &mut dc[..lo]);
    if let Some(t) = tail {
        let mut gt = t.pack::<T, { 4 * LANES }>(gz);
        let (cpt, doutt) = (t.pack::<T, LANES>(cp), t.pack::<T, LANES>(dout));
        let (mut dht, mut dct) = (t.pack::<T, LANES>(dh), t.pack::<T, LANES>(dc));
        lstm_cell_bwd(m, LANES, &mut gt, &cpt, &doutt, &mut dht, &mut dct);
        t.unpack(&gt, gz);
        t.unpack(&dht, dh);
        t.unpack(&dct, dc);
    }
}

/// What forward keeps for backward (training only).
struct Saved {
    c: CpuStorage,
    gates: CpuStorage,
    /// Every step's `h` when the output holds only the final state.
    h: Option<CpuStorage>,
}

/// The fused LSTM op (see the module header).
pub(crate) struct LstmOp {
    dims: Dims,
    /// `arg1`: `xproj`, the layer input `x` (then `arg2 = [kernel (F,4u); bias (1,4u);
    /// w_hh (u,4u)]`: the op projects `x` with one GEMM per step and returns `dx`,
    /// `d[kernel; bias]`), or a `(V,4u)` table read by token id.
    input: OpInput,
    train: bool,
    saved: Mutex<Option<Saved>>,
}

/// Fused LSTM entry point (shapes already checked by the caller).
pub(crate) fn lstm_fused(
    xproj: &Tensor,
    w_hh: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
    reverse: bool,
) -> Result<Tensor> {
    let (b, t, _) = xproj.dims3()?;
    let aux = build_aux(xproj, &[h0, c0], mask, rd)?;
    let run = (mask, rd, reverse, false);
    apply(
        xproj,
        w_hh,
        &aux,
        (b, t, h0.dim(1)?),
        OpInput::Projected,
        run,
    )
}

/// Fused LSTM with the input projection `x · kernel + bias` inside the op (shapes checked by the
/// caller): the `(B,T,4u)` projection and its gradient never become graph tensors.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_fused_projected(
    x: &Tensor,
    kernel: &Tensor,
    bias: &Tensor,
    w_hh: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
    reverse: bool,
    final_only: bool,
) -> Result<Tensor> {
    let (b, t, f) = x.dims3()?;
    let run = (mask, rd, reverse, final_only);
    apply_projecting(
        x,
        (kernel, bias),
        w_hh,
        (h0, c0),
        (b, t),
        OpInput::Raw(f),
        run,
    )
}

/// Fused LSTM on token ids (shapes and ids checked by the caller): `table (V,4u)` holds
/// `embeddings · kernel + bias` for every vocabulary row, so each step reads its input term from
/// the table and the per-step GEMM is the recurrent one alone. Backward scatters `d xproj` onto
/// the table rows (the rest of the graph turns that into the embedding, kernel and bias
/// gradients with `(V, ·)` GEMMs instead of `(B·T, ·)` ones).
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_fused_embedded(
    table: &Tensor,
    ids: Vec<u32>,
    (b, t): (usize, usize),
    w_hh: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
    reverse: bool,
    final_only: bool,
) -> Result<Tensor> {
    let aux = build_aux(table, &[h0, c0], mask, rd)?;
    let run = (mask, rd, reverse, final_only);
    apply(
        table,
        w_hh,
        &aux,
        (b, t, h0.dim(1)?),
        OpInput::Gathered(ids),
        run,
    )
}

/// Fused LSTM on token ids under the layer's input dropout (see `gru::gru_fused_on_embeddings`):
/// `embeddings (V,E)` is the op's input, `[kernel; bias]` starts its weights.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_fused_on_embeddings(
    embeddings: &Tensor,
    kernel: &Tensor,
    bias: &Tensor,
    fold: DropoutFold,
    w_hh: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
    reverse: bool,
    final_only: bool,
) -> Result<Tensor> {
    let bt = fold.batch_steps();
    let run = (mask, rd, reverse, final_only);
    let input = OpInput::Embeddings(fold);
    apply_projecting(embeddings, (kernel, bias), w_hh, (h0, c0), bt, input, run)
}

/// The op with the input projection inside it (`x` as `input` describes it): its weights are
/// `[kernel; bias; w_hh]`.
fn apply_projecting(
    x: &Tensor,
    (kernel, bias): (&Tensor, &Tensor),
    w_hh: &Tensor,
    (h0, c0): (&Tensor, &Tensor),
    (b, t): (usize, usize),
    input: OpInput,
    run: Run<'_>,
) -> Result<Tensor> {
    let aux = build_aux(x, &[h0, c0], run.0, run.1)?;
    let w = Tensor::cat(&[kernel, &bias.unsqueeze(0)?, w_hh], 0)?;
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
    run_op(x, w, aux, |train| LstmOp {
        dims: Dims::new(btu, (mask, rd), reverse, final_only),
        input,
        train,
        saved: Mutex::new(None),
    })
}

/// Where a step's input term comes from.
#[derive(Clone, Copy)]
enum XSource<'a, T> {
    /// `xproj` rows `(nb·T, 4u)`.
    Projected(&'a [T]),
    /// Row `ids[r·T + t]` of a `(V, 4u)` table of projected embeddings (ids checked).
    Gathered { table: &'a [T], ids: &'a [u32] },
    /// The layer input `x` rows `(nb·T, F)`, projected step by step inside the recurrent GEMM:
    /// `Z = [x_t, H ⊙ RD] · [kernel; w_hh]` (`wxh`, `(F + u, 4u)`), `bias` added by the cell. No
    /// `(B,T,4u)` buffer is written or read.
    Raw {
        x: &'a [T],
        f: usize,
        wxh: &'a [T],
        bias: &'a [T],
    },
}

struct FwdChunk<'a, T> {
    x: XSource<'a, T>,
    h0: &'a [T],
    c0: &'a [T],
    mask: Option<&'a [T]>,
    rd: Option<&'a [T]>,
    /// Where each step's `h` goes, `(nb·T, u)`: the output, or (final state only, training)
    /// a saved buffer; `None` at inference on the final state.
    steps: Option<&'a mut [T]>,
    /// The final state `(nb, u)` when the output holds only that.
    last: Option<&'a mut [T]>,
    save: Option<(&'a mut [T], &'a mut [T])>,
}

fn fwd_chunk<T: Real>(d: Dims, w: &[T], ch: FwdChunk<'_, T>) {
    let (t_len, u) = (d.t, d.u);
    let g4 = 4 * u;
    let nb = ch.h0.len() / u;
    let mut h = ch.h0.to_vec();
    let mut c = ch.c0.to_vec();
    // GEMM left operand per step: `H ⊙ RD` (`(nb, u)`), or `[x_t, H ⊙ RD]` (`(nb, F + u)`).
    let f = match ch.x {
        XSource::Raw { f, .. } => f,
        XSource::Projected(_) | XSource::Gathered { .. } => 0,
    };
    let k = f + u;
    let mut ain = if ch.rd.is_some() || f > 0 {
        vec![T::ZERO; nb * k]
    } else {
        Vec::new()
    };
    let mut zb = vec![T::ZERO; nb * g4];
    let mut scratch = vec![T::ZERO; g4];
    let mut tmp = vec![T::ZERO; u];
    let (mut steps, last) = (ch.steps, ch.last);
    let mut save = ch.save;
    // Inference on unmasked steps: the cheaper cell that keeps nothing and blends nothing.
    let plain = save.is_none() && ch.mask.is_none();
    let order = step_order(t_len, d.reverse);
    for (k_step, &s) in order.iter().enumerate() {
        // The table rows of the next step load while this step's GEMM runs.
        if let (XSource::Gathered { table, ids }, Some(&next)) = (ch.x, order.get(k_step + 1)) {
            prefetch_rows(table, g4, (0..nb).map(|r| ids[r * t_len + next]));
        }
        let (a, wk): (&[T], &[T]) = if ain.is_empty() {
            (&h, w)
        } else {
            for r in 0..nb {
                let dst = &mut ain[r * k..(r + 1) * k];
                if let XSource::Raw { x, .. } = ch.x {
                    let row = r * t_len + s;
                    dst[..f].copy_from_slice(&x[row * f..(row + 1) * f]);
                }
                let hr = &h[r * u..(r + 1) * u];
                match ch.rd {
                    Some(rd) => mul_into(&mut dst[f..], hr, &rd[r * u..(r + 1) * u]),
                    None => dst[f..].copy_from_slice(hr),
                }
            }
            let wk = match ch.x {
                XSource::Raw { wxh, .. } => wxh,
                XSource::Projected(_) | XSource::Gathered { .. } => w,
            };
            (&ain, wk)
        };
        matmul(
            mat_mut(&mut zb, nb, g4),
            false,
            mat(a, nb, k),
            mat(wk, k, g4),
            1,
        );
        for r in 0..nb {
            let m = ch.mask.map_or(T::ONE, |m| m[r * t_len + s]);
            let row = r * t_len + s;
            let hr = &mut h[r * u..(r + 1) * u];
            let cr = &mut c[r * u..(r + 1) * u];
            let gates = match save.as_mut() {
                Some((_, g)) => &mut g[row * g4..(row + 1) * g4],
                None => &mut scratch[..],
            };
            let xr = match ch.x {
                XSource::Projected(x) => &x[row * g4..(row + 1) * g4],
                XSource::Gathered { table, ids } => {
                    let v = ids[row] as usize;
                    &table[v * g4..(v + 1) * g4]
                }
                XSource::Raw { bias, .. } => bias,
            };
            let zr = &zb[r * g4..(r + 1) * g4];
            if plain {
                lstm_row_infer(xr, zr, hr, cr, &mut tmp);
            } else {
                lstm_row_fwd(m, xr, zr, (hr, cr), gates, &mut tmp);
            }
            if let Some(hs) = steps.as_mut() {
                hs[row * u..(row + 1) * u].copy_from_slice(hr);
            }
            if let Some((cs, _)) = save.as_mut() {
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
    c0: &'a [T],
    mask: Option<&'a [T]>,
    rd: Option<&'a [T]>,
    h_out: &'a [T],
    c_all: &'a [T],
    dout: &'a [T],
    /// The saved gate activations, overwritten step by step with `dz` (`d xproj`).
    dx: &'a mut [T],
    hin: &'a mut [T],
    dh0: &'a mut [T],
    dc0: &'a mut [T],
}

fn bwd_chunk<T: Real>(d: Dims, w_t: &[T], ch: BwdChunk<'_, T>) {
    let (t_len, u) = (d.t, d.u);
    let g4 = 4 * u;
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
    let mut dc = vec![T::ZERO; nb * u];
    let up = padded_width(u);
    let mut dhin = vec![T::ZERO; nb * up];
    let w_t = mat(w_t, g4, up);
    for k in (0..steps.len()).rev() {
        let s = steps[k];
        let prev = k.checked_sub(1).map(|p| steps[p]);
        for r in 0..nb {
            let row = r * t_len + s;
            let (hp, cp) = match prev {
                Some(q) => {
                    let pr = r * t_len + q;
                    (
                        &ch.h_out[pr * u..(pr + 1) * u],
                        &ch.c_all[pr * u..(pr + 1) * u],
                    )
                }
                None => (&ch.h0[r * u..(r + 1) * u], &ch.c0[r * u..(r + 1) * u]),
            };
            let hin_row = &mut ch.hin[row * u..(row + 1) * u];
            match ch.rd {
                Some(rd) => mul_into(hin_row, hp, &rd[r * u..(r + 1) * u]),
                None => hin_row.copy_from_slice(hp),
            }
            let m = ch.mask.map_or(T::ONE, |m| m[row]);
            lstm_row_bwd(
                m,
                &mut ch.dx[row * g4..(row + 1) * g4],
                cp,
                if d.last_only {
                    &no_dout
                } else {
                    &ch.dout[row * u..(row + 1) * u]
                },
                &mut dh[r * u..(r + 1) * u],
                &mut dc[r * u..(r + 1) * u],
            );
        }
        let dz = Mat {
            data: &ch.dx[s * g4..],
            rows: nb,
            cols: g4,
            rs: t_len * g4,
            cs: 1,
        };
        add_recurrent_grad(&mut dh, &mut dhin, dz, w_t, ch.rd);
    }
    ch.dh0.copy_from_slice(&dh);
    ch.dc0.copy_from_slice(&dc);
}

impl LstmOp {
    fn fwd_any<T: Real>(&self, x: &[T], w: &[T], aux: &[T]) -> Result<(CpuStorage, Shape)> {
        let (rows, u) = (self.dims.b * self.dims.t, self.dims.u);
        let g = 4 * u;
        let f = match &self.input {
            OpInput::Gathered(ids) => {
                if ids.len() != rows || !x.len().is_multiple_of(g) || w.len() != u * g {
                    candle_core::bail!("fused lstm: unexpected input sizes");
                }
                check_ids("fused lstm", ids, x.len() / g)?;
                return self.fwd(XSource::Gathered { table: x, ids }, w, aux);
            }
            OpInput::Projected => {
                if x.len() != rows * g || w.len() != u * g {
                    candle_core::bail!("fused lstm: unexpected input sizes");
                }
                return self.fwd(XSource::Projected(x), w, aux);
            }
            OpInput::Embeddings(fold) => {
                let f = fold.features();
                if fold.tokens() != rows
                    || w.len() != (f + 1 + u) * g
                    || !x.len().is_multiple_of(f.max(1))
                {
                    candle_core::bail!("fused lstm: unexpected input sizes");
                }
                check_ids("fused lstm", fold.used(), x.len() / f.max(1))?;
                let (kb, w_rec) = w.split_at((f + 1) * g);
                return fold.with_input(x, kb, g, |ids, rows| match ids {
                    Some(ids) => self.fwd(XSource::Gathered { table: rows, ids }, w_rec, aux),
                    None => self.fwd(XSource::Projected(rows), w_rec, aux),
                });
            }
            OpInput::Raw(f) => *f,
        };
        if x.len() != rows * f || w.len() != (f + 1 + u) * g {
            candle_core::bail!("fused lstm: unexpected input sizes");
        }
        // `[kernel; w_hh]` contiguous for the per-step GEMM on `[x_t, h]`.
        let mut wxh = Vec::with_capacity((f + u) * g);
        wxh.extend_from_slice(&w[..f * g]);
        wxh.extend_from_slice(&w[(f + 1) * g..]);
        let src = XSource::Raw {
            x,
            f,
            wxh: &wxh,
            bias: &w[f * g..(f + 1) * g],
        };
        self.fwd(src, &w[(f + 1) * g..], aux)
    }

    fn fwd<T: Real>(&self, x: XSource<'_, T>, w: &[T], aux: &[T]) -> Result<(CpuStorage, Shape)> {
        let d = self.dims;
        let (b, t, u) = (d.b, d.t, d.u);
        let aux = d.aux(aux, true)?;
        let t_out = if d.last_only { 1 } else { t };
        // Every value of these buffers is written before it is read (see `buffers`).
        let mut out = buffers::take(b * t_out * u);
        let (mut c_all, mut gates) = if self.train {
            (buffers::take(b * t * u), buffers::take(b * t * 4 * u))
        } else {
            (Vec::new(), Vec::new())
        };
        // Training on the final state only: the steps' `h` are kept for backward, not output.
        let mut h_all = if self.train && d.last_only {
            buffers::take(b * t * u)
        } else {
            Vec::new()
        };
        let rows = rows_per_chunk(b);
        let xs: Vec<XSource<'_, T>> = match x {
            XSource::Projected(x) => split(x, t * 4 * u, rows)
                .into_iter()
                .map(XSource::Projected)
                .collect(),
            XSource::Gathered { table, ids } => split(ids, t, rows)
                .into_iter()
                .map(|ids| XSource::Gathered { table, ids })
                .collect(),
            XSource::Raw { x, f, wxh, bias } => split(x, t * f, rows)
                .into_iter()
                .map(|x| XSource::Raw { x, f, wxh, bias })
                .collect(),
        };
        let n = xs.len();
        let saves: Vec<Option<(&mut [T], &mut [T])>> = if self.train {
            split_mut(&mut c_all, t * u, rows)
                .into_iter()
                .zip(split_mut(&mut gates, t * 4 * u, rows))
                .map(Some)
                .collect()
        } else {
            (0..n).map(|_| None).collect()
        };
        let chunks: Vec<FwdChunk<'_, T>> = xs
            .into_iter()
            .zip(split(aux.h0, u, rows))
            .zip(split(aux.c0, u, rows))
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
        run_chunks(chunks, |ch| fwd_chunk(d, w, ch));
        if self.train {
            let mut saved = self
                .saved
                .lock()
                .map_err(|_| candle_core::Error::Msg("fused lstm: poisoned lock".into()))?;
            *saved = Some(Saved {
                c: T::to_cpu_storage_owned(c_all),
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
        fused_op_grads::<T>(&self.input, (d.b, d.t, 4 * d.u), x, w, aux, |w_rec| {
            self.bwd_core::<T>(w_rec, aux, res, grad)
        })
    }

    /// BPTT on the recurrence: `(dxproj, dw_hh, daux)`.
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
        let g4 = 4 * u;
        // Backward consumes what forward kept: `dz` overwrites the gate activations in place
        // (no second `(B,T,4u)` buffer).
        let saved = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg("fused lstm: poisoned lock".into()))?
            .take();
        let Some(saved) = saved else {
            candle_core::bail!(
                "fused lstm: no saved activations (backward runs once per forward through the op)"
            );
        };
        let c_all = T::cpu_storage_data(saved.c)?;
        let mut dx = T::cpu_storage_data(saved.gates)?;
        let w_t = transpose_padded(&w[..u * g4], u, g4);
        let aux_v = to_vec::<T>(aux)?;
        let a = d.aux(&aux_v, true)?;
        let mut hin = buffers::take(b * t * u);
        let mut daux = vec![T::ZERO; aux_v.len()];
        let h_saved = saved.h.map(T::cpu_storage_data).transpose()?;
        let t_out = if d.last_only { 1 } else { t };
        let mut body = |h_out: &[T]| {
            with_slice::<T, _>(grad, |dout| {
                let rows = rows_per_chunk(b);
                let hs = split(a.h0, u, rows);
                let n = hs.len();
                let (dh0, rest) = daux.split_at_mut(b * u);
                let dc0 = &mut rest[..b * u];
                let chunks: Vec<BwdChunk<'_, T>> = hs
                    .into_iter()
                    .zip(split(a.c0, u, rows))
                    .zip(split_opt(a.mask, t, rows, n))
                    .zip(split_opt(a.rd, u, rows, n))
                    .zip(split(h_out, t * u, rows))
                    .zip(split(&c_all, t * u, rows))
                    .zip(split(dout, t_out * u, rows))
                    .zip(split_mut(&mut dx, t * g4, rows))
                    .zip(split_mut(&mut hin, t * u, rows))
                    .zip(split_mut(dh0, u, rows))
                    .zip(split_mut(dc0, u, rows))
                    .map(
                        |(
                            (((((((((h0, c0), mask), rd), h_out), c_all), dout), dx), hin), dh0),
                            dc0,
                        )| BwdChunk {
                            h0,
                            c0,
                            mask,
                            rd,
                            h_out,
                            c_all,
                            dout,
                            dx,
                            hin,
                            dh0,
                            dc0,
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
        let mut dw = vec![T::ZERO; u * g4];
        // dW = Hinᵀ · dZ over all B·T rows at once.
        let hin_t = Mat {
            data: &hin,
            rows: u,
            cols: b * t,
            rs: 1,
            cs: u,
        };
        matmul_sum_k(
            MatMut {
                data: &mut dw,
                rows: u,
                cols: g4,
                rs: g4,
                cs: 1,
            },
            hin_t,
            mat(&dx, b * t, g4),
            gemm_threads(),
        );
        buffers::give(hin);
        buffers::give(c_all);
        if let Some(h) = h_saved {
            buffers::give(h);
        }
        Ok((dx, dw, daux))
    }
}

impl CustomOp3 for LstmOp {
    fn name(&self) -> &'static str {
        "textrnn-fused-lstm"
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
            _ => candle_core::bail!("fused lstm: only f32 and f64 are supported"),
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
            dt => candle_core::bail!("fused lstm: unsupported dtype {dt:?}"),
        };
        Ok((dx, Some(dw), Some(daux)))
    }
}

//! The LSTM cell (gate order i, f, c, o) of the fused recurrence ([`crate::recurrence`]).
//!
//! Forward, per row of a step: `i,f,g,o = σ,σ,tanh,σ(x_t + Z)`, `c' = f c + i g`,
//! `h' = o tanh c'`, `c = m c' + (1-m) c`, `h = m h' + (1-m) h` (two passes over the units, see
//! [`lstm_cell_fwd`]; the last `u mod 8` units padded to a full vector by [`Tail`]). Kept per
//! step when training: the gate activations `i, f, g, o` and `c_t`. A raw input is projected in
//! the recurrent GEMM itself, `[x_t, H ⊙ RD] · [kernel; w_hh]`, the cell adding the bias.
//!
//! Backward, with `dh` the carried gradient plus `dout_t`: `dh' = m dh`,
//! `dc' = m dc + dh' o (1 - tanh² c')`, `dz = [dc' g i(1-i), dc' c_{t-1} f(1-f), dc' i (1-g²),
//! dh' tanh c' o(1-o)]` written over the kept gate activations of that step (the buffer becomes
//! `dxproj`), then `dc ← (1-m) dc + dc' f`, `dh ← (1-m) dh + (dz · Wᵀ) ⊙ rd`.

use crate::real::Real;
use crate::recurrence::{BwdRow, CellLayout, CellMath, FwdRow};
use crate::simd::simd_kernel;
use crate::tail::{Tail, LANES};

simd_kernel! {
    /// Units `0..h.len()` of one row of one step (gate `k` of `x`, `zr` and `gates` at `k·gs`):
    /// gates from `x + zr`, state update in place, activations to `gates`; `cn` is scratch.
    ///
    /// Two passes over the row: the four gates and the new cell state first, then `h`. In one
    /// pass each unit chains two rational functions (a gate, then `tanh c'`), a dependency chain
    /// longer than the out-of-order window hides; split, each pass's units are independent.
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

/// The LSTM's cell maths: the kernels above on the units their vector loop covers, then on the
/// [`Tail`] padded to full vectors.
pub(crate) struct Lstm;

impl CellMath for Lstm {
    const NAME: &'static str = "lstm";
    const OP_NAME: &'static str = "textrnn-fused-lstm";
    const LAYOUT: CellLayout = CellLayout::gates(4)
        .cell_state()
        .joint_projection()
        .dx_in_saved();

    /// [`lstm_cell_fwd`]; the gate activations go to `save`.
    fn row_fwd<T: Real>(m: T, r: FwdRow<'_, T>) {
        let u = r.h.len();
        let (lo, tail) = Tail::split(u);
        let (h, c) = (&mut r.h[..lo], &mut r.c[..lo]);
        lstm_cell_fwd(m, u, r.x, r.zr, h, c, r.save, r.tmp);
        if let Some(t) = tail {
            let (xt, zt, mut ht, mut ct) = pack_step(t, (r.x, r.zr), (r.h, r.c));
            let mut gt = [T::ZERO; 4 * LANES];
            let mut tt = [T::ZERO; LANES];
            lstm_cell_fwd(m, LANES, &xt, &zt, &mut ht, &mut ct, &mut gt, &mut tt);
            t.unpack(&ht, r.h);
            t.unpack(&ct, r.c);
            t.unpack(&gt, r.save);
        }
    }

    /// [`lstm_cell_infer`].
    fn row_infer<T: Real>(r: FwdRow<'_, T>) {
        let (x, zr, h, c) = (r.x, r.zr, r.h, r.c);
        let u = h.len();
        let (lo, tail) = Tail::split(u);
        lstm_cell_infer(u, x, zr, &mut h[..lo], &mut c[..lo], r.tmp);
        if let Some(t) = tail {
            let (xt, zt, mut ht, mut ct) = pack_step(t, (x, zr), (h, c));
            let mut tt = [T::ZERO; LANES];
            lstm_cell_infer(LANES, &xt, &zt, &mut ht, &mut ct, &mut tt);
            t.unpack(&ht, h);
            t.unpack(&ct, c);
        }
    }

    /// [`lstm_cell_bwd`]: `dz` overwrites the gate activations in `saved`, which becomes the
    /// projected-input gradient.
    fn row_bwd<T: Real>(m: T, r: BwdRow<'_, T>) {
        let (gz, cp, dout, dh, dc) = (r.saved, r.cp, r.dout, r.dh, r.dc);
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
}

/// The [`Tail`] of a step's gate inputs `x`, `zr` and of its states `h`, `c`.
#[allow(clippy::type_complexity)]
fn pack_step<T: Real>(
    t: Tail,
    (x, zr): (&[T], &[T]),
    (h, c): (&[T], &[T]),
) -> ([T; 4 * LANES], [T; 4 * LANES], [T; LANES], [T; LANES]) {
    (t.pack(x), t.pack(zr), t.pack(h), t.pack(c))
}

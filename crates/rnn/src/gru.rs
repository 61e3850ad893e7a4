//! The GRU cell (Keras `reset_after`, gate order z, r, h) of the fused recurrence
//! ([`crate::recurrence`]).
//!
//! Forward, per row of a step: `hi = Z + b`, `z = σ(x_z + hi_z)`, `r = σ(x_r + hi_r)`,
//! `n = tanh(x_h + r hi_h)`, `h' = n + z (h - n)`, `h = m h' + (1-m) h`. Kept per step when
//! training: `z, r, n, hi_h`. A raw input is projected by a GEMM of its own per step,
//! `x_t · kernel + b_in`, next to the recurrent one.
//!
//! Backward, with `dh` the carried gradient plus `dout_t` and `dh' = m dh`:
//! `dz = dh' (h_{t-1} - n) z(1-z)`, `dn = dh' (1-z)(1-n²)`, `dr = dn hi_h r(1-r)`;
//! `dxproj_t = [dz, dr, dn]`, `dhi_t = [dz, dr, dn r]` (written over the kept `z, r, n` of that
//! step); `dh ← (1-m) dh + dh' z + (dhi · Wᵀ) ⊙ rd`. The weight gradient's last row, from the
//! trailing 1 of `[h_{t-1} ⊙ rd, 1]`, is the recurrent bias gradient.

use crate::real::Real;
use crate::recurrence::{BwdRow, CellLayout, CellMath, FwdRow};
use crate::simd::simd_kernel;
use crate::tail::{Tail, LANES};

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

/// The GRU's cell maths (each row function runs its kernel on the units the vector loop covers,
/// then on the [`Tail`] padded to full vectors).
pub(crate) struct Gru;

impl CellMath for Gru {
    const NAME: &'static str = "gru";
    const OP_NAME: &'static str = "textrnn-fused-gru";
    const LAYOUT: CellLayout = CellLayout::gates(3).saved(4).recurrent_bias();

    /// [`gru_cell_fwd`]: `z, r, n, hi_h` go to `save`.
    fn row_fwd<T: Real>(m: T, r: FwdRow<'_, T>) {
        let (x, zr, bias, h, save) = (r.x, r.zr, r.bias, r.h, r.save);
        let (lo, tail) = Tail::split(h.len());
        gru_cell_fwd(m, h.len(), x, zr, bias, &mut h[..lo], save);
        if let Some(t) = tail {
            let (xt, zt, bt) = pack_inputs(t, x, zr, bias);
            let mut ht = t.pack::<T, LANES>(h);
            let mut st = [T::ZERO; 4 * LANES];
            gru_cell_fwd(m, LANES, &xt, &zt, &bt, &mut ht, &mut st);
            t.unpack(&ht, h);
            t.unpack(&st, save);
        }
    }

    /// [`gru_cell_infer`].
    fn row_infer<T: Real>(r: FwdRow<'_, T>) {
        let (x, zr, bias, h) = (r.x, r.zr, r.bias, r.h);
        let (lo, tail) = Tail::split(h.len());
        gru_cell_infer(h.len(), x, zr, bias, &mut h[..lo]);
        if let Some(t) = tail {
            let (xt, zt, bt) = pack_inputs(t, x, zr, bias);
            let mut ht = t.pack::<T, LANES>(h);
            gru_cell_infer(LANES, &xt, &zt, &bt, &mut ht);
            t.unpack(&ht, h);
        }
    }

    /// [`gru_cell_bwd`]: `dhi` overwrites the kept row `saved`, the projected-input gradient goes
    /// to `dx`.
    fn row_bwd<T: Real>(m: T, r: BwdRow<'_, T>) {
        let (sd, hp, dout, dh, dx) = (r.saved, r.hp, r.dout, r.dh, r.dx);
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
}

//! Gradient building blocks shared by the fused ops: the scatter of row gradients onto a
//! table, the backward of an input projection, and the recurrent term of a backward step.

use crate::matrix::{mat, mat_mut, matmul, matmul_sum_k, Mat};
use crate::parallel::{gemm_threads, run_chunks, zeros};
use crate::real::Real;
use crate::simd::{add_into, add_mul};

/// The gradient of a row gather: `out (vocab, g)` with `out[ids[r]] += rows[r]` for every row
/// `r` of `rows (ids.len(), g)`. The vocabulary is cut into one id range per thread holding about
/// the same number of tokens (ids are frequency-ranked, so equal ranges would not balance); each
/// thread scans all ids and adds its own rows, in row order (deterministic).
pub(crate) fn scatter_rows<T: Real>(rows: &[T], ids: &[u32], vocab: usize, g: usize) -> Vec<T> {
    let mut out = zeros(vocab * g);
    let parts = split_vocab(&mut out, ids, vocab, g);
    run_chunks(parts, |(lo, hi, part)| {
        for (r, &id) in ids.iter().enumerate() {
            let v = id as usize;
            if (lo..hi).contains(&v) {
                add_into(
                    &mut part[(v - lo) * g..(v - lo + 1) * g],
                    &rows[r * g..(r + 1) * g],
                );
            }
        }
    });
    out
}

/// Cuts `out` `(vocab, g)` into one id range per thread holding about the same number of the
/// `ids` (ids are frequency-ranked, so equal ranges would not balance): `(first id, end id,
/// rows)` for threads that each scan all ids and update only their own rows.
pub(crate) fn split_vocab<'a, T>(
    out: &'a mut [T],
    ids: &[u32],
    vocab: usize,
    g: usize,
) -> Vec<(usize, usize, &'a mut [T])> {
    let threads = rayon::current_num_threads().max(1).min(vocab.max(1));
    let mut counts = vec![0usize; vocab];
    for &id in ids {
        counts[id as usize] += 1;
    }
    // Range boundaries at every `ids.len() / threads` tokens.
    let mut bounds = vec![0usize];
    let (mut seen, share) = (0usize, ids.len().div_ceil(threads).max(1));
    for (v, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= share * bounds.len() && bounds.len() < threads && v + 1 < vocab {
            bounds.push(v + 1);
        }
    }
    bounds.push(vocab);
    let mut parts = Vec::with_capacity(bounds.len() - 1);
    let mut rest = out;
    for w in bounds.windows(2) {
        let (part, tail) = rest.split_at_mut((w[1] - w[0]) * g);
        parts.push((w[0], w[1], part));
        rest = tail;
    }
    parts
}

/// Backward of the input projection folded into the ops (`xproj (rows, g) = x (rows, f) · kernel
/// + bias`, with `kb = [kernel; bias]` row-major `(f + 1, g)`) from `dxp = d xproj`:
/// `d[kernel; bias]` `(f + 1, g)` (`xᵀ·dxp` and the column sums of `dxp`) and, when `want_dx`, `dx = dxp · kernelᵀ` `(rows, f)`.
pub(crate) fn project_bwd<T: Real>(
    x: &[T],
    kb: &[T],
    dxp: &[T],
    rows: usize,
    (f, g): (usize, usize),
    want_dx: bool,
) -> (Vec<T>, Option<Vec<T>>) {
    let mut dkb = vec![T::ZERO; (f + 1) * g];
    let (dk, db) = dkb.split_at_mut(f * g);
    let x_t = Mat {
        data: x,
        rows: f,
        cols: rows,
        rs: 1,
        cs: f,
    };
    matmul_sum_k(mat_mut(dk, f, g), x_t, mat(dxp, rows, g), gemm_threads());
    for r in 0..rows {
        add_into(db, &dxp[r * g..(r + 1) * g]);
    }
    let dx = want_dx.then(|| {
        let mut dx = zeros(rows * f);
        let k_t = Mat {
            data: &kb[..f * g],
            rows: g,
            cols: f,
            rs: 1,
            cs: g,
        };
        matmul(
            mat_mut(&mut dx, rows, f),
            false,
            mat(dxp, rows, g),
            k_t,
            gemm_threads(),
        );
        dx
    });
    (dkb, dx)
}

/// `dh += (dz · Wᵀ) ⊙ rd` for one backward step of `nb = dz.rows` batch rows (`dh` `(nb, u)`):
/// `w_t` is [`transpose_padded`](crate::matrix::transpose_padded)'s `(G·u, padded_width(u))` view and `dhin` scratch of
/// `nb · padded_width(u)` values; `rd` the rows' recurrent dropout masks `(nb, u)`, if any.
pub(crate) fn add_recurrent_grad<T: Real>(
    dh: &mut [T],
    dhin: &mut [T],
    dz: Mat<'_, T>,
    w_t: Mat<'_, T>,
    rd: Option<&[T]>,
) {
    let (nb, up) = (dz.rows, w_t.cols);
    let u = dh.len() / nb.max(1);
    matmul(mat_mut(dhin, nb, up), false, dz, w_t, 1);
    for r in 0..nb {
        let (dh, dhin) = (&mut dh[r * u..(r + 1) * u], &dhin[r * up..r * up + u]);
        match rd {
            Some(rd) => add_mul(dh, dhin, &rd[r * u..(r + 1) * u]),
            None => add_into(dh, dhin),
        }
    }
}

//! Strided matrix views and the GEMM wrapper around the `gemm` crate: `C (m, n) = [C +]
//! A (m, k) · B (k, n)` where every matrix is a slice plus row and column strides,
//! bounds-checked before the `gemm` call.

use crate::parallel::run_chunks;
use crate::real::Real;
use crate::tail::LANES;

/// A read-only strided matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

/// A writable strided matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
pub(crate) struct MatMut<'a, T> {
    pub data: &'a mut [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

fn fits(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * rs + (cols - 1) * cs < len
}

/// `dst = a · b` (or `dst += a · b` when `accumulate`), with `threads` > 1 letting `gemm` split
/// the work over rayon.
///
/// # Panics
/// When the shapes disagree or a view reaches past its slice (internal invariant, never user
/// input: callers validate tensor shapes first).
pub(crate) fn matmul<T: Real>(
    dst: MatMut<'_, T>,
    accumulate: bool,
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    threads: usize,
) {
    assert!(
        a.rows == dst.rows && b.cols == dst.cols && a.cols == b.rows,
        "matmul shape mismatch"
    );
    assert!(fits(dst.data.len(), dst.rows, dst.cols, dst.rs, dst.cs));
    assert!(fits(a.data.len(), a.rows, a.cols, a.rs, a.cs));
    assert!(fits(b.data.len(), b.rows, b.cols, b.rs, b.cs));
    if dst.rows == 0 || dst.cols == 0 {
        return;
    }
    if a.cols == 0 {
        if !accumulate {
            for i in 0..dst.rows {
                for j in 0..dst.cols {
                    dst.data[i * dst.rs + j * dst.cs] = T::ZERO;
                }
            }
        }
        return;
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // `gemm` vectorises along the destination's columns-of-memory (its `m` axis wants unit row
    // stride): a row-major `C = A·B` runs as the column-major `Cᵀ = Bᵀ·Aᵀ`, which needs no
    // strided stores and reads the row-major `B` (the recurrent kernel) without packing.
    let (m, n, dst_rs, dst_cs, lhs, lhs_rs, lhs_cs, rhs, rhs_rs, rhs_cs) =
        if dst.cs == 1 && dst.rs != 1 {
            (
                dst.cols, dst.rows, dst.cs, dst.rs, b.data, b.cs, b.rs, a.data, a.cs, a.rs,
            )
        } else {
            (
                dst.rows, dst.cols, dst.rs, dst.cs, a.data, a.rs, a.cs, b.data, b.rs, b.cs,
            )
        };
    // SAFETY: the three views were checked above to stay inside their slices for every index
    // (i < rows, j < cols), and the transposed problem indexes exactly the same elements; `dst`
    // is a unique borrow, so it aliases neither input; `T` is f32 or f64, both supported by
    // `gemm`. Strides are < isize::MAX since they index real slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            a.cols,
            dst.data.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `dst = a · b` for a long inner dimension (the weight gradients, sums over `B·T` or `V` rows
/// into a small matrix). `gemm` splits its threads over the destination, which for a `(65, 192)`
/// result leaves the second core mostly idle; here the inner range is cut into one slice per
/// thread instead, each slice multiplied into its own buffer on one thread, and the buffers added
/// in order (deterministic for a given thread count).
pub(crate) fn matmul_sum_k<T: Real>(
    dst: MatMut<'_, T>,
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    threads: usize,
) {
    /// Below this many inner-dimension rows per slice, splitting does not pay.
    const MIN_SLICE: usize = 512;
    let k = a.cols;
    let parts = threads.min(k / MIN_SLICE).max(1);
    if parts == 1 {
        return matmul(dst, false, a, b, threads);
    }
    assert!(
        a.rows == dst.rows && b.cols == dst.cols && k == b.rows,
        "matmul shape mismatch"
    );
    let (rows, cols) = (dst.rows, dst.cols);
    let mut partials: Vec<Vec<T>> = (0..parts).map(|_| vec![T::ZERO; rows * cols]).collect();
    let jobs: Vec<(usize, &mut Vec<T>)> = partials.iter_mut().enumerate().collect();
    run_chunks(jobs, |(p, buf)| {
        let (k0, k1) = (k * p / parts, k * (p + 1) / parts);
        let a_part = Mat {
            data: &a.data[k0 * a.cs..],
            cols: k1 - k0,
            ..a
        };
        let b_part = Mat {
            data: &b.data[k0 * b.rs..],
            rows: k1 - k0,
            ..b
        };
        matmul(mat_mut(buf, rows, cols), false, a_part, b_part, 1);
    });
    for i in 0..rows {
        for j in 0..cols {
            let mut acc = T::ZERO;
            for part in &partials {
                acc += part[i * cols + j];
            }
            dst.data[i * dst.rs + j * dst.cs] = acc;
        }
    }
}

/// Row-major `(rows, cols)` view of a contiguous slice.
pub(crate) fn mat<T>(data: &[T], rows: usize, cols: usize) -> Mat<'_, T> {
    Mat {
        data,
        rows,
        cols,
        rs: cols,
        cs: 1,
    }
}

/// Row-major `(rows, cols)` writable view of a contiguous slice.
pub(crate) fn mat_mut<T>(data: &mut [T], rows: usize, cols: usize) -> MatMut<'_, T> {
    MatMut {
        data,
        rows,
        cols,
        rs: cols,
        cs: 1,
    }
}

/// `Wᵀ` for the per-step backward GEMM `dh = dz · Wᵀ`: the row-major transpose of a
/// `(rows, cols)` matrix, each of its `cols` rows zero-padded to `padded_width(rows)`.
/// Read contiguously, it is faster than a strided view; and `gemm` copies (packs) the whole
/// matrix on every call when its destination width is not a multiple of the vector width. The
/// padded columns of `dh` come out zero and are not read.
pub(crate) fn transpose_padded<T: Real>(a: &[T], rows: usize, cols: usize) -> Vec<T> {
    let width = padded_width(rows);
    let mut out = Vec::with_capacity(width * cols);
    for j in 0..cols {
        out.extend((0..rows).map(|i| a[i * cols + j]));
        out.extend(std::iter::repeat_n(T::ZERO, width - rows));
    }
    out
}

/// `u` rounded up to a whole number of vectors ([`LANES`]).
pub(crate) fn padded_width(u: usize) -> usize {
    u.next_multiple_of(LANES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::zeros;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn uniform(rng: &mut ChaCha8Rng, n: usize, scale: f64) -> Vec<f64> {
        (0..n).map(|_| rng.random_range(-scale..scale)).collect()
    }

    /// The weight-gradient GEMM with its inner dimension split over threads equals the plain
    /// GEMM, on the strided views the ops use (a transposed `(k, m)` matrix, rows of `b` with a
    /// stride wider than their width), and large buffers from `zeros` are zero.
    #[test]
    fn split_inner_dimension_matmul_matches_plain() {
        let (m, n, k, b_stride) = (5, 7, 3001, 9);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let a = uniform(&mut rng, k * m, 1.0);
        let b = uniform(&mut rng, k * b_stride, 1.0);
        let a_t = Mat {
            data: &a,
            rows: m,
            cols: k,
            rs: 1,
            cs: m,
        };
        let b_v = Mat {
            data: &b,
            rows: k,
            cols: n,
            rs: b_stride,
            cs: 1,
        };
        let mut want = vec![0.0; m * n];
        matmul(mat_mut(&mut want, m, n), false, a_t, b_v, 1);
        let den = want.iter().map(|y: &f64| y.abs()).fold(1e-3, f64::max);
        for threads in [1, 2, 3] {
            let mut got = vec![f64::NAN; m * n];
            matmul_sum_k(mat_mut(&mut got, m, n), a_t, b_v, threads);
            let num = got
                .iter()
                .zip(&want)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            let err = num / den;
            assert!(err < 1e-12, "{threads} threads: relative error {err}");
        }
        let z: Vec<f32> = zeros(3 << 20);
        assert!(z.len() == 3 << 20 && z.iter().all(|&x| x == 0.0));
    }
}

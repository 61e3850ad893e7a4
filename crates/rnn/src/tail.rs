//! The last `u mod LANES` columns of a cell row, run through the vectorised cell kernels.
//!
//! The cell kernels (`lstm_cell_*`, `gru_cell_*`) loop over a row's `u` units, and LLVM turns
//! that loop into `LANES`-wide vector code plus a scalar loop for the units after the last full
//! vector. Those few scalar units cost far more than their share of the work: a scalar `tanh`
//! costs nearly what a vector of eight does.
//!
//! So the cells run their vector loop on the first `lo = u − u mod LANES` units of each gate
//! block in place, and [`Tail`] copies the remaining units of every gate block into zero-padded
//! `LANES`-wide blocks on the stack, where one more pass of the same kernel (with gate stride
//! `LANES`) computes them, and copies the results back. The padding lanes compute on zeros and
//! are dropped; every kernel is elementwise per unit, so the results are those of the plain
//! loop.

use crate::real::Real;

/// Vector width, in values, that the tail blocks are padded to: eight f32 lanes of AVX2 (two
/// vectors for f64).
pub(crate) const LANES: usize = 8;

/// The units `lo..u` of a row made of gate blocks `u` wide.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tail {
    lo: usize,
    u: usize,
}

impl Tail {
    /// `(lo, tail)`: the units the vector loop covers in place, and the rest when there is any.
    pub(crate) fn split(u: usize) -> (usize, Option<Tail>) {
        let lo = u - u % LANES;
        (lo, (lo < u).then_some(Tail { lo, u }))
    }

    /// The tail units of each of the `N / LANES` gate blocks of `row` (block `k` at `k·u`), each
    /// block zero-padded to `LANES`.
    pub(crate) fn pack<T: Real, const N: usize>(self, row: &[T]) -> [T; N] {
        let mut out = [T::ZERO; N];
        let n = self.u - self.lo;
        for (k, block) in out.chunks_exact_mut(LANES).enumerate() {
            let start = k * self.u + self.lo;
            block[..n].copy_from_slice(&row[start..start + n]);
        }
        out
    }

    /// Writes the tail units of each gate block of `blocks` (as [`Tail::pack`] lays them out)
    /// back into `row`.
    pub(crate) fn unpack<T: Real>(self, blocks: &[T], row: &mut [T]) {
        let n = self.u - self.lo;
        for (k, block) in blocks.chunks_exact(LANES).enumerate() {
            let start = k * self.u + self.lo;
            row[start..start + n].copy_from_slice(&block[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_packs_every_gate_block_and_writes_it_back() {
        assert!(Tail::split(16).1.is_none());
        assert_eq!(Tail::split(16).0, 16);
        let (lo, tail) = Tail::split(11);
        assert_eq!(lo, 8);
        let tail = tail.expect("11 units leave a tail of 3");
        let row: Vec<f32> = (0..22).map(|v| v as f32).collect();
        let packed: [f32; 2 * LANES] = tail.pack(&row);
        assert_eq!(
            packed,
            [8., 9., 10., 0., 0., 0., 0., 0., 19., 20., 21., 0., 0., 0., 0., 0.]
        );
        let mut back = vec![-1.0f32; 22];
        tail.unpack(&packed, &mut back);
        let expected: Vec<f32> = (0..22)
            .map(|v| if v % 11 >= 8 { v as f32 } else { -1.0 })
            .collect();
        assert_eq!(back, expected);
    }
}

//! Reuse of the fused ops' large per-batch buffers across training steps.
//!
//! A training step of the IMDB LSTM keeps `c_t` and the four gate activations of every step
//! (64 MB for batch 64 × 500 steps × 100 units), and backward builds `h_{t-1}` for the weight
//! gradient (13 MB). Allocated afresh, each of them is either zeroed by a `memset` (memory the
//! allocator had kept) or faulted in page by page (a fresh `mmap`): 4–5 ms of a 110 ms step.
//! The kernels overwrite every value of these buffers before reading it, so a buffer left from
//! the previous step serves as well as a zeroed one: [`take`] hands one back with whatever
//! (initialised) values it held, and the ops [`give`] the buffers back once backward is done
//! with them.
//!
//! The pool keeps at most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] per float type, and only
//! buffers of at least [`MIN_LEN`] values (below that, allocating is cheap). Results never depend
//! on what a reused buffer held: tests compare every output and gradient with the step-wise
//! reference over repeated steps. [`super::release_buffers`] empties the pool (the trainer calls
//! it when training ends).

use std::sync::Mutex;

use super::kernels::{zeros, Real};

/// Buffers shorter than this (in values) are neither pooled nor taken from the pool.
pub(crate) const MIN_LEN: usize = 1 << 18;
/// At most this many buffers are kept per float type.
pub(crate) const MAX_BUFFERS: usize = 8;
/// At most this many bytes are kept per float type.
pub(crate) const MAX_BYTES: usize = 512 << 20;

/// Freed buffers of one float type.
pub(crate) struct Pool<T>(Mutex<Vec<Vec<T>>>);

impl<T> Pool<T> {
    /// An empty pool (for the per-type statics).
    pub(crate) const fn new() -> Self {
        Pool(Mutex::new(Vec::new()))
    }
}

/// A buffer of `n` values for the caller to overwrite entirely: a pooled one when one is large
/// enough (its values are left from its earlier use), else a new zeroed one.
pub(crate) fn take<T: Real>(n: usize) -> Vec<T> {
    if n >= MIN_LEN {
        if let Ok(mut pool) = T::pool().0.lock() {
            // The smallest pooled buffer that holds `n` values, so large ones stay for large
            // requests.
            let best = pool
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= n)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            if let Some(i) = best {
                let mut buf = pool.swap_remove(i);
                drop(pool);
                buf.resize(n, T::ZERO);
                return buf;
            }
        }
    }
    zeros(n)
}

/// Returns a buffer to the pool (dropped instead when it is small or the pool is full; the
/// smallest buffers go first).
pub(crate) fn give<T: Real>(buf: Vec<T>) {
    if buf.capacity() < MIN_LEN {
        return;
    }
    let Ok(mut pool) = T::pool().0.lock() else {
        return;
    };
    pool.push(buf);
    pool.sort_by_key(|b| std::cmp::Reverse(b.capacity()));
    let mut bytes = 0;
    let keep = pool
        .iter()
        .take_while(|b| {
            bytes += b.capacity() * std::mem::size_of::<T>();
            bytes <= MAX_BYTES
        })
        .count()
        .min(MAX_BUFFERS);
    pool.truncate(keep);
}

/// Drops every pooled buffer of type `T` (see [`super::release_buffers`]).
pub(crate) fn release<T: Real>() {
    if let Ok(mut pool) = T::pool().0.lock() {
        *pool = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_hands_back_the_smallest_buffer_that_fits() {
        // f64: the f32 pool is shared with the kernels' tests running in parallel.
        let a: Vec<f64> = vec![1.0; MIN_LEN];
        let b: Vec<f64> = vec![2.0; 2 * MIN_LEN];
        give(b);
        give(a);
        give(vec![3.0f64; 10]); // too small: dropped
        let got: Vec<f64> = take(MIN_LEN + 1);
        assert_eq!(got.len(), MIN_LEN + 1);
        assert_eq!(got[0], 2.0, "the only buffer large enough");
        let got2: Vec<f64> = take(MIN_LEN);
        assert_eq!(got2[0], 1.0);
        let fresh: Vec<f64> = take(MIN_LEN);
        assert!(
            fresh.iter().all(|&v| v == 0.0),
            "an empty pool allocates zeros"
        );
        give(got);
        give(got2);
        give(fresh);
        release::<f64>();
        let after: Vec<f64> = take(MIN_LEN);
        assert!(
            after.iter().all(|&v| v == 0.0),
            "a released pool allocates zeros"
        );
    }
}

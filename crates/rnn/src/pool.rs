//! Reuse of the fused ops' large per-batch buffers across training steps.
//!
//! A training step of an LSTM over long sequences keeps `c_t` and the four gate activations of
//! every step (64 MB for batch 64 × 500 steps × 100 units), and backward builds `h_{t-1}` for the
//! weight gradient (13 MB). Allocated afresh, each of them is either zeroed by a `memset` (memory
//! the allocator had kept) or faulted in page by page (a fresh `mmap`). The kernels overwrite
//! every value of these buffers before reading it, so a buffer left from the previous step serves
//! as well as a zeroed one: [`Buffers::take`] hands one back with whatever (initialised) values
//! it held, and the ops [`Buffers::give`] the buffers back once backward is done with them.
//!
//! The buffers live in a [`Pool`] the caller owns and passes in
//! [`Options::pool`](crate::Options::pool) (a recurrent layer holds one); they are freed when the
//! last clone of the pool, and the last op that ran with it, is dropped. Without a pool every
//! buffer is allocated and dropped per call. A pool keeps at most [`MAX_BUFFERS`] buffers and
//! [`MAX_BYTES`] per float type, and only buffers of at least [`MIN_LEN`] values (below that,
//! allocating is cheap). Results never depend on what a reused buffer held: the tests compare
//! every output and gradient with the step-wise reference over repeated steps.

use std::sync::{Arc, Mutex};

use crate::parallel::zeros;

/// Buffers shorter than this (in values) are neither pooled nor taken from the pool.
pub(crate) const MIN_LEN: usize = 1 << 18;
/// At most this many buffers are kept per float type.
pub(crate) const MAX_BUFFERS: usize = 8;
/// At most this many bytes are kept per float type.
pub(crate) const MAX_BYTES: usize = 512 << 20;

/// Large buffers that the fused ops reuse from one call to the next (activations and gradients
/// of a batch, up to 512 MB per float type), owned by the caller.
///
/// Cloning shares the pool; the buffers are freed when the last clone (and the last op that ran
/// with it) is dropped, or by [`Pool::clear`].
///
/// ```
/// let pool = textrnn_rnn::Pool::new();
/// let opts = textrnn_rnn::Options { pool: Some(&pool), ..Default::default() };
/// # let _ = opts;
/// pool.clear();
/// ```
#[derive(Clone, Default)]
pub struct Pool(Arc<Slots>);

/// The freed buffers of each float type.
#[derive(Default)]
pub(crate) struct Slots {
    f32: Mutex<Vec<Vec<f32>>>,
    f64: Mutex<Vec<Vec<f64>>>,
}

impl Pool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops every pooled buffer.
    pub fn clear(&self) {
        fn empty<T>(slot: &Mutex<Vec<Vec<T>>>) {
            if let Ok(mut bufs) = slot.lock() {
                *bufs = Vec::new();
            }
        }
        empty(&self.0.f32);
        empty(&self.0.f64);
    }

    /// Bytes held by pooled buffers.
    pub fn pooled_bytes(&self) -> usize {
        fn bytes<T>(slot: &Mutex<Vec<Vec<T>>>) -> usize {
            slot.lock().map_or(0, |bufs| {
                bufs.iter()
                    .map(|b| b.capacity() * std::mem::size_of::<T>())
                    .sum()
            })
        }
        bytes(&self.0.f32) + bytes(&self.0.f64)
    }

    /// The handle the ops take buffers from and give them back to.
    pub(crate) fn buffers(&self) -> Buffers<'_> {
        Buffers(Some(&self.0))
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("pooled_bytes", &self.pooled_bytes())
            .finish()
    }
}

/// A float type the pool keeps buffers of.
pub(crate) trait Pooled: Copy + Default + Send + Sync + 'static {
    /// This type's slot.
    fn slot(slots: &Slots) -> &Mutex<Vec<Vec<Self>>>;
}

impl Pooled for f32 {
    fn slot(slots: &Slots) -> &Mutex<Vec<Vec<Self>>> {
        &slots.f32
    }
}

impl Pooled for f64 {
    fn slot(slots: &Slots) -> &Mutex<Vec<Vec<Self>>> {
        &slots.f64
    }
}

/// Where an op takes its large buffers from: a caller's [`Pool`], or (`None`) fresh
/// allocations.
#[derive(Clone, Copy, Default)]
pub(crate) struct Buffers<'a>(Option<&'a Slots>);

impl Buffers<'_> {
    /// A buffer of `n` values for the caller to overwrite entirely: a pooled one when one is
    /// large enough (its values are left from its earlier use), else a new zeroed one.
    pub(crate) fn take<T: Pooled>(self, n: usize) -> Vec<T> {
        if let (Some(slots), true) = (self.0, n >= MIN_LEN) {
            if let Ok(mut pool) = T::slot(slots).lock() {
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
                    buf.resize(n, T::default());
                    return buf;
                }
            }
        }
        zeros(n)
    }

    /// Returns a buffer to the pool (dropped instead when there is no pool, when it is small or
    /// the pool is full; the smallest buffers go first).
    pub(crate) fn give<T: Pooled>(self, buf: Vec<T>) {
        let Some(slots) = self.0 else {
            return;
        };
        if buf.capacity() < MIN_LEN {
            return;
        }
        let Ok(mut pool) = T::slot(slots).lock() else {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_hands_back_the_smallest_buffer_that_fits() {
        let pool = Pool::new();
        let bufs = pool.buffers();
        let a: Vec<f64> = vec![1.0; MIN_LEN];
        let b: Vec<f64> = vec![2.0; 2 * MIN_LEN];
        bufs.give(b);
        bufs.give(a);
        bufs.give(vec![3.0f64; 10]); // too small: dropped
        let got: Vec<f64> = bufs.take(MIN_LEN + 1);
        assert_eq!(got.len(), MIN_LEN + 1);
        assert_eq!(got[0], 2.0, "the only buffer large enough");
        let got2: Vec<f64> = bufs.take(MIN_LEN);
        assert_eq!(got2[0], 1.0);
        let fresh: Vec<f64> = bufs.take(MIN_LEN);
        assert!(
            fresh.iter().all(|&v| v == 0.0),
            "an empty pool allocates zeros"
        );
        bufs.give(got);
        bufs.give(got2);
        bufs.give(fresh);
        assert!(pool.pooled_bytes() >= 3 * MIN_LEN * 8);
        pool.clear();
        assert_eq!(pool.pooled_bytes(), 0);
        let after: Vec<f64> = bufs.take(MIN_LEN);
        assert!(
            after.iter().all(|&v| v == 0.0),
            "a released pool allocates zeros"
        );
    }

    #[test]
    fn without_a_pool_nothing_is_kept() {
        let none = Buffers::default();
        none.give(vec![5.0f32; MIN_LEN]);
        let got: Vec<f32> = none.take(MIN_LEN);
        assert!(got.iter().all(|&v| v == 0.0));
    }
}

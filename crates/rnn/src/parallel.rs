//! How the fused ops split their work across rayon threads: the batch cut into one chunk of
//! rows per thread (rows are independent through the whole recurrence, so a chunk runs all its
//! steps without synchronising), and buffers zero-filled by every thread.

use rayon::prelude::*;

/// Batch rows per rayon task: the batch is cut into one chunk per thread.
pub(crate) fn rows_per_chunk(batch: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    batch.div_ceil(threads).max(1)
}

/// Runs `f` on every chunk, in parallel when there is more than one.
pub(crate) fn run_chunks<C: Send>(chunks: Vec<C>, f: impl Fn(C) + Sync + Send) {
    if chunks.len() > 1 {
        chunks.into_par_iter().for_each(f);
    } else {
        chunks.into_iter().for_each(f);
    }
}

/// Splits `data` into chunks of `rows_per_chunk * row_len` (the last one shorter).
pub(crate) fn split_mut<T>(data: &mut [T], row_len: usize, rows: usize) -> Vec<&mut [T]> {
    data.chunks_mut((row_len * rows).max(1)).collect()
}

/// Splits `data` into chunks of `rows_per_chunk * row_len` (the last one shorter).
pub(crate) fn split<T>(data: &[T], row_len: usize, rows: usize) -> Vec<&[T]> {
    data.chunks((row_len * rows).max(1)).collect()
}

/// Per-chunk optional slices (`None` for every one of the `n` chunks when absent).
pub(crate) fn split_opt<T>(
    data: Option<&[T]>,
    row_len: usize,
    rows: usize,
    n: usize,
) -> Vec<Option<&[T]>> {
    match data {
        Some(d) => split(d, row_len, rows).into_iter().map(Some).collect(),
        None => vec![None; n],
    }
}

/// Threads for the GEMMs over a whole batch (weight gradients, vocabulary projections).
pub(crate) fn gemm_threads() -> usize {
    rayon::current_num_threads().max(1)
}

/// `n` zeros. Large buffers (the activations and gradients of a whole batch, tens of MB) are
/// filled by every rayon thread: the allocator hands back reused heap memory, so a plain
/// `vec![0; n]` is a single-threaded `memset`, a serial section of the step.
pub(crate) fn zeros<T: Copy + Default + Send + Sync>(n: usize) -> Vec<T> {
    /// Below this many values one thread zeroes the buffer.
    const PARALLEL_MIN: usize = 1 << 20;
    if n < PARALLEL_MIN {
        return vec![T::default(); n];
    }
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(T::default(), n));
    v
}

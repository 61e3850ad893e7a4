//! Shared building blocks of the fused CPU recurrences: the float trait, fast activations, the
//! strided GEMM wrapper around the `gemm` crate, slice access to candle storages and the batch
//! split across rayon threads.
//!
//! - `tanh` (f32) is a degree-4/4 rational function of `x²` (times `x`) on `|x| ≤ 8` (absolute
//!   error about 4e-7), `sigmoid(x) = (1 + tanh(x/2)) / 2` (about 2e-7). Branch-free so the cell
//!   loops vectorise; f64 uses the exact `std` functions (gradient checks).
//! - [`matmul`]: `C (m, n) = [C +] A (m, k) · B (k, n)` where every matrix is a slice plus row and
//!   column strides, bounds-checked before the `gemm` call.
//! - [`simd_kernel!`] compiles a kernel twice, plain and with `avx2,fma` enabled, and picks the
//!   AVX2 copy at run time when the CPU has it (the workspace builds for baseline x86-64).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Storage, Tensor, WithDType};
use rayon::prelude::*;

use super::buffers::{self, Pool};
use super::cell_tail::LANES;
use super::dropout_projection::DropoutFold;

/// A float the fused kernels run on (f32 fast path, f64 for exact gradient checks).
pub(crate) trait Real: WithDType {
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Logistic function; `FMA` lets the f32 polynomial use fused multiply-adds (only inside
    /// the `avx2,fma` copy of a [`simd_kernel!`], where they compile to `vfmadd`).
    fn sigmoid_k<const FMA: bool>(self) -> Self;
    /// Hyperbolic tangent (`FMA` as in [`Real::sigmoid_k`]).
    fn tanh_k<const FMA: bool>(self) -> Self;
    /// The pool of freed buffers of this type ([`super::buffers`]).
    fn pool() -> &'static Pool<Self>;
    /// Logistic function.
    #[allow(dead_code)]
    fn sigmoid(self) -> Self {
        self.sigmoid_k::<false>()
    }
    /// Hyperbolic tangent.
    #[allow(dead_code)]
    fn tanh_(self) -> Self {
        self.tanh_k::<false>()
    }
}

#[inline(always)]
fn clamp_f32(x: f32, lo: f32, hi: f32) -> f32 {
    let x = if x < lo { lo } else { x };
    if x > hi {
        hi
    } else {
        x
    }
}

/// `a·b + c`, fused when `FMA` (a plain `mul_add` would call the slow libm `fmaf` in the baseline
/// copy, so the choice is made per copy).
#[inline(always)]
fn mad<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `tanh` for f32: `x·P(x²)/Q(x²)` on `x` clamped to `[-8, 8]`, `P` and `Q` of degree 4 (a
/// rational fit made for this crate: weighted least squares on the linearised residual
/// `x·P − tanh(x)·Q`, reweighted towards the worst points until the maximum error levels out).
/// Maximum absolute error about 4e-7 in f32 arithmetic (the fit itself: 6e-9; `tanh(8)` is
/// `1 − 2.3e-7`); `|tanh| ≤ 1` exactly. 13 operations, one of them a division, and no branch,
/// so the cell loops vectorise; about 40% cheaper per cell than `(1 − e^-2x)/(1 + e^-2x)` with
/// a polynomial `exp`.
#[inline(always)]
fn tanh_f32<const FMA: bool>(x: f32) -> f32 {
    let x = clamp_f32(x, -8.0, 8.0);
    let z = x * x;
    let mut p = 1.506_192_9e-8_f32;
    p = mad::<FMA>(p, z, 2.177_331_8e-5);
    p = mad::<FMA>(p, z, 3.564_16e-3);
    p = mad::<FMA>(p, z, 0.134_381_95);
    p = mad::<FMA>(p, z, 0.999_999_94);
    let mut q = 8.453_705_5e-7_f32;
    q = mad::<FMA>(q, z, 3.399_186e-4);
    q = mad::<FMA>(q, z, 2.613_603e-2);
    q = mad::<FMA>(q, z, 0.467_715_15);
    q = mad::<FMA>(q, z, 1.0);
    x * p / q
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn pool() -> &'static Pool<Self> {
        static POOL: Pool<f32> = Pool::new();
        &POOL
    }
    #[inline(always)]
    fn sigmoid_k<const FMA: bool>(self) -> Self {
        // σ(x) = (1 + tanh(x/2)) / 2: absolute error about half of `tanh_f32`'s.
        mad::<FMA>(0.5, tanh_f32::<FMA>(0.5 * self), 0.5)
    }
    #[inline(always)]
    fn tanh_k<const FMA: bool>(self) -> Self {
        tanh_f32::<FMA>(self)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn pool() -> &'static Pool<Self> {
        static POOL: Pool<f64> = Pool::new();
        &POOL
    }
    #[inline(always)]
    fn sigmoid_k<const FMA: bool>(self) -> Self {
        1.0 / (1.0 + (-self).exp())
    }
    #[inline(always)]
    fn tanh_k<const FMA: bool>(self) -> Self {
        self.tanh()
    }
}

/// Defines `pub(crate) fn $name<T: Real>(..)` from a body compiled twice: a baseline copy and an
/// `avx2,fma` copy chosen at run time.
macro_rules! simd_kernel {
    ($(#[$meta:meta])* fn $name:ident<$t:ident>($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name<$t: super::kernels::Real>($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn imp<$t: super::kernels::Real, const FMA: bool>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx2<$t: super::kernels::Real>($($arg: $ty),*) {
                imp::<$t, true>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the running CPU supports AVX2 and FMA (checked just above), the only
                // requirement of calling a `target_feature(enable = "avx2,fma")` function.
                return unsafe { avx2::<$t>($($arg),*) };
            }
            imp::<$t, false>($($arg),*)
        }
    };
}
pub(crate) use simd_kernel;

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

/// `n` zeros. Large buffers (the activations and gradients of a whole batch, tens of MB) are
/// filled by every rayon thread: the allocator hands back reused heap memory, so a plain
/// `vec![0; n]` is a single-threaded `memset`, a serial section of the step.
pub(crate) fn zeros<T: Real>(n: usize) -> Vec<T> {
    /// Below this many values one thread zeroes the buffer.
    const PARALLEL_MIN: usize = 1 << 20;
    if n < PARALLEL_MIN {
        return vec![T::ZERO; n];
    }
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(T::ZERO, n));
    v
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

/// The contiguous data of a CPU storage under `layout`.
pub(crate) fn cpu_slice<'a, T: WithDType>(s: &'a CpuStorage, layout: &Layout) -> Result<&'a [T]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("fused recurrence: input is not contiguous");
    };
    Ok(&s.as_slice::<T>()?[start..end])
}

/// Copies a (small or large) CPU tensor's data out as a `Vec`, row-major.
pub(crate) fn to_vec<T: WithDType>(t: &Tensor) -> Result<Vec<T>> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(s) => Ok(cpu_slice::<T>(s, layout)?.to_vec()),
        _ => candle_core::bail!("fused recurrence: tensor is not on the CPU"),
    }
}

/// Runs `f(tensor data)` on a CPU tensor without copying it (when already contiguous).
pub(crate) fn with_slice<T: WithDType, R>(t: &Tensor, f: impl FnOnce(&[T]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(s) => Ok(f(cpu_slice::<T>(s, layout)?)),
        _ => candle_core::bail!("fused recurrence: tensor is not on the CPU"),
    }
}

/// Checks that every token id indexes a row of a `(vocab, ·)` table (before the op runs, so the
/// kernels can index without further checks).
pub(crate) fn check_ids(what: &str, ids: &[u32], vocab: usize) -> Result<()> {
    if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab) {
        candle_core::bail!("{what}: token id {id} is outside the embedding table ({vocab} rows)");
    }
    Ok(())
}

/// Asks the CPU to start loading rows `ids` of a `(V, g)` table into its caches (x86-64
/// `prefetcht0`, one per 64-byte line; nothing on other targets). The cells read one table row
/// per sequence and step, from a table too large for the core's L2 cache; fetched during the
/// previous step's GEMM, those loads no longer stall the cell (inference of the IMDB LSTM: 2–3%
/// per batch, in-process A/B).
pub(crate) fn prefetch_rows<T>(table: &[T], g: usize, ids: impl Iterator<Item = u32>) {
    #[cfg(target_arch = "x86_64")]
    for id in ids {
        let row = &table[id as usize * g..(id as usize + 1) * g];
        let p = row.as_ptr().cast::<i8>();
        for off in (0..std::mem::size_of_val(row)).step_by(64) {
            // SAFETY: `prefetcht0` is SSE, part of every x86-64 CPU, and a hint that never faults
            // or writes; the address is inside `row` anyway.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    p.wrapping_add(off),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (table, g, ids);
}

/// Visiting order of the time steps.
pub(crate) fn step_order(t: usize, reverse: bool) -> Vec<usize> {
    if reverse {
        (0..t).rev().collect()
    } else {
        (0..t).collect()
    }
}

/// Batch rows per rayon task: the batch is cut into one chunk per thread (rows are independent
/// through the whole recurrence, so a chunk runs all its steps without synchronising).
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

/// Threads for the final weight-gradient GEMM.
pub(crate) fn gemm_threads() -> usize {
    rayon::current_num_threads().max(1)
}

simd_kernel! {
    /// `dst = a ⊙ b` (rows of `h ⊙ rd`).
    fn mul_into<T>(dst: &mut [T], a: &[T], b: &[T]) {
        let n = dst.len();
        let (a, b) = (&a[..n], &b[..n]);
        for j in 0..n {
            dst[j] = a[j] * b[j];
        }
    }
}

simd_kernel! {
    /// `dst += a ⊙ b`.
    fn add_mul<T>(dst: &mut [T], a: &[T], b: &[T]) {
        let n = dst.len();
        let (a, b) = (&a[..n], &b[..n]);
        for j in 0..n {
            dst[j] += a[j] * b[j];
        }
    }
}

simd_kernel! {
    /// `dst += a`.
    fn add_into<T>(dst: &mut [T], a: &[T]) {
        let n = dst.len();
        let a = &a[..n];
        for j in 0..n {
            dst[j] += a[j];
        }
    }
}

/// What a fused op's first input holds.
#[derive(Debug)]
pub(crate) enum OpInput {
    /// `xproj (B,T,G·u)`, already projected.
    Projected,
    /// The layer input `x (B,T,F)` with `F` here: the op projects it itself, its weights start
    /// with `[kernel (F,G·u); bias (1,G·u)]`, and backward returns `dx` and `d[kernel; bias]`.
    Raw(usize),
    /// A `(V,G·u)` table of projected embeddings, step `t` of row `b` reading row
    /// `ids[b·T + t]` (`B·T` ids, checked against `V` before the kernels run).
    Gathered(Vec<u32>),
    /// The embeddings `(V,E)`, with the layer's input dropout or none: the op projects the rows
    /// of the batch's token ids itself ([`DropoutFold::input`]: the table of used rows, read by
    /// id, when nothing is dropped); its weights start with `[kernel (E,G·u); bias (1,G·u)]` as
    /// for `Raw(E)`, and backward returns `d embeddings` and `d[kernel; bias]`.
    Embeddings(DropoutFold),
}

impl OpInput {
    /// `F` when the op owns the input projection (its weights then start with `[kernel; bias]`).
    pub(crate) fn projection_features(&self) -> Option<usize> {
        match self {
            OpInput::Raw(f) => Some(*f),
            OpInput::Embeddings(fold) => Some(fold.features()),
            OpInput::Projected | OpInput::Gathered(_) => None,
        }
    }
}

/// Runs a fused op built by `make(train)`: with backward (the op keeps its activations) when
/// any input tracks a gradient, else without.
pub(crate) fn run_op<C: CustomOp3 + Send + Sync + 'static>(
    x: &Tensor,
    w: &Tensor,
    aux: &Tensor,
    make: impl FnOnce(bool) -> C,
) -> Result<Tensor> {
    let (x, w) = (x.contiguous()?, w.contiguous()?);
    let train = x.track_op() || w.track_op() || aux.track_op();
    let op = make(train);
    if train {
        x.apply_op3(&w, aux, op)
    } else {
        x.apply_op3_no_bwd(&w, aux, &op)
    }
}

/// How a fused op runs: `(mask, rec_dropout, reverse, final_only)`.
pub(crate) type Run<'a> = (Option<&'a Tensor>, Option<&'a Tensor>, bool, bool);

/// Sizes and flags shared by forward and backward.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub b: usize,
    pub t: usize,
    pub u: usize,
    pub has_mask: bool,
    pub has_rd: bool,
    pub reverse: bool,
    /// Output only the final hidden state, `(B,1,u)` (inference: backward reads every step).
    pub last_only: bool,
}

/// Borrowed views of `aux` = `[h0 | c0? | mask? | rd?]`.
pub(crate) struct Aux<'a, T> {
    pub h0: &'a [T],
    pub c0: &'a [T],
    pub mask: Option<&'a [T]>,
    pub rd: Option<&'a [T]>,
}

impl Dims {
    /// `(B, T, u)`, the optional inputs present, the direction, and `last_only` (the final
    /// state only; never when training).
    pub fn new(
        (b, t, u): (usize, usize, usize),
        (mask, rd): (Option<&Tensor>, Option<&Tensor>),
        reverse: bool,
        last_only: bool,
    ) -> Self {
        Dims {
            b,
            t,
            u,
            has_mask: mask.is_some(),
            has_rd: rd.is_some(),
            reverse,
            last_only,
        }
    }

    /// Length of `aux` (`with_c0` for the LSTM).
    pub fn aux_len(&self, with_c0: bool) -> usize {
        let (b, t, u) = (self.b, self.t, self.u);
        b * u * (1 + usize::from(with_c0) + usize::from(self.has_rd))
            + if self.has_mask { b * t } else { 0 }
    }

    /// Splits `aux` into its parts.
    pub fn aux<'a, T>(&self, aux: &'a [T], with_c0: bool) -> Result<Aux<'a, T>> {
        if aux.len() != self.aux_len(with_c0) {
            candle_core::bail!(
                "fused recurrence: aux has {} values, expected {}",
                aux.len(),
                self.aux_len(with_c0)
            );
        }
        let bu = self.b * self.u;
        let (h0, rest) = aux.split_at(bu);
        let (c0, rest) = rest.split_at(if with_c0 { bu } else { 0 });
        let (mask, rest) = if self.has_mask {
            let (m, r) = rest.split_at(self.b * self.t);
            (Some(m), r)
        } else {
            (None, rest)
        };
        let rd = self.has_rd.then_some(rest);
        Ok(Aux { h0, c0, mask, rd })
    }
}

/// Per-chunk optional slices (`None` for every chunk when absent).
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

/// Per chunk of `rows` batch rows, where a forward pass writes its hidden states: `(steps, last)`,
/// every step's `h` `(nb·T, u)` and the final `h` `(nb, u)`. With the whole sequence as output,
/// `steps` is the output and `last` is `None`; with the final state only, `last` is the output and
/// `steps` the buffer `h_all` kept for backward (`None` when `h_all` is empty: inference).
#[allow(clippy::type_complexity)]
pub(crate) fn step_and_last_outputs<'a, T>(
    out: &'a mut [T],
    h_all: &'a mut [T],
    d: Dims,
    rows: usize,
) -> Vec<(Option<&'a mut [T]>, Option<&'a mut [T]>)> {
    let n = d.b.div_ceil(rows.max(1));
    if !d.last_only {
        return split_mut(out, d.t * d.u, rows)
            .into_iter()
            .map(|o| (Some(o), None))
            .collect();
    }
    let lasts = split_mut(out, d.u, rows);
    let steps: Vec<Option<&mut [T]>> = if h_all.is_empty() {
        (0..n).map(|_| None).collect()
    } else {
        split_mut(h_all, d.t * d.u, rows)
            .into_iter()
            .map(Some)
            .collect()
    };
    steps.into_iter().zip(lasts.into_iter().map(Some)).collect()
}

/// Builds the flat `aux` tensor under autograd, in `xproj`'s dtype.
pub(crate) fn build_aux(
    xproj: &Tensor,
    states: &[&Tensor],
    mask: Option<&Tensor>,
    rd: Option<&Tensor>,
) -> Result<Tensor> {
    let dt = xproj.dtype();
    let mut parts = Vec::with_capacity(states.len() + 2);
    for s in states {
        parts.push(s.to_dtype(dt)?.flatten_all()?);
    }
    for x in [mask, rd].into_iter().flatten() {
        parts.push(x.detach().to_dtype(dt)?.flatten_all()?);
    }
    Tensor::cat(&parts, 0)
}

/// The three input gradients of a fused op from its BPTT core. `w` holds the recurrent weights,
/// preceded by `[kernel; bias]` `(f + 1, g)` when the op owns the input projection
/// (`proj = Some(f)`); `core` receives the recurrent part and returns
/// `(d xproj (B,T,g), d recurrent weights, d aux)`. Returns `(d x or d xproj, d w, d aux)`;
/// `d x` is `None` when the op owns the projection and `x` needs no gradient. With `ids` the
/// op's `x` is a `(V, g)` table read by token id, and its gradient is `d xproj` scattered back
/// onto the table rows ([`scatter_rows`]).
#[allow(clippy::type_complexity)]
pub(crate) fn fused_op_grads<T: Real>(
    input: &OpInput,
    (b, t, g): (usize, usize, usize),
    x: &Tensor,
    w: &Tensor,
    aux: &Tensor,
    core: impl FnOnce(&[T]) -> Result<(Vec<T>, Vec<T>, Vec<T>)>,
) -> Result<(Option<Tensor>, Tensor, Tensor)> {
    let dev = w.device();
    let wv = to_vec::<T>(w)?;
    let proj = input.projection_features();
    let off = proj.map_or(0, |f| (f + 1) * g);
    let (dxp, dw_rec, daux) = core(&wv[off..])?;
    let daux = Tensor::from_vec(daux, aux.elem_count(), dev)?;
    if let OpInput::Gathered(ids) = input {
        let vocab = x.dim(0)?;
        let dtable = scatter_rows(&dxp, ids, vocab, g);
        buffers::give(dxp);
        return Ok((
            Some(Tensor::from_vec(dtable, (vocab, g), dev)?),
            Tensor::from_vec(dw_rec, w.dims(), dev)?,
            daux,
        ));
    }
    let Some(f) = proj else {
        return Ok((
            Some(Tensor::from_vec(dxp, (b, t, g), dev)?),
            Tensor::from_vec(dw_rec, w.dims(), dev)?,
            daux,
        ));
    };
    let (mut dw, dx) = with_slice::<T, _>(x, |xs| match input {
        OpInput::Embeddings(fold) => {
            let (demb, dkb) = fold.project_bwd(xs, &wv[..off], &dxp, g);
            (dkb, Some(demb))
        }
        _ => project_bwd(xs, &wv[..off], &dxp, b * t, (f, g), x.track_op()),
    })?;
    buffers::give(dxp);
    dw.extend_from_slice(&dw_rec);
    let dx = dx
        .map(|dx| Tensor::from_vec(dx, x.dims(), dev))
        .transpose()?;
    Ok((dx, Tensor::from_vec(dw, w.dims(), dev)?, daux))
}

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
/// + bias`, with `kb = [kernel; bias]` row-major `(f + 1, g)`) from `dxp = d xproj`: `d[kernel; bias]` `(f + 1, g)` (`xᵀ·dxp` and the
/// column sums of `dxp`) and, when `want_dx`, `dx = dxp · kernelᵀ` `(rows, f)`.
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

/// `Wᵀ` for the per-step backward GEMM `dh = dz · Wᵀ`: the row-major transpose of a
/// `(rows, cols)` matrix, each of its `cols` rows zero-padded to `padded_width(rows)`.
/// Read contiguously, it is measurably faster than a strided view; and `gemm` copies (packs) the
/// whole matrix on every call when its destination width is not a multiple of the vector width,
/// which for `u = 100` was 6% of a training step. The padded columns of `dh` come out zero and
/// are not read.
pub(crate) fn transpose_padded<T: Real>(a: &[T], rows: usize, cols: usize) -> Vec<T> {
    let width = padded_width(rows);
    let mut out = Vec::with_capacity(width * cols);
    for j in 0..cols {
        out.extend((0..rows).map(|i| a[i * cols + j]));
        out.extend(std::iter::repeat_n(T::ZERO, width - rows));
    }
    out
}

/// `dh += (dz · Wᵀ) ⊙ rd` for one backward step of `nb = dz.rows` batch rows (`dh` `(nb, u)`):
/// `w_t` is [`transpose_padded`]'s `(G·u, padded_width(u))` view and `dhin` scratch of
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

/// `u` rounded up to a whole number of vectors ([`LANES`]).
pub(crate) fn padded_width(u: usize) -> usize {
    u.next_multiple_of(LANES)
}

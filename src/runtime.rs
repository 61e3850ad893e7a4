//! Process-level settings the binaries apply at start-up.
//!
//! Training allocates and frees many large tensors per step. glibc serves allocations above its
//! mmap threshold (128 KiB, adapting up to 32 MiB) with fresh `mmap`s that are unmapped on free,
//! so every step page-faults its buffers in again. Raising the threshold keeps them in the heap
//! (the measured effect is in `docs/benchmarks.md`).

/// Keeps large tensor buffers in the heap instead of per-allocation `mmap`s (glibc only; a
/// no-op elsewhere). Environment tunables (`MALLOC_MMAP_THRESHOLD_`, ...) still win when set.
pub fn configure_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
            return;
        }
        // SAFETY: mallopt only changes allocator parameters; called at start-up.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 512 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}

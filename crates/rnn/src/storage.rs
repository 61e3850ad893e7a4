//! Slice access to the data of CPU tensors and storages.

use candle_core::{CpuStorage, Layout, Result, Storage, Tensor, WithDType};

/// The contiguous data of a CPU storage under `layout`.
pub(crate) fn cpu_slice<'a, T: WithDType>(s: &'a CpuStorage, layout: &Layout) -> Result<&'a [T]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("fused recurrence: input is not contiguous");
    };
    Ok(&s.as_slice::<T>()?[start..end])
}

/// Copies a (small or large) CPU tensor's data out as a `Vec`, row-major.
pub(crate) fn to_vec<T: WithDType>(t: &Tensor) -> Result<Vec<T>> {
    with_slice(t, <[T]>::to_vec)
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

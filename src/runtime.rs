//! Process-level settings the binaries apply at start-up.
//!
//! Training allocates and frees many large tensors per step. glibc serves allocations above its
//! mmap threshold (128 KiB, adapting up to 32 MiB) with fresh `mmap`s that are unmapped on free,
//! so every step page-faults its buffers in again. Raising the threshold keeps them in the heap
//! (the measured effect is in `docs/benchmarks.md`).
//!
//! And how threads compute with subnormal floats ([`Subnormals`]), which decides how fast
//! training runs on Intel CPUs.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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

/// How the process' threads compute with subnormal floats (magnitudes below `f32::MIN_POSITIVE`,
/// about 1.2e-38): kept as IEEE 754 says, or flushed to zero (the x86 FTZ and DAZ flags, FZ on
/// aarch64).
///
/// Backpropagation through a long sequence shrinks gradients geometrically, and on Intel cores
/// every multiply-add that reads or produces a subnormal takes a microcode assist: the default
/// IMDB recipe trains about 10× slower there with them kept (`docs/benchmarks.md`). TensorFlow,
/// and so Keras, always flush them; PyTorch keeps them unless `torch.set_flush_denormal(True)`.
/// The textrnn binaries flush them unless `TEXTRNN_SUBNORMALS=keep`; the library keeps them
/// (IEEE) unless [`configure_subnormals`] says otherwise. Each mode gives the same results on
/// every x86-64 CPU; the two differ wherever a value falls below about 1.2e-38, which in a long
/// training run can move the last digits of its metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subnormals {
    /// IEEE 754 gradual underflow (Rust's and PyTorch's default; the library's until
    /// [`configure_subnormals`]).
    #[default]
    Keep,
    /// Flush to zero, as TensorFlow does: the textrnn binaries' default.
    Flush,
}

/// The environment variable the binaries read the mode from.
pub const SUBNORMALS_ENV: &str = "TEXTRNN_SUBNORMALS";

impl Subnormals {
    /// The mode [`SUBNORMALS_ENV`] asks for (`flush` or `keep`); when it is unset,
    /// [`Subnormals::Flush`] where the CPU has the flags (x86, aarch64), else `Keep`. Any other
    /// value is an error naming the variable.
    pub fn from_env() -> Result<Self> {
        match std::env::var(SUBNORMALS_ENV) {
            Err(std::env::VarError::NotPresent) if FLUSH_SUPPORTED => Ok(Self::Flush),
            Err(std::env::VarError::NotPresent) => Ok(Self::Keep),
            Ok(v) if v == "flush" => Ok(Self::Flush),
            Ok(v) if v == "keep" => Ok(Self::Keep),
            Ok(v) => Err(Self::invalid(format!("`{v}`"))),
            Err(std::env::VarError::NotUnicode(v)) => Err(Self::invalid(format!("{v:?}"))),
        }
    }

    fn invalid(value: String) -> Error {
        Error::Invalid {
            field: SUBNORMALS_ENV.to_string(),
            reason: format!("{value}: expected `flush` (the default) or `keep`"),
        }
    }

    /// The mode [`configure_subnormals`] set for this process ([`Subnormals::Keep`] before).
    pub fn current() -> Self {
        if FLUSH.load(Ordering::Relaxed) {
            Self::Flush
        } else {
            Self::Keep
        }
    }

    /// `flush` or `keep`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::Flush => "flush",
        }
    }
}

static FLUSH: AtomicBool = AtomicBool::new(false);

/// Sets the process' subnormal mode, once, at start-up before any rayon work: rayon's global pool
/// (which the GEMMs, the fused recurrences and candle's CPU ops run on) is built with its
/// threads in `mode`. Threads of the caller's own (the calling thread, inference threads) enter
/// the mode through [`with_subnormal_mode`]. Errors when the global pool already exists, or
/// when flushing is asked for on an architecture without the flags (other than x86 and
/// aarch64).
pub fn configure_subnormals(mode: Subnormals) -> Result<()> {
    let refuse = |reason: String| Error::Invalid {
        field: SUBNORMALS_ENV.to_string(),
        reason,
    };
    if mode == Subnormals::Flush && !FLUSH_SUPPORTED {
        return Err(refuse(format!(
            "flushing subnormals is not supported on {}; set it to `keep`",
            std::env::consts::ARCH
        )));
    }
    rayon::ThreadPoolBuilder::new()
        .spawn_handler(|thread| {
            let mut builder = std::thread::Builder::new();
            if let Some(name) = thread.name() {
                builder = builder.name(name.to_owned());
            }
            if let Some(size) = thread.stack_size() {
                builder = builder.stack_size(size);
            }
            builder.spawn(move || in_mode(mode, || thread.run()))?;
            Ok(())
        })
        .build_global()
        .map_err(|e| refuse(format!("cannot configure rayon's thread pool: {e}")))?;
    FLUSH.store(mode == Subnormals::Flush, Ordering::Relaxed);
    Ok(())
}

/// Runs `f` on this thread in the process' subnormal mode ([`Subnormals::current`]), restoring
/// the thread's previous mode afterwards.
pub fn with_subnormal_mode<T>(f: impl FnOnce() -> T) -> T {
    in_mode(Subnormals::current(), f)
}

fn in_mode<T>(mode: Subnormals, f: impl FnOnce() -> T) -> T {
    match mode {
        Subnormals::Keep => f(),
        Subnormals::Flush => flush_subnormals(f),
    }
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
const FLUSH_SUPPORTED: bool = true;
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
const FLUSH_SUPPORTED: bool = false;

#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
fn flush_subnormals<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: `no_denormals` sets the thread's FTZ/DAZ (FZ) flags around `f` and restores them.
    // Rust documents a non-default float environment as undefined behaviour because LLVM
    // assumes IEEE semantics: an expression folded at compile time may then differ from the same
    // expression computed at run time, on subnormal values only. textrnn addresses no memory
    // with an unchecked float result, so the effect is numeric: the one TensorFlow accepts by
    // running every op this way. For the same reason LLVM may move a float operation across
    // the flag writes; `black_box` pins `f`'s result inside them (what the binaries wrap, whole
    // commands and thread loops, is opaque calls anyway).
    unsafe { no_denormals::no_denormals(|| std::hint::black_box(f())) }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
fn flush_subnormals<T>(f: impl FnOnce() -> T) -> T {
    f()
}

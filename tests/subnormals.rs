//! The process-wide subnormal mode (`textrnn::configure_subnormals`), in a process of its own:
//! rayon's global pool can be configured once.

use std::hint::black_box;

use textrnn::{configure_subnormals, with_subnormal_mode, Subnormals};

/// Half the smallest normal f32: subnormal under IEEE rules, zero when flushed.
fn half_min() -> f32 {
    black_box(f32::MIN_POSITIVE) * black_box(0.5)
}

#[test]
fn flush_mode_reaches_the_caller_and_every_rayon_thread() {
    assert_eq!(Subnormals::current(), Subnormals::Keep);
    // The library's default: IEEE gradual underflow, and the wrapper changes nothing.
    assert!(with_subnormal_mode(half_min).is_subnormal());

    configure_subnormals(Subnormals::Flush).expect("the first configuration");
    assert_eq!(Subnormals::current(), Subnormals::Flush);
    // The calling thread flushes inside the wrapper only, and is restored after it.
    assert_eq!(with_subnormal_mode(half_min).to_bits(), 0);
    assert!(half_min().is_subnormal());
    // A subnormal operand reads as zero (DAZ), not only a subnormal result (FTZ).
    let tiny = f32::from_bits(1);
    assert_eq!(with_subnormal_mode(|| black_box(tiny) * 2.0).to_bits(), 0);

    // Every worker of the global pool (where the GEMMs and fused kernels run) flushes.
    let workers = rayon::broadcast(|_| (half_min().to_bits(), (black_box(tiny) * 2.0).to_bits()));
    assert_eq!(workers.len(), rayon::current_num_threads());
    assert!(workers.iter().all(|&w| w == (0, 0)), "{workers:?}");

    // The pool exists now: a second configuration is refused, naming the setting.
    let e = configure_subnormals(Subnormals::Keep).expect_err("configured twice");
    assert!(e.to_string().contains("TEXTRNN_SUBNORMALS"), "{e}");
    assert_eq!(Subnormals::current(), Subnormals::Flush);
}

//! Kernels compiled twice, plain and with `avx2,fma` enabled, the AVX2 copy picked at run time
//! when the CPU has it (the workspace builds for baseline x86-64), and the elementwise row
//! operations built that way.

/// Defines `pub(crate) fn $name<T: Real>(..)` from a body compiled twice: a baseline copy and an
/// `avx2,fma` copy chosen at run time.
macro_rules! simd_kernel {
    ($(#[$meta:meta])* fn $name:ident<$t:ident>($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name<$t: $crate::real::Real>($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn imp<$t: $crate::real::Real, const FMA: bool>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx2<$t: $crate::real::Real>($($arg: $ty),*) {
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

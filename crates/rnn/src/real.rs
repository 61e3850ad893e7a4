//! The float types the fused kernels run on, and their activations.
//!
//! `tanh` (f32) is a degree-4/4 rational function of `x²` (times `x`) on `|x| ≤ 8` (absolute
//! error about 4e-7), `sigmoid(x) = (1 + tanh(x/2)) / 2` (about 2e-7). Branch-free so the cell
//! loops vectorise; f64 uses the exact `std` functions (gradient checks).

use candle_core::WithDType;

use crate::pool::Pooled;

/// A float the fused kernels run on (f32 fast path, f64 for exact gradient checks).
pub(crate) trait Real: WithDType + Pooled {
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Logistic function; `FMA` lets the f32 polynomial use fused multiply-adds (only inside
    /// the `avx2,fma` copy of a [`simd_kernel!`](crate::simd::simd_kernel), where they compile to `vfmadd`).
    fn sigmoid_k<const FMA: bool>(self) -> Self;
    /// Hyperbolic tangent (`FMA` as in [`Real::sigmoid_k`]).
    fn tanh_k<const FMA: bool>(self) -> Self;
    /// Logistic function.
    #[cfg(test)]
    fn sigmoid(self) -> Self {
        self.sigmoid_k::<false>()
    }
    /// Hyperbolic tangent.
    #[cfg(test)]
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
/// so the cell loops vectorise; cheaper per cell than `(1 − e^-2x)/(1 + e^-2x)` with a
/// polynomial `exp`.
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
    #[inline(always)]
    fn sigmoid_k<const FMA: bool>(self) -> Self {
        1.0 / (1.0 + (-self).exp())
    }
    #[inline(always)]
    fn tanh_k<const FMA: bool>(self) -> Self {
        self.tanh()
    }
}

#[cfg(test)]
mod tests {
    use super::Real;

    #[test]
    fn fast_activations_are_accurate() {
        let (mut worst_s, mut worst_t) = (0f64, 0f64);
        let mut x = -30.0f32;
        while x < 30.0 {
            let s = (x.sigmoid() as f64 - 1.0 / (1.0 + (-(x as f64)).exp())).abs();
            let t = (x.tanh_() as f64 - (x as f64).tanh()).abs();
            worst_s = worst_s.max(s);
            worst_t = worst_t.max(t);
            assert!(x.sigmoid() >= 0.0 && x.sigmoid() <= 1.0 && x.tanh_().abs() <= 1.0);
            x += 0.00137;
        }
        assert!(worst_s < 3e-7, "sigmoid abs err {worst_s:e}");
        assert!(worst_t < 5e-7, "tanh abs err {worst_t:e}");
        // Odd and exact at 0; saturation is finite, never NaN.
        assert_eq!(0f32.tanh_(), 0.0);
        assert_eq!(0f32.sigmoid(), 0.5);
        assert_eq!((-1.5f32).tanh_(), -(1.5f32.tanh_()));
        for x in [-1e30f32, -100.0, 100.0, 1e30] {
            assert!(x.sigmoid().is_finite() && x.tanh_().is_finite());
        }
    }
}

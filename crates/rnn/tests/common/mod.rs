//! Shared helpers for the integration tests.
#![allow(dead_code)]

use candle_core::{DType, Device, Result, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// `n` values uniform in `[-scale, scale)`.
pub fn uniform(rng: &mut ChaCha8Rng, n: usize, scale: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

/// A seeded tensor uniform in `[-1, 1)`.
pub fn randn(dims: &[usize], seed: u64, dtype: DType) -> Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = dims.iter().product();
    Tensor::from_vec(uniform(&mut rng, n, 1.0), dims, &Device::Cpu)?.to_dtype(dtype)
}

/// Seeded token ids `(b, t)` in `1..vocab`, zero (padding) from step `pad_from` on when given.
pub fn tokens(b: usize, t: usize, vocab: u32, pad_from: Option<usize>) -> Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(12345);
    let ids: Vec<u32> = (0..b * t)
        .map(|i| match pad_from {
            Some(p) if i % t >= p => 0,
            _ => rng.random_range(1..vocab),
        })
        .collect();
    Tensor::from_vec(ids, (b, t), &Device::Cpu)
}

/// Max absolute difference of two tensors.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f64> {
    (a.to_dtype(DType::F64)? - b.to_dtype(DType::F64)?)?
        .abs()?
        .max_all()?
        .to_scalar::<f64>()
}

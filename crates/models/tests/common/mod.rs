//! Shared helpers for the integration tests.
#![allow(dead_code)]

use candle_core::{DType, Device, Tensor};
use textrnn_models::ModelSpec;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A spec from a JSON list of layers.
pub fn spec(layers: &str) -> Result<ModelSpec, serde_json::Error> {
    serde_json::from_str(&format!(r#"{{"name": "test", "layers": {layers}}}"#))
}

/// Deterministic pseudo-random token ids in `1..vocab` (row-major `(b, t)`), optionally
/// post-padded with zeros from `pad_from` on.
pub fn tokens(
    b: usize,
    t: usize,
    vocab: u32,
    pad_from: Option<usize>,
) -> candle_core::Result<Tensor> {
    let mut state = 12345u64;
    let mut ids = Vec::with_capacity(b * t);
    for _ in 0..b {
        for j in 0..t {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let id = 1 + ((state >> 33) as u32) % (vocab - 1);
            ids.push(if pad_from.is_some_and(|p| j >= p) {
                0
            } else {
                id
            });
        }
    }
    Tensor::from_vec(ids, (b, t), &Device::Cpu)
}

/// Deterministic pseudo-random f64 tensor in [-1, 1).
pub fn randn(dims: &[usize], seed: u64, dtype: DType) -> candle_core::Result<Tensor> {
    let mut state = seed.wrapping_add(0x9e3779b97f4a7c15);
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(v, dims, &Device::Cpu)?.to_dtype(dtype)
}

/// Max absolute difference of two tensors.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> candle_core::Result<f64> {
    a.to_dtype(DType::F64)?
        .sub(&b.to_dtype(DType::F64)?)?
        .abs()?
        .flatten_all()?
        .max(0)?
        .to_vec0::<f64>()
}

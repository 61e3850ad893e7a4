//! Parameter declarations and seeded Keras initialisers.
//!
//! Every parameter is declared once as a [`ParamSpec`] (path, shape, initialiser), derived from
//! the [`crate::ModelSpec`] and its input shapes. The list drives seeded initialisation
//! ([`init_params`]), model construction (`vb.get(shape, name)`) and summary parameter counts.
//!
//! Initialisers (Keras defaults), for a 2-D shape `(rows, cols)` (a 3-D conv kernel
//! `(k, in, filters)` has `fan_in = k·in`, `fan_out = k·filters`):
//! - `glorot_uniform`: `U(-l, l)`, `l = sqrt(6 / (fan_in + fan_out))`;
//! - `orthogonal`: Keras `Orthogonal` on the flattened shape `(rows, cols)`: a normal
//!   `(max, min)` matrix is QR-factorised (modified Gram-Schmidt in f64, twice), `Q` is sign-corrected
//!   by `sign(diag R)` and transposed when `rows < cols`, so a recurrent kernel `(u, G·u)` has
//!   orthonormal rows: `W Wᵀ = I_u`;
//! - `zeros`; `uniform(low, high)` (embeddings: ±0.05);
//! - `lstm_bias(u)`: zeros `(4u)` with ones on the forget slice `[u, 2u)` (Keras `unit_forget_bias`).
//!
//! Randomness: one `ChaCha8Rng::seed_from_u64(seed)` per parameter, on the stream given by the
//! FNV-1a hash of its path, so a parameter's values depend only on the seed and its own
//! path/shape (adding a layer does not change the others) and the same seed gives bit-identical
//! parameters. Values are drawn in f64 and converted to the requested dtype.
//!
//! ```
//! use textrnn_models::{init_params, Initializer, ParamSpec};
//! use candle_core::{DType, Device};
//! let kernel = ParamSpec { path: "dense.kernel".into(), shape: vec![4, 3], init: Initializer::GlorotUniform };
//! assert_eq!(kernel.sample(42)?, kernel.sample(42)?); // bit-identical for the same seed
//! let limit = (6.0f64 / 7.0).sqrt();
//! assert!(kernel.sample(42)?.iter().all(|w| w.abs() <= limit));
//! let varmap = init_params(&[kernel], 42, DType::F32, &Device::Cpu)?;
//! assert_eq!(varmap.all_vars().len(), 1);
//! # Ok::<(), textrnn_models::Error>(())
//! ```

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::error::{Error, Result};

/// A Keras initialiser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Initializer {
    /// Glorot (Xavier) uniform.
    GlorotUniform,
    /// Orthogonal (gain 1) on the flattened 2-D shape.
    Orthogonal,
    /// All zeros.
    Zeros,
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// LSTM bias `(4u)`: zeros with ones in the forget-gate slice `[u, 2u)`.
    LstmBias {
        /// Hidden size `u`.
        units: usize,
    },
}

/// One declared parameter: its safetensors key, shape and initialiser.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamSpec {
    /// Key, e.g. `"bidirectional.forward.recurrent_kernel"`.
    pub path: String,
    /// Shape (Keras layout).
    pub shape: Vec<usize>,
    /// Initialiser.
    pub init: Initializer,
}

impl ParamSpec {
    /// A declaration with a local name (layers prefix it with their own name).
    pub(crate) fn new(path: impl Into<String>, shape: Vec<usize>, init: Initializer) -> Self {
        Self {
            path: path.into(),
            shape,
            init,
        }
    }

    /// Number of scalars (`usize::MAX` if the product overflows; a planned spec never does,
    /// see [`Self::checked_numel`]).
    pub fn numel(&self) -> usize {
        self.checked_numel().unwrap_or(usize::MAX)
    }

    /// Number of scalars, `None` when the product of the shape overflows `usize`.
    pub fn checked_numel(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d))
    }

    /// Draws the initial values (f64, row-major) from the seeded generator.
    pub fn sample(&self, seed: u64) -> Result<Vec<f64>> {
        let n = self.numel();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(fnv1a(&self.path));
        Ok(match self.init {
            Initializer::Zeros => vec![0.0; n],
            Initializer::Uniform { low, high } => {
                (0..n).map(|_| uniform(&mut rng, low, high)).collect()
            }
            Initializer::GlorotUniform => {
                let (fan_in, fan_out) = fans(&self.shape);
                let limit = (6.0 / fan_in.saturating_add(fan_out).max(1) as f64).sqrt();
                (0..n).map(|_| uniform(&mut rng, -limit, limit)).collect()
            }
            Initializer::LstmBias { units } => {
                if n != 4 * units {
                    return Err(Error::InvalidSpec {
                        layer: self.path.clone(),
                        reason: format!("lstm bias of {n} values for {units} units"),
                    });
                }
                (0..n)
                    .map(|i| {
                        if (units..2 * units).contains(&i) {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect()
            }
            Initializer::Orthogonal => {
                let cols = self.shape.last().copied().unwrap_or(1);
                let rows = n.checked_div(cols).unwrap_or(0);
                orthogonal(&mut rng, rows, cols)
            }
        })
    }
}

/// Initialises every declared parameter into a fresh [`VarMap`] (keys = paths).
pub fn init_params(
    params: &[ParamSpec],
    seed: u64,
    dtype: DType,
    device: &Device,
) -> Result<VarMap> {
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().map_err(|_| Error::InvalidSpec {
            layer: "model".into(),
            reason: "the VarMap lock is poisoned".into(),
        })?;
        for p in params {
            let values = p.sample(seed)?;
            let t = Tensor::from_vec(values, p.shape.as_slice(), &Device::Cpu)?
                .to_dtype(dtype)?
                .to_device(device)?;
            data.insert(p.path.clone(), Var::from_tensor(&t)?);
        }
    }
    Ok(varmap)
}

/// FNV-1a, 64 bits: a stable hash of a parameter path (the RNG stream).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn uniform(rng: &mut ChaCha8Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// Standard normal by Box-Muller.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // u1 in (0, 1] so the log is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Keras fans: 2-D `(in, out)`; N-D `(k..., in, out)` with the receptive field multiplied in.
fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [a, b] => (*a, *b),
        [rest @ .., i, o] => {
            // Planned shapes have products that fit; saturate rather than wrap regardless.
            let rf = rest.iter().fold(1usize, |n, d| n.saturating_mul(*d));
            (rf.saturating_mul(*i), rf.saturating_mul(*o))
        }
    }
}

/// Keras `Orthogonal` for a `(rows, cols)` matrix, row-major.
fn orthogonal(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Vec<f64> {
    // Factorise a tall (m, k) normal matrix, m = max, k = min.
    let (m, k) = (rows.max(cols), rows.min(cols));
    let a: Vec<f64> = (0..m * k).map(|_| normal(rng)).collect();
    let q = thin_q(&a, m, k);
    let mut out = vec![0.0; rows * cols];
    for i in 0..m {
        for j in 0..k {
            if rows >= cols {
                out[i * cols + j] = q[i * k + j];
            } else {
                out[j * cols + i] = q[i * k + j];
            }
        }
    }
    out
}

/// Thin `Q` (m, k) of a tall row-major `a` (m, k), with `diag R > 0` (the Keras sign correction).
///
/// Modified Gram-Schmidt with one re-orthogonalisation pass; columns are normalised, so
/// `R_jj = ‖·‖ > 0` and no further sign flip is needed.
fn thin_q(a: &[f64], m: usize, k: usize) -> Vec<f64> {
    let mut cols: Vec<Vec<f64>> = (0..k)
        .map(|j| (0..m).map(|i| a[i * k + j]).collect())
        .collect();
    for j in 0..k {
        for _pass in 0..2 {
            for p in 0..j {
                let (done, rest) = cols.split_at_mut(j);
                let qp = &done[p];
                let v = &mut rest[0];
                let dot: f64 = qp.iter().zip(v.iter()).map(|(x, y)| x * y).sum();
                v.iter_mut().zip(qp).for_each(|(x, q)| *x -= dot * q);
            }
        }
        let norm = cols[j].iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            cols[j].iter_mut().for_each(|x| *x /= norm);
        }
    }
    let mut q = vec![0.0; m * k];
    for (j, col) in cols.iter().enumerate() {
        for (i, x) in col.iter().enumerate() {
            q[i * k + j] = *x;
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gram(w: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        // W W^T (rows x rows)
        let mut g = vec![0.0; rows * rows];
        for i in 0..rows {
            for j in 0..rows {
                g[i * rows + j] = (0..cols).map(|c| w[i * cols + c] * w[j * cols + c]).sum();
            }
        }
        g
    }

    #[test]
    fn orthogonal_wide_has_orthonormal_rows() -> Result<()> {
        // Keras recurrent kernel (u, 4u): W W^T = I_u.
        let p = ParamSpec::new(
            "lstm.recurrent_kernel",
            vec![8, 32],
            Initializer::Orthogonal,
        );
        let w = p.sample(3)?;
        let g = gram(&w, 8, 32);
        for i in 0..8 {
            for j in 0..8 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (g[i * 8 + j] - want).abs() < 1e-12,
                    "({i},{j}) = {}",
                    g[i * 8 + j]
                );
            }
        }
        Ok(())
    }

    #[test]
    fn orthogonal_square_is_orthogonal_both_ways() -> Result<()> {
        let p = ParamSpec::new("w", vec![6, 6], Initializer::Orthogonal);
        let w = p.sample(11)?;
        let mut wt = vec![0.0; 36];
        for i in 0..6 {
            for j in 0..6 {
                wt[j * 6 + i] = w[i * 6 + j];
            }
        }
        for g in [gram(&w, 6, 6), gram(&wt, 6, 6)] {
            for i in 0..6 {
                for j in 0..6 {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((g[i * 6 + j] - want).abs() < 1e-12);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn glorot_bounds_and_conv_fans() -> Result<()> {
        // Dense (100, 50): limit sqrt(6 / 150) = 0.2.
        let w = ParamSpec::new("d", vec![100, 50], Initializer::GlorotUniform).sample(1)?;
        assert!(w.iter().all(|x| x.abs() <= 0.2));
        assert!(w.iter().any(|x| x.abs() > 0.19));
        // Conv kernel (3, 32, 64): fan_in 96, fan_out 192, limit sqrt(6/288).
        assert_eq!(fans(&[3, 32, 64]), (96, 192));
        let limit = (6.0f64 / 288.0).sqrt();
        let k = ParamSpec::new("c", vec![3, 32, 64], Initializer::GlorotUniform).sample(1)?;
        assert!(k.iter().all(|x| x.abs() <= limit));
        Ok(())
    }

    #[test]
    fn lstm_bias_has_unit_forget_slice() -> Result<()> {
        let b = ParamSpec::new("b", vec![8], Initializer::LstmBias { units: 2 }).sample(0)?;
        assert_eq!(b, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        Ok(())
    }

    #[test]
    fn sampling_is_deterministic_and_path_dependent() -> Result<()> {
        let a = ParamSpec::new(
            "a",
            vec![10],
            Initializer::Uniform {
                low: -0.05,
                high: 0.05,
            },
        );
        let b = ParamSpec {
            path: "b".into(),
            ..a.clone()
        };
        assert_eq!(a.sample(5)?, a.sample(5)?);
        assert_ne!(a.sample(5)?, a.sample(6)?);
        assert_ne!(a.sample(5)?, b.sample(5)?);
        assert!(a.sample(5)?.iter().all(|x| (-0.05..0.05).contains(x)));
        Ok(())
    }
}

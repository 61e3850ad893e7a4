//! Classification losses computed from logits, in numerically stable form.
//!
//! Binary (sigmoid output, logits `x` of shape `(B, 1)` or `(B)`, targets `y ∈ {0, 1}` of shape
//! `(B)` or `(B, 1)`):
//!
//! ```text
//! bce(x, y) = mean_i [ max(x_i, 0) - x_i y_i + log(1 + exp(-|x_i|)) ]
//! ∂bce/∂x_i = (σ(x_i) - y_i) / B
//! ```
//!
//! which equals `-[y log σ(x) + (1-y) log(1-σ(x))]` but never evaluates `log(0)` nor overflows
//! `exp` (candle-nn's `binary_cross_entropy_with_logit` does both for large `|x|`).
//!
//! Multi-class (softmax output, logits `(B, C)`, labels `u32` `(B)`):
//!
//! ```text
//! scce(x, y) = -mean_i log_softmax(x_i)[y_i],   log_softmax(x) = x - max(x) - log Σ_j exp(x_j - max(x))
//! ```
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use textrnn_train::binary_cross_entropy_with_logits;
//! let x = Tensor::new(&[[100f32], [-100.0]], &Device::Cpu).unwrap();
//! let y = Tensor::new(&[1u32, 0], &Device::Cpu).unwrap();
//! let l = binary_cross_entropy_with_logits(&x, &y).unwrap().to_scalar::<f32>().unwrap();
//! assert!(l.abs() < 1e-30); // exactly log(1 + e^-100) ≈ 3.7e-44
//! ```

use candle_core::{DType, Tensor, D};
use textrnn_models::Output;

use crate::error::{Error, Result};

/// The loss matching a model's output activation (Keras `binary_crossentropy` /
/// `sparse_categorical_crossentropy`, both with `from_logits=True`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Sigmoid cross-entropy on one logit per example.
    BinaryCrossentropy,
    /// Softmax cross-entropy on one logit per class with integer labels.
    SparseCategoricalCrossentropy,
}

impl Loss {
    /// The loss for an output layer: sigmoid → binary, softmax → sparse categorical.
    pub fn for_output(output: Output) -> Self {
        match output {
            Output::Sigmoid => Loss::BinaryCrossentropy,
            Output::Softmax(_) => Loss::SparseCategoricalCrossentropy,
        }
    }

    /// Keras' name of the loss.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::BinaryCrossentropy => "binary_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
        }
    }

    /// Mean loss (a scalar tensor) of `logits` against integer `labels` `(B)`.
    pub fn compute(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        match self {
            Loss::BinaryCrossentropy => binary_cross_entropy_with_logits(logits, labels),
            Loss::SparseCategoricalCrossentropy => sparse_categorical_cross_entropy(logits, labels),
        }
    }
}

/// Stable mean binary cross-entropy of `logits` `(B, 1)` or `(B)` against `targets` `(B)` or
/// `(B, 1)` (any dtype; converted to the logits' dtype, values in `[0, 1]`).
pub fn binary_cross_entropy_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let x = match logits.dims() {
        [_] => logits.clone(),
        [_, 1] => logits.squeeze(1)?,
        dims => {
            return Err(Error::Shape(format!(
                "binary cross-entropy expects logits (B, 1) or (B), got {dims:?}"
            )))
        }
    };
    let y = match targets.dims() {
        [_] => targets.clone(),
        [_, 1] => targets.squeeze(1)?,
        dims => {
            return Err(Error::Shape(format!(
                "binary cross-entropy expects targets (B) or (B, 1), got {dims:?}"
            )))
        }
    };
    if x.dim(0)? != y.dim(0)? {
        return Err(Error::Shape(format!(
            "binary cross-entropy: {} logits for {} targets",
            x.dim(0)?,
            y.dim(0)?
        )));
    }
    let y = y.to_dtype(x.dtype())?;
    // candle's relu and abs both take gradient +1 at 0, so the autodiff gradient at x = 0 is
    // 1 - y - 1/2 = σ(0) - y, as it should be (tested below).
    let log_term = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    let per_example = ((x.relu()? - (&x * &y)?)? + log_term)?;
    Ok(per_example.mean_all()?)
}

/// Mean sparse categorical cross-entropy of `logits` `(B, C)` against `u32` `labels` `(B)`.
pub fn sparse_categorical_cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let (b, _c) = logits.dims2().map_err(|_| {
        Error::Shape(format!(
            "sparse categorical cross-entropy expects logits (B, C), got {:?}",
            logits.dims()
        ))
    })?;
    let labels = match labels.dims() {
        [n] if *n == b => labels.clone(),
        [n, 1] if *n == b => labels.squeeze(1)?,
        dims => {
            return Err(Error::Shape(format!(
                "sparse categorical cross-entropy: labels {dims:?} for logits {:?}",
                logits.dims()
            )))
        }
    };
    let labels = labels.to_dtype(DType::U32)?;
    let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let picked = log_probs.gather(&labels.unsqueeze(1)?, 1)?;
    Ok(picked.mean_all()?.neg()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn bce_ref(x: f64, y: f64) -> f64 {
        // the textbook form, fine for moderate x
        let p = 1.0 / (1.0 + (-x).exp());
        -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
    }

    #[test]
    fn bce_exact_values() {
        let dev = Device::Cpu;
        let xs = [0.5f64, -1.0, 2.0, 0.0];
        let ys = [1u32, 1, 0, 0];
        let x = Tensor::new(&xs, &dev).unwrap().reshape((4, 1)).unwrap();
        let y = Tensor::new(&ys, &dev).unwrap();
        let got = binary_cross_entropy_with_logits(&x, &y)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        // 0.474077 + 1.313262 + 2.126928 + 0.693147 = 4.607414 → /4
        let want: f64 = xs
            .iter()
            .zip(ys)
            .map(|(&x, y)| bce_ref(x, y as f64))
            .sum::<f64>()
            / 4.0;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        assert!((got - 1.1518535).abs() < 1e-6);
    }

    #[test]
    fn bce_large_logits_are_finite_and_exact() {
        let dev = Device::Cpu;
        let x = Var::new(&[[100f32], [-100.0], [100.0], [-100.0]], &dev).unwrap();
        let y = Tensor::new(&[1u32, 0, 0, 1], &dev).unwrap();
        let loss = binary_cross_entropy_with_logits(&x, &y).unwrap();
        let v = loss.to_scalar::<f32>().unwrap();
        // correct ones cost ~0, wrong ones cost 100 each: (0 + 0 + 100 + 100) / 4 = 50
        assert!((v - 50.0).abs() < 1e-4, "{v}");
        let g = loss.backward().unwrap();
        let g = g
            .get(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        // (σ(x) - y)/4: (1-1)/4, (0-0)/4, (1-0)/4, (0-1)/4
        let want = [0.0f32, 0.0, 0.25, -0.25];
        for (a, b) in g.iter().zip(want) {
            assert!(a.is_finite() && (a - b).abs() < 1e-6, "{g:?}");
        }
    }

    #[test]
    fn bce_accepts_b_by_one_targets_and_rejects_bad_shapes() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[0f32], [0.0]], &dev).unwrap();
        let y = Tensor::new(&[[1f32], [0.0]], &dev).unwrap();
        let v = binary_cross_entropy_with_logits(&x, &y)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((v - std::f32::consts::LN_2).abs() < 1e-6);
        let bad = Tensor::zeros((2, 2), DType::F32, &dev).unwrap();
        assert!(matches!(
            binary_cross_entropy_with_logits(&bad, &y),
            Err(Error::Shape(_))
        ));
        let short = Tensor::zeros(3, DType::F32, &dev).unwrap();
        assert!(matches!(
            binary_cross_entropy_with_logits(&x, &short),
            Err(Error::Shape(_))
        ));
    }

    /// Central finite differences of `f` at `x0` (f64), step h.
    fn numeric_grad(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], h: f64) -> Vec<f64> {
        (0..x0.len())
            .map(|i| {
                let mut a = x0.to_vec();
                let mut b = x0.to_vec();
                a[i] += h;
                b[i] -= h;
                (f(&a) - f(&b)) / (2.0 * h)
            })
            .collect()
    }

    #[test]
    fn bce_gradient_matches_finite_differences() {
        let dev = Device::Cpu;
        let x0 = [0.0f64, 0.3, -2.5, 7.0, -0.01, 15.0];
        let ys = [1u32, 0, 1, 0, 1, 1];
        let y = Tensor::new(&ys, &dev).unwrap();
        let f = |xs: &[f64]| {
            let x = Tensor::new(xs, &dev).unwrap();
            binary_cross_entropy_with_logits(&x, &y)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        let var = Var::new(&x0, &dev).unwrap();
        let loss = binary_cross_entropy_with_logits(&var, &y).unwrap();
        let g = loss
            .backward()
            .unwrap()
            .get(&var)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let num = numeric_grad(&f, &x0, 1e-6);
        for i in 0..x0.len() {
            // analytic: (σ(x) - y) / B
            let s = 1.0 / (1.0 + (-x0[i]).exp());
            let exact = (s - ys[i] as f64) / x0.len() as f64;
            assert!(
                (g[i] - exact).abs() < 1e-12,
                "autodiff {i}: {} vs {exact}",
                g[i]
            );
            assert!(
                (num[i] - exact).abs() < 1e-8,
                "numeric {i}: {} vs {exact}",
                num[i]
            );
        }
    }

    #[test]
    fn scce_exact_values() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[1.0f64, 2.0, 3.0], [0.0, 0.0, 0.0]], &dev).unwrap();
        let y = Tensor::new(&[2u32, 0], &dev).unwrap();
        let got = sparse_categorical_cross_entropy(&x, &y)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        // row 0: -log(e^3 / (e + e^2 + e^3)) = 0.4076059644; row 1: log 3 = 1.0986122887
        let want = (0.407_605_964_4 + 1.098_612_288_7) / 2.0;
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }

    #[test]
    fn scce_large_logits_are_finite() {
        let dev = Device::Cpu;
        let x = Var::new(&[[100f32, -100.0], [-100.0, 100.0]], &dev).unwrap();
        let y = Tensor::new(&[1u32, 1], &dev).unwrap();
        let loss = sparse_categorical_cross_entropy(&x, &y).unwrap();
        // row 0 wrong by 200 nats, row 1 right: (200 + 0) / 2
        assert!((loss.to_scalar::<f32>().unwrap() - 100.0).abs() < 1e-3);
        let g = loss
            .backward()
            .unwrap()
            .get(&x)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        // (softmax - onehot) / B
        let want = [[0.5f32, -0.5], [0.0, 0.0]];
        for r in 0..2 {
            for c in 0..2 {
                assert!((g[r][c] - want[r][c]).abs() < 1e-6, "{g:?}");
            }
        }
    }

    #[test]
    fn scce_gradient_matches_finite_differences() {
        let dev = Device::Cpu;
        let x0 = [0.2f64, -1.0, 3.0, 0.5, 0.5, -0.7, 4.0, 2.0, -3.0];
        let y = Tensor::new(&[1u32, 2, 0], &dev).unwrap();
        let f = |xs: &[f64]| {
            let x = Tensor::from_slice(xs, (3, 3), &dev).unwrap();
            sparse_categorical_cross_entropy(&x, &y)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        let var = Var::from_slice(&x0, (3, 3), &dev).unwrap();
        let loss = sparse_categorical_cross_entropy(&var, &y).unwrap();
        let g = loss
            .backward()
            .unwrap()
            .get(&var)
            .unwrap()
            .flatten_all()
            .unwrap();
        let g = g.to_vec1::<f64>().unwrap();
        let num = numeric_grad(&f, &x0, 1e-6);
        for i in 0..x0.len() {
            assert!((g[i] - num[i]).abs() < 1e-8, "{i}: {} vs {}", g[i], num[i]);
        }
    }

    #[test]
    fn loss_for_output() {
        assert_eq!(Loss::for_output(Output::Sigmoid), Loss::BinaryCrossentropy);
        assert_eq!(
            Loss::for_output(Output::Softmax(4)),
            Loss::SparseCategoricalCrossentropy
        );
        assert_eq!(Loss::BinaryCrossentropy.name(), "binary_crossentropy");
    }
}

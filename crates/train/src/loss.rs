//! Classification losses computed from logits, in numerically stable form: a loss per example,
//! then one batch reduction with optional per-example weights.
//!
//! Binary (sigmoid output, logits `x` of shape `(B, 1)` or `(B)`, targets `y ∈ {0, 1}` of shape
//! `(B)` or `(B, 1)`):
//!
//! ```text
//! l_i = max(x_i, 0) - x_i y_i + log(1 + exp(-|x_i|))
//! ∂l_i/∂x_i = σ(x_i) - y_i
//! ```
//!
//! which equals `-[y log σ(x) + (1-y) log(1-σ(x))]` but never evaluates `log(0)` nor overflows
//! `exp` (candle-nn's `binary_cross_entropy_with_logit` does both for large `|x|`). Multi-label
//! (logits `(B, n)`, float targets `(B, n)` in `{0, 1}`): `l_i` is the mean of that term over the
//! `n` labels (Keras `binary_crossentropy`).
//!
//! Multi-class (softmax output, logits `(B, C)`, labels `u32` `(B)`):
//!
//! ```text
//! l_i = -log_softmax(x_i)[y_i],   log_softmax(x) = x - max(x) - log Σ_j exp(x_j - max(x))
//! ```
//!
//! Reduction (Keras `sum_over_batch_size`): `loss = Σ_i w_i l_i / B` with weights `w` `(B)`
//! (class weight × sample weight), `mean_i l_i` without. `B` counts every example, so a zero
//! weight removes an example's contribution without raising the others'; all weights 1 give the
//! unweighted loss bit for bit (the same reduction runs on `l_i · 1 = l_i`).
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use textrnn_train::{binary_cross_entropy_with_logits, Loss};
//! let x = Tensor::new(&[[100f32], [-100.0]], &Device::Cpu).unwrap();
//! let y = Tensor::new(&[1u32, 0], &Device::Cpu).unwrap();
//! let l = binary_cross_entropy_with_logits(&x, &y).unwrap().to_scalar::<f32>().unwrap();
//! assert!(l.abs() < 1e-30); // exactly log(1 + e^-100) ≈ 3.7e-44
//! // weights: only the second example counts, and it costs 100 nats; (0·0 + 1·100) / 2 = 50
//! let y = Tensor::new(&[0u32, 1], &Device::Cpu).unwrap();
//! let w = Tensor::new(&[0f32, 1.0], &Device::Cpu).unwrap();
//! let l = Loss::BinaryCrossentropy.compute_weighted(&x, &y, Some(&w)).unwrap();
//! assert!((l.to_scalar::<f32>().unwrap() - 50.0).abs() < 1e-4);
//! ```

use candle_core::{DType, Tensor, D};
use textrnn_models::Output;

use crate::error::{Error, Result};

/// The loss matching a model's output activation (Keras `binary_crossentropy` /
/// `sparse_categorical_crossentropy`, both with `from_logits=True`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Sigmoid cross-entropy on one logit per example (or per label, multi-label).
    BinaryCrossentropy,
    /// Softmax cross-entropy on one logit per class with integer labels.
    SparseCategoricalCrossentropy,
}

impl Loss {
    /// The loss for an output layer: sigmoid (one or per label) → binary, softmax → sparse
    /// categorical.
    pub fn for_output(output: Output) -> Self {
        match output {
            Output::Sigmoid | Output::MultiLabel(_) => Loss::BinaryCrossentropy,
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

    /// Mean loss (a scalar tensor) of `logits` against `targets`: [`Loss::compute_weighted`]
    /// without weights.
    pub fn compute(&self, logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
        self.compute_weighted(logits, targets, None)
    }

    /// The loss of every example `(B)`: see the module docs for the shapes.
    pub fn per_example(&self, logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
        match self {
            Loss::BinaryCrossentropy => bce_per_example(logits, targets),
            Loss::SparseCategoricalCrossentropy => scce_per_example(logits, targets),
        }
    }

    /// Batch loss (a scalar tensor) `Σ_i w_i l_i / B` with per-example `weights` `(B)` (any
    /// float dtype, converted to the logits'), or `mean_i l_i` without; see the module docs.
    pub fn compute_weighted(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        weights: Option<&Tensor>,
    ) -> Result<Tensor> {
        let per_example = self.per_example(logits, targets)?;
        let Some(w) = weights else {
            return Ok(per_example.mean_all()?);
        };
        let b = per_example.dim(0)?;
        if w.dims() != [b] {
            return Err(Error::Shape(format!(
                "{}: weights {:?} for {b} examples (expected [{b}])",
                self.name(),
                w.dims()
            )));
        }
        let w = w.to_dtype(per_example.dtype())?;
        Ok((per_example * w)?.mean_all()?)
    }
}

/// Stable mean binary cross-entropy of `logits` `(B, 1)` or `(B)` against `targets` `(B)` or
/// `(B, 1)`, or of multi-label logits `(B, n)` against targets `(B, n)` (any dtype; converted
/// to the logits' dtype, values in `[0, 1]`).
pub fn binary_cross_entropy_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    Ok(bce_per_example(logits, targets)?.mean_all()?)
}

/// Per-example binary cross-entropy `(B)` (see the module docs).
fn bce_per_example(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    // Multi-label: (B, n) logits against (B, n) targets, n > 1.
    if let ([b, n], [tb, tn]) = (logits.dims(), targets.dims()) {
        if *n > 1 {
            if (b, n) != (tb, tn) {
                return Err(Error::Shape(format!(
                    "binary cross-entropy: targets {:?} for logits {:?}",
                    targets.dims(),
                    logits.dims()
                )));
            }
            let y = targets.to_dtype(logits.dtype())?;
            return Ok(bce_elementwise(logits, &y)?.mean(1)?);
        }
    }
    let x = match logits.dims() {
        [_] => logits.clone(),
        [_, 1] => logits.squeeze(1)?,
        dims => {
            return Err(Error::Shape(format!(
                "binary cross-entropy expects logits (B, 1), (B) or (B, n) with targets (B, n), got {dims:?} for targets {:?}",
                targets.dims()
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
    bce_elementwise(&x, &y)
}

/// `max(x, 0) - x y + log(1 + exp(-|x|))` element by element (`x`, `y` of one shape and dtype).
fn bce_elementwise(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    // candle's relu and abs both take gradient +1 at 0, so the autodiff gradient at x = 0 is
    // 1 - y - 1/2 = σ(0) - y, as it should be (tested below).
    let log_term = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    Ok(((x.relu()? - (x * y)?)? + log_term)?)
}

/// Mean sparse categorical cross-entropy of `logits` `(B, C)` against `u32` `labels` `(B)`.
pub fn sparse_categorical_cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    Ok(scce_per_example(logits, labels)?.mean_all()?)
}

/// Per-example sparse categorical cross-entropy `(B)`.
fn scce_per_example(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
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
    Ok(picked.squeeze(1)?.neg()?)
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

    fn scalar(t: Tensor) -> f64 {
        t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
    }

    #[test]
    fn weighted_binary_loss_is_sum_of_weighted_losses_over_b() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[0.5f64], [-1.0], [2.0], [0.0]], &dev).unwrap();
        let y = Tensor::new(&[1u32, 1, 0, 0], &dev).unwrap();
        let w = Tensor::new(&[2f64, 0.0, 1.0, 0.5], &dev).unwrap();
        let got = scalar(
            Loss::BinaryCrossentropy
                .compute_weighted(&x, &y, Some(&w))
                .unwrap(),
        );
        // l = [0.4740770, 1.3132617, 2.1269280, 0.6931472] (bce_exact_values);
        // (2·0.4740770 + 0·1.3132617 + 1·2.1269280 + 0.5·0.6931472) / 4 = 3.4216556 / 4
        assert!((got - 0.855_413_892_420_789_7).abs() < 1e-12, "{got}");
        // the per-example losses themselves
        let l = Loss::BinaryCrossentropy
            .per_example(&x, &y)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        assert!((l[1] - 1.313_261_687_518_222_8).abs() < 1e-12, "{l:?}");
    }

    #[test]
    fn weighted_softmax_loss() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[1.0f64, 2.0, 3.0], [0.0, 0.0, 0.0]], &dev).unwrap();
        let y = Tensor::new(&[2u32, 0], &dev).unwrap();
        let w = Tensor::new(&[3f32, 0.5], &dev).unwrap();
        let got = scalar(
            Loss::SparseCategoricalCrossentropy
                .compute_weighted(&x, &y, Some(&w))
                .unwrap(),
        );
        // (3·0.4076059644 + 0.5·1.0986122887) / 2 = (1.2228178933 + 0.5493061443) / 2
        assert!((got - 0.886_062_018_833_598_1).abs() < 1e-12, "{got}");
    }

    #[test]
    fn multi_label_bce_is_the_mean_over_labels_then_weighted() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[0.0f64, 2.0, -1.0], [1.0, 0.0, 0.0]], &dev).unwrap();
        let y = Tensor::new(&[[1f64, 0.0, 0.0], [1.0, 1.0, 0.0]], &dev).unwrap();
        let l = Loss::BinaryCrossentropy
            .per_example(&x, &y)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        // row 0: (bce(0,1) + bce(2,0) + bce(-1,0)) / 3 = (0.6931472 + 2.1269280 + 0.3132617) / 3
        // row 1: (bce(1,1) + bce(0,1) + bce(0,0)) / 3 = (0.3132617 + 0.6931472 + 0.6931472) / 3
        assert!((l[0] - 1.044_445_626_373_713_6).abs() < 1e-12, "{l:?}");
        assert!((l[1] - 0.566_518_682_879_371_1).abs() < 1e-12, "{l:?}");
        let plain = scalar(binary_cross_entropy_with_logits(&x, &y).unwrap());
        // (1.0444456 + 0.5665187) / 2
        assert!((plain - 0.805_482_154_626_542_4).abs() < 1e-12, "{plain}");
        let w = Tensor::new(&[1f64, 2.0], &dev).unwrap();
        let got = scalar(
            Loss::BinaryCrossentropy
                .compute_weighted(&x, &y, Some(&w))
                .unwrap(),
        );
        // (1·1.0444456 + 2·0.5665187) / 2
        assert!((got - 1.088_741_496_066_227_8).abs() < 1e-12, "{got}");
        // u32 targets work too; mismatched shapes do not
        let yu = Tensor::new(&[[1u32, 0, 0], [1, 1, 0]], &dev).unwrap();
        assert_eq!(
            scalar(binary_cross_entropy_with_logits(&x, &yu).unwrap()),
            plain
        );
        let short = Tensor::zeros((2, 2), DType::F64, &dev).unwrap();
        assert!(matches!(
            binary_cross_entropy_with_logits(&x, &short),
            Err(Error::Shape(_))
        ));
    }

    #[test]
    fn zero_weight_removes_an_example_and_unit_weights_change_no_bit() {
        let dev = Device::Cpu;
        let cases: [(Loss, Tensor, Tensor); 3] = [
            (
                Loss::BinaryCrossentropy,
                Tensor::new(&[[0.3f32], [-2.0], [5.0]], &dev).unwrap(),
                Tensor::new(&[1u32, 0, 0], &dev).unwrap(),
            ),
            (
                Loss::SparseCategoricalCrossentropy,
                Tensor::new(&[[0.3f32, 1.0], [-2.0, 0.1], [5.0, 4.0]], &dev).unwrap(),
                Tensor::new(&[1u32, 0, 0], &dev).unwrap(),
            ),
            (
                Loss::BinaryCrossentropy,
                Tensor::new(&[[0.3f32, 1.0], [-2.0, 0.1], [5.0, 4.0]], &dev).unwrap(),
                Tensor::new(&[[1f32, 0.0], [0.0, 1.0], [1.0, 1.0]], &dev).unwrap(),
            ),
        ];
        for (loss, x, y) in &cases {
            let plain = loss.compute(x, y).unwrap().to_scalar::<f32>().unwrap();
            let ones = Tensor::ones(3, DType::F32, &dev).unwrap();
            let weighted = loss
                .compute_weighted(x, y, Some(&ones))
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert_eq!(plain.to_bits(), weighted.to_bits(), "{loss:?}");
            // weight 0 on the middle example: (l_0 + l_2) / 3, B stays 3
            let l = loss.per_example(x, y).unwrap().to_vec1::<f32>().unwrap();
            let w = Tensor::new(&[1f32, 0.0, 1.0], &dev).unwrap();
            let got = loss
                .compute_weighted(x, y, Some(&w))
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(
                (got - (l[0] + l[2]) / 3.0).abs() < 1e-6,
                "{loss:?}: {got} {l:?}"
            );
        }
        let bad = Tensor::ones(2, DType::F32, &dev).unwrap();
        let (loss, x, y) = &cases[0];
        assert!(matches!(
            loss.compute_weighted(x, y, Some(&bad)),
            Err(Error::Shape(_))
        ));
    }

    #[test]
    fn weighted_gradient_scales_each_example() {
        let dev = Device::Cpu;
        let x = Var::new(&[0.0f64, 1.5, -0.5], &dev).unwrap();
        let y = Tensor::new(&[1u32, 0, 1], &dev).unwrap();
        let w = Tensor::new(&[2f64, 0.0, 0.5], &dev).unwrap();
        let g = Loss::BinaryCrossentropy
            .compute_weighted(&x, &y, Some(&w))
            .unwrap()
            .backward()
            .unwrap()
            .get(&x)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        // w_i (σ(x_i) - y_i) / B
        for (i, (&xi, (&yi, &wi))) in [0.0f64, 1.5, -0.5]
            .iter()
            .zip([1.0f64, 0.0, 1.0].iter().zip([2.0f64, 0.0, 0.5].iter()))
            .enumerate()
        {
            let want = wi * (1.0 / (1.0 + (-xi).exp()) - yi) / 3.0;
            assert!((g[i] - want).abs() < 1e-12, "{i}: {} vs {want}", g[i]);
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

//! Calibration of predicted probabilities: temperature scaling (fitting one temperature on
//! labelled logits) and the expected calibration error with its reliability-diagram bins.
//!
//! # Temperature scaling
//!
//! Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural Networks" (ICML 2017):
//! the calibrated probabilities are `activation(z / T)` for logits `z` and one temperature
//! `T > 0` shared by every example, class and label. `T > 1` softens over-confident
//! probabilities, `T < 1` sharpens under-confident ones; the arg-max class never changes.
//! [`fit_temperature`] picks the `T` minimising the mean negative log-likelihood (NLL) of the
//! labelled logits, for three kinds of outputs ([`LabelledLogits`]):
//!
//! * binary: one logit per example, `p = sigmoid(z / T)` the probability of class 1;
//!   `NLL = mean_i softplus(x_i) - y_i x_i` with `x = z / T`;
//! * softmax: `N x C` logits, `NLL = mean_i logsumexp(x_i) - x_i[y_i]`;
//! * multi-label: `N x n` logits, each label its own sigmoid, multi-hot targets; the NLL is
//!   the mean binary cross-entropy over all `N * n` (example, label) pairs (Keras'
//!   `binary_crossentropy`).
//!
//! The NLL is convex in `1 / T`, so it has a single minimum along `s = ln T`. The search runs in
//! `f64` over `s`: a grid of step 0.1 over `T in [0.01, 100]` brackets the minimum, then golden
//! section search narrows the bracket to 1e-6 in `ln T`. A minimum on the edge of that range
//! (the logits separate the examples perfectly, or carry no information) is an error rather
//! than an extreme temperature.
//!
//! # Expected calibration error
//!
//! [`reliability`] sorts probabilities into `B` equal-width bins over `[0, 1]` (bin `b` holds
//! `p` with `b / B <= p < (b + 1) / B`, the last bin also `p = 1`) and reports each bin's count,
//! mean confidence and accuracy; `ECE = sum_b (n_b / N) |acc_b - conf_b|`. Two standard forms,
//! chosen by the kind of [`Predictions`]:
//!
//! * single-label (binary and softmax), [`ReliabilityKind::TopLabel`] (Guo et al. 2017): each
//!   example's confidence is its largest class probability, and it counts as correct when that
//!   arg-max class is the true label (for a binary model, `max(p, 1 - p)` against whether
//!   `p > 0.5` is right, whatever the decision threshold);
//! * multi-label, [`ReliabilityKind::PerLabel`]: every (example, label) pair's probability
//!   against its 0/1 target, so a bin's accuracy is the share of pairs whose label is present.
//!
//! [`ECE_BINS`] (15) is the usual number of bins.
//!
//! ```
//! use textrnn_eval::{expected_calibration_error, fit_temperature, LabelledLogits, Predictions};
//! // Over-confident binary logits: the fitted temperature is above 1.
//! let logits = [4.0, -4.0, 3.0, -3.0, 5.0, 2.0];
//! let labels = [1, 0, 0, 0, 1, 1];
//! let fit = fit_temperature(&LabelledLogits::Binary { logits: &logits, labels: &labels }).unwrap();
//! assert!(fit.temperature > 1.0 && fit.nll_after < fit.nll_before);
//!
//! // Two examples, confidence 0.9 (right) and 0.6 (wrong), 15 bins:
//! // ECE = 1/2 |1 - 0.9| + 1/2 |0 - 0.6| = 0.35
//! let preds = Predictions::new(vec![0.1, 0.9, 0.6, 0.4], 2).with_labels(vec![1, 1], vec![]);
//! let ece = expected_calibration_error(&preds, 15).unwrap();
//! assert!((ece - 0.35).abs() < 1e-6);
//! ```

use serde::{Deserialize, Serialize};

use crate::predictions::{check_finite, check_labels, check_len, check_probs_labels};
use crate::{argmax, Error, Predictions, Result};

/// The usual number of reliability bins (Guo et al. 2017).
pub const ECE_BINS: usize = 15;

/// Temperatures searched by [`fit_temperature`]: `[1 / MAX_TEMPERATURE, MAX_TEMPERATURE]`.
const MAX_TEMPERATURE: f64 = 100.0;
/// Step of the bracketing grid, in `ln T`.
const GRID_STEP: f64 = 0.1;
/// Width of the final bracket, in `ln T`.
const TOLERANCE: f64 = 1e-6;

/// Labelled logits of one kind of output layer, row-major.
#[derive(Debug, Clone, Copy)]
pub enum LabelledLogits<'a> {
    /// One logit per example (sigmoid output); `labels` are 0 or 1.
    Binary {
        /// `N` logits.
        logits: &'a [f32],
        /// `N` labels, 0 or 1.
        labels: &'a [u32],
    },
    /// `N x n_classes` logits (softmax output); `labels` are class indices.
    Softmax {
        /// `N * n_classes` logits.
        logits: &'a [f32],
        /// Number of classes `C >= 2`.
        n_classes: usize,
        /// `N` class indices.
        labels: &'a [u32],
    },
    /// `N x n_labels` logits, each label its own sigmoid; `targets` multi-hot (0 or 1).
    MultiLabel {
        /// `N * n_labels` logits.
        logits: &'a [f32],
        /// Number of labels `n`.
        n_labels: usize,
        /// `N * n_labels` targets, 0 or 1.
        targets: &'a [u8],
    },
}

/// The temperature [`fit_temperature`] found and the NLL it gives.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemperatureFit {
    /// The fitted temperature `T > 0`; calibrated probabilities are `activation(z / T)`.
    pub temperature: f64,
    /// Mean NLL of the uncalibrated logits (`T = 1`).
    pub nll_before: f64,
    /// Mean NLL at the fitted temperature.
    pub nll_after: f64,
    /// Number of examples.
    pub n: usize,
}

impl LabelledLogits<'_> {
    /// Checks shapes, labels and finiteness, and with `distinct` that more than one class (or
    /// target value) is present; returns the number of examples.
    fn check(&self, distinct_needed: bool) -> Result<usize> {
        let (logits, width) = match *self {
            LabelledLogits::Binary { logits, .. } => (logits, 1),
            LabelledLogits::Softmax {
                logits, n_classes, ..
            } => (logits, n_classes),
            LabelledLogits::MultiLabel {
                logits, n_labels, ..
            } => (logits, n_labels),
        };
        if width == 0 || !logits.len().is_multiple_of(width) {
            return Err(Error::LengthMismatch {
                what: "logits (N * width)",
                expected: logits.len().div_ceil(width.max(1)) * width,
                got: logits.len(),
            });
        }
        let n = logits.len() / width;
        if n == 0 {
            return Err(Error::Empty);
        }
        check_finite(logits)?;
        let distinct = match *self {
            LabelledLogits::Binary { labels, .. } => {
                check_len("labels", n, labels.len())?;
                check_labels(labels, 2)?;
                labels.iter().any(|&l| l != labels[0])
            }
            LabelledLogits::Softmax {
                n_classes, labels, ..
            } => {
                if n_classes < 2 {
                    return Err(Error::InvalidParameter {
                        what: "n_classes",
                        value: n_classes as f64,
                        expected: "at least 2 for a softmax output",
                    });
                }
                check_len("labels", n, labels.len())?;
                check_labels(labels, n_classes)?;
                labels.iter().any(|&l| l != labels[0])
            }
            LabelledLogits::MultiLabel { targets, .. } => {
                check_len("targets (N * n_labels)", logits.len(), targets.len())?;
                if let Some(i) = targets.iter().position(|&t| t > 1) {
                    return Err(Error::InvalidTarget {
                        example: i / width,
                        label: i % width,
                        value: targets[i],
                    });
                }
                targets.iter().any(|&t| t != targets[0])
            }
        };
        if distinct_needed && !distinct {
            return Err(Error::CalibrationDegenerate(format!(
                "all {n} examples carry the same {}, so any temperature below the range makes the NLL smaller",
                if matches!(self, LabelledLogits::MultiLabel { .. }) {
                    "target on every label"
                } else {
                    "class"
                }
            )));
        }
        Ok(n)
    }

    /// Mean NLL at `1 / T = inv_t` (no checks; see the module docs for the formulas).
    fn nll_at(&self, inv_t: f64) -> f64 {
        match *self {
            LabelledLogits::Binary { logits, labels } => {
                let total: f64 = logits
                    .iter()
                    .zip(labels)
                    .map(|(&z, &y)| binary_nll(f64::from(z) * inv_t, y == 1))
                    .sum();
                total / logits.len() as f64
            }
            LabelledLogits::Softmax {
                logits,
                n_classes,
                labels,
            } => {
                let total: f64 = logits
                    .chunks_exact(n_classes)
                    .zip(labels)
                    .map(|(row, &y)| {
                        let max = row
                            .iter()
                            .fold(f64::NEG_INFINITY, |m, &z| m.max(f64::from(z)));
                        let sum: f64 = row
                            .iter()
                            .map(|&z| ((f64::from(z) - max) * inv_t).exp())
                            .sum();
                        // logsumexp(x) - x_y with x = z / T, shifted by the row's maximum.
                        sum.ln() - (f64::from(row[y as usize]) - max) * inv_t
                    })
                    .sum();
                total / labels.len() as f64
            }
            LabelledLogits::MultiLabel {
                logits, targets, ..
            } => {
                let total: f64 = logits
                    .iter()
                    .zip(targets)
                    .map(|(&z, &t)| binary_nll(f64::from(z) * inv_t, t == 1))
                    .sum();
                total / logits.len() as f64
            }
        }
    }
}

/// `-ln sigmoid(x)` for a positive target, `-ln (1 - sigmoid(x))` otherwise, in the stable
/// form `softplus(x) - y x` with `softplus(x) = max(x, 0) + ln(1 + e^-|x|)`.
fn binary_nll(x: f64, positive: bool) -> f64 {
    let softplus = x.max(0.0) + (-x.abs()).exp().ln_1p();
    if positive {
        softplus - x
    } else {
        softplus
    }
}

/// Mean negative log-likelihood of `activation(logits / temperature)` (see the module docs).
///
/// Errors on no examples, mismatched lengths, labels out of range, targets other than 0/1,
/// non-finite logits, and a temperature that is not a finite positive number.
pub fn negative_log_likelihood(data: &LabelledLogits, temperature: f64) -> Result<f64> {
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(Error::InvalidParameter {
            what: "temperature",
            value: temperature,
            expected: "a finite number above 0",
        });
    }
    data.check(false)?;
    Ok(data.nll_at(1.0 / temperature))
}

/// Fits one temperature by minimising the mean NLL over `ln T` (see the module docs).
///
/// Errors on no examples, mismatched lengths, labels out of range, targets other than 0/1,
/// non-finite logits, every example of one class (or every target equal), and when the
/// minimum lies on the edge of `T in [0.01, 100]` (perfectly separated or uninformative
/// logits).
pub fn fit_temperature(data: &LabelledLogits) -> Result<TemperatureFit> {
    let n = data.check(true)?;
    let nll = |s: f64| data.nll_at((-s).exp());
    let edge = MAX_TEMPERATURE.ln();
    let steps = (2.0 * edge / GRID_STEP).round() as usize;
    let grid: Vec<(f64, f64)> = (0..=steps)
        .map(|i| {
            let s = -edge + i as f64 * GRID_STEP;
            (s, nll(s))
        })
        .collect();
    let (first, last) = (grid[0].1, grid[steps].1);
    if (first - last).abs() <= 1e-12 * first.abs().max(1.0) {
        return Err(Error::CalibrationDegenerate(format!(
            "the NLL of the {n} examples does not change with the temperature (the logits carry no information)"
        )));
    }
    let best = grid
        .iter()
        .enumerate()
        .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
        .map_or(0, |(i, _)| i);
    if best == 0 {
        return Err(Error::CalibrationDegenerate(format!(
            "the logits separate the {n} examples perfectly: the NLL keeps falling as the temperature goes to 0 (minimum below T = {})",
            1.0 / MAX_TEMPERATURE
        )));
    }
    if best == steps {
        return Err(Error::CalibrationDegenerate(format!(
            "the NLL of the {n} examples keeps falling as the temperature grows (minimum above T = {MAX_TEMPERATURE}): the logits are no better than chance"
        )));
    }
    let s = golden_section(nll, grid[best - 1].0, grid[best + 1].0, TOLERANCE);
    Ok(TemperatureFit {
        temperature: s.exp(),
        nll_before: nll(0.0),
        nll_after: nll(s),
        n,
    })
}

/// Minimum of a unimodal `f` on `[a, b]`, found by golden section search to a bracket of
/// width `tol`; returns the bracket's midpoint.
fn golden_section(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64, tol: f64) -> f64 {
    let ratio = (5f64.sqrt() - 1.0) / 2.0; // 1 / golden ratio
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > tol {
        if fc <= fd {
            (b, d, fd) = (d, c, fc);
            c = b - ratio * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + ratio * (b - a);
            fd = f(d);
        }
    }
    (a + b) / 2.0
}

/// Which probabilities a [`Reliability`] bins (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReliabilityKind {
    /// Single-label: each example's top-label confidence against whether its arg-max is right.
    TopLabel,
    /// Multi-label: every (example, label) pair's probability against its 0/1 target.
    PerLabel,
}

impl ReliabilityKind {
    /// A short description for output.
    pub fn describe(&self) -> &'static str {
        match self {
            ReliabilityKind::TopLabel => "top-label confidence vs accuracy of the arg-max class",
            ReliabilityKind::PerLabel => "every (example, label) probability vs its 0/1 target",
        }
    }
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge (inclusive).
    pub lower: f64,
    /// Upper edge (exclusive, except for the last bin).
    pub upper: f64,
    /// Number of probabilities in the bin.
    pub count: usize,
    /// Mean confidence in the bin (`None` when empty).
    pub confidence: Option<f64>,
    /// Share of correct predictions (or present labels) in the bin (`None` when empty).
    pub accuracy: Option<f64>,
}

/// Reliability-diagram data and the expected calibration error of some predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    /// What was binned.
    pub kind: ReliabilityKind,
    /// Number of binned probabilities (examples, or (example, label) pairs).
    pub n: usize,
    /// Expected calibration error: `sum_b (n_b / N) |acc_b - conf_b|`.
    pub ece: f64,
    /// The equal-width bins over `[0, 1]`, in order.
    pub bins: Vec<ReliabilityBin>,
}

/// Reliability bins and ECE of labelled predictions (see the module docs): top-label for
/// single-label predictions, per (example, label) pair for multi-label ones.
///
/// Errors on `bins == 0`, unlabelled predictions, malformed or non-finite probabilities,
/// labels out of range.
pub fn reliability(preds: &Predictions, bins: usize) -> Result<Reliability> {
    if bins == 0 {
        return Err(Error::InvalidParameter {
            what: "bins",
            value: 0.0,
            expected: "at least 1",
        });
    }
    // (confidence, correct) per binned probability.
    let (kind, points): (ReliabilityKind, Vec<(f64, bool)>) = if preds.multi_label {
        if preds.targets.is_empty() {
            return Err(Error::Unlabelled {
                what: "the expected calibration error",
            });
        }
        crate::predictions::check_matrix(&preds.probs, preds.n_classes)?;
        check_len(
            "targets (N * n_labels)",
            preds.probs.len(),
            preds.targets.len(),
        )?;
        let points = preds
            .probs
            .iter()
            .zip(&preds.targets)
            .map(|(&p, &t)| (f64::from(p), t == 1))
            .collect();
        (ReliabilityKind::PerLabel, points)
    } else {
        if preds.labels.is_empty() {
            return Err(Error::Unlabelled {
                what: "the expected calibration error",
            });
        }
        check_probs_labels(&preds.probs, preds.n_classes, &preds.labels)?;
        let points = preds
            .probs
            .chunks_exact(preds.n_classes)
            .zip(&preds.labels)
            .map(|(row, &y)| {
                let top = argmax(row);
                (f64::from(row[top]), top == y as usize)
            })
            .collect();
        (ReliabilityKind::TopLabel, points)
    };
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins]; // (count, sum of confidence, correct)
    for &(p, correct) in &points {
        let b = ((p * bins as f64).floor().max(0.0) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += p;
        sums[b].2 += usize::from(correct);
    }
    let n = points.len();
    let mut ece = 0.0;
    let bins_out = sums
        .iter()
        .enumerate()
        .map(|(b, &(count, conf_sum, correct))| {
            let (confidence, accuracy) = if count == 0 {
                (None, None)
            } else {
                let (conf, acc) = (conf_sum / count as f64, correct as f64 / count as f64);
                ece += count as f64 / n as f64 * (acc - conf).abs();
                (Some(conf), Some(acc))
            };
            ReliabilityBin {
                lower: b as f64 / bins as f64,
                upper: (b + 1) as f64 / bins as f64,
                count,
                confidence,
                accuracy,
            }
        })
        .collect();
    Ok(Reliability {
        kind,
        n,
        ece,
        bins: bins_out,
    })
}

/// The expected calibration error of labelled predictions over `bins` equal-width bins (see
/// [`reliability`] and the module docs).
pub fn expected_calibration_error(preds: &Predictions, bins: usize) -> Result<f64> {
    Ok(reliability(preds, bins)?.ece)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Standard normal draw (Box-Muller).
    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        let v: f64 = rng.random();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// Binary logits `z ~ N(0, 3)` with labels drawn from `sigmoid(z / t0)`.
    fn binary_data(n: usize, t0: f64, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let z = 3.0 * normal(&mut rng);
                let y = rng.random::<f64>() < sigmoid(z / t0);
                (z as f32, u32::from(y))
            })
            .unzip()
    }

    // Tolerance of the recovered temperature: the maximum-likelihood estimate from 20,000
    // draws (24,000 pairs for multi-label) is off by a sampling error of about 1-2%; these
    // seeds give 0.515 for 0.5, 1.015 / 0.983 / 1.010 for 1, 2.530 for 2.5, 1.976 for 2,
    // 0.705 for 0.7, 0.602 for 0.6 and 3.013 for 3. 5% leaves room for the sampling error.
    const REL_TOL: f64 = 0.05;

    /// Fits `data` and checks the temperature is within [`REL_TOL`] of `t0` and lowers the NLL.
    fn assert_recovers(data: LabelledLogits, t0: f64) {
        let fit = fit_temperature(&data).unwrap();
        assert!(
            (fit.temperature / t0 - 1.0).abs() < REL_TOL,
            "T0 = {t0}: fitted {}",
            fit.temperature
        );
        assert!(fit.nll_after <= fit.nll_before);
    }

    #[test]
    fn recovers_binary_temperature() {
        for t0 in [0.5, 1.0, 2.5] {
            let (logits, labels) = binary_data(20_000, t0, 7);
            let data = LabelledLogits::Binary {
                logits: &logits,
                labels: &labels,
            };
            assert_eq!(data.check(true).unwrap(), 20_000);
            assert_recovers(data, t0);
        }
    }

    #[test]
    fn recovers_softmax_temperature() {
        let (n, c) = (20_000, 4);
        for t0 in [0.7, 1.0, 2.0] {
            let mut rng = ChaCha8Rng::seed_from_u64(11);
            let mut logits = Vec::with_capacity(n * c);
            let mut labels = Vec::with_capacity(n);
            for _ in 0..n {
                let z: Vec<f64> = (0..c).map(|_| 2.5 * normal(&mut rng)).collect();
                let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = z.iter().map(|v| ((v - max) / t0).exp()).collect();
                // Inverse-CDF draw of the class from softmax(z / t0).
                let mut u = rng.random::<f64>() * e.iter().sum::<f64>();
                let mut y = c - 1;
                for (k, ek) in e.iter().enumerate() {
                    if u < *ek {
                        y = k;
                        break;
                    }
                    u -= ek;
                }
                logits.extend(z.iter().map(|&v| v as f32));
                labels.push(y as u32);
            }
            let data = LabelledLogits::Softmax {
                logits: &logits,
                n_classes: c,
                labels: &labels,
            };
            assert_recovers(data, t0);
        }
    }

    #[test]
    fn recovers_multi_label_temperature() {
        let (n, labels_per_row) = (8_000, 3);
        for t0 in [0.6, 1.0, 3.0] {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let mut logits = Vec::new();
            let mut targets = Vec::new();
            for _ in 0..n * labels_per_row {
                let z = 3.0 * normal(&mut rng);
                targets.push(u8::from(rng.random::<f64>() < sigmoid(z / t0)));
                logits.push(z as f32);
            }
            let data = LabelledLogits::MultiLabel {
                logits: &logits,
                n_labels: labels_per_row,
                targets: &targets,
            };
            assert_recovers(data, t0);
        }
    }

    #[test]
    fn nll_matches_hand_computed_values() {
        // Binary: z = [0, 2], y = [1, 0], T = 2 -> x = [0, 1]:
        // -ln sigmoid(0) = ln 2; -ln(1 - sigmoid(1)) = ln(1 + e) -> mean (ln 2 + ln(1 + e)) / 2
        let data = LabelledLogits::Binary {
            logits: &[0.0, 2.0],
            labels: &[1, 0],
        };
        let want = (2f64.ln() + (1.0 + 1f64.exp()).ln()) / 2.0;
        assert!((negative_log_likelihood(&data, 2.0).unwrap() - want).abs() < 1e-12);
        // Softmax: one row [1, 0, 0], label 0, T = 1 -> ln(e + 2) - 1
        let data = LabelledLogits::Softmax {
            logits: &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            n_classes: 3,
            labels: &[0, 1],
        };
        let want = ((1f64.exp() + 2.0).ln() - 1.0 + 3f64.ln()) / 2.0;
        assert!((negative_log_likelihood(&data, 1.0).unwrap() - want).abs() < 1e-12);
        assert!(negative_log_likelihood(&data, 0.0).is_err());
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        let empty = LabelledLogits::Binary {
            logits: &[],
            labels: &[],
        };
        assert!(matches!(fit_temperature(&empty), Err(Error::Empty)));
        let one_class = LabelledLogits::Binary {
            logits: &[1.0, -1.0],
            labels: &[1, 1],
        };
        assert!(matches!(
            fit_temperature(&one_class),
            Err(Error::CalibrationDegenerate(_))
        ));
        let non_finite = LabelledLogits::Softmax {
            logits: &[1.0, f32::NAN, 0.0, 0.0],
            n_classes: 2,
            labels: &[0, 1],
        };
        assert!(matches!(
            fit_temperature(&non_finite),
            Err(Error::NonFinite { index: 1, .. })
        ));
        let separated = LabelledLogits::Binary {
            logits: &[3.0, -3.0],
            labels: &[1, 0],
        };
        let err = fit_temperature(&separated).unwrap_err();
        assert!(err.to_string().contains("separate"), "{err}");
        let flat = LabelledLogits::Binary {
            logits: &[0.0, 0.0],
            labels: &[1, 0],
        };
        let err = fit_temperature(&flat).unwrap_err();
        assert!(err.to_string().contains("no information"), "{err}");
        let bad_target = LabelledLogits::MultiLabel {
            logits: &[0.0, 1.0],
            n_labels: 2,
            targets: &[0, 2],
        };
        assert!(matches!(
            fit_temperature(&bad_target),
            Err(Error::InvalidTarget {
                example: 0,
                label: 1,
                value: 2
            })
        ));
        let short = LabelledLogits::Softmax {
            logits: &[0.0, 1.0, 2.0],
            n_classes: 2,
            labels: &[0, 1],
        };
        assert!(matches!(
            fit_temperature(&short),
            Err(Error::LengthMismatch { .. })
        ));
    }

    #[test]
    fn ece_of_a_hand_computed_example() {
        // Five binary examples [1 - p, p] with labels; 5 bins of width 0.2.
        //   p = 0.95, y = 1: top 0.95 (class 1) right  -> bin 4 [0.8, 1.0]
        //   p = 0.85, y = 0: top 0.85 (class 1) wrong  -> bin 4
        //   p = 0.30, y = 0: top 0.70 (class 0) right  -> bin 3 [0.6, 0.8)
        //   p = 0.35, y = 1: top 0.65 (class 0) wrong  -> bin 3
        //   p = 0.55, y = 1: top 0.55 (class 1) right  -> bin 2 [0.4, 0.6)
        // bin 4: conf (0.95 + 0.85) / 2 = 0.90, acc 1/2 -> |0.5 - 0.9| = 0.40, weight 2/5
        // bin 3: conf (0.70 + 0.65) / 2 = 0.675, acc 1/2 -> 0.175, weight 2/5
        // bin 2: conf 0.55, acc 1 -> 0.45, weight 1/5
        // ECE = 0.4 * 0.4 + 0.4 * 0.175 + 0.2 * 0.45 = 0.16 + 0.07 + 0.09 = 0.32
        let p = [0.95f32, 0.85, 0.30, 0.35, 0.55];
        let probs = p.iter().flat_map(|&p| [1.0 - p, p]).collect();
        let preds = Predictions::new(probs, 2).with_labels(vec![1, 0, 0, 1, 1], vec![]);
        let r = reliability(&preds, 5).unwrap();
        assert_eq!(r.kind, ReliabilityKind::TopLabel);
        assert_eq!(r.n, 5);
        assert!((r.ece - 0.32).abs() < 1e-6, "{}", r.ece);
        let counts: Vec<usize> = r.bins.iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![0, 0, 1, 2, 2]);
        assert_eq!(r.bins[0].confidence, None);
        let b4 = r.bins[4];
        assert!((b4.confidence.unwrap() - 0.90).abs() < 1e-6);
        assert_eq!(b4.accuracy, Some(0.5));
        assert!((r.bins[3].confidence.unwrap() - 0.675).abs() < 1e-6);
        assert_eq!((r.bins[3].lower, r.bins[3].upper), (0.6, 0.8));
        assert!(
            (expected_calibration_error(&preds, 5).unwrap() - 0.32).abs() < 1e-6,
            "the same value through expected_calibration_error"
        );
    }

    #[test]
    fn ece_per_label_for_multi_label() {
        // 2 examples x 2 labels, 2 bins [0, 0.5), [0.5, 1]:
        //   0.9 (1), 0.2 (0), 0.6 (0), 0.1 (1)
        // bin 1: {0.9: 1, 0.6: 0} conf 0.75, acc 0.5 -> 0.25, weight 1/2
        // bin 0: {0.2: 0, 0.1: 1} conf 0.15, acc 0.5 -> 0.35, weight 1/2
        // ECE = 0.125 + 0.175 = 0.30
        let preds = Predictions::multi_label(vec![0.9, 0.2, 0.6, 0.1], 2)
            .with_targets(vec![1, 0, 0, 1])
            .unwrap();
        let r = reliability(&preds, 2).unwrap();
        assert_eq!(r.kind, ReliabilityKind::PerLabel);
        assert_eq!(r.n, 4);
        assert!((r.ece - 0.30).abs() < 1e-6, "{}", r.ece);
        assert_eq!(r.bins[0].count, 2);
        assert!((r.bins[0].confidence.unwrap() - 0.15).abs() < 1e-6);
    }

    #[test]
    fn probability_one_falls_in_the_last_bin_and_bad_inputs_fail() {
        let preds = Predictions::new(vec![0.0, 1.0], 2).with_labels(vec![1], vec![]);
        let r = reliability(&preds, ECE_BINS).unwrap();
        assert_eq!(r.bins[14].count, 1);
        assert_eq!(r.ece, 0.0);
        assert!(reliability(&preds, 0).is_err());
        let unlabelled = Predictions::new(vec![0.0, 1.0], 2);
        assert!(matches!(
            reliability(&unlabelled, 15),
            Err(Error::Unlabelled { .. })
        ));
    }
}

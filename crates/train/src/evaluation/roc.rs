//! ROC curve and ROC AUC: binary, and one-vs-rest macro average for several classes.
//!
//! The curve follows scikit-learn's `roc_curve(..., drop_intermediate=False)`: thresholds are the
//! distinct scores in descending order, preceded by `+inf`; at threshold `t` a sample is positive
//! when `score >= t`, `tpr = tp / P` and `fpr = fp / N`. The first point is `(0, 0)` at `+inf`, the
//! last `(1, 1)` at the lowest score. Tied scores form a single step (a diagonal segment), so
//! the trapezoidal area ([`RocCurve::auc`]) equals the rank-based AUC with ties counted half
//! ([`crate::metrics::roc_auc`]).
//!
//! One-vs-rest ([`roc_auc_ovr`]): for each class `c`, the scores are column `c` of the
//! probabilities and the positives are the samples labelled `c`; the macro AUC is the plain mean
//! over classes. Unlike scikit-learn, which raises an error when a class is absent from `y_true`,
//! such classes are skipped and listed in [`OvrAuc::notes`]; an error is returned only when no
//! class can be scored. With two classes the result is the binary AUC of class 1
//! (scikit-learn's `roc_auc_score(y, p[:, 1])`).
//!
//! ```
//! use textrnn_train::evaluation::roc_curve;
//! let roc = roc_curve(&[0.8, 0.6, 0.4, 0.2], &[true, false, true, false]).unwrap();
//! assert_eq!(roc.fpr, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
//! assert_eq!(roc.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
//! assert_eq!(roc.auc(), 0.75);
//! ```

use serde::Serialize;

use super::predictions::{check_binary, check_probs_labels, one_vs_rest};
use super::{EvalError, Result};
use crate::metrics::roc_auc;

/// A curve with the name of the class it belongs to (for legends).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedCurve<C> {
    /// Class (or series) name.
    pub name: String,
    /// The curve.
    pub curve: C,
}

/// Receiver operating characteristic: false and true positive rates per threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocCurve {
    /// False positive rates, increasing from 0 to 1.
    pub fpr: Vec<f64>,
    /// True positive rates, increasing from 0 to 1.
    pub tpr: Vec<f64>,
    /// Thresholds, decreasing; the first is `+inf` (serialized as `null` by JSON).
    pub thresholds: Vec<f64>,
}

impl RocCurve {
    /// Trapezoidal area under the curve.
    pub fn auc(&self) -> f64 {
        trapezoid(&self.fpr, &self.tpr)
    }
}

/// Cumulative counts at each distinct threshold (scikit-learn's `_binary_clf_curve`).
pub(crate) struct ClfCounts {
    /// Distinct scores, descending.
    pub thresholds: Vec<f64>,
    /// Positives with `score >= threshold`.
    pub tps: Vec<u64>,
    /// Negatives with `score >= threshold`.
    pub fps: Vec<u64>,
}

pub(crate) fn binary_clf_counts(scores: &[f32], positive: &[bool]) -> ClfCounts {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut counts = ClfCounts {
        thresholds: Vec::new(),
        tps: Vec::new(),
        fps: Vec::new(),
    };
    let (mut tp, mut fp) = (0u64, 0u64);
    for (k, &i) in order.iter().enumerate() {
        if positive[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_group = order
            .get(k + 1)
            .is_none_or(|&next| scores[next] != scores[i]);
        if last_of_group {
            counts.thresholds.push(f64::from(scores[i]));
            counts.tps.push(tp);
            counts.fps.push(fp);
        }
    }
    counts
}

/// ROC curve of binary `scores` (higher = more positive) against `positive`.
///
/// Errors when lengths differ, a score is not finite, or only one class is present.
pub fn roc_curve(scores: &[f32], positive: &[bool]) -> Result<RocCurve> {
    check_binary(scores, positive)?;
    let counts = binary_clf_counts(scores, positive);
    let p = counts.tps.last().copied().unwrap_or(0);
    let n = counts.fps.last().copied().unwrap_or(0);
    if p == 0 || n == 0 {
        return Err(EvalError::SingleClass {
            what: "roc_curve",
            present: if p == 0 { "negative" } else { "positive" },
        });
    }
    let mut roc = RocCurve {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    for k in 0..counts.thresholds.len() {
        roc.fpr.push(counts.fps[k] as f64 / n as f64);
        roc.tpr.push(counts.tps[k] as f64 / p as f64);
        roc.thresholds.push(counts.thresholds[k]);
    }
    Ok(roc)
}

/// Binary ROC AUC (exact, ties averaged), an error when only one class is present.
pub fn roc_auc_binary(scores: &[f32], positive: &[bool]) -> Result<f64> {
    check_binary(scores, positive)?;
    roc_auc(scores, positive).ok_or(EvalError::SingleClass {
        what: "roc_auc",
        present: if positive.iter().any(|&p| p) {
            "positive"
        } else {
            "negative"
        },
    })
}

/// One-vs-rest ROC AUC per class and its macro average.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OvrAuc {
    /// Macro average over the classes that could be scored (binary AUC of class 1 for two classes).
    pub macro_auc: f64,
    /// AUC of each class against the rest; `None` for a skipped class.
    pub per_class: Vec<Option<f64>>,
    /// One line per skipped class.
    pub notes: Vec<String>,
}

/// ROC AUC of each class against the rest, averaged without weights (see the module docs).
pub fn roc_auc_ovr(probs: &[f32], n_classes: usize, labels: &[u32]) -> Result<OvrAuc> {
    check_probs_labels(probs, n_classes, labels)?;
    let mut per_class = Vec::with_capacity(n_classes);
    let mut notes = Vec::new();
    for c in 0..n_classes {
        let (scores, positive) = one_vs_rest(probs, n_classes, labels, c);
        let auc = roc_auc(&scores, &positive);
        if auc.is_none() {
            let why = if positive.iter().any(|&p| p) {
                "every sample belongs to it"
            } else {
                "it has no samples"
            };
            notes.push(format!("class {c} skipped in one-vs-rest ROC AUC: {why}"));
        }
        per_class.push(auc);
    }
    let macro_auc = if n_classes == 2 {
        per_class[1].ok_or(EvalError::NoScorableClass)?
    } else {
        let scored: Vec<f64> = per_class.iter().flatten().copied().collect();
        if scored.is_empty() {
            return Err(EvalError::NoScorableClass);
        }
        scored.iter().sum::<f64>() / scored.len() as f64
    };
    Ok(OvrAuc {
        macro_auc,
        per_class,
        notes,
    })
}

/// ROC curves for plotting: the curve of class 1 for two classes, else one curve per class
/// against the rest. Classes without both positives and negatives are left out.
pub fn roc_curves(
    probs: &[f32],
    n_classes: usize,
    labels: &[u32],
    class_names: &[String],
) -> Result<Vec<NamedCurve<RocCurve>>> {
    per_class_curves(probs, n_classes, labels, class_names, roc_curve)
}

/// Applies a binary curve function to each class against the rest (class 1 only for binary).
pub(crate) fn per_class_curves<C>(
    probs: &[f32],
    n_classes: usize,
    labels: &[u32],
    class_names: &[String],
    curve: fn(&[f32], &[bool]) -> Result<C>,
) -> Result<Vec<NamedCurve<C>>> {
    check_probs_labels(probs, n_classes, labels)?;
    if class_names.len() != n_classes {
        return Err(EvalError::LengthMismatch {
            what: "class_names",
            expected: n_classes,
            got: class_names.len(),
        });
    }
    let classes = if n_classes == 2 { 1..2 } else { 0..n_classes };
    let mut curves = Vec::new();
    for c in classes {
        let (scores, positive) = one_vs_rest(probs, n_classes, labels, c);
        match curve(&scores, &positive) {
            Ok(curve) => curves.push(NamedCurve {
                name: class_names[c].clone(),
                curve,
            }),
            Err(EvalError::SingleClass { .. }) => {
                tracing::warn!(class = %class_names[c], "no curve: class has only positives or only negatives");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(curves)
}

/// Area under a piecewise-linear curve through `(x[i], y[i])`.
fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(xs, ys)| (xs[1] - xs[0]) * (ys[0] + ys[1]) / 2.0)
        .sum()
}

//! Precision-recall curve and average precision, as scikit-learn's `precision_recall_curve`
//! and `average_precision_score`.
//!
//! At each distinct score `t` (a sample is positive when `score >= t`):
//! `precision = tp / (tp + fp)`, `recall = tp / P`. The arrays are returned in scikit-learn's
//! order: thresholds increasing, and `precision`/`recall` one element longer, ending with the
//! point `(recall 0, precision 1)` that has no threshold. Average precision is
//! `AP = sum_n (R_n - R_{n-1}) P_n` over thresholds in decreasing order with `R_0 = 0`
//! (a step function, no interpolation).
//!
//! ```
//! use textrnn_eval::precision_recall_curve;
//! let pr = precision_recall_curve(&[0.8, 0.6, 0.4, 0.2], &[true, false, true, false]).unwrap();
//! assert_eq!(pr.thresholds, vec![0.2f32 as f64, 0.4f32 as f64, 0.6f32 as f64, 0.8f32 as f64]);
//! assert_eq!(pr.recall, vec![1.0, 1.0, 0.5, 0.5, 0.0]);
//! // AP = 0.5 * 1 + 0.5 * 2/3
//! assert!((pr.average_precision() - (0.5 + 1.0 / 3.0)).abs() < 1e-12);
//! ```

use serde::Serialize;

use crate::predictions::check_binary;
use crate::roc::{binary_clf_counts, per_class_curves, NamedCurve};
use crate::{Error, Result};

/// Precision and recall per threshold, in scikit-learn's order (thresholds increasing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrCurve {
    /// Precision at each threshold, then a final 1.
    pub precision: Vec<f64>,
    /// Recall at each threshold (decreasing), then a final 0.
    pub recall: Vec<f64>,
    /// Distinct scores, increasing.
    pub thresholds: Vec<f64>,
}

impl PrCurve {
    /// Average precision: `sum (R_n - R_{n-1}) P_n` with the points in decreasing threshold order.
    pub fn average_precision(&self) -> f64 {
        // scikit-learn: -sum(diff(recall) * precision[:-1]) on the increasing-threshold arrays
        let n = self.recall.len();
        (0..n.saturating_sub(1))
            .map(|i| (self.recall[i] - self.recall[i + 1]) * self.precision[i])
            .sum()
    }
}

/// Precision-recall curve of binary `scores` against `positive`.
///
/// Errors when lengths differ, a score is not finite, or there is no positive sample
/// (recall undefined; scikit-learn warns and sets recall to 1).
pub fn precision_recall_curve(scores: &[f32], positive: &[bool]) -> Result<PrCurve> {
    check_binary(scores, positive)?;
    let counts = binary_clf_counts(scores, positive);
    let p = counts.tps.last().copied().unwrap_or(0);
    if p == 0 {
        return Err(Error::SingleClass {
            what: "precision_recall_curve",
            present: "negative",
        });
    }
    let k = counts.thresholds.len();
    let mut curve = PrCurve {
        precision: Vec::with_capacity(k + 1),
        recall: Vec::with_capacity(k + 1),
        thresholds: Vec::with_capacity(k),
    };
    for i in (0..k).rev() {
        let predicted = counts.tps[i] + counts.fps[i];
        curve
            .precision
            .push(counts.tps[i] as f64 / predicted as f64);
        curve.recall.push(counts.tps[i] as f64 / p as f64);
        curve.thresholds.push(counts.thresholds[i]);
    }
    curve.precision.push(1.0);
    curve.recall.push(0.0);
    Ok(curve)
}

/// Average precision of binary `scores` (see [`PrCurve::average_precision`]).
pub fn average_precision(scores: &[f32], positive: &[bool]) -> Result<f64> {
    Ok(precision_recall_curve(scores, positive)?.average_precision())
}

/// Precision-recall curves for plotting: class 1 for two classes, else one per class against
/// the rest; classes without positive samples are left out.
pub fn precision_recall_curves(
    probs: &[f32],
    n_classes: usize,
    labels: &[u32],
    class_names: &[String],
) -> Result<Vec<NamedCurve<PrCurve>>> {
    per_class_curves(
        probs,
        n_classes,
        labels,
        class_names,
        precision_recall_curve,
    )
}

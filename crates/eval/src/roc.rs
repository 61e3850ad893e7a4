//! ROC curve and ROC AUC: binary, and one-vs-rest macro average for several classes.
//!
//! The curve follows scikit-learn's `roc_curve(..., drop_intermediate=False)`: thresholds are the
//! distinct scores in descending order, preceded by `+inf`; at threshold `t` a sample is positive
//! when `score >= t`, `tpr = tp / P` and `fpr = fp / N`. The first point is `(0, 0)` at `+inf`, the
//! last `(1, 1)` at the lowest score. Tied scores form a single step (a diagonal segment), so
//! the trapezoidal area ([`RocCurve::auc`]) equals the rank-based AUC with ties counted half
//! ([`roc_auc`]): `AUC = (sum of ranks of positives - n_pos (n_pos + 1) / 2) / (n_pos n_neg)`,
//! where tied scores share their average rank (scikit-learn's `roc_auc_score`, ties included).
//!
//! One-vs-rest ([`roc_auc_ovr`]): for each class `c`, the scores are column `c` of the
//! probabilities and the positives are the samples labelled `c`; the macro AUC is the plain mean
//! over classes. Unlike scikit-learn, which raises an error when a class is absent from `y_true`,
//! such classes are skipped and listed in [`OvrAuc::notes`]; an error is returned only when no
//! class can be scored. With two classes the result is the binary AUC of class 1
//! (scikit-learn's `roc_auc_score(y, p[:, 1])`).
//!
//! ```
//! use textrnn_eval::roc_curve;
//! let roc = roc_curve(&[0.8, 0.6, 0.4, 0.2], &[true, false, true, false]).unwrap();
//! assert_eq!(roc.fpr, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
//! assert_eq!(roc.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
//! assert_eq!(roc.auc(), 0.75);
//! // positives at 0.8 and 0.4, negatives at 0.6 and 0.2: 3 of 4 pairs ordered correctly
//! assert_eq!(textrnn_eval::roc_auc(&[0.8, 0.6, 0.4, 0.2], &[true, false, true, false]), Some(0.75));
//! ```

use serde::Serialize;

use crate::predictions::{check_binary, check_len, check_probs_labels, one_vs_rest};
use crate::{Error, Result};

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
        return Err(Error::SingleClass {
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
    roc_auc(scores, positive).ok_or(Error::SingleClass {
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
    let per_class = ovr_per_class(probs, n_classes, labels);
    let notes = (0..n_classes)
        .filter(|&c| per_class[c].is_none())
        .map(|c| {
            let why = if labels.iter().any(|&l| l as usize == c) {
                "every sample belongs to it"
            } else {
                "it has no samples"
            };
            format!("class {c} skipped in one-vs-rest ROC AUC: {why}")
        })
        .collect();
    let macro_auc = ovr_macro(&per_class).ok_or(Error::NoScorableClass)?;
    Ok(OvrAuc {
        macro_auc,
        per_class,
        notes,
    })
}

/// The macro AUC of [`roc_auc_ovr`] without input checks, `None` where it is undefined (fewer
/// than two classes, no sample, no class with both positives and negatives). For streaming
/// metrics that accumulate probabilities as they come; `probs` must hold
/// `labels.len() * n_classes` values.
pub fn roc_auc_macro(probs: &[f32], n_classes: usize, labels: &[u32]) -> Option<f64> {
    if n_classes < 2 || labels.is_empty() {
        return None;
    }
    if n_classes == 2 {
        // only class 1 counts: skip the AUC of class 0
        let (scores, positive) = one_vs_rest(probs, n_classes, labels, 1);
        return roc_auc(&scores, &positive);
    }
    ovr_macro(&ovr_per_class(probs, n_classes, labels))
}

/// AUC of each class against the rest; `None` for a class without positives or negatives.
fn ovr_per_class(probs: &[f32], n_classes: usize, labels: &[u32]) -> Vec<Option<f64>> {
    (0..n_classes)
        .map(|c| {
            let (scores, positive) = one_vs_rest(probs, n_classes, labels, c);
            roc_auc(&scores, &positive)
        })
        .collect()
}

/// The AUC of class 1 for two classes, else the mean over the classes that could be scored.
fn ovr_macro(per_class: &[Option<f64>]) -> Option<f64> {
    if per_class.len() == 2 {
        return per_class[1];
    }
    let scored: Vec<f64> = per_class.iter().flatten().copied().collect();
    (!scored.is_empty()).then(|| scored.iter().sum::<f64>() / scored.len() as f64)
}

/// Exact ROC AUC of `scores` for the positive class by the rank statistic (see the module
/// docs); `None` when only one class is present. Inputs are not checked (see
/// [`roc_auc_binary`]); extra values of the longer slice are ignored.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let n = scores.len().min(positive.len());
    let n_pos = positive[..n].iter().filter(|&&p| p).count();
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0f64;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        // ranks i+1 ..= j share their mean
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        let pos_in_group = order[i..j].iter().filter(|&&k| positive[k]).count();
        rank_sum_pos += mean_rank * pos_in_group as f64;
        i = j;
    }
    let n_pos_f = n_pos as f64;
    Some((rank_sum_pos - n_pos_f * (n_pos_f + 1.0) / 2.0) / (n_pos_f * n_neg as f64))
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
    check_len("class_names", n_classes, class_names.len())?;
    let classes = if n_classes == 2 { 1..2 } else { 0..n_classes };
    let mut curves = Vec::new();
    for c in classes {
        let (scores, positive) = one_vs_rest(probs, n_classes, labels, c);
        match curve(&scores, &positive) {
            Ok(curve) => curves.push(NamedCurve {
                name: class_names[c].clone(),
                curve,
            }),
            Err(Error::SingleClass { .. }) => {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{roc_auc, roc_auc_macro};

    #[test]
    fn ties_count_half() {
        // pairs (pos, neg): (0.5,0.5) tie -> 0.5, (0.5,0.1) -> 1, (0.9,0.5) -> 1, (0.9,0.1) -> 1 => 3.5/4
        let auc = roc_auc(&[0.5, 0.9, 0.5, 0.1], &[true, true, false, false]);
        assert_eq!(auc, Some(0.875));
    }

    #[test]
    fn single_class_has_no_auc() {
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn macro_auc_is_undefined_without_classes_or_samples() {
        assert_eq!(roc_auc_macro(&[], 2, &[]), None);
        assert_eq!(roc_auc_macro(&[1.0, 1.0], 1, &[0, 0]), None);
        // two classes: the AUC of class 1; only positives of class 1 -> undefined
        assert_eq!(roc_auc_macro(&[0.2, 0.8, 0.4, 0.6], 2, &[1, 1]), None);
        assert_eq!(roc_auc_macro(&[0.2, 0.8, 0.6, 0.4], 2, &[1, 0]), Some(1.0));
    }
}

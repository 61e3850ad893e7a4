//! Class probabilities of a model ([`Predictions`]), the one arg-max, the one decision rule, and
//! validation of plain prediction data.
//!
//! Probabilities are a row-major `N x C` matrix (`probs[i * C + c]` = p(class c | sample i)); labels
//! are class indices `0..C`. Binary models give `C = 2` with rows `[1 - p, p]`.
//!
//! The decision rule ([`Predictions::decide`]): a binary model given a threshold `t` predicts
//! class 1 when `p >= t`; every other case takes the arg-max of the row, the first class on
//! ties (for a binary row `[1 - p, p]` that is class 1 exactly when `p > 0.5`).
//!
//! ```
//! use textrnn_eval::{argmax_labels, Predictions};
//! // rows [0.2, 0.7, 0.1] and [0.5, 0.1, 0.4] -> classes 1 and 0
//! let pred = argmax_labels(&[0.2, 0.7, 0.1, 0.5, 0.1, 0.4], 3).unwrap();
//! assert_eq!(pred, vec![1, 0]);
//! // a binary model: p = 0.4 and 0.5
//! let preds = Predictions::new(vec![0.6, 0.4, 0.5, 0.5], 2);
//! assert_eq!(preds.decide(None), vec![0, 0]); // arg-max, ties to class 0
//! assert_eq!(preds.decide(Some(0.5)), vec![0, 1]); // p >= 0.5
//! assert_eq!(preds.decide(Some(0.4)), vec![1, 1]);
//! ```
//!
//! Multi-label predictions ([`Predictions::multi_label`]) hold `N x n` independent per-label
//! (sigmoid) probabilities, with `n_classes = n` labels; their true labels are the multi-hot
//! `targets` (`N x n`, row-major, 0 or 1) instead of `labels`. Their decision rule is
//! [`Predictions::decide_labels`]: label `j` is predicted when `p_j >= t_j`. Single-label
//! operations (the arg-max decision, [`Predictions::try_decide`]) refuse them with
//! [`Error::WrongKind`].
//!
//! ```
//! use textrnn_eval::Predictions;
//! // 2 examples x 3 labels
//! let preds = Predictions::multi_label(vec![0.9, 0.2, 0.6, 0.1, 0.5, 0.4], 3)
//!     .with_targets(vec![1, 0, 1, 0, 1, 0])
//!     .unwrap();
//! assert_eq!(preds.decide_labels(&[0.5, 0.5, 0.5]).unwrap(), vec![1, 0, 1, 0, 1, 0]);
//! assert_eq!(preds.decide_labels(&[0.5, 0.1, 0.7]).unwrap(), vec![1, 1, 0, 0, 1, 0]);
//! assert!(preds.try_decide(None).is_err());
//! ```

use serde::{Deserialize, Serialize};

use crate::threshold::predict_with_threshold;
use crate::{Error, Result};

/// Class probabilities of `N` examples, with their true labels and the class names when known.
///
/// Serialized with the field names and order of the run directory's `test_predictions.json`;
/// `class_names` and `labels` may be absent when reading (unlabelled predictions).
/// `multi_label` and `targets` are written only for multi-label predictions, so single-label
/// files keep their layout and files written before multi-label support still read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Predictions {
    /// Class names, indexed by label (empty when unknown).
    #[serde(default)]
    pub class_names: Vec<String>,
    /// True label of each example (empty for unlabelled inputs).
    #[serde(default)]
    pub labels: Vec<u32>,
    /// Number of classes `C` (2 for a sigmoid model).
    pub n_classes: usize,
    /// `N * C` probabilities, row-major (for multi-label: `N * n` independent probabilities).
    pub probs: Vec<f32>,
    /// Multi-label predictions: `n_classes` labels, each with its own probability.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multi_label: bool,
    /// Multi-label true labels: `N * n` multi-hot values (0 or 1), row-major; empty when
    /// unlabelled or single-label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<u8>,
}

impl Predictions {
    /// Unlabelled predictions: `probs` holds `N * n_classes` probabilities, row-major.
    pub fn new(probs: Vec<f32>, n_classes: usize) -> Self {
        Predictions {
            class_names: Vec::new(),
            labels: Vec::new(),
            n_classes,
            probs,
            multi_label: false,
            targets: Vec::new(),
        }
    }

    /// Unlabelled multi-label predictions: `probs` holds `N * n_labels` independent per-label
    /// probabilities, row-major. Label names go in `class_names` ([`Predictions::with_labels`]
    /// with empty labels, or set the field).
    pub fn multi_label(probs: Vec<f32>, n_labels: usize) -> Self {
        Predictions {
            multi_label: true,
            ..Predictions::new(probs, n_labels)
        }
    }

    /// The same multi-label predictions with their multi-hot true labels (`N * n` values, 0 or
    /// 1, row-major).
    ///
    /// Errors on single-label predictions, a length other than `probs.len()`, or a value that
    /// is not 0 or 1 (naming the example and the label).
    pub fn with_targets(mut self, targets: Vec<u8>) -> Result<Self> {
        self.require_multi_label("with_targets")?;
        check_targets(&targets, self.probs.len(), self.n_classes)?;
        self.targets = targets;
        Ok(self)
    }

    /// Multi-label decisions: `N * n` multi-hot values, label `j` predicted (1) when
    /// `p_j >= thresholds[j]`.
    ///
    /// Errors on single-label predictions, a malformed or non-finite probability matrix,
    /// `thresholds.len() != n`, or a threshold that is not finite (naming the label).
    pub fn decide_labels(&self, thresholds: &[f64]) -> Result<Vec<u8>> {
        self.require_multi_label("decide_labels")?;
        check_matrix(&self.probs, self.n_classes)?;
        check_len(
            "thresholds (one per label)",
            self.n_classes,
            thresholds.len(),
        )?;
        if let Some(j) = thresholds.iter().position(|t| !t.is_finite()) {
            return Err(Error::Label {
                label: self.label_name(j),
                error: Box::new(Error::InvalidParameter {
                    what: "threshold",
                    value: thresholds[j],
                    expected: "a finite number",
                }),
            });
        }
        Ok(self
            .probs
            .chunks_exact(self.n_classes)
            .flat_map(|row| {
                row.iter()
                    .zip(thresholds)
                    .map(|(&p, &t)| u8::from(f64::from(p) >= t))
            })
            .collect())
    }

    /// Name of class or label `c`: its entry in `class_names`, else `label <c>` / `class <c>`.
    pub fn label_name(&self, c: usize) -> String {
        match self.class_names.get(c) {
            Some(name) => name.clone(),
            None if self.multi_label => format!("label {c}"),
            None => format!("class {c}"),
        }
    }

    /// Multi-label targets of label `j` as booleans, one per example (empty when unlabelled).
    pub fn target_column(&self, j: usize) -> Vec<bool> {
        self.targets
            .iter()
            .skip(j)
            .step_by(self.n_classes.max(1))
            .map(|&t| t == 1)
            .collect()
    }

    /// Checks multi-label predictions with targets for `what`: multi-label, a finite
    /// `N x n` matrix, and `N * n` targets of 0 or 1. Returns `N`.
    pub(crate) fn check_multi_label_targets(&self, what: &'static str) -> Result<usize> {
        self.require_multi_label(what)?;
        let n = check_matrix(&self.probs, self.n_classes)?;
        if self.targets.is_empty() {
            return Err(Error::Unlabelled { what });
        }
        check_targets(&self.targets, self.probs.len(), self.n_classes)?;
        Ok(n)
    }

    /// An [`Error::WrongKind`] naming `what` unless these are multi-label predictions.
    pub(crate) fn require_multi_label(&self, what: &'static str) -> Result<()> {
        if self.multi_label {
            Ok(())
        } else {
            Err(Error::WrongKind {
                what,
                expected: "multi-label",
            })
        }
    }

    /// The same predictions with the true label of each example and the class names. For
    /// multi-label predictions pass no labels, only the label names: their true labels are the
    /// multi-hot [`Predictions::with_targets`].
    pub fn with_labels(mut self, labels: Vec<u32>, class_names: Vec<String>) -> Self {
        self.labels = labels;
        self.class_names = class_names;
        self
    }

    /// Number of examples `N`.
    pub fn len(&self) -> usize {
        self.probs.len().checked_div(self.n_classes).unwrap_or(0)
    }

    /// True when there is no example.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Probability row of example `i` (`i < len()`).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.probs[i * self.n_classes..(i + 1) * self.n_classes]
    }

    /// Probability of class `c` for each example (`c = 1`: the positive score of a binary model).
    pub fn column(&self, c: usize) -> Vec<f32> {
        self.probs
            .iter()
            .skip(c)
            .step_by(self.n_classes.max(1))
            .copied()
            .collect()
    }

    /// Arg-max class of each example (`p > 0.5` for a binary model). Single-label only (see
    /// [`Predictions::decide`]).
    pub fn classes(&self) -> Vec<u32> {
        self.decide(None)
    }

    /// Predicted class of each example by the decision rule (see the module docs): `p >= t`
    /// for a binary model given `threshold = Some(t)`, else the arg-max.
    ///
    /// Single-label only: on multi-label predictions the arg-max is no decision. Use
    /// [`Predictions::decide_labels`] for those, and [`Predictions::try_decide`] where either
    /// kind may arrive.
    pub fn decide(&self, threshold: Option<f64>) -> Vec<u32> {
        match threshold {
            Some(t) if self.n_classes == 2 => predict_with_threshold(&self.column(1), t),
            _ => (0..self.len())
                .map(|i| argmax(self.row(i)) as u32)
                .collect(),
        }
    }

    /// [`Predictions::decide`] after checking that the predictions are single-label and the
    /// probabilities a finite `N x C` matrix: multi-label predictions give
    /// [`Error::WrongKind`].
    pub fn try_decide(&self, threshold: Option<f64>) -> Result<Vec<u32>> {
        if self.multi_label {
            return Err(Error::WrongKind {
                what: "a single-label decision (arg-max or binary threshold)",
                expected: "single-label",
            });
        }
        check_matrix(&self.probs, self.n_classes)?;
        Ok(self.decide(threshold))
    }
}

/// Index of the largest value (the first one on ties); 0 for an empty row.
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Predicted class per row of a checked `N x n_classes` matrix: the index of the largest
/// probability (the first one on ties).
pub fn argmax_labels(probs: &[f32], n_classes: usize) -> Result<Vec<u32>> {
    check_matrix(probs, n_classes)?;
    Ok(probs
        .chunks_exact(n_classes)
        .map(|row| argmax(row) as u32)
        .collect())
}

/// Checks that `probs` is a finite `N x n_classes` matrix and returns `N`.
pub(crate) fn check_matrix(probs: &[f32], n_classes: usize) -> Result<usize> {
    if n_classes == 0 {
        return Err(Error::InvalidParameter {
            what: "n_classes",
            value: 0.0,
            expected: "at least 1",
        });
    }
    if !probs.len().is_multiple_of(n_classes) {
        return Err(Error::LengthMismatch {
            what: "probs (N * n_classes)",
            expected: probs.len().div_ceil(n_classes) * n_classes,
            got: probs.len(),
        });
    }
    check_finite(probs)?;
    let n = probs.len() / n_classes;
    if n == 0 {
        return Err(Error::Empty);
    }
    Ok(n)
}

/// Checks multi-hot targets: `expected` values (`N * n_labels`), each 0 or 1.
fn check_targets(targets: &[u8], expected: usize, n_labels: usize) -> Result<()> {
    check_len("targets (N * n_labels)", expected, targets.len())?;
    match targets.iter().position(|&t| t > 1) {
        Some(index) => Err(Error::InvalidTarget {
            example: index / n_labels.max(1),
            label: index % n_labels.max(1),
            value: targets[index],
        }),
        None => Ok(()),
    }
}

/// Checks a probability matrix against its labels and returns `N`.
pub(crate) fn check_probs_labels(probs: &[f32], n_classes: usize, labels: &[u32]) -> Result<usize> {
    let n = check_matrix(probs, n_classes)?;
    check_len("labels", n, labels.len())?;
    check_labels(labels, n_classes)?;
    Ok(n)
}

/// Checks that every label is below `n_classes`.
pub(crate) fn check_labels(labels: &[u32], n_classes: usize) -> Result<()> {
    match labels.iter().position(|&l| l as usize >= n_classes) {
        Some(index) => Err(Error::LabelOutOfRange {
            index,
            label: labels[index],
            n_classes,
        }),
        None => Ok(()),
    }
}

/// Checks true and predicted labels: the same length, every label below `n_classes`.
pub(crate) fn check_label_pairs(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Result<()> {
    check_len("y_pred", y_true.len(), y_pred.len())?;
    check_labels(y_true, n_classes)?;
    check_labels(y_pred, n_classes)
}

/// A [`Error::LengthMismatch`] naming `what` unless `got == expected`.
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Checks that every value is finite.
pub(crate) fn check_finite(values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks binary scores against boolean targets (same length, non-empty, finite).
pub(crate) fn check_binary(scores: &[f32], positive: &[bool]) -> Result<()> {
    check_len("positive", scores.len(), positive.len())?;
    if scores.is_empty() {
        return Err(Error::Empty);
    }
    check_finite(scores)
}

/// Column `class` of a probability matrix, and whether each label equals `class`.
pub(crate) fn one_vs_rest(
    probs: &[f32],
    n_classes: usize,
    labels: &[u32],
    class: usize,
) -> (Vec<f32>, Vec<bool>) {
    let scores = probs
        .chunks_exact(n_classes)
        .map(|row| row[class])
        .collect();
    let positive = labels.iter().map(|&l| l as usize == class).collect();
    (scores, positive)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn old_single_label_file_still_reads_and_writes_the_same() {
        // test_predictions.json as written before multi-label support
        let old = r#"{"class_names":["neg","pos"],"labels":[1,0],"n_classes":2,"probs":[0.25,0.75,0.5,0.5]}"#;
        let preds: Predictions = serde_json::from_str(old).unwrap();
        assert!(!preds.multi_label);
        assert!(preds.targets.is_empty());
        assert_eq!(preds.decide(None), vec![1, 0]);
        assert_eq!(preds.try_decide(Some(0.5)).unwrap(), vec![1, 1]);
        // single-label predictions are written without the new fields
        assert_eq!(serde_json::to_string(&preds).unwrap(), old);
    }

    #[test]
    fn multi_label_round_trips_through_json() {
        let preds = Predictions::multi_label(vec![0.5, 0.25], 2)
            .with_targets(vec![1, 0])
            .unwrap();
        let json = serde_json::to_string(&preds).unwrap();
        assert_eq!(
            json,
            r#"{"class_names":[],"labels":[],"n_classes":2,"probs":[0.5,0.25],"multi_label":true,"targets":[1,0]}"#
        );
        assert_eq!(serde_json::from_str::<Predictions>(&json).unwrap(), preds);
    }

    #[test]
    fn decide_labels_applies_each_labels_threshold() {
        // 3 examples x 2 labels
        let preds = Predictions::multi_label(vec![0.5, 0.3, 0.49, 0.9, 0.0, 0.3], 2);
        // p >= t: 0.5 >= 0.5 yes, 0.3 >= 0.3 yes; 0.49 no, 0.9 yes; 0.0 no, 0.3 yes
        assert_eq!(
            preds.decide_labels(&[0.5, 0.3]).unwrap(),
            vec![1, 1, 0, 1, 0, 1]
        );
        // 0.3 >= 0.31 no, 0.9 yes, 0.3 no
        assert_eq!(
            preds.decide_labels(&[0.0, 0.31]).unwrap(),
            vec![1, 0, 1, 1, 1, 0]
        );
        assert!(matches!(
            preds.decide_labels(&[0.5]).unwrap_err(),
            Error::LengthMismatch {
                expected: 2,
                got: 1,
                ..
            }
        ));
        assert_eq!(
            preds
                .decide_labels(&[0.5, f64::INFINITY])
                .unwrap_err()
                .to_string(),
            "label \"label 1\": invalid threshold: inf (expected a finite number)"
        );
        let nan = Predictions::multi_label(vec![0.5, f32::NAN], 2);
        assert!(matches!(
            nan.decide_labels(&[0.5, 0.5]).unwrap_err(),
            Error::NonFinite { index: 1, .. }
        ));
    }

    #[test]
    fn single_label_operations_refuse_multi_label_and_back() {
        let multi = Predictions::multi_label(vec![0.9, 0.8], 2);
        assert_eq!(
            multi.try_decide(None).unwrap_err().to_string(),
            "a single-label decision (arg-max or binary threshold) works on single-label predictions only"
        );
        let single = Predictions::new(vec![0.1, 0.9], 2);
        assert_eq!(
            single.decide_labels(&[0.5, 0.5]).unwrap_err().to_string(),
            "decide_labels works on multi-label predictions only"
        );
        assert_eq!(
            single.with_targets(vec![0, 1]).unwrap_err().to_string(),
            "with_targets works on multi-label predictions only"
        );
    }

    #[test]
    fn with_targets_checks_length_and_values() {
        let multi = || Predictions::multi_label(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3);
        assert!(matches!(
            multi().with_targets(vec![0, 1, 0]).unwrap_err(),
            Error::LengthMismatch {
                expected: 6,
                got: 3,
                ..
            }
        ));
        assert_eq!(
            multi()
                .with_targets(vec![0, 1, 0, 1, 1, 7])
                .unwrap_err()
                .to_string(),
            "target of example 1, label 2 is 7 (expected 0 or 1)"
        );
        let preds = multi().with_targets(vec![0, 1, 0, 1, 1, 0]).unwrap();
        assert_eq!(preds.target_column(1), vec![true, true]);
        assert_eq!(preds.target_column(2), vec![false, false]);
        assert_eq!(preds.column(2), vec![0.3, 0.6]);
        assert_eq!(preds.label_name(0), "label 0");
        assert_eq!(Predictions::new(vec![1.0], 1).label_name(3), "class 3");
    }
}

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

use serde::{Deserialize, Serialize};

use crate::threshold::predict_with_threshold;
use crate::{Error, Result};

/// Class probabilities of `N` examples, with their true labels and the class names when known.
///
/// Serialized with the field names and order of the run directory's `test_predictions.json`;
/// `class_names` and `labels` may be absent when reading (unlabelled predictions).
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
    /// `N * C` probabilities, row-major.
    pub probs: Vec<f32>,
}

impl Predictions {
    /// Unlabelled predictions: `probs` holds `N * n_classes` probabilities, row-major.
    pub fn new(probs: Vec<f32>, n_classes: usize) -> Self {
        Predictions {
            class_names: Vec::new(),
            labels: Vec::new(),
            n_classes,
            probs,
        }
    }

    /// The same predictions with the true label of each example and the class names.
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

    /// Arg-max class of each example (`p > 0.5` for a binary model).
    pub fn classes(&self) -> Vec<u32> {
        self.decide(None)
    }

    /// Predicted class of each example by the decision rule (see the module docs): `p >= t`
    /// for a binary model given `threshold = Some(t)`, else the arg-max.
    pub fn decide(&self, threshold: Option<f64>) -> Vec<u32> {
        match threshold {
            Some(t) if self.n_classes == 2 => predict_with_threshold(&self.column(1), t),
            _ => (0..self.len())
                .map(|i| argmax(self.row(i)) as u32)
                .collect(),
        }
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

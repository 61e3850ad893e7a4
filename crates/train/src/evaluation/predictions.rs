//! Validation of plain prediction data and the arg-max decision rule.
//!
//! Probabilities are a row-major `N x C` matrix (`probs[i * C + c]` = p(class c | sample i)); labels
//! are class indices `0..C`. Binary models give `C = 2` with rows `[1 - p, p]`.
//!
//! ```
//! use textrnn_train::evaluation::argmax_labels;
//! // rows [0.2, 0.7, 0.1] and [0.5, 0.1, 0.4] -> classes 1 and 0
//! let pred = argmax_labels(&[0.2, 0.7, 0.1, 0.5, 0.1, 0.4], 3).unwrap();
//! assert_eq!(pred, vec![1, 0]);
//! ```

use super::{EvalError, Result};

/// Predicted class per row: the index of the largest probability (the first one on ties).
pub fn argmax_labels(probs: &[f32], n_classes: usize) -> Result<Vec<u32>> {
    let n = check_matrix(probs, n_classes)?;
    Ok((0..n)
        .map(|i| {
            let row = &probs[i * n_classes..(i + 1) * n_classes];
            let mut best = 0;
            for (c, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect())
}

/// Checks that `probs` is a finite `N x n_classes` matrix and returns `N`.
pub(crate) fn check_matrix(probs: &[f32], n_classes: usize) -> Result<usize> {
    if n_classes == 0 {
        return Err(EvalError::InvalidParameter {
            what: "n_classes",
            value: 0.0,
            expected: "at least 1",
        });
    }
    if !probs.len().is_multiple_of(n_classes) {
        return Err(EvalError::LengthMismatch {
            what: "probs (N * n_classes)",
            expected: probs.len().div_ceil(n_classes) * n_classes,
            got: probs.len(),
        });
    }
    check_finite(probs)?;
    let n = probs.len() / n_classes;
    if n == 0 {
        return Err(EvalError::Empty);
    }
    Ok(n)
}

/// Checks a probability matrix against its labels and returns `N`.
pub(crate) fn check_probs_labels(probs: &[f32], n_classes: usize, labels: &[u32]) -> Result<usize> {
    let n = check_matrix(probs, n_classes)?;
    if labels.len() != n {
        return Err(EvalError::LengthMismatch {
            what: "labels",
            expected: n,
            got: labels.len(),
        });
    }
    check_labels(labels, n_classes)?;
    Ok(n)
}

/// Checks that every label is below `n_classes`.
pub(crate) fn check_labels(labels: &[u32], n_classes: usize) -> Result<()> {
    match labels.iter().position(|&l| l as usize >= n_classes) {
        Some(index) => Err(EvalError::LabelOutOfRange {
            index,
            label: labels[index],
            n_classes,
        }),
        None => Ok(()),
    }
}

/// Checks that every value is finite.
pub(crate) fn check_finite(values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(EvalError::NonFinite {
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks binary scores against boolean targets (same length, non-empty, finite).
pub(crate) fn check_binary(scores: &[f32], positive: &[bool]) -> Result<()> {
    if positive.len() != scores.len() {
        return Err(EvalError::LengthMismatch {
            what: "positive",
            expected: scores.len(),
            got: positive.len(),
        });
    }
    if scores.is_empty() {
        return Err(EvalError::Empty);
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

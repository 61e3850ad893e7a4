//! Choosing the decision threshold of a binary classifier.
//!
//! Every distinct score `t` is a candidate; at `t` a sample is predicted positive when
//! `score >= t`. For each candidate, precision, recall, F1 and accuracy are computed from the
//! counts (every candidate predicts at least one positive, so precision is always defined), and
//! the [`Objective`] picks one:
//! - `MaxF1`: the largest F1;
//! - `MinPrecision(p)`: the largest recall among thresholds with `precision >= p`;
//! - `MinRecall(r)`: the largest precision among thresholds with `recall >= r`.
//!
//! Ties go to the candidate with the higher accuracy, then to the higher threshold. The
//! returned threshold is the middle of the gap between the chosen score and the next lower
//! distinct score (or 0): every value in that gap classifies the given scores the same way, and
//! the middle leaves the widest margin for new examples.
//! When no candidate satisfies the constraint the error reports the best achievable value.
//!
//! ```
//! use textrnn_eval::{predict_with_threshold, tune_threshold, Objective};
//! let scores = [0.9, 0.8, 0.7, 0.3, 0.2];
//! let positive = [true, true, false, true, false];
//! let choice = tune_threshold(&scores, &positive, Objective::MaxF1).unwrap();
//! // score 0.3: tp 3, fp 1, fn 0 -> F1 = 6/7; next lower score 0.2 -> threshold (0.3 + 0.2) / 2
//! assert_eq!(choice.threshold, (0.3f32 as f64 + 0.2f32 as f64) / 2.0);
//! assert_eq!(predict_with_threshold(&scores, choice.threshold), vec![1, 1, 1, 1, 0]);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::predictions::check_binary;
use crate::roc::binary_clf_counts;
use crate::{Error, Result};

/// What the chosen threshold optimises.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Objective {
    /// Maximise F1.
    MaxF1,
    /// Maximise recall subject to `precision >= p`.
    MinPrecision(f64),
    /// Maximise precision subject to `recall >= r`.
    MinRecall(f64),
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Objective::MaxF1 => write!(f, "max F1"),
            Objective::MinPrecision(p) => write!(f, "max recall with precision >= {p}"),
            Objective::MinRecall(r) => write!(f, "max precision with recall >= {r}"),
        }
    }
}

/// The chosen threshold and the scores it gives (saved as `threshold.json`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChoice {
    /// Predict positive when `score >= threshold`.
    pub threshold: f64,
    /// Precision at the threshold.
    pub precision: f64,
    /// Recall at the threshold.
    pub recall: f64,
    /// F1 at the threshold.
    pub f1: f64,
    /// Accuracy at the threshold.
    pub accuracy: f64,
    /// The objective that chose it.
    pub objective: Objective,
}

/// Picks the threshold over the distinct `scores` that best meets `objective`.
///
/// Errors when lengths differ, a score is not finite, there is no positive sample, a bound is
/// outside `[0, 1]`, or no threshold satisfies the constraint.
pub fn tune_threshold(
    scores: &[f32],
    positive: &[bool],
    objective: Objective,
) -> Result<ThresholdChoice> {
    check_binary(scores, positive)?;
    if let Objective::MinPrecision(bound) | Objective::MinRecall(bound) = objective {
        if !(0.0..=1.0).contains(&bound) {
            return Err(Error::InvalidParameter {
                what: "threshold objective bound",
                value: bound,
                expected: "a number in [0, 1]",
            });
        }
    }
    let counts = binary_clf_counts(scores, positive);
    let n = scores.len() as f64;
    let p = counts.tps.last().copied().unwrap_or(0);
    let neg = counts.fps.last().copied().unwrap_or(0);
    if p == 0 {
        return Err(Error::SingleClass {
            what: "tune_threshold",
            present: "negative",
        });
    }
    let mut best: Option<(f64, usize, ThresholdChoice)> = None;
    let mut best_constrained = 0.0f64;
    for k in 0..counts.thresholds.len() {
        let (tp, fp) = (counts.tps[k] as f64, counts.fps[k] as f64);
        let fn_ = p as f64 - tp;
        let tn = neg as f64 - fp;
        let precision = tp / (tp + fp);
        let recall = tp / p as f64;
        let f1 = 2.0 * tp / (2.0 * tp + fp + fn_);
        let choice = ThresholdChoice {
            threshold: counts.thresholds[k],
            precision,
            recall,
            f1,
            accuracy: (tp + tn) / n,
            objective,
        };
        let value = match objective {
            Objective::MaxF1 => Some(f1),
            Objective::MinPrecision(min) => {
                best_constrained = best_constrained.max(precision);
                (precision >= min).then_some(recall)
            }
            Objective::MinRecall(min) => {
                best_constrained = best_constrained.max(recall);
                (recall >= min).then_some(precision)
            }
        };
        let Some(value) = value else { continue };
        // candidates come in decreasing threshold order: only a strict improvement replaces
        let better = match &best {
            None => true,
            Some((v, _, c)) => value > *v || (value == *v && choice.accuracy > c.accuracy),
        };
        if better {
            best = Some((value, k, choice));
        }
    }
    // Every threshold in (next lower score, chosen score] gives the same predictions on these
    // scores; the middle of that gap leaves the widest margin for unseen examples.
    best.map(|(_, k, mut choice)| {
        let lower = counts
            .thresholds
            .get(k + 1)
            .copied()
            .unwrap_or(0.0)
            .max(0.0);
        choice.threshold = (choice.threshold + lower) / 2.0;
        choice
    })
    .ok_or_else(|| Error::ThresholdUnreachable {
        constraint: match objective {
            Objective::MinPrecision(min) => format!("precision >= {min}"),
            Objective::MinRecall(min) => format!("recall >= {min}"),
            Objective::MaxF1 => "max F1".to_string(),
        },
        best: best_constrained,
    })
}

/// Class 1 where `score >= threshold`, else class 0.
pub fn predict_with_threshold(scores: &[f32], threshold: f64) -> Vec<u32> {
    scores
        .iter()
        .map(|&s| u32::from(f64::from(s) >= threshold))
        .collect()
}

//! The decision threshold of a binary run and where it comes from: `--threshold`, else
//! `threshold.json` (written by `tune-threshold`), else 0.5 ([`Run::decision_threshold`]).
//! The decision itself is the one rule of the evaluation crate,
//! [`Predictions::decide`](textrnn_eval::Predictions::decide): the second class when its
//! probability is at least the threshold, the most probable class for a multi-class run.
//!
//! ```
//! use textrnn::eval::Predictions;
//! use textrnn::{DecisionThreshold, ThresholdSource};
//! let preds = Predictions::new(vec![0.7, 0.3, 0.4, 0.6], 2);
//! let t = DecisionThreshold { value: 0.25, source: ThresholdSource::Explicit };
//! assert_eq!(preds.decide(Some(t.value)), vec![1, 1]);
//! assert_eq!(preds.decide(Some(DecisionThreshold::DEFAULT.value)), vec![0, 1]);
//! ```
//!
//! [`Run::decision_threshold`]: crate::Run::decision_threshold

use serde::{Deserialize, Serialize};

/// Where a binary decision threshold comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// The default 0.5.
    Default,
    /// `threshold.json` in the run directory (written by `tune-threshold`).
    File,
    /// Given explicitly (`--threshold`).
    Explicit,
}

/// The decision threshold used for a binary model: predict the second class when
/// `p >= value`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecisionThreshold {
    /// The threshold on the probability of the second (positive) class.
    pub value: f64,
    /// Where it comes from.
    pub source: ThresholdSource,
}

impl DecisionThreshold {
    /// The default 0.5.
    pub const DEFAULT: DecisionThreshold = DecisionThreshold {
        value: 0.5,
        source: ThresholdSource::Default,
    };

    /// A short description for output, e.g. `0.4213 (from threshold.json)`.
    pub fn describe(&self) -> String {
        match self.source {
            ThresholdSource::Default => format!("{:.4} (default)", self.value),
            ThresholdSource::File => format!(
                "{:.4} (from threshold.json, written by tune-threshold)",
                self.value
            ),
            ThresholdSource::Explicit => format!("{:.4} (from --threshold)", self.value),
        }
    }
}

/// The threshold a model with `n_classes` outputs decides with: `threshold` (else the default)
/// for a binary model, none for a multi-class one.
pub(crate) fn effective(
    n_classes: usize,
    threshold: Option<DecisionThreshold>,
) -> Option<DecisionThreshold> {
    (n_classes == 2).then(|| threshold.unwrap_or(DecisionThreshold::DEFAULT))
}

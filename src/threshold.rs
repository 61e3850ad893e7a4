//! Tuning the decision threshold of a binary run on its validation split.
//!
//! The validation split is re-created exactly as in training (corpus, split, seed, limits) and
//! only it is encoded. Every distinct validation score is a candidate threshold (predict the
//! second class when `p >= t`); the objective picks one:
//! max F1 (default), max recall with `precision >= P`, or max precision with `recall >= R`
//! (see [`textrnn_eval::tune_threshold`]). The choice is written atomically to
//! `threshold.json`, which `predict`, `evaluate`, `plot` and `report` use from then on.
//! A calibrated run (`calibration.json`) is tuned on its calibrated probabilities, and
//! `threshold.json` records the temperature it was tuned under (`calibration_temperature`, `null`
//! when uncalibrated), so `calibrate` can tell when a threshold needs tuning again.
//!
//! ```no_run
//! use textrnn::eval::Objective;
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let data = textrnn::DataOptions::default();
//! let choice = textrnn::tune_threshold(&run, &data, Objective::MinPrecision(0.9))?;
//! println!("threshold {:.4}: recall {:.3}", choice.threshold, choice.recall);
//! # Ok::<(), textrnn::Error>(())
//! ```

use serde::{Deserialize, Serialize};
use textrnn_eval::{Error as EvalError, Objective, ThresholdChoice};

use crate::corpus::DataOptions;
use crate::run::{Run, SavedThreshold, Which};
use crate::{Error, Result};

/// A multi-label run's `threshold.json`: one tuned threshold per label, in label order
/// (`{"labels": [{"label": "sports", "threshold": 0.41, "precision": ..., ...}, ...]}`). A binary
/// run's file is a single [`ThresholdChoice`]; each kind of run reads its own layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelThresholds {
    /// One entry per label.
    pub labels: Vec<LabelThreshold>,
}

/// One label's tuned threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelThreshold {
    /// The label (class name).
    pub label: String,
    /// The threshold and its validation precision, recall, F1 and accuracy.
    #[serde(flatten)]
    pub choice: ThresholdChoice,
}

impl LabelThresholds {
    /// The thresholds, in label order.
    pub fn values(&self) -> Vec<f64> {
        self.labels.iter().map(|l| l.choice.threshold).collect()
    }
}

/// Chooses one threshold per label of a multi-label run on its validation split (each label's
/// probabilities against its targets, [`textrnn_eval::tune_label_thresholds`]) and saves them
/// as `threshold.json` ([`LabelThresholds`]). A label the objective cannot serve (no positive
/// validation example, an unreachable constraint) is an error naming it.
pub fn tune_label_thresholds(
    run: &Run,
    data: &DataOptions,
    objective: Objective,
) -> Result<LabelThresholds> {
    check_objective(objective)?;
    let split = run.split(data, Which::Validation)?;
    let preds = run.predict_split(&split.encoded, data.progress)?;
    let choices = textrnn_eval::tune_label_thresholds(&preds, objective).map_err(|e| match e {
        EvalError::Label { label, error } => Error::invalid(
            "tune-threshold",
            format!(
                "label `{label}` on the {} validation examples: {error}",
                preds.len()
            ),
        ),
        other => Error::from(other),
    })?;
    let thresholds = LabelThresholds {
        labels: run
            .class_names()
            .iter()
            .zip(choices)
            .map(|(label, choice)| LabelThreshold {
                label: label.clone(),
                choice,
            })
            .collect(),
    };
    // Records whether the probabilities it was tuned on were calibrated.
    crate::calibrate::write_threshold(run, SavedThreshold::Labels(thresholds.clone()))?;
    Ok(thresholds)
}

/// A constraint's bound must lie in [0, 1].
fn check_objective(objective: Objective) -> Result<()> {
    if let Objective::MinPrecision(b) | Objective::MinRecall(b) = objective {
        if !(0.0..=1.0).contains(&b) {
            return Err(Error::invalid(
                "threshold constraint",
                format!("{b} is not in [0, 1]"),
            ));
        }
    }
    Ok(())
}

/// Chooses the threshold of a binary run on its validation split and saves it as
/// `threshold.json`.
///
/// Errors: a multi-class run, a run without a validation split, a constraint no threshold
/// reaches (the message gives the best achievable value).
pub fn tune_threshold(
    run: &Run,
    data: &DataOptions,
    objective: Objective,
) -> Result<ThresholdChoice> {
    run.require_binary("tune-threshold")?;
    check_objective(objective)?;
    let split = run.split(data, Which::Validation)?;
    let preds = run.predict_split(&split.encoded, data.progress)?;
    let scores = preds.column(1);
    let positive: Vec<bool> = preds.labels.iter().map(|&l| l == 1).collect();
    let positive_name = run
        .class_names()
        .get(1)
        .cloned()
        .unwrap_or_else(|| "1".into());
    let choice = textrnn_eval::tune_threshold(&scores, &positive, objective).map_err(|e| match e {
        EvalError::ThresholdUnreachable { constraint, best } => Error::invalid(
            "threshold constraint",
            format!(
                "no threshold reaches {constraint} for class `{positive_name}` on the {} validation examples (the best achievable is {best:.4}); ask for less",
                positive.len()
            ),
        ),
        EvalError::SingleClass { .. } => Error::Run {
            dir: run.dir().to_path_buf(),
            reason: format!(
                "the validation split has no example of class `{positive_name}`, so no threshold can be tuned"
            ),
        },
        other => Error::from(other),
    })?;
    // Records whether the probabilities it was tuned on were calibrated.
    crate::calibrate::write_threshold(run, SavedThreshold::Binary(choice))?;
    Ok(choice)
}

//! Tuning the decision threshold of a binary run on its validation split.
//!
//! The validation split is re-created exactly as in training (corpus, split, seed, limits) and
//! only it is encoded. Every distinct validation score is a candidate threshold (predict the
//! second class when `p >= t`); the objective picks one:
//! max F1 (default), max recall with `precision >= P`, or max precision with `recall >= R`
//! (see [`textrnn_eval::tune_threshold`]). The choice is written atomically to
//! `threshold.json`, which `predict`, `evaluate`, `plot` and `report` use from then on.
//!
//! ```no_run
//! use textrnn::eval::Objective;
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let data = textrnn::DataOptions::default();
//! let choice = textrnn::tune_threshold(&run, &data, Objective::MinPrecision(0.9))?;
//! println!("threshold {:.4}: recall {:.3}", choice.threshold, choice.recall);
//! # Ok::<(), textrnn::Error>(())
//! ```

use textrnn_eval::{Error as EvalError, Objective, ThresholdChoice};

use crate::corpus::DataOptions;
use crate::run::{self, Run, Which};
use crate::{Error, Result};

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
    if let Objective::MinPrecision(b) | Objective::MinRecall(b) = objective {
        if !(0.0..=1.0).contains(&b) {
            return Err(Error::invalid(
                "threshold constraint",
                format!("{b} is not in [0, 1]"),
            ));
        }
    }
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
    run::write_json(&run.dir().join(run::THRESHOLD), &choice)?;
    Ok(choice)
}

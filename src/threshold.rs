//! Tuning the decision threshold of a binary run on its validation split.
//!
//! The validation split is re-created exactly as in training (corpus, split, seed, limits) and
//! only it is encoded. Every distinct validation score is a candidate threshold (predict the
//! second class when `p >= t`); the objective picks one:
//! max F1 (default), max recall with `precision >= P`, or max precision with `recall >= R`
//! (see [`textrnn_train::evaluation::tune_threshold`]). The choice is written atomically to
//! `threshold.json`, which `predict`, `evaluate`, `plot` and `report` use from then on.
//!
//! ```no_run
//! use textrnn_train::evaluation::Objective;
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let choice = run.tune_threshold(&textrnn::TrainOptions::default(), Objective::MinPrecision(0.9))?;
//! println!("threshold {:.4}: recall {:.3}", choice.threshold, choice.recall);
//! # Ok::<(), textrnn::Error>(())
//! ```

use textrnn_train::evaluation::{tune_threshold, EvalError, Objective, ThresholdChoice};

use crate::pipeline::{self, TrainOptions, Which};
use crate::run::{self, Run};
use crate::{Error, Result};

impl Run {
    /// Chooses the threshold on the validation split and saves it as `threshold.json`.
    ///
    /// Errors: a multi-class run, a run without a validation split, a constraint no threshold
    /// reaches (the message gives the best achievable value).
    pub fn tune_threshold(
        &self,
        opts: &TrainOptions,
        objective: Objective,
    ) -> Result<ThresholdChoice> {
        self.require_binary("tune-threshold")?;
        if let Objective::MinPrecision(b) | Objective::MinRecall(b) = objective {
            if !(0.0..=1.0).contains(&b) {
                return Err(Error::invalid(
                    "threshold constraint",
                    format!("{b} is not in [0, 1]"),
                ));
            }
        }
        let split = pipeline::recreate_split(self, opts, Which::Validation)?;
        let preds = self.predict_split(&split.encoded, opts.progress)?;
        let scores: Vec<f32> = preds.probs.iter().skip(1).step_by(2).copied().collect();
        let positive: Vec<bool> = preds.labels.iter().map(|&l| l == 1).collect();
        let positive_name = self
            .class_names()
            .get(1)
            .cloned()
            .unwrap_or_else(|| "1".into());
        let choice = tune_threshold(&scores, &positive, objective).map_err(|e| match e {
            EvalError::ThresholdUnreachable { constraint, best } => Error::invalid(
                "threshold constraint",
                format!(
                    "no threshold reaches {constraint} for class `{positive_name}` on the {} validation examples (the best achievable is {best:.4}); ask for less",
                    positive.len()
                ),
            ),
            EvalError::SingleClass { .. } => Error::Run {
                dir: self.dir.clone(),
                reason: format!(
                    "the validation split has no example of class `{positive_name}`, so no threshold can be tuned"
                ),
            },
            other => Error::from(other),
        })?;
        crate::atomic::write_json(&self.dir.join(run::THRESHOLD), &choice)?;
        Ok(choice)
    }
}

//! LIME explanations of a run's predictions (the `lime` package's `LimeTextExplainer`).
//!
//! The text is cut into words (`\W+`); LIME removes random subsets of them, predicts every
//! perturbed text through [`Run::predict`] (cleaned, tokenized and padded as in training,
//! in batches), and fits a weighted ridge regression of the explained class' probability on
//! which words are present. The largest coefficients are the words that matter most:
//! positive weights push towards the class, negative ones against it.
//!
//! Before any work, the text is checked: it must not be empty, and at least one of its words
//! must be in the model's vocabulary (otherwise every perturbation predicts the same and the
//! explanation says nothing).
//!
//! ```no_run
//! use textrnn::ExplainOptions;
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let e = run.explain("a wonderful, moving film", &ExplainOptions::default())?;
//! println!("{e}");
//! # Ok::<(), textrnn::Error>(())
//! ```

use textrnn_train::explain::{BoxError, Explanation, LimeConfig, LimeTextExplainer};

use crate::run::Run;
use crate::{Error, Result};

/// Settings of [`Run::explain`].
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// Class index to explain (default: the predicted class); see [`Run::class_index`].
    pub label: Option<usize>,
    /// Number of perturbed texts (LIME's `num_samples`, default 5000).
    pub num_samples: usize,
    /// Number of words reported (default 10).
    pub top: usize,
    /// Seed of the perturbations.
    pub seed: u64,
    /// Texts per model call.
    pub batch_size: usize,
    /// Show a progress bar over the perturbations.
    pub progress: bool,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        Self {
            label: None,
            num_samples: 5000,
            top: 10,
            seed: 0,
            batch_size: 256,
            progress: false,
        }
    }
}

impl Run {
    /// The class index for a name (exact) or an index (`0..C`).
    pub fn class_index(&self, label: &str) -> Result<usize> {
        let names = self.class_names();
        if let Some(i) = names.iter().position(|n| n == label) {
            return Ok(i);
        }
        match label.trim().parse::<usize>() {
            Ok(i) if i < self.n_classes() => Ok(i),
            _ => Err(Error::invalid(
                "--label",
                format!(
                    "`{label}` is not one of the run's classes: {} (or an index 0..={})",
                    names.join(", "),
                    self.n_classes().saturating_sub(1)
                ),
            )),
        }
    }

    /// Checks that `text` is not empty and has at least one word the model knows.
    pub(crate) fn check_explainable(&self, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::invalid(
                "text",
                "it is empty; give the text to explain",
            ));
        }
        let cleaned = crate::pipeline::normalizer(&self.recipe.text)?.apply(text);
        let ids = self.tokenizer.text_to_sequence(&cleaned);
        let oov = self.tokenizer.config().oov_token.is_some();
        if !ids.iter().any(|&id| !(oov && id == 1)) {
            return Err(Error::invalid(
                "text",
                format!(
                    "none of its words is in the model's vocabulary of {} words (after cleaning: {cleaned:?}), so the model sees an empty text and there is nothing to explain",
                    self.tokenizer.vocab_size().saturating_sub(1)
                ),
            ));
        }
        Ok(())
    }

    /// Explains the prediction of `text` with LIME (see the module docs).
    pub fn explain(&self, text: &str, opts: &ExplainOptions) -> Result<Explanation> {
        self.check_explainable(text)?;
        let label = match opts.label {
            Some(l) if l < self.n_classes() => l,
            Some(l) => self.class_index(&l.to_string())?,
            None => {
                let p = self.predict(&[text.to_string()], 1, false)?;
                let t = self.decision_threshold(None)?;
                self.decide(&p, t).first().map_or(0, |&c| c as usize)
            }
        };
        let config = LimeConfig {
            num_samples: opts.num_samples,
            num_features: opts.top,
            batch_size: opts.batch_size,
            seed: opts.seed,
            ..LimeConfig::default()
        };
        let bar = opts.progress.then(|| {
            let bar = indicatif::ProgressBar::new(opts.num_samples as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "LIME {pos}/{len} perturbations {bar:30} {elapsed}<{eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        let mut predict = |texts: &[String]| -> std::result::Result<Vec<Vec<f32>>, BoxError> {
            let p = self
                .predict(texts, opts.batch_size.max(1), false)
                .map_err(|e| -> BoxError { e.to_string().into() })?;
            if let Some(bar) = &bar {
                bar.inc(texts.len() as u64);
            }
            Ok((0..p.len()).map(|i| p.row(i).to_vec()).collect())
        };
        let explanation =
            LimeTextExplainer::new(config).explain(text, &mut predict, Some(label))?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Ok(explanation)
    }
}

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
//! let e = textrnn::explain(&run, "a wonderful, moving film", &ExplainOptions::default())?;
//! println!("{e}");
//! # Ok::<(), textrnn::Error>(())
//! ```

use textrnn_eval::{BoxError, Explanation, LimeConfig, LimeTextExplainer};

use crate::run::Run;
use crate::{Error, Result};

/// Settings of [`explain`].
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

/// Checks that `text` is not empty and has at least one word the model knows.
fn check_explainable(run: &Run, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(
            "text",
            "it is empty; give the text to explain",
        ));
    }
    let cleaned = run.clean(text);
    let tokenizer = run.tokenizer();
    let ids = tokenizer.text_to_sequence(&cleaned);
    let oov = tokenizer.config().oov_token.is_some();
    if !ids.iter().any(|&id| !(oov && id == 1)) {
        return Err(Error::invalid(
            "text",
            format!(
                "none of its words is in the model's vocabulary of {} words (after cleaning: {cleaned:?}), so the model sees an empty text and there is nothing to explain",
                tokenizer.vocab_size().saturating_sub(1)
            ),
        ));
    }
    Ok(())
}

/// Explains the prediction of `text` by the run with LIME (see the module docs).
pub fn explain(run: &Run, text: &str, opts: &ExplainOptions) -> Result<Explanation> {
    check_explainable(run, text)?;
    let label = match opts.label {
        Some(l) if l < run.n_classes() => l,
        Some(l) => run.class_index(&l.to_string())?,
        None => {
            let p = run.predict(&[text.to_string()], 1, false)?;
            let t = run.decision_threshold(None)?;
            p.decide(t.map(|t| t.value))
                .first()
                .map_or(0, |&c| c as usize)
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
        let p = run
            .predict(texts, opts.batch_size.max(1), false)
            .map_err(|e| -> BoxError { e.to_string().into() })?;
        if let Some(bar) = &bar {
            bar.inc(texts.len() as u64);
        }
        Ok((0..p.len()).map(|i| p.row(i).to_vec()).collect())
    };
    let explanation = LimeTextExplainer::new(config).explain(text, &mut predict, Some(label))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(explanation)
}

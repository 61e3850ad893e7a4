//! A run directory: everything one training run produced, and what `evaluate`, `predict`,
//! `summary` and the reports load back.
//!
//! | file | content |
//! | --- | --- |
//! | `config.json` | the fully resolved [`Recipe`] (maxlen and vocabulary size filled in) |
//! | `tokenizer.json` | the fitted tokenizer, loadable by Hugging Face `tokenizers` as it is |
//! | `model.safetensors` | the weights (Keras names: `embedding/embeddings`, ...) |
//! | `history.csv`, `history.json` | per-epoch train and validation loss and metrics |
//! | `metrics.json` | test metrics |
//!
//! Every file is written atomically (temporary file + rename).

use std::path::{Path, PathBuf};

use textrnn_models::TextClassifier;
use textrnn_text::KerasTokenizer;
use textrnn_train::Predictions;

use crate::pipeline::{self, TestMetrics, TrainOptions};
use crate::{Error, Recipe, Result};

pub(crate) const CONFIG: &str = "config.json";
pub(crate) const TOKENIZER: &str = "tokenizer.json";
pub(crate) const MODEL: &str = "model.safetensors";
pub(crate) const HISTORY_CSV: &str = "history.csv";
pub(crate) const HISTORY_JSON: &str = "history.json";
pub(crate) const METRICS: &str = "metrics.json";

/// Creates the run directory: `out` if given (it may exist but must not hold a model), else
/// `runs/<name>`, or `runs/<name>-N` for the first free N, so an earlier run is never overwritten.
pub(crate) fn create_dir(out: Option<&Path>, name: &str) -> Result<PathBuf> {
    let dir = match out {
        Some(dir) => {
            if dir.join(MODEL).exists() {
                return Err(Error::Run {
                    dir: dir.to_path_buf(),
                    reason: "already holds a trained model; choose another --out or remove it"
                        .into(),
                });
            }
            dir.to_path_buf()
        }
        None => {
            let base = Path::new("runs");
            let mut dir = base.join(name);
            let mut n = 2;
            while dir.exists() {
                dir = base.join(format!("{name}-{n}"));
                n += 1;
            }
            dir
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// A trained run loaded from its directory.
pub struct Run {
    /// The directory.
    pub dir: PathBuf,
    /// The resolved recipe from `config.json`.
    pub recipe: Recipe,
    /// The tokenizer from `tokenizer.json`.
    pub tokenizer: KerasTokenizer,
    /// The model with the weights of `model.safetensors`.
    pub model: TextClassifier,
}

impl Run {
    /// Loads a run directory; a missing or corrupted file is an error naming it.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::Run {
                dir: dir.to_path_buf(),
                reason: "not a directory (train a model first: textrnn train --out DIR)".into(),
            });
        }
        let need = |name: &str| -> Result<PathBuf> {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(Error::Run {
                    dir: dir.to_path_buf(),
                    reason: format!("{name} is missing"),
                })
            }
        };
        let recipe = Recipe::load(&need(CONFIG)?)?;
        let tokenizer = KerasTokenizer::load(&need(TOKENIZER)?)?;
        let maxlen = recipe.text.maxlen.ok_or_else(|| Error::Run {
            dir: dir.to_path_buf(),
            reason: "config.json has no text.maxlen".into(),
        })?;
        let device = textrnn_models::select_device(false);
        let (model, _) = TextClassifier::load(&recipe.model, maxlen, &need(MODEL)?, &device)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            recipe,
            tokenizer,
            model,
        })
    }

    /// The sequence length the model was trained with.
    pub fn maxlen(&self) -> usize {
        self.recipe.text.maxlen.unwrap_or(1)
    }

    /// Class probabilities for raw texts (cleaned, tokenized and padded as in training).
    pub fn predict(
        &self,
        texts: &[String],
        batch_size: usize,
        progress: bool,
    ) -> Result<Predictions> {
        let clean = pipeline::normalizer(&self.recipe.text)?;
        let cleaned: Vec<String> = texts.iter().map(|t| clean.apply(t)).collect();
        let tokens = pipeline::encode(&self.tokenizer, &self.recipe.text, self.maxlen(), &cleaned)?;
        Ok(textrnn_train::predict_proba(
            &self.model,
            &tokens,
            self.maxlen(),
            batch_size,
            progress,
        )?)
    }

    /// Re-evaluates the run on its recipe's test split.
    pub fn evaluate(&self, opts: &TrainOptions) -> Result<TestMetrics> {
        Ok(pipeline::evaluate_run(self, opts)?.0)
    }

    /// Class names from the training corpus.
    pub fn class_names(&self) -> &[String] {
        &self.recipe.classes
    }
}

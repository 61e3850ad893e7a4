//! A run directory: everything one training run produced. [`Run`] is the one type that opens
//! and checks it; the commands ([`evaluate`](fn@crate::evaluate), [`plot`](crate::plot),
//! [`report`](fn@crate::report), [`explain`](fn@crate::explain),
//! [`tune_threshold`](crate::tune_threshold)) take an opened [`Run`].
//!
//! | file | content |
//! | --- | --- |
//! | `config.json` | the [`RunConfig`]: the resolved recipe (maxlen and vocabulary size filled in) |
//! | `tokenizer.json` | the fitted tokenizer, loadable by Hugging Face `tokenizers` as it is |
//! | `model.safetensors` | the weights (Keras names: `embedding/embeddings`, ...) |
//! | `history.csv`, `history.json` | per-epoch train and validation loss and metrics |
//! | `metrics.json` | test metrics at the default threshold: accuracy, ROC AUC, loss, confusion matrix, classification report |
//! | `test_predictions.json` | test labels and probabilities (for `plot` and `report`) |
//! | `limits.json` | the `--limit` subsampling used in training, when any |
//! | `threshold.json` | the tuned binary decision threshold (`tune-threshold`), used by `predict` and `evaluate` |
//! | `plots/` | `history`, `confusion`, `roc`, `pr` as PNG and SVG |
//! | `report.html` | the self-contained HTML report (`report`) |
//!
//! Every file is written atomically ([`textrnn_fs::write`]).
//!
//! ```no_run
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let preds = run.predict(&["a wonderful film".to_string()], 32, false)?;
//! let threshold = run.decision_threshold(None)?;
//! let label = preds.decide(threshold.map(|t| t.value))[0];
//! println!("{}", run.class_names()[label as usize]);
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;
use textrnn_eval::{Predictions, ThresholdChoice};
use textrnn_models::{Classifier, TextClassifier};
use textrnn_text::{KerasTokenizer, Pipeline};
use textrnn_train::EncodedSplit;

use crate::corpus::{self, DataOptions, Limits};
use crate::decision::{DecisionThreshold, ThresholdSource};
use crate::{Error, Result, RunConfig};

pub(crate) const CONFIG: &str = "config.json";
pub(crate) const TOKENIZER: &str = "tokenizer.json";
pub(crate) const MODEL: &str = "model.safetensors";
pub(crate) const HISTORY_CSV: &str = "history.csv";
pub(crate) const HISTORY_JSON: &str = "history.json";
pub(crate) const METRICS: &str = "metrics.json";
pub(crate) const TEST_PREDICTIONS: &str = "test_predictions.json";
pub(crate) const LIMITS: &str = "limits.json";
pub(crate) const THRESHOLD: &str = "threshold.json";
pub(crate) const PLOTS: &str = "plots";
pub(crate) const REPORT: &str = "report.html";

/// Batch size of evaluation passes (the same in `train` and `evaluate`, so the numbers agree).
const EVAL_BATCH: usize = 512;

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

/// Reads and parses a JSON file of the run directory.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Writes `value` as pretty JSON, atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(textrnn_fs::write(path, text.as_bytes())?)
}

/// Probabilities of an encoded split from `model`, with the split's labels and the class names
/// (the layout of `test_predictions.json`).
pub(crate) fn predict_split(
    model: &TextClassifier,
    split: &EncodedSplit,
    class_names: &[String],
    progress: bool,
) -> Result<Predictions> {
    let preds =
        textrnn_train::predict_proba(model, &split.tokens, split.seq_len, EVAL_BATCH, progress)?;
    Ok(preds.with_labels(split.labels.clone(), class_names.to_vec()))
}

/// A split of a saved run, re-created from its recipe, seed and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Validation,
    Test,
}

/// One re-created split of a saved run: cleaned texts, labels, and the padded token ids.
pub(crate) struct RunSplit {
    /// Cleaned texts (as the model saw them).
    pub texts: Vec<String>,
    /// Token ids and labels.
    pub encoded: EncodedSplit,
}

/// A trained run, opened from its directory and checked: every file it needs is there and
/// loads, and the configuration is resolved.
pub struct Run {
    dir: PathBuf,
    config: RunConfig,
    tokenizer: KerasTokenizer,
    model: TextClassifier,
    /// The recipe's cleaning, compiled once.
    clean: Pipeline,
    /// The subsampling limits of training (`limits.json`; none when absent).
    limits: Limits,
}

impl Run {
    /// Opens a run directory; a missing or corrupted file is an error naming it.
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
        let config = RunConfig::load(&need(CONFIG)?)?;
        let tokenizer = KerasTokenizer::load(need(TOKENIZER)?)?;
        let device = textrnn_models::select_device(false);
        let recipe = config.recipe();
        let (model, _) =
            TextClassifier::load(&recipe.model, config.maxlen(), &need(MODEL)?, &device)?;
        let clean = recipe.text.pipeline()?;
        let limits_path = dir.join(LIMITS);
        let limits = if limits_path.is_file() {
            read_json(&limits_path)?
        } else {
            Limits::default()
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            tokenizer,
            model,
            clean,
            limits,
        })
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The resolved configuration (`config.json`).
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The fitted tokenizer (`tokenizer.json`).
    pub fn tokenizer(&self) -> &KerasTokenizer {
        &self.tokenizer
    }

    /// The model with the trained weights (`model.safetensors`).
    pub fn model(&self) -> &TextClassifier {
        &self.model
    }

    /// Class names from the training corpus.
    pub fn class_names(&self) -> &[String] {
        self.config.classes()
    }

    /// Number of classes the model predicts.
    pub fn n_classes(&self) -> usize {
        self.model.output().n_classes()
    }

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

    /// Fails with a message naming `what` when the run is not a binary classifier.
    pub(crate) fn require_binary(&self, what: &str) -> Result<()> {
        let n = self.n_classes();
        if n == 2 {
            return Ok(());
        }
        Err(Error::Run {
            dir: self.dir.clone(),
            reason: format!(
                "{what} applies to binary classifiers only, but this run has {n} classes ({}); multi-class runs predict the most probable class",
                self.class_names().join(", ")
            ),
        })
    }

    /// The threshold a binary run decides with: `explicit` (checked to lie in [0, 1]), else
    /// `threshold.json`, else 0.5. `None` for a multi-class run (an error with `explicit`).
    pub fn decision_threshold(&self, explicit: Option<f64>) -> Result<Option<DecisionThreshold>> {
        if let Some(t) = explicit {
            self.require_binary("--threshold")?;
            if !(0.0..=1.0).contains(&t) {
                return Err(Error::invalid(
                    "--threshold",
                    format!("{t} is not a probability in [0, 1]"),
                ));
            }
            return Ok(Some(DecisionThreshold {
                value: t,
                source: ThresholdSource::Explicit,
            }));
        }
        if self.n_classes() != 2 {
            return Ok(None);
        }
        let path = self.dir.join(THRESHOLD);
        Ok(Some(if path.is_file() {
            let choice: ThresholdChoice = read_json(&path)?;
            DecisionThreshold {
                value: choice.threshold,
                source: ThresholdSource::File,
            }
        } else {
            DecisionThreshold::DEFAULT
        }))
    }

    /// `text` cleaned as in training.
    pub(crate) fn clean(&self, text: &str) -> String {
        self.clean.apply(text)
    }

    /// Class probabilities for raw texts (cleaned, tokenized and padded as in training).
    pub fn predict(
        &self,
        texts: &[String],
        batch_size: usize,
        progress: bool,
    ) -> Result<Predictions> {
        let cleaned = self.clean.apply_all(texts);
        let maxlen = self.config.maxlen();
        let tokens = self
            .config
            .recipe()
            .text
            .encode(&self.tokenizer, maxlen, &cleaned)?;
        Ok(textrnn_train::predict_proba(
            &self.model,
            &tokens,
            maxlen,
            batch_size,
            progress,
        )?)
    }

    /// Probabilities of an encoded split, with its labels.
    pub(crate) fn predict_split(
        &self,
        split: &EncodedSplit,
        progress: bool,
    ) -> Result<Predictions> {
        predict_split(&self.model, split, self.class_names(), progress)
    }

    /// Re-creates one split exactly as in training (same corpus, split, seed and limits),
    /// cleaning and encoding only that split with the run's tokenizer.
    pub(crate) fn split(&self, data: &DataOptions, which: Which) -> Result<RunSplit> {
        let recipe = self.config.recipe();
        let corpus = corpus::load(recipe, data)?;
        let (train, val, test) = corpus::select_splits(recipe, corpus, &self.limits)?;
        if !recipe.classes.is_empty() && train.class_names != recipe.classes {
            return Err(Error::Run {
                dir: self.dir.clone(),
                reason: format!(
                    "the corpus now has classes [{}] but the run was trained on [{}]",
                    train.class_names.join(", "),
                    recipe.classes.join(", ")
                ),
            });
        }
        let (data, name) = match which {
            Which::Validation => (val, "validation"),
            Which::Test => (test, "test"),
        };
        let data = data.ok_or_else(|| Error::Run {
            dir: self.dir.clone(),
            reason: match which {
                Which::Validation => "the run has no validation split (its recipe's [split] is `none` and the corpus has none); retrain with e.g. [split] kind = \"random\", validation = 0.2".to_string(),
                Which::Test => "the recipe's corpus has no test split".to_string(),
            },
        })?;
        let texts = self.clean.apply_all(&data.texts);
        let maxlen = self.config.maxlen();
        let tokens = recipe.text.encode(&self.tokenizer, maxlen, &texts)?;
        let encoded = EncodedSplit::new(tokens, maxlen, data.labels)?;
        tracing::info!(split = name, n = encoded.len(), "split re-created");
        Ok(RunSplit { texts, encoded })
    }
}

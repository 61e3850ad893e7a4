//! A run directory: everything one training run produced, and what `evaluate`, `predict`,
//! `summary` and the reports load back.
//!
//! | file | content |
//! | --- | --- |
//! | `config.json` | the fully resolved [`Recipe`] (maxlen and vocabulary size filled in) |
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
//! Every file is written atomically (temporary file + rename).

use std::path::{Path, PathBuf};

use textrnn_models::TextClassifier;
use textrnn_text::KerasTokenizer;
use textrnn_train::Predictions;

use crate::evaluate::{self, DecisionThreshold, TestMetrics, ThresholdSource};
use crate::pipeline::{self, Limits, TestPredictions, TrainOptions, Which, EVAL_BATCH};
use crate::{Error, Recipe, Result};

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
    /// The subsampling limits of training (`limits.json`; none when absent).
    pub(crate) limits: Limits,
}

/// Reads and parses a JSON file of the run directory.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        source: e,
    })
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
        let limits_path = dir.join(LIMITS);
        let limits = if limits_path.is_file() {
            read_json(&limits_path)?
        } else {
            Limits::default()
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            recipe,
            tokenizer,
            model,
            limits,
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

    /// Re-evaluates the run on its recipe's test split, at the run's threshold
    /// (`threshold.json` if present, else 0.5).
    pub fn evaluate(&self, opts: &TrainOptions) -> Result<TestMetrics> {
        self.evaluate_with(opts, None)
    }

    /// Like [`Run::evaluate`], with an explicit binary threshold (an error for a multi-class
    /// run).
    pub fn evaluate_with(
        &self,
        opts: &TrainOptions,
        threshold: Option<f64>,
    ) -> Result<TestMetrics> {
        let threshold = self.decision_threshold(threshold)?;
        let preds = self.test_predictions(opts, false)?;
        evaluate::compute_metrics(&preds, threshold)
    }

    /// Class names from the training corpus.
    pub fn class_names(&self) -> &[String] {
        &self.recipe.classes
    }

    /// Number of classes the model predicts.
    pub fn n_classes(&self) -> usize {
        textrnn_models::Classifier::output(&self.model).n_classes()
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

    /// The tuned threshold from `threshold.json`, if `tune-threshold` wrote one.
    pub fn saved_threshold(&self) -> Result<Option<textrnn_train::evaluation::ThresholdChoice>> {
        let path = self.dir.join(THRESHOLD);
        if !path.is_file() {
            return Ok(None);
        }
        Ok(Some(read_json(&path)?))
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
        Ok(Some(match self.saved_threshold()? {
            Some(choice) => DecisionThreshold {
                value: choice.threshold,
                source: ThresholdSource::File,
            },
            None => DecisionThreshold::DEFAULT,
        }))
    }

    /// Predicted class of each row of `preds`, at the run's threshold for a binary run.
    pub fn decide(&self, preds: &Predictions, threshold: Option<DecisionThreshold>) -> Vec<u32> {
        match threshold {
            Some(t) if preds.n_classes == 2 => {
                textrnn_train::evaluation::predict_with_threshold(&preds.column(1), t.value)
            }
            _ => preds.classes(),
        }
    }

    /// Test labels and probabilities: from `test_predictions.json` when `saved_ok` and the file
    /// exists, else by re-creating the test split and running the model.
    pub(crate) fn test_predictions(
        &self,
        opts: &TrainOptions,
        saved_ok: bool,
    ) -> Result<TestPredictions> {
        let path = self.dir.join(TEST_PREDICTIONS);
        if saved_ok && path.is_file() {
            return read_json(&path);
        }
        let split = pipeline::recreate_split(self, opts, Which::Test)?;
        self.predict_split(&split.encoded, opts.progress)
    }

    /// Probabilities of an encoded split, with its labels.
    pub(crate) fn predict_split(
        &self,
        split: &textrnn_train::EncodedSplit,
        progress: bool,
    ) -> Result<TestPredictions> {
        let preds = textrnn_train::predict_proba(
            &self.model,
            &split.tokens,
            split.seq_len,
            EVAL_BATCH,
            progress,
        )?;
        Ok(TestPredictions {
            class_names: self.class_names().to_vec(),
            labels: split.labels.clone(),
            n_classes: preds.n_classes,
            probs: preds.probs,
        })
    }
}

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
//! | `data/validation.jsonl.gz`, `data/test.jsonl.gz` | the held-out splits as read (id in the source, text, label), so the run is evaluated without its corpus |
//! | `limits.json` | the `--limit` subsampling used in training, when any |
//! | `threshold.json` | the tuned binary decision threshold (`tune-threshold`), used by `predict` and `evaluate` |
//! | `calibration.json` | the temperature of `calibrate` (fitted on the validation split), applied to every probability |
//! | `plots/` | `history`, `confusion`, `roc`, `pr` as PNG and SVG |
//! | `report.html` | the self-contained HTML report (`report`) |
//! | `run.json` | how far training got: `training`, `interrupted`, `failed` or `complete` ([`RunStatus`](crate::RunStatus)) |
//! | `run.lock` | locked by the training process while it writes the run |
//! | `checkpoint.safetensors` | an unfinished run's last checkpoint (`train --resume`); removed when the run completes |
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
use std::sync::RwLock;

use serde::Serialize;
use textrnn_data::{Dataset, FileState};
use textrnn_eval::{Predictions, ThresholdChoice};
use textrnn_models::{Classifier, TextClassifier};
use textrnn_text::{KerasTokenizer, Pipeline};
use textrnn_train::{EncodedSplit, Logits};

use crate::calibrate::Calibration;
use crate::corpus::{self, DataOptions, Limits};
use crate::decision::{DecisionThreshold, ThresholdSource};
use crate::run_state;
use crate::threshold::LabelThresholds;
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
pub(crate) const CHECKPOINT: &str = "checkpoint.safetensors";
pub(crate) const VALIDATION_SPLIT: &str = "data/validation.jsonl.gz";
pub(crate) const TEST_SPLIT: &str = "data/test.jsonl.gz";

/// Batch size of evaluation passes (the same in `train` and `evaluate`, so the numbers agree).
const EVAL_BATCH: usize = 512;

/// Writes the held-out splits into the run directory (`data/`), as read from the source.
pub(crate) fn store_splits(
    dir: &Path,
    validation: Option<&Dataset>,
    test: Option<&Dataset>,
) -> Result<()> {
    for (name, split) in [(VALIDATION_SPLIT, validation), (TEST_SPLIT, test)] {
        if let Some(split) = split {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            textrnn_data::stored::save_split(&path, split)?;
        }
    }
    Ok(())
}

/// Removes the temporary files a killed write left in the run directory and the folders it
/// writes into (`data/`, `plots/`); only when no training holds the run.
pub(crate) fn remove_leftover_temporaries(dir: &Path) -> Result<()> {
    for sub in [dir.to_path_buf(), dir.join("data"), dir.join(PLOTS)] {
        for removed in textrnn_fs::remove_temporaries(&sub)? {
            tracing::info!("removed a leftover temporary file {}", removed.display());
        }
    }
    Ok(())
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
    label_split(preds, split, class_names)
}

/// Unlabelled predictions of `split`'s examples with its labels (and multi-hot targets) and
/// the class names.
fn label_split(
    preds: Predictions,
    split: &EncodedSplit,
    class_names: &[String],
) -> Result<Predictions> {
    let preds = preds.with_labels(split.labels.clone(), class_names.to_vec());
    match &split.targets {
        // Multi-label: the multi-hot true label sets travel with the probabilities.
        Some(t) => Ok(preds.with_targets(t.iter().map(|&v| u8::from(v > 0.5)).collect())?),
        None => Ok(preds),
    }
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

/// A run's `threshold.json` (written by `tune-threshold`) in the layout of the run's kind;
/// serialized as the file's own layout.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum SavedThreshold {
    /// A binary run's decision threshold.
    Binary(ThresholdChoice),
    /// A multi-label run's threshold per label.
    Labels(LabelThresholds),
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
    /// The temperature scaling of `calibration.json` (`textrnn calibrate`); none when absent.
    calibration: Option<Calibration>,
    /// `threshold.json` as read (and checked) when the run was opened, or as `tune-threshold`
    /// last wrote it through this run: read once, not on every prediction (`serve` predicts
    /// once per batch). None when absent.
    threshold: RwLock<Option<SavedThreshold>>,
}

impl Run {
    /// Opens a complete run directory; a missing or corrupted file is an error naming it, and an
    /// unfinished run (interrupted, failed, still training or killed) is an error that says how
    /// to resume it.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, false)
    }

    /// [`Run::open`], but with `allow_incomplete` an unfinished run opens too (with a warning),
    /// with the last weights it saved.
    pub fn open_with(dir: &Path, allow_incomplete: bool) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::Run {
                dir: dir.to_path_buf(),
                reason: "not a directory (train a model first: textrnn train --out DIR)".into(),
            });
        }
        // Before reading anything: a FIFO in place of a file would block the read.
        crate::integrity::check_files(dir)?;
        match run_state::unfinished(dir)? {
            Some(state) if allow_incomplete => tracing::warn!(
                "the run {} {state}; using its last saved weights (--allow-incomplete)",
                dir.display()
            ),
            Some(state) => {
                return Err(Error::Run {
                    dir: dir.to_path_buf(),
                    reason: format!(
                        "the run {state}; or pass --allow-incomplete to use its last saved weights"
                    ),
                })
            }
            None => {}
        }
        if !run_state::RunLock::is_held(dir) {
            remove_leftover_temporaries(dir)?;
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
        // The pieces against each other, before the weights are allocated.
        let threshold = crate::integrity::check_run_reading_threshold(dir, &config, &tokenizer)?;
        let device = textrnn_models::select_device(false);
        let recipe = config.recipe();
        let (model, _) =
            TextClassifier::load(&recipe.model, config.maxlen(), &need(MODEL)?, &device)?;
        crate::integrity::check_weights_finite(dir, &model)?;
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
            calibration: crate::calibrate::load(dir)?,
            threshold: RwLock::new(threshold),
        })
    }

    /// The run's `threshold.json` as last read or written (see [`Run::remember_threshold`]).
    fn saved_threshold(&self) -> Option<SavedThreshold> {
        // A poisoned lock still holds a whole value: it is replaced in one assignment.
        self.threshold
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Records `saved` as the run's `threshold.json` after `tune-threshold` wrote it, so this
    /// run decides with it from then on, as a newly opened one would.
    pub(crate) fn remember_threshold(&self, saved: SavedThreshold) {
        *self
            .threshold
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(saved);
    }

    /// The run's calibration (`calibration.json`, written by `textrnn calibrate`), if any.
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// The temperature every probability of the run is computed at: `activation(logits / T)`,
    /// `T` from `calibration.json`, else 1 (uncalibrated).
    pub fn temperature(&self) -> f64 {
        self.calibration.as_ref().map_or(1.0, |c| c.temperature)
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

    /// True for a multi-label run (one independent probability per label).
    pub fn multi_label(&self) -> bool {
        self.model.output().is_multi_label()
    }

    /// The per-label thresholds a multi-label run decides with: `threshold.json` (written by
    /// `tune-threshold`, read when the run was opened), else 0.5 for every label. Errors for a single-label run.
    pub fn label_thresholds(&self) -> Result<Vec<f64>> {
        if !self.multi_label() {
            return Err(Error::Run {
                dir: self.dir.clone(),
                reason: "per-label thresholds apply to multi-label runs only".into(),
            });
        }
        match self.saved_threshold() {
            Some(SavedThreshold::Labels(labels)) => Ok(labels.values()),
            _ => Ok(vec![DecisionThreshold::DEFAULT.value; self.n_classes()]),
        }
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
                    "`{label}` is not one of the run's {}: {} (or an index 0..={})",
                    if self.multi_label() {
                        "labels"
                    } else {
                        "classes"
                    },
                    names.join(", "),
                    self.n_classes().saturating_sub(1)
                ),
            )),
        }
    }

    /// Fails with a message naming `what` when the run is not a binary classifier.
    pub(crate) fn require_binary(&self, what: &str) -> Result<()> {
        let n = self.n_classes();
        if self.multi_label() {
            return Err(Error::Run {
                dir: self.dir.clone(),
                reason: format!(
                    "{what} applies to binary classifiers only, but this run is multi-label ({} labels: {}); it decides each label with its own threshold (tune them with tune-threshold)",
                    n,
                    self.class_names().join(", ")
                ),
            });
        }
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
    /// `threshold.json` (read when the run was opened), else 0.5. `None` for a multi-class run (an error with `explicit`).
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
        if self.n_classes() != 2 || self.multi_label() {
            return Ok(None);
        }
        Ok(Some(match self.saved_threshold() {
            Some(SavedThreshold::Binary(choice)) => DecisionThreshold {
                value: choice.threshold,
                source: ThresholdSource::File,
            },
            _ => DecisionThreshold::DEFAULT,
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
        let logits =
            textrnn_train::predict_logits(&self.model, &tokens, maxlen, batch_size, progress)?;
        Ok(logits.probabilities(self.temperature())?)
    }

    /// Probabilities of an encoded split (calibrated when the run is), with its labels.
    pub(crate) fn predict_split(
        &self,
        split: &EncodedSplit,
        progress: bool,
    ) -> Result<Predictions> {
        let logits = self.split_logits(split, progress)?;
        self.label(logits.probabilities(self.temperature())?, split)
    }

    /// The model's own (uncalibrated) logits for an encoded split.
    pub(crate) fn split_logits(&self, split: &EncodedSplit, progress: bool) -> Result<Logits> {
        Ok(textrnn_train::predict_logits(
            &self.model,
            &split.tokens,
            split.seq_len,
            EVAL_BATCH,
            progress,
        )?)
    }

    /// `preds` of `split`'s examples with its labels (and multi-hot targets) and the class names.
    pub(crate) fn label(&self, preds: Predictions, split: &EncodedSplit) -> Result<Predictions> {
        label_split(preds, split, self.class_names())
    }

    /// One held-out split of the run, cleaned and encoded with the run's tokenizer: the copy
    /// stored in the run directory, or (for runs without one) re-created exactly as in training
    /// from the corpus, split, seed and limits.
    pub(crate) fn split(&self, data: &DataOptions, which: Which) -> Result<RunSplit> {
        let (stored, name) = match which {
            Which::Validation => (VALIDATION_SPLIT, "validation"),
            Which::Test => (TEST_SPLIT, "test"),
        };
        let stored = self.dir.join(stored);
        let dataset = if stored.is_file() {
            self.warn_changed_sources();
            textrnn_data::stored::load_split(&stored, self.class_names())?
        } else if self.dir.join(TEST_SPLIT).is_file() || self.dir.join(VALIDATION_SPLIT).is_file() {
            // The run stored its held-out splits at training time, and this one was not among them.
            return Err(Error::Run {
                dir: self.dir.clone(),
                reason: format!(
                    "the run has no {name} split (its recipe's [split] made none and the data had none){}",
                    if which == Which::Validation {
                        "; retrain with a validation split, e.g. --validation FILE or [split] kind = \"random\", validation = 0.2"
                    } else {
                        ""
                    }
                ),
            });
        } else {
            self.recreate_split(data, which)?
        };
        let encoded = self.encode(dataset)?;
        tracing::info!(split = name, n = encoded.encoded.len(), "split loaded");
        Ok(encoded)
    }

    /// Cleans and encodes a labelled dataset with the run's pipeline and tokenizer.
    pub(crate) fn encode(&self, data: Dataset) -> Result<RunSplit> {
        let texts = self.clean.apply_all(&data.texts);
        let maxlen = self.config.maxlen();
        let tokens = self
            .config
            .recipe()
            .text
            .encode(&self.tokenizer, maxlen, &texts)?;
        // A multi-label run reads rows of one label as label sets of one.
        let data = if self.multi_label() {
            data.into_multi_label()
        } else {
            data
        };
        let encoded = crate::training::encoded_split(tokens, maxlen, &data)?;
        Ok(RunSplit { texts, encoded })
    }

    /// Logs a warning for each data file of the run that is still there but has changed since
    /// training (the run itself is evaluated on its stored splits either way).
    fn warn_changed_sources(&self) {
        for file in &self.config.recipe().data_files {
            match file.state() {
                Ok(FileState::Changed(what)) => tracing::warn!(
                    "{} has changed since this run was trained ({what}); the run uses the splits stored in {}",
                    file.path.display(),
                    self.dir.join("data").display()
                ),
                Ok(FileState::Same | FileState::Missing) => {}
                Err(e) => tracing::warn!("cannot check {}: {e}", file.path.display()),
            }
        }
    }

    /// Re-creates one split from the corpus exactly as in training (runs made before splits
    /// were stored in the run directory).
    fn recreate_split(&self, data: &DataOptions, which: Which) -> Result<Dataset> {
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
        let data = match which {
            Which::Validation => val,
            Which::Test => test,
        };
        data.ok_or_else(|| Error::Run {
            dir: self.dir.clone(),
            reason: match which {
                Which::Validation => "the run has no validation split (its recipe's [split] is `none` and the corpus has none); retrain with e.g. [split] kind = \"random\", validation = 0.2".to_string(),
                Which::Test => "the recipe's corpus has no test split".to_string(),
            },
        })
    }
}

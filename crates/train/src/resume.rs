//! Interruptible, resumable training: [`FitControl`], [`FitOutcome`] and the checkpoint file.
//!
//! [`fit_with`](crate::fit_with) checks [`FitControl::stop`] after every batch. When it is set,
//! the loop finishes that batch, writes the checkpoint and returns
//! [`FitOutcome::Interrupted`]. The checkpoint is also written at the end of every epoch and
//! every [`FitControl::checkpoint_every`] optimizer steps; [`FitControl::resume`] continues
//! from one, so that an interrupted and resumed run ends with the weights, history and saved
//! best model bit-identical to the same run uninterrupted.
//!
//! The checkpoint is ONE safetensors file, written atomically with [`textrnn_fs::write_with`]
//! (after `kill -9` the last complete checkpoint is intact). Its tensors:
//!
//! | name | what |
//! |---|---|
//! | `model/<i>` | the model's variables, in [`Classifier::vars`](textrnn_models::Classifier::vars) order |
//! | `optimizer/<i>` | [`OptimizerState::slots`] (Adam: `m`, `v` per variable; RMSprop: `v`) |
//! | `metrics/<i>/probs`, `metrics/<i>/labels` | kept scores of the running training metrics (AUC) |
//! | `callbacks/<j>/<k>` | a callback's tensors (early stopping's best weights) |
//!
//! and its `__metadata__` holds `format` ([`CHECKPOINT_FORMAT`]) and `state`, a JSON object:
//! the seed, the training config (without `verbose`), the data sizes and variable shapes it
//! belongs to (a checkpoint of another config, seed, data or model is refused, naming the
//! difference); the position (`epoch` in progress, `step` = batches of it done, `stopped` when a
//! callback ended training); the word positions of both ChaCha8 streams (the shuffle stream's at
//! the start of `epoch`, so the epoch's permutation is redrawn and the done batches skipped; the
//! dropout stream's now); the optimizer's step count; the running training metrics of the epoch
//! in progress; the history so far; and each stateful callback's scalars. Every float is stored
//! as its `f64::to_bits` (JSON has no NaN and need not round-trip floats exactly).
//!
//! ```no_run
//! use std::sync::{atomic::AtomicBool, Arc};
//! use textrnn_train::FitControl;
//! let stop = Arc::new(AtomicBool::new(false)); // set by a signal handler
//! let control = FitControl {
//!     stop: Some(stop.clone()),
//!     checkpoint: Some("runs/imdb/checkpoint.safetensors".into()),
//!     checkpoint_every: Some(500),
//!     resume: None,
//! };
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use candle_core::{Device, Tensor, Var};

use crate::callbacks::{CallbackState, EpochRecord, History, Logs};
use crate::config::TrainConfig;
use crate::data::EncodedSplit;
use crate::error::{Error, Result};
use crate::metrics::MetricState;
use crate::optim::OptimizerState;

/// Version of the checkpoint layout; a checkpoint of another version is refused.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// `__metadata__` key of the format version.
const FORMAT_KEY: &str = "textrnn_checkpoint_format";
/// `__metadata__` key of the JSON state.
const STATE_KEY: &str = "textrnn_checkpoint_state";

/// How [`fit_with`](crate::fit_with) may be stopped, where it saves its checkpoint and what it
/// resumes from. The default (all `None`) trains exactly like [`fit`](crate::fit).
#[derive(Debug, Clone, Default)]
pub struct FitControl {
    /// Checked after every batch: once set, training finishes that batch, writes the
    /// checkpoint (when [`FitControl::checkpoint`] is set) and returns
    /// [`FitOutcome::Interrupted`].
    pub stop: Option<Arc<AtomicBool>>,
    /// The checkpoint file (e.g. `RUN/checkpoint.safetensors`), written at the end of every
    /// epoch, every `checkpoint_every` steps and on interruption.
    pub checkpoint: Option<PathBuf>,
    /// Also write the checkpoint every this many optimizer steps (counted over the whole run);
    /// at least 1.
    pub checkpoint_every: Option<usize>,
    /// A checkpoint of the same config, seed, data and model to continue from.
    pub resume: Option<PathBuf>,
}

impl FitControl {
    /// Whether a stop was requested.
    pub fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// Rejects `checkpoint_every = 0`.
    pub fn validate(&self) -> Result<()> {
        if self.checkpoint_every == Some(0) {
            return Err(Error::config("checkpoint_every", "must be at least 1"));
        }
        Ok(())
    }
}

/// How [`fit_with`](crate::fit_with) ended.
#[derive(Debug, Clone, PartialEq)]
pub enum FitOutcome {
    /// Every epoch ran, or a callback (early stopping) ended training; `on_train_end` ran
    /// (best weights restored when configured).
    Completed {
        /// Every epoch's logs.
        history: History,
    },
    /// [`FitControl::stop`] was set: the checkpoint holds the state after batch `step` of
    /// `epoch`; the model holds the current (not the best) weights; `on_train_end` did not run.
    Interrupted {
        /// The epochs completed before the interruption.
        history: History,
        /// The epoch in progress (0-based).
        epoch: usize,
        /// Batches of `epoch` done.
        step: usize,
    },
}

impl FitOutcome {
    /// The history, however training ended.
    pub fn history(&self) -> &History {
        match self {
            FitOutcome::Completed { history } | FitOutcome::Interrupted { history, .. } => history,
        }
    }

    /// The history, however training ended.
    pub fn into_history(self) -> History {
        match self {
            FitOutcome::Completed { history } | FitOutcome::Interrupted { history, .. } => history,
        }
    }

    /// True for [`FitOutcome::Interrupted`].
    pub fn is_interrupted(&self) -> bool {
        matches!(self, FitOutcome::Interrupted { .. })
    }
}

/// Shape and dtype of one model variable.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct VarSpec {
    shape: Vec<usize>,
    dtype: String,
}

/// What a checkpoint must belong to: the training it resumes.
pub(crate) struct RunKey {
    seed: u64,
    /// The config as JSON, `verbose` set to 0 (display is not part of the training).
    config: String,
    n_train: usize,
    n_val: Option<usize>,
    vars: Vec<VarSpec>,
}

impl RunKey {
    pub(crate) fn new(
        cfg: &TrainConfig,
        seed: u64,
        train: &EncodedSplit,
        val: Option<&EncodedSplit>,
        vars: &[Var],
    ) -> Result<Self> {
        let config = TrainConfig {
            verbose: 0,
            ..cfg.clone()
        };
        let config = serde_json::to_string(&config).map_err(|e| Error::Serialize {
            what: "training config".into(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            seed,
            config,
            n_train: train.len(),
            n_val: val.map(EncodedSplit::len),
            vars: vars
                .iter()
                .map(|v| VarSpec {
                    shape: v.dims().to_vec(),
                    dtype: v.dtype().as_str().to_string(),
                })
                .collect(),
        })
    }
}

/// Where training stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// The epoch in progress (or next, at an epoch boundary).
    pub epoch: usize,
    /// Batches of `epoch` done.
    pub step: usize,
    /// A callback ended training at the end of `epoch - 1`.
    pub stopped: bool,
    /// Word position of the shuffle stream at the start of `epoch`.
    pub shuffle_pos: u128,
}

/// Everything a checkpoint holds, as the trainer hands it over and gets it back.
pub(crate) struct TrainState {
    pub position: Position,
    /// Word position of the dropout stream.
    pub dropout_pos: u128,
    pub weights: Vec<Tensor>,
    pub optimizer_name: String,
    pub optimizer: OptimizerState,
    /// Loss mean then metrics of the epoch in progress (empty at an epoch boundary).
    pub train_metrics: Vec<MetricState>,
    pub history: History,
    /// `(callback name, state)` of every callback with state, in calling order.
    pub callbacks: Vec<(String, CallbackState)>,
}

/// The JSON state in `__metadata__`.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedState {
    format: u32,
    seed: u64,
    config: String,
    n_train: usize,
    n_val: Option<usize>,
    vars: Vec<VarSpec>,
    epoch: usize,
    step: usize,
    stopped: bool,
    shuffle_word_pos: String,
    dropout_word_pos: String,
    optimizer: String,
    iterations: u64,
    optimizer_tensors: usize,
    train_metrics: Vec<SavedMetric>,
    history: Vec<SavedRecord>,
    callbacks: Vec<SavedCallback>,
}

/// A metric's totals; its kept probabilities and labels are tensors.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedMetric {
    sums: Vec<u64>,
    counts: Vec<u64>,
    probs: usize,
    labels: usize,
}

/// One epoch of the history, values as `f64` bits.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedRecord {
    epoch: usize,
    keys: Vec<String>,
    values: Vec<u64>,
    warnings: Vec<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SavedCallback {
    name: String,
    state: serde_json::Value,
    tensors: usize,
}

/// Writes `state` of the training `key` to `path` atomically.
pub(crate) fn write(path: &Path, key: &RunKey, state: TrainState) -> Result<()> {
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (i, w) in state.weights.into_iter().enumerate() {
        tensors.insert(format!("model/{i}"), w);
    }
    let optimizer_tensors = state.optimizer.slots.len();
    for (i, t) in state.optimizer.slots.into_iter().enumerate() {
        tensors.insert(format!("optimizer/{i}"), t);
    }
    let mut train_metrics = Vec::new();
    for (i, m) in state.train_metrics.into_iter().enumerate() {
        train_metrics.push(SavedMetric {
            sums: m.sums.iter().map(|v| v.to_bits()).collect(),
            counts: m.counts,
            probs: m.probs.len(),
            labels: m.labels.len(),
        });
        // empty tensors are left out (read back as empty lists)
        if !m.probs.is_empty() {
            let n = m.probs.len();
            tensors.insert(
                format!("metrics/{i}/probs"),
                Tensor::from_vec(m.probs, n, &Device::Cpu)?,
            );
        }
        if !m.labels.is_empty() {
            let n = m.labels.len();
            tensors.insert(
                format!("metrics/{i}/labels"),
                Tensor::from_vec(m.labels, n, &Device::Cpu)?,
            );
        }
    }
    let mut callbacks = Vec::new();
    for (j, (name, cb)) in state.callbacks.into_iter().enumerate() {
        callbacks.push(SavedCallback {
            name,
            state: cb.json,
            tensors: cb.tensors.len(),
        });
        for (k, t) in cb.tensors.into_iter().enumerate() {
            tensors.insert(format!("callbacks/{j}/{k}"), t);
        }
    }
    let saved = SavedState {
        format: CHECKPOINT_FORMAT,
        seed: key.seed,
        config: key.config.clone(),
        n_train: key.n_train,
        n_val: key.n_val,
        vars: key.vars.clone(),
        epoch: state.position.epoch,
        step: state.position.step,
        stopped: state.position.stopped,
        shuffle_word_pos: state.position.shuffle_pos.to_string(),
        dropout_word_pos: state.dropout_pos.to_string(),
        optimizer: state.optimizer_name,
        iterations: state.optimizer.iterations,
        optimizer_tensors,
        train_metrics,
        history: state
            .history
            .records()
            .iter()
            .map(|r| SavedRecord {
                epoch: r.epoch,
                keys: r.logs.keys().map(str::to_string).collect(),
                values: r.logs.iter().map(|(_, v)| v.to_bits()).collect(),
                warnings: r.warnings.clone(),
            })
            .collect(),
        callbacks,
    };
    let json = serde_json::to_string(&saved).map_err(|e| Error::Serialize {
        what: "checkpoint state".into(),
        reason: e.to_string(),
    })?;
    let metadata = HashMap::from([
        (FORMAT_KEY.to_string(), CHECKPOINT_FORMAT.to_string()),
        (STATE_KEY.to_string(), json),
    ]);
    textrnn_fs::write_with(path, |tmp| {
        safetensors::serialize_to_file(&tensors, Some(metadata), tmp)
            .map_err(|e| Error::checkpoint(path, format!("cannot write it: {e}")))
    })
}

/// Reads the checkpoint at `path`, refusing one that does not belong to `key`; tensors are
/// loaded on `device`.
pub(crate) fn read(path: &Path, key: &RunKey, device: &Device) -> Result<TrainState> {
    let bad = |reason: String| Error::checkpoint(path, reason);
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let (Some(format), Some(json)) = (meta.get(FORMAT_KEY), meta.get(STATE_KEY)) else {
        return Err(bad(
            "not a textrnn training checkpoint (no training state in its metadata)".into(),
        ));
    };
    if format != &CHECKPOINT_FORMAT.to_string() {
        return Err(bad(format!(
            "checkpoint format {format}, this textrnn reads format {CHECKPOINT_FORMAT}"
        )));
    }
    let saved: SavedState =
        serde_json::from_str(json).map_err(|e| bad(format!("invalid training state: {e}")))?;
    check_key(&saved, key).map_err(bad)?;
    let mut tensors = candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|e| bad(format!("invalid tensors: {e}")))?;
    let mut take = |name: String| {
        tensors
            .remove(&name)
            .ok_or_else(|| bad(format!("tensor `{name}` is missing")))
    };
    let mut weights = Vec::with_capacity(key.vars.len());
    for (i, spec) in key.vars.iter().enumerate() {
        let w = take(format!("model/{i}"))?;
        if w.dims() != spec.shape.as_slice() || w.dtype().as_str() != spec.dtype {
            return Err(bad(format!(
                "tensor `model/{i}` is {:?} {}, the model's variable is {:?} {}",
                w.dims(),
                w.dtype().as_str(),
                spec.shape,
                spec.dtype
            )));
        }
        weights.push(w);
    }
    let slots = (0..saved.optimizer_tensors)
        .map(|i| take(format!("optimizer/{i}")))
        .collect::<Result<Vec<_>>>()?;
    let mut train_metrics = Vec::with_capacity(saved.train_metrics.len());
    for (i, m) in saved.train_metrics.into_iter().enumerate() {
        let probs = match m.probs {
            0 => Vec::new(),
            _ => take(format!("metrics/{i}/probs"))?.to_vec1::<f32>()?,
        };
        let labels = match m.labels {
            0 => Vec::new(),
            _ => take(format!("metrics/{i}/labels"))?.to_vec1::<u32>()?,
        };
        if probs.len() != m.probs || labels.len() != m.labels {
            return Err(bad(format!(
                "metric {i} keeps {} scores and {} labels, its state says {} and {}",
                probs.len(),
                labels.len(),
                m.probs,
                m.labels
            )));
        }
        train_metrics.push(MetricState {
            sums: m.sums.into_iter().map(f64::from_bits).collect(),
            counts: m.counts,
            probs,
            labels,
        });
    }
    let mut callbacks = Vec::with_capacity(saved.callbacks.len());
    for (j, cb) in saved.callbacks.into_iter().enumerate() {
        let tensors = (0..cb.tensors)
            .map(|k| take(format!("callbacks/{j}/{k}")))
            .collect::<Result<Vec<_>>>()?;
        callbacks.push((
            cb.name,
            CallbackState {
                json: cb.state,
                tensors,
            },
        ));
    }
    let mut history = History::new();
    for r in saved.history {
        if r.keys.len() != r.values.len() {
            return Err(bad(format!(
                "history of epoch {} has {} keys for {} values",
                r.epoch,
                r.keys.len(),
                r.values.len()
            )));
        }
        let logs: Logs = r
            .keys
            .into_iter()
            .zip(r.values.into_iter().map(f64::from_bits))
            .collect();
        history.push_record(EpochRecord {
            epoch: r.epoch,
            logs,
            warnings: r.warnings,
        });
    }
    let word_pos = |field: &str, text: &str| {
        text.parse::<u128>()
            .map_err(|e| bad(format!("`{field}` = {text:?}: {e}")))
    };
    Ok(TrainState {
        position: Position {
            epoch: saved.epoch,
            step: saved.step,
            stopped: saved.stopped,
            shuffle_pos: word_pos("shuffle_word_pos", &saved.shuffle_word_pos)?,
        },
        dropout_pos: word_pos("dropout_word_pos", &saved.dropout_word_pos)?,
        weights,
        optimizer_name: saved.optimizer,
        optimizer: OptimizerState {
            iterations: saved.iterations,
            slots,
        },
        train_metrics,
        history,
        callbacks,
    })
}

/// Why `saved` does not belong to the training `key`, if it does not.
fn check_key(saved: &SavedState, key: &RunKey) -> std::result::Result<(), String> {
    if saved.seed != key.seed {
        return Err(format!(
            "belongs to seed {}, not {}: resume with the seed it was trained with",
            saved.seed, key.seed
        ));
    }
    if saved.config != key.config {
        return Err(format!(
            "belongs to another training config (differs in {})",
            config_difference(&saved.config, &key.config)
        ));
    }
    if (saved.n_train, saved.n_val) != (key.n_train, key.n_val) {
        return Err(format!(
            "belongs to other data ({} training and {:?} validation examples, not {} and {:?})",
            saved.n_train, saved.n_val, key.n_train, key.n_val
        ));
    }
    if saved.vars != key.vars {
        let shapes = |v: &[VarSpec]| {
            v.iter()
                .map(|s| format!("{:?} {}", s.shape, s.dtype))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(format!(
            "belongs to another model (variables {}; this model has {})",
            shapes(&saved.vars),
            shapes(&key.vars)
        ));
    }
    Ok(())
}

/// The top-level config fields that differ between two config JSON texts, as "`a`, `b`".
fn config_difference(saved: &str, current: &str) -> String {
    let parse = |s: &str| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).unwrap_or_default()
    };
    let (a, b) = (parse(saved), parse(current));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let differing: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("`{k}`"))
        .collect();
    if differing.is_empty() {
        "its serialized form".into()
    } else {
        differing.join(", ")
    }
}

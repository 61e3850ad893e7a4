//! The [`Callback`] trait and the events of the training loop it observes.
//!
//! The loop in [`fit`](crate::fit) emits, in order:
//!
//! ```text
//! on_train_begin(TrainBegin)
//! for epoch in 0..epochs:
//!     on_epoch_begin(epoch)
//!     for batch: on_batch_end(batch, BatchLogs)        // running loss/metrics of the epoch
//!     on_epoch_end(epoch, EpochLogs) -> Control         // any Stop ends training after this epoch
//! on_train_end(History)
//! ```
//!
//! Logs use Keras' keys: `loss`, `accuracy`, `auc`, `val_loss`, `val_accuracy`, `val_auc`.
//! Side work (progress display, early stopping, checkpoints) lives in callbacks, not in the loop
//! (burn-train's design). The [`History`] is the loop's result, recorded by `fit` itself and
//! handed to `on_train_end`.
//!
//! ```
//! use textrnn_train::{Callback, Control, EpochLogs, Result};
//! /// Stops as soon as the training accuracy reaches 0.99.
//! struct GoodEnough;
//! impl Callback for GoodEnough {
//!     fn on_epoch_end(&mut self, _epoch: usize, logs: &EpochLogs) -> Result<Control> {
//!         Ok(if logs.get("accuracy").unwrap_or(0.0) >= 0.99 { Control::Stop } else { Control::Continue })
//!     }
//! }
//! ```

use std::time::Duration;

use candle_core::{Tensor, Var};

use super::history::History;
use crate::error::Result;

/// What a callback asks of the loop at the end of an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// Stop after this epoch (Keras `model.stop_training = True`).
    Stop,
}

/// Named values in insertion order (Keras' `logs` dict).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Logs(Vec<(String, f64)>);

impl Logs {
    /// Empty logs.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`, if logged.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Sets `key` (replacing an existing value in place).
    pub fn insert(&mut self, key: impl Into<String>, value: f64) {
        let key = key.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The keys in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// `(key, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing is logged.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keras-style `"loss: 0.4321 - accuracy: 0.8125"`.
    pub fn format(&self) -> String {
        self.iter()
            .map(|(k, v)| format!("{k}: {v:.4}"))
            .collect::<Vec<_>>()
            .join(" - ")
    }
}

impl FromIterator<(String, f64)> for Logs {
    fn from_iter<I: IntoIterator<Item = (String, f64)>>(iter: I) -> Self {
        let mut logs = Logs::new();
        for (k, v) in iter {
            logs.insert(k, v);
        }
        logs
    }
}

/// Facts about the run, given to [`Callback::on_train_begin`].
#[derive(Debug, Clone, Copy)]
pub struct TrainBegin<'a> {
    /// Number of epochs requested.
    pub epochs: usize,
    /// Batches per training epoch (the last may be partial).
    pub steps_per_epoch: usize,
    /// Number of training examples.
    pub n_train: usize,
    /// Number of validation examples, if validating.
    pub n_val: Option<usize>,
    /// The model's trainable variables, in [`Classifier::vars`](textrnn_models::Classifier::vars)
    /// order (for weight snapshots; cloning a `Var` shares its storage).
    pub vars: &'a [Var],
}

/// Running values after a training batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchLogs<'a> {
    /// Epoch (0-based).
    pub epoch: usize,
    /// Examples in this batch.
    pub size: usize,
    /// Mean loss of this batch alone.
    pub batch_loss: f64,
    /// Running `loss` and metrics over the epoch so far.
    pub logs: &'a Logs,
}

/// Values at the end of an epoch.
#[derive(Debug, Clone)]
pub struct EpochLogs {
    /// Epoch (0-based).
    pub epoch: usize,
    /// `loss`, metrics, then `val_loss` and `val_` metrics when validating.
    pub logs: Logs,
    /// Wall time of the epoch including validation.
    pub elapsed: Duration,
    /// Why the epoch counts as diverged ([`divergence`](crate::divergence)), if it does: its
    /// weights must never be kept as the best ones.
    pub diverged: Option<String>,
}

impl EpochLogs {
    /// The value of `key` (e.g. `"val_auc"`), if logged.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.logs.get(key)
    }
}

/// What a callback carries across an interruption (best value so far, patience counter, best
/// weights), saved in the training checkpoint and handed back on resume. `json` holds the
/// scalars (floats as `f64::to_bits` so they come back bit for bit), `tensors` any weights.
#[derive(Debug, Clone, Default)]
pub struct CallbackState {
    /// The callback's scalars, in a layout of its choosing.
    pub json: serde_json::Value,
    /// The callback's tensors, in an order of its choosing.
    pub tensors: Vec<Tensor>,
}

/// Observer of the training loop; every method has a do-nothing default.
pub trait Callback {
    /// Name used in error messages.
    fn name(&self) -> &str {
        "callback"
    }

    /// Training is about to start.
    fn on_train_begin(&mut self, _info: &TrainBegin<'_>) -> Result<()> {
        Ok(())
    }

    /// Epoch `epoch` (0-based) is about to start.
    fn on_epoch_begin(&mut self, _epoch: usize) -> Result<()> {
        Ok(())
    }

    /// Batch `batch` (0-based within the epoch) has been trained on.
    fn on_batch_end(&mut self, _batch: usize, _logs: &BatchLogs<'_>) -> Result<()> {
        Ok(())
    }

    /// Epoch `epoch` is finished (validation included); return [`Control::Stop`] to end training.
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &EpochLogs) -> Result<Control> {
        Ok(Control::Continue)
    }

    /// Training is over (normally or by a stop request); `history` holds every epoch. Not
    /// called when [`fit_with`](crate::fit_with) returns interrupted.
    fn on_train_end(&mut self, _history: &History) -> Result<()> {
        Ok(())
    }

    /// The state to save in a training checkpoint (`None`, the default: nothing to carry).
    fn checkpoint_state(&self) -> Result<Option<CallbackState>> {
        Ok(None)
    }

    /// Continues from a [`Callback::checkpoint_state`] of the interrupted run; called after
    /// [`Callback::on_train_begin`] of the resumed run.
    fn restore_checkpoint_state(&mut self, _state: CallbackState) -> Result<()> {
        Ok(())
    }
}

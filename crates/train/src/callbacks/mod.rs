//! Callbacks: side work observing the training loop (progress, early stopping, checkpoints),
//! and the [`History`] the loop returns. See [`Callback`] for the events.

mod callback;
mod checkpoint;
mod early_stopping;
mod history;
mod monitor;
mod progress;

pub use callback::{BatchLogs, Callback, CallbackState, Control, EpochLogs, Logs, TrainBegin};
pub use checkpoint::{BestCheckpoint, SaveFn};
pub use early_stopping::{EarlyStopping, EarlyStoppingConfig};
pub use history::{EpochRecord, History, WARNINGS_KEY};
pub use monitor::{Monitor, MonitorMode};
pub use progress::ProgressBar;

use candle_core::{Tensor, Var};

use crate::error::{Error, Result};

/// A callback's checkpoint scalars as JSON.
fn to_json(callback: &str, state: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(state).map_err(|e| Error::Serialize {
        what: format!("state of callback `{callback}`"),
        reason: e.to_string(),
    })
}

/// A callback's checkpoint scalars back from JSON.
fn from_json<T: serde::de::DeserializeOwned>(callback: &str, json: serde_json::Value) -> Result<T> {
    serde_json::from_value(json).map_err(|e| {
        Error::Shape(format!(
            "saved state of callback `{callback}` is not what it writes: {e}"
        ))
    })
}

/// Checks saved weights match the variables one to one in shape and dtype.
fn check_weights(callback: &str, vars: &[Var], saved: &[Tensor]) -> Result<()> {
    let fits = vars.len() == saved.len()
        && vars
            .iter()
            .zip(saved)
            .all(|(v, t)| v.dims() == t.dims() && v.dtype() == t.dtype());
    if fits {
        Ok(())
    } else {
        Err(Error::Shape(format!(
            "saved weights of callback `{callback}` ({} tensors) do not fit the model's {} \
             variables",
            saved.len(),
            vars.len()
        )))
    }
}

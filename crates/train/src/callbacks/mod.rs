//! Callbacks: side work observing the training loop (progress, early stopping, checkpoints),
//! and the [`History`] the loop returns. See [`Callback`] for the events.

mod callback;
mod checkpoint;
mod early_stopping;
mod history;
mod monitor;
mod progress;

pub use callback::{BatchLogs, Callback, Control, EpochLogs, Logs, TrainBegin};
pub use checkpoint::{BestCheckpoint, SaveFn};
pub use early_stopping::{EarlyStopping, EarlyStoppingConfig};
pub use history::{EpochRecord, History};
pub use monitor::{Monitor, MonitorMode};
pub use progress::ProgressBar;

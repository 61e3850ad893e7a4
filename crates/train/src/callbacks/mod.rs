//! Callbacks: side work observing the training loop (history, progress, early stopping,
//! checkpoints). See [`Callback`] for the events.

mod callback;
mod checkpoint;
mod early_stopping;
mod history;
mod monitor;
mod progress;

pub use callback::{BatchLogs, Callback, Control, EpochLogs, Logs, TrainBegin};
pub use checkpoint::{save_safetensors_atomic, BestCheckpoint, SaveFn};
pub use early_stopping::{EarlyStopping, EarlyStoppingConfig};
pub use history::{EpochRecord, History};
pub use monitor::{Monitor, MonitorMode};
pub use progress::ProgressBar;

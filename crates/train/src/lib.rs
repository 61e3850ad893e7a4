//! Training loop, optimizers, losses, metrics and callbacks for textrnn models.
//!
//! See `docs/ARCHITECTURE.md` for the contracts shared with the other crates.
//!
//! * [`fit`] trains a [`Classifier`](textrnn_models::Classifier) on an [`EncodedSplit`] with a
//!   [`TrainConfig`] and returns a [`History`]; [`evaluate`] and [`predict_proba`] run it in
//!   eval mode.
//! * Losses from logits in stable form ([`binary_cross_entropy_with_logits`],
//!   [`sparse_categorical_cross_entropy`]); Keras 3 [`Adam`] and [`RmsProp`].
//! * [`Metric`]s ([`Accuracy`], [`Auc`], [`LossMean`]) and [`Callback`]s ([`EarlyStopping`],
//!   [`BestCheckpoint`], [`ProgressBar`], [`History`]) observing the loop.
//!
//! ```
//! use textrnn_train::{OptimizerConfig, TrainConfig};
//! let cfg = TrainConfig { epochs: 3, ..Default::default() };
//! assert_eq!(cfg.optimizer, OptimizerConfig::default());
//! ```
#![warn(missing_docs)]

mod atomic;
pub mod callbacks;
mod config;
mod data;
mod error;
mod inference;
mod loss;
pub mod metrics;
pub mod optim;
mod trainer;

pub mod evaluation;
pub mod explain;
pub mod plot;
pub mod report;

pub use atomic::{atomic_write, atomic_write_with};
pub use callbacks::{
    save_safetensors_atomic, BatchLogs, BestCheckpoint, Callback, Control, EarlyStopping,
    EarlyStoppingConfig, EpochLogs, EpochRecord, History, Logs, Monitor, MonitorMode, ProgressBar,
    SaveFn, TrainBegin,
};
pub use config::{metric_by_name, TrainConfig};
pub use data::{Batch, Batches, EncodedSplit};
pub use error::{Error, Result};
pub use inference::{evaluate, predict_proba, EvalMetrics, Predictions, PROGRESS_MIN_ROWS};
pub use loss::{binary_cross_entropy_with_logits, sparse_categorical_cross_entropy, Loss};
pub use metrics::{roc_auc, Accuracy, Auc, Direction, LossMean, Metric, MetricBatch};
pub use optim::{Adam, AdamConfig, Optimizer, OptimizerConfig, RmsProp, RmsPropConfig};
pub use trainer::{fit, DROPOUT_STREAM};

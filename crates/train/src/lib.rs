//! Training loop, optimizers, losses, metrics and callbacks for textrnn models.
//!
//! See `docs/ARCHITECTURE.md` for the contracts shared with the other crates.
//!
//! * [`fit`] trains a [`Classifier`](textrnn_models::Classifier) on an [`EncodedSplit`] with a
//!   [`TrainConfig`] and returns a [`History`]; [`evaluate`] and [`predict_proba`] run it in
//!   eval mode. What is done with the probabilities afterwards (reports, curves, thresholds,
//!   LIME, plots) lives in `textrnn-eval`, whose [`Predictions`](textrnn_eval::Predictions)
//!   [`predict_proba`] returns.
//! * Losses from logits in stable form ([`binary_cross_entropy_with_logits`],
//!   [`sparse_categorical_cross_entropy`]); Keras 3 [`Adam`] and [`RmsProp`].
//! * [`Metric`]s ([`Accuracy`], [`Auc`], [`LossMean`]) and [`Callback`]s ([`EarlyStopping`],
//!   [`BestCheckpoint`], [`ProgressBar`]) observing the loop.
//!
//! ```
//! use textrnn_train::{OptimizerConfig, TrainConfig};
//! let cfg = TrainConfig { epochs: 3, ..Default::default() };
//! assert_eq!(cfg.optimizer, OptimizerConfig::default());
//! ```
#![warn(missing_docs)]

pub mod callbacks;
mod config;
mod data;
mod error;
mod inference;
mod loss;
pub mod metrics;
pub mod optim;
mod trainer;

pub use callbacks::{
    BatchLogs, BestCheckpoint, Callback, Control, EarlyStopping, EarlyStoppingConfig, EpochLogs,
    EpochRecord, History, Logs, Monitor, MonitorMode, ProgressBar, SaveFn, TrainBegin,
};
pub use config::{metric_by_name, TrainConfig};
pub use data::{Batch, Batches, EncodedSplit};
pub use error::{Error, Result};
pub use inference::{evaluate, predict_proba, EvalMetrics, PROGRESS_MIN_ROWS};
pub use loss::{binary_cross_entropy_with_logits, sparse_categorical_cross_entropy, Loss};
pub use metrics::{Accuracy, Auc, Direction, LossMean, Metric, MetricBatch};
pub use optim::{
    Adam, AdamConfig, AnyOptimizer, Optimizer, OptimizerConfig, RmsProp, RmsPropConfig,
};
pub use trainer::{fit, DROPOUT_STREAM};

//! Training loop, optimizers, losses, metrics and callbacks for textrnn models.
//!
//! See `docs/ARCHITECTURE.md` for the contracts shared with the other crates.
//!
//! * [`fit`] trains a [`Classifier`](textrnn_models::Classifier) on an [`EncodedSplit`] with a
//!   [`TrainConfig`] and returns a [`History`]; [`fit_with`] does the same, interruptible and
//!   resumable from a checkpoint ([`FitControl`], [`resume`]), and warns about diverging
//!   epochs ([`divergence`]); [`evaluate`] and [`predict_proba`] run it in
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
mod divergence;
mod error;
mod inference;
mod loss;
pub mod metrics;
pub mod optim;
pub mod resume;
mod trainer;
mod weights;

pub use callbacks::{
    BatchLogs, BestCheckpoint, Callback, CallbackState, Control, EarlyStopping,
    EarlyStoppingConfig, EpochLogs, EpochRecord, History, Logs, Monitor, MonitorMode, ProgressBar,
    SaveFn, TrainBegin, WARNINGS_KEY,
};
pub use config::{metric_by_name, EmbeddingGradients, TrainConfig};
pub use data::{Batch, Batches, EncodedSplit};
pub use divergence::{divergence, DIVERGENCE_LOSS_FACTOR, DIVERGENCE_MAX_LOSS};
pub use error::{Error, Result};
pub use inference::{
    evaluate, predict_logits, predict_proba, probabilities_at, EvalMetrics, Logits,
    PROGRESS_MIN_ROWS,
};
pub use loss::{binary_cross_entropy_with_logits, sparse_categorical_cross_entropy, Loss};
pub use metrics::{Accuracy, Auc, Direction, LossMean, Metric, MetricBatch, MetricState};
pub use optim::{
    Adam, AdamConfig, AnyOptimizer, Optimizer, OptimizerConfig, OptimizerState, RmsProp,
    RmsPropConfig, SquaredGrads,
};
pub use resume::{FitControl, FitOutcome, CHECKPOINT_FORMAT};
pub use trainer::{epoch_orders, fit, fit_with, DROPOUT_STREAM};
pub use weights::{example_weights, ClassWeight};

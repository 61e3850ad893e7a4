//! Metrics computed during training and evaluation.
//!
//! Each metric is a small type behind the [`Metric`] trait (burn-train's design): `update` with a
//! batch, `compute` the value so far, `reset` between epochs, `name` for the logs.

mod accuracy;
mod auc;
mod loss_mean;
mod metric;

pub use accuracy::Accuracy;
pub use auc::Auc;
pub use loss_mean::LossMean;
pub use metric::{Direction, Metric, MetricBatch, MetricState};

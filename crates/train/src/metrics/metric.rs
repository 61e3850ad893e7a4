//! The [`Metric`] trait: a streaming statistic over the batches of an epoch.
//!
//! Metrics see host-side copies of each batch ([`MetricBatch`]): class probabilities
//! `probs` `(B, C)` row-major (a sigmoid model gives `C = 2`, `[1 - p, p]`), labels `(B)` and the
//! batch's mean loss. Copying once per batch lets every metric read plain slices.
//!
//! ```
//! use textrnn_train::{Accuracy, Metric, MetricBatch};
//! let mut acc = Accuracy::new();
//! acc.update(&MetricBatch { probs: &[0.2, 0.8, 0.9, 0.1], n_classes: 2, labels: &[1, 1], loss: 0.4 });
//! assert_eq!(acc.compute(), 0.5);
//! ```

/// One batch as the metrics see it.
#[derive(Debug, Clone, Copy)]
pub struct MetricBatch<'a> {
    /// Class probabilities, `labels.len() * n_classes` values, row-major.
    pub probs: &'a [f32],
    /// Number of classes `C` (2 for a sigmoid output).
    pub n_classes: usize,
    /// True class of each example.
    pub labels: &'a [u32],
    /// Mean loss over the batch.
    pub loss: f64,
}

impl MetricBatch<'_> {
    /// Number of examples in the batch.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the batch holds no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Probability row of example `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.probs[i * self.n_classes..(i + 1) * self.n_classes]
    }
}

/// Whether larger or smaller values of a metric are better (decides early-stopping `auto` mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Larger is better (accuracy, AUC).
    Up,
    /// Smaller is better (loss).
    Down,
}

/// The running totals of a [`Metric`], saved in a training checkpoint so that an epoch resumed
/// after an interruption reports exactly what it would have reported uninterrupted. Each metric
/// decides which of the lists it uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricState {
    /// Floating-point totals (a loss sum).
    pub sums: Vec<f64>,
    /// Integer totals (counts).
    pub counts: Vec<u64>,
    /// Kept probabilities (the AUC keeps every score).
    pub probs: Vec<f32>,
    /// Kept labels.
    pub labels: Vec<u32>,
}

impl MetricState {
    /// Checks the shape a metric expects (`sums`, `counts` lengths and `probs = labels × classes`
    /// when `per_label` is given); `name` names the metric in the error.
    pub(crate) fn check(
        &self,
        name: &str,
        sums: usize,
        counts: usize,
        per_label: Option<usize>,
    ) -> crate::error::Result<()> {
        let probs_ok = match per_label {
            Some(c) => Some(self.probs.len()) == self.labels.len().checked_mul(c),
            None => self.probs.is_empty() && self.labels.is_empty(),
        };
        if self.sums.len() == sums && self.counts.len() == counts && probs_ok {
            Ok(())
        } else {
            Err(crate::error::Error::Shape(format!(
                "saved state of metric `{name}` has {} sums, {} counts, {} probabilities and {} \
                 labels, which it does not use",
                self.sums.len(),
                self.counts.len(),
                self.probs.len(),
                self.labels.len()
            )))
        }
    }
}

/// A statistic accumulated over batches and read at any time.
pub trait Metric: Send {
    /// Keras' name of the metric (`"accuracy"`, `"auc"`, `"loss"`); logs use `val_<name>` for
    /// validation.
    fn name(&self) -> &str;

    /// Adds one batch.
    fn update(&mut self, batch: &MetricBatch<'_>);

    /// The value over everything seen since the last reset; `NaN` when undefined (no data, or
    /// an AUC with a single class present).
    fn compute(&self) -> f64;

    /// Forgets everything seen.
    fn reset(&mut self);

    /// The running totals, for a checkpoint.
    fn state(&self) -> MetricState;

    /// Continues from totals returned by [`Metric::state`]; rejects a state of another shape.
    fn restore(&mut self, state: MetricState) -> crate::error::Result<()>;

    /// Whether larger values are better.
    fn direction(&self) -> Direction {
        Direction::Up
    }
}

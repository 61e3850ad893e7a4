//! The running mean of the loss, weighted by batch size (Keras' loss tracker).
//!
//! `mean = Σ_b loss_b · n_b / Σ_b n_b`, so a short last batch counts for what it holds.
//!
//! ```
//! use textrnn_train::{LossMean, Metric, MetricBatch};
//! let mut m = LossMean::new();
//! m.update(&MetricBatch { probs: &[0.5; 6], n_classes: 2, labels: &[0, 1, 0], loss: 1.0 });
//! m.update(&MetricBatch { probs: &[0.5; 2], n_classes: 2, labels: &[1], loss: 3.0 });
//! assert_eq!(m.compute(), 1.5); // (3·1 + 1·3) / 4
//! ```

use super::metric::{Direction, Metric, MetricBatch, MetricState};

/// Sample-weighted mean of per-batch mean losses.
#[derive(Debug, Clone, Default)]
pub struct LossMean {
    sum: f64,
    count: u64,
}

impl LossMean {
    /// An empty mean.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Metric for LossMean {
    fn name(&self) -> &str {
        "loss"
    }

    fn update(&mut self, batch: &MetricBatch<'_>) {
        self.sum += batch.loss * batch.len() as f64;
        self.count += batch.len() as u64;
    }

    fn compute(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    fn state(&self) -> MetricState {
        MetricState {
            sums: vec![self.sum],
            counts: vec![self.count],
            ..Default::default()
        }
    }

    fn restore(&mut self, state: MetricState) -> crate::error::Result<()> {
        state.check(self.name(), 1, 1, None)?;
        self.sum = state.sums[0];
        self.count = state.counts[0];
        Ok(())
    }

    fn direction(&self) -> Direction {
        Direction::Down
    }
}

//! Accuracy: the fraction of examples whose predicted class is the label.
//!
//! The predicted class is the argmax of the probability row; for a sigmoid output
//! (`[1 - p, p]`) that is class 1 exactly when `p > 0.5`, Keras' `binary_accuracy` threshold.
//! Ties go to the lowest class index ([`textrnn_eval::argmax`], the one arg-max of the workspace).
//!
//! ```
//! use textrnn_train::{Accuracy, Metric, MetricBatch};
//! let mut acc = Accuracy::new();
//! // three classes: predictions 2, 0; labels 2, 1
//! acc.update(&MetricBatch { probs: &[0.1, 0.2, 0.7, 0.5, 0.3, 0.2], n_classes: 3, labels: &[2, 1], loss: 0.0 });
//! assert_eq!(acc.compute(), 0.5);
//! ```

use textrnn_eval::argmax;

use super::metric::{Metric, MetricBatch, MetricState};

/// Fraction of correct argmax predictions.
#[derive(Debug, Clone, Default)]
pub struct Accuracy {
    correct: u64,
    total: u64,
}

impl Accuracy {
    /// An empty accuracy.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Metric for Accuracy {
    fn name(&self) -> &str {
        "accuracy"
    }

    fn update(&mut self, batch: &MetricBatch<'_>) {
        for (i, &label) in batch.labels.iter().enumerate() {
            if argmax(batch.row(i)) == label as usize {
                self.correct += 1;
            }
        }
        self.total += batch.len() as u64;
    }

    fn compute(&self) -> f64 {
        if self.total == 0 {
            f64::NAN
        } else {
            self.correct as f64 / self.total as f64
        }
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    fn state(&self) -> MetricState {
        MetricState {
            counts: vec![self.correct, self.total],
            ..Default::default()
        }
    }

    fn restore(&mut self, state: MetricState) -> crate::error::Result<()> {
        state.check(self.name(), 0, 2, None)?;
        self.correct = state.counts[0];
        self.total = state.counts[1];
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn binary_threshold_is_strictly_above_half() {
        let mut acc = Accuracy::new();
        // p = 0.5 → class 0 (tie), p = 0.51 → 1, p = 0.2 → 0, p = 0.99 → 1
        let probs = [0.5, 0.5, 0.49, 0.51, 0.8, 0.2, 0.01, 0.99];
        acc.update(&MetricBatch {
            probs: &probs,
            n_classes: 2,
            labels: &[1, 1, 0, 0],
            loss: 0.0,
        });
        // correct: no, yes, yes, no
        assert_eq!(acc.compute(), 0.5);
        acc.update(&MetricBatch {
            probs: &[0.0, 1.0],
            n_classes: 2,
            labels: &[1],
            loss: 0.0,
        });
        assert_eq!(acc.compute(), 3.0 / 5.0);
        acc.reset();
        assert!(acc.compute().is_nan());
    }
}

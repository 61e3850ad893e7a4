//! The streaming exact ROC AUC metric [`Auc`] (binary, or one-vs-rest macro average over
//! classes); the AUC itself is computed by `textrnn_eval` ([`textrnn_eval::roc_auc_macro`], by
//! the rank statistic, ties counted half).

/// Streaming exact ROC AUC (Keras' `AUC` approximates with 200 thresholds; this is exact).
///
/// Binary (`n_classes == 2`): score = probability of class 1. Multi-class: one-vs-rest AUC of
/// each class's probability, averaged over the classes for which it is defined (macro, as
/// scikit-learn's `roc_auc_score(multi_class="ovr", average="macro")`). Keeps every score, so
/// memory is `O(N·C)` per epoch.
///
/// ```
/// use textrnn_train::{Auc, Metric, MetricBatch};
/// let mut auc = Auc::new();
/// // p(class 1) = 0.8, 0.6, 0.4, 0.2 with labels 1, 0, 1, 0 → 3 of 4 pairs ordered: 0.75
/// let probs = [0.2, 0.8, 0.4, 0.6, 0.6, 0.4, 0.8, 0.2];
/// auc.update(&MetricBatch { probs: &probs, n_classes: 2, labels: &[1, 0, 1, 0], loss: 0.0 });
/// assert_eq!(auc.compute(), 0.75);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Auc {
    probs: Vec<f32>,
    labels: Vec<u32>,
    n_classes: usize,
}

impl Auc {
    /// An empty AUC.
    pub fn new() -> Self {
        Self::default()
    }
}

impl super::Metric for Auc {
    fn name(&self) -> &str {
        "auc"
    }

    fn update(&mut self, batch: &super::MetricBatch<'_>) {
        if self.labels.is_empty() {
            self.n_classes = batch.n_classes;
        }
        if batch.n_classes != self.n_classes {
            tracing::warn!(
                expected = self.n_classes,
                got = batch.n_classes,
                "auc: batch with a different number of classes ignored"
            );
            return;
        }
        self.probs
            .extend_from_slice(&batch.probs[..batch.len() * batch.n_classes]);
        self.labels.extend_from_slice(batch.labels);
    }

    fn compute(&self) -> f64 {
        textrnn_eval::roc_auc_macro(&self.probs, self.n_classes, &self.labels).unwrap_or(f64::NAN)
    }

    fn reset(&mut self) {
        self.probs.clear();
        self.labels.clear();
        self.n_classes = 0;
    }

    fn state(&self) -> super::MetricState {
        super::MetricState {
            counts: vec![self.n_classes as u64],
            probs: self.probs.clone(),
            labels: self.labels.clone(),
            ..Default::default()
        }
    }

    fn restore(&mut self, state: super::MetricState) -> crate::error::Result<()> {
        let n_classes = state.counts.first().map_or(0, |&c| c as usize);
        state.check(self.name(), 0, 1, Some(n_classes))?;
        self.n_classes = n_classes;
        self.probs = state.probs;
        self.labels = state.labels;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn metric_binary_accumulates_batches_and_handles_one_class() {
        use super::super::{Metric, MetricBatch};
        let mut auc = super::Auc::new();
        // first batch only positives: undefined so far
        auc.update(&MetricBatch {
            probs: &[0.1, 0.9],
            n_classes: 2,
            labels: &[1],
            loss: 0.0,
        });
        assert!(auc.compute().is_nan());
        // add negatives at p = 0.3 and 0.95: pairs (0.9 > 0.3) yes, (0.9 > 0.95) no → 0.5
        auc.update(&MetricBatch {
            probs: &[0.7, 0.3, 0.05, 0.95],
            n_classes: 2,
            labels: &[0, 0],
            loss: 0.0,
        });
        assert_eq!(auc.compute(), 0.5);
        auc.reset();
        assert!(auc.compute().is_nan());
    }

    #[test]
    fn metric_multiclass_is_one_vs_rest_macro() {
        use super::super::{Metric, MetricBatch};
        // labels 0, 1, 2, 0 with rows:
        let probs = [
            0.6, 0.3, 0.1, // label 0
            0.2, 0.5, 0.3, // label 1
            0.3, 0.3, 0.4, // label 2
            0.4, 0.4, 0.2, // label 0
        ];
        // class 0 scores (0.6, 0.2, 0.3, 0.4), positives {0.6, 0.4} vs {0.2, 0.3}: 4/4 = 1
        // class 1 scores (0.3, 0.5, 0.3, 0.4), positive 0.5 vs {0.3, 0.3, 0.4}: 3/3 = 1
        // class 2 scores (0.1, 0.3, 0.4, 0.2), positive 0.4 vs {0.1, 0.3, 0.2}: 3/3 = 1
        let mut auc = super::Auc::new();
        auc.update(&MetricBatch {
            probs: &probs,
            n_classes: 3,
            labels: &[0, 1, 2, 0],
            loss: 0.0,
        });
        assert_eq!(auc.compute(), 1.0);
        // swap class-1 scores of rows 1 and 3 → class 1: 0.4 vs {0.3, 0.3, 0.5} = 2/3
        let mut probs2 = probs;
        probs2[4] = 0.4;
        probs2[10] = 0.5;
        let mut auc = super::Auc::new();
        auc.update(&MetricBatch {
            probs: &probs2,
            n_classes: 3,
            labels: &[0, 1, 2, 0],
            loss: 0.0,
        });
        let want = (1.0 + 2.0 / 3.0 + 1.0) / 3.0;
        assert!((auc.compute() - want).abs() < 1e-12);
    }
}

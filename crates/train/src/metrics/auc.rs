//! Exact area under the ROC curve: the [`roc_auc`] function (binary, by the rank statistic) and the
//! streaming [`Auc`] metric (binary, or one-vs-rest macro average over classes).
//!
//! `AUC = (sum of ranks of positives - n_pos (n_pos + 1) / 2) / (n_pos n_neg)`, where tied scores
//! share their average rank. This equals the trapezoidal area under the ROC curve that
//! scikit-learn's `roc_auc_score` computes, ties included.
//!
//! ```
//! use textrnn_train::metrics::roc_auc;
//! // positives at 0.8 and 0.4, negatives at 0.6 and 0.2: 3 of 4 pairs ordered correctly
//! assert_eq!(roc_auc(&[0.8, 0.6, 0.4, 0.2], &[true, false, true, false]), Some(0.75));
//! ```

/// Exact ROC AUC of `scores` for the positive class; `None` when only one class is present.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let n = scores.len().min(positive.len());
    let n_pos = positive[..n].iter().filter(|&&p| p).count();
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0f64;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        // ranks i+1 ..= j share their mean
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        let pos_in_group = order[i..j].iter().filter(|&&k| positive[k]).count();
        rank_sum_pos += mean_rank * pos_in_group as f64;
        i = j;
    }
    let n_pos_f = n_pos as f64;
    Some((rank_sum_pos - n_pos_f * (n_pos_f + 1.0) / 2.0) / (n_pos_f * n_neg as f64))
}

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
        let c = self.n_classes;
        if self.labels.is_empty() || c < 2 {
            return f64::NAN;
        }
        let one_vs_rest = |class: usize| {
            let scores: Vec<f32> = self.probs.iter().skip(class).step_by(c).copied().collect();
            let positive: Vec<bool> = self.labels.iter().map(|&l| l as usize == class).collect();
            roc_auc(&scores, &positive)
        };
        if c == 2 {
            return one_vs_rest(1).unwrap_or(f64::NAN);
        }
        let per_class: Vec<f64> = (0..c).filter_map(one_vs_rest).collect();
        if per_class.is_empty() {
            f64::NAN
        } else {
            per_class.iter().sum::<f64>() / per_class.len() as f64
        }
    }

    fn reset(&mut self) {
        self.probs.clear();
        self.labels.clear();
        self.n_classes = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::roc_auc;

    #[test]
    fn ties_count_half() {
        // pairs (pos, neg): (0.5,0.5) tie -> 0.5, (0.5,0.1) -> 1, (0.9,0.5) -> 1, (0.9,0.1) -> 1 => 3.5/4
        let auc = roc_auc(&[0.5, 0.9, 0.5, 0.1], &[true, true, false, false]);
        assert_eq!(auc, Some(0.875));
    }

    #[test]
    fn single_class_has_no_auc() {
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

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

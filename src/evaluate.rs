//! Test-split evaluation of a run: accuracy, ROC AUC, loss, confusion matrix and the
//! scikit-learn-style classification report, at the run's decision threshold.
//!
//! The numbers come from the model's probabilities `(N, C)` (a sigmoid model gives `C = 2`,
//! rows `[1 - p, p]`):
//! - predicted class: binary `p >= threshold` (0.5 unless `threshold.json` or `--threshold`
//!   says otherwise), multi-class arg-max;
//! - `loss`: mean cross-entropy of the probabilities (scikit-learn's `log_loss`, clipped at
//!   1e-15);
//! - `auc`: binary ROC AUC of `p`, or the one-vs-rest macro average over classes.
//!
//! The same function serves `train` (right after fitting) and `evaluate RUN_DIR`, so both
//! print identical numbers.
//!
//! ```no_run
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let m = run.evaluate(&textrnn::TrainOptions::default())?;
//! println!("{}\n{}", m.classification_report, m.confusion_matrix);
//! # Ok::<(), textrnn::Error>(())
//! ```

use serde::{Deserialize, Serialize};
use textrnn_train::evaluation::{
    argmax_labels, classification_report, confusion_matrix, log_loss, predict_with_threshold,
    roc_auc_binary, roc_auc_ovr, ClassificationReport, ConfusionMatrix,
};

use crate::pipeline::TestPredictions;
use crate::Result;

/// Where a binary decision threshold comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// The default 0.5.
    Default,
    /// `threshold.json` in the run directory (written by `tune-threshold`).
    File,
    /// Given explicitly (`--threshold`).
    Explicit,
}

/// The decision threshold used for a binary model: predict the second class when
/// `p >= value`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecisionThreshold {
    /// The threshold on the probability of the second (positive) class.
    pub value: f64,
    /// Where it comes from.
    pub source: ThresholdSource,
}

impl DecisionThreshold {
    /// The default 0.5.
    pub const DEFAULT: DecisionThreshold = DecisionThreshold {
        value: 0.5,
        source: ThresholdSource::Default,
    };

    /// A short description for output, e.g. `0.4213 (from threshold.json)`.
    pub fn describe(&self) -> String {
        match self.source {
            ThresholdSource::Default => format!("{:.4} (default)", self.value),
            ThresholdSource::File => format!(
                "{:.4} (from threshold.json, written by tune-threshold)",
                self.value
            ),
            ThresholdSource::Explicit => format!("{:.4} (from --threshold)", self.value),
        }
    }
}

/// Test-split evaluation saved as `metrics.json` and printed by `train` and `evaluate`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TestMetrics {
    /// Number of test examples.
    pub n: usize,
    /// Mean cross-entropy of the predicted probabilities.
    pub loss: f64,
    /// Fraction of correct predictions (at the threshold for binary models, else arg-max).
    pub accuracy: f64,
    /// ROC AUC: binary, or one-vs-rest macro average; `None` when the test split has one class.
    pub auc: Option<f64>,
    /// The decision threshold (binary models only).
    pub threshold: Option<DecisionThreshold>,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
    /// Counts of (true, predicted) classes.
    pub confusion_matrix: ConfusionMatrix,
    /// Precision, recall, F1 and support per class, with macro and weighted averages.
    pub classification_report: ClassificationReport,
}

/// Predicted classes: `p >= threshold` for two classes, arg-max otherwise.
pub(crate) fn decide(
    preds: &TestPredictions,
    threshold: Option<DecisionThreshold>,
) -> Result<(Vec<u32>, Option<DecisionThreshold>)> {
    if preds.n_classes == 2 {
        let t = threshold.unwrap_or(DecisionThreshold::DEFAULT);
        let scores: Vec<f32> = preds.probs.iter().skip(1).step_by(2).copied().collect();
        Ok((predict_with_threshold(&scores, t.value), Some(t)))
    } else {
        Ok((argmax_labels(&preds.probs, preds.n_classes)?, None))
    }
}

/// Computes every test metric from saved probabilities and labels.
pub fn compute_metrics(
    preds: &TestPredictions,
    threshold: Option<DecisionThreshold>,
) -> Result<TestMetrics> {
    let c = preds.n_classes;
    let (predicted, threshold) = decide(preds, threshold)?;
    let names = &preds.class_names;
    let report = classification_report(&preds.labels, &predicted, names)?.with_digits(4);
    let cm = confusion_matrix(&preds.labels, &predicted, names)?;
    let loss = log_loss(&preds.probs, c, &preds.labels)?;
    let auc = if c == 2 {
        let scores: Vec<f32> = preds.probs.iter().skip(1).step_by(2).copied().collect();
        let positive: Vec<bool> = preds.labels.iter().map(|&l| l == 1).collect();
        roc_auc_binary(&scores, &positive).ok()
    } else {
        roc_auc_ovr(&preds.probs, c, &preds.labels)
            .ok()
            .map(|a| a.macro_auc)
    };
    Ok(TestMetrics {
        n: preds.labels.len(),
        loss,
        accuracy: report.accuracy,
        auc,
        threshold,
        class_names: names.clone(),
        confusion_matrix: cm,
        classification_report: report,
    })
}

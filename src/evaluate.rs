//! Test-split evaluation of a run: accuracy, ROC AUC, loss, confusion matrix and the
//! scikit-learn-style classification report, at the run's decision threshold.
//!
//! The numbers come from the model's probabilities `(N, C)` (a sigmoid model gives `C = 2`,
//! rows `[1 - p, p]`):
//! - predicted class: binary `p >= threshold` (0.5 unless `threshold.json` or `--threshold`
//!   says otherwise), multi-class arg-max ([`Predictions::decide`]);
//! - `loss`: mean cross-entropy of the probabilities (scikit-learn's `log_loss`, clipped at
//!   1e-15);
//! - `auc`: binary ROC AUC of `p`, or the one-vs-rest macro average over classes.
//!
//! A multi-label run (one sigmoid per label) decides each label with its own threshold
//! (`threshold.json` from `tune-threshold`, else 0.5) and reports [`TestMetrics::multi_label`]
//! (subset accuracy, Hamming loss, micro and macro precision/recall/F1, per-label rows and ROC
//! AUC) instead of the confusion matrix and classification report; there `accuracy` is the
//! subset accuracy and `auc` the mean of the per-label ROC AUCs.
//!
//! The probabilities are the run's calibrated ones when it has a `calibration.json`
//! (`textrnn calibrate`). [`evaluate`] and [`evaluate_file`] also report
//! [`TestMetrics::calibration`]: NLL (from the logits), the expected calibration error (15
//! equal-width bins; top-label confidence, or every (example, label) pair for multi-label runs)
//! and the reliability bins, uncalibrated and, for a calibrated run, calibrated. `train`'s
//! `metrics.json` leaves that section out (the training record stays uncalibrated).
//!
//! The same function serves `train` (right after fitting) and `evaluate RUN_DIR`, so both
//! print identical numbers.
//!
//! ```no_run
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let m = textrnn::evaluate(&run, &textrnn::DataOptions::default(), None)?;
//! if let Some(report) = &m.classification_report {
//!     println!("{report}");
//! }
//! if let Some(report) = &m.multi_label {
//!     println!("{report}");
//! }
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::path::Path;

use serde::Serialize;
use textrnn_data::table::TableSpec;
use textrnn_data::{DataConfig, UserFiles};
use textrnn_eval::{
    classification_report, confusion_matrix, log_loss, multilabel_report, roc_auc_binary,
    roc_auc_ovr, ClassificationReport, ConfusionMatrix, MultiLabelReport, Predictions,
};
use textrnn_train::EncodedSplit;

use crate::calibrate::CalibrationMetrics;
use crate::corpus::DataOptions;
use crate::decision::{self, DecisionThreshold};
use crate::run::{self, Run, Which};
use crate::{Recipe, Result};

/// Test-split evaluation saved as `metrics.json` and printed by `train` and `evaluate`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TestMetrics {
    /// What the metrics were computed on (the run's test split, the embedded sample, a file).
    pub data: String,
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
    /// Counts of (true, predicted) classes (single-label runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confusion_matrix: Option<ConfusionMatrix>,
    /// Precision, recall, F1 and support per class, with macro and weighted averages
    /// (single-label runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification_report: Option<ClassificationReport>,
    /// Multi-label runs: subset accuracy, Hamming loss, micro and macro precision/recall/F1 and
    /// the per-label rows (with each label's threshold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_label: Option<MultiLabelReport>,
    /// NLL, expected calibration error and reliability bins before (and, for a calibrated run,
    /// after) calibration; set by [`evaluate`] and [`evaluate_file`], absent from the training
    /// record `metrics.json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationMetrics>,
}

/// Computes every test metric from saved probabilities and labels (`data` left empty for the
/// caller to say what they are).
pub fn compute_metrics(
    preds: &Predictions,
    threshold: Option<DecisionThreshold>,
) -> Result<TestMetrics> {
    if preds.multi_label {
        let default = vec![DecisionThreshold::DEFAULT.value; preds.n_classes];
        return compute_multi_label_metrics(preds, &default);
    }
    let c = preds.n_classes;
    let threshold = decision::effective(c, threshold);
    let predicted = preds.decide(threshold.map(|t| t.value));
    let names = &preds.class_names;
    let report = classification_report(&preds.labels, &predicted, names)?.with_digits(4);
    let cm = confusion_matrix(&preds.labels, &predicted, names)?;
    let loss = log_loss(&preds.probs, c, &preds.labels)?;
    let auc = if c == 2 {
        let scores = preds.column(1);
        let positive: Vec<bool> = preds.labels.iter().map(|&l| l == 1).collect();
        roc_auc_binary(&scores, &positive).ok()
    } else {
        roc_auc_ovr(&preds.probs, c, &preds.labels)
            .ok()
            .map(|a| a.macro_auc)
    };
    Ok(TestMetrics {
        data: String::new(),
        n: preds.labels.len(),
        loss,
        accuracy: report.accuracy,
        auc,
        threshold,
        class_names: names.clone(),
        confusion_matrix: Some(cm),
        classification_report: Some(report),
        multi_label: None,
        calibration: None,
    })
}

/// The test metrics of multi-label predictions (with targets) when label `j` is predicted at
/// `p_j >= thresholds[j]`: the [`MultiLabelReport`]; `loss` is the binary cross-entropy averaged
/// over every (example, label) pair (Keras' multi-label loss), `accuracy` the subset accuracy
/// (the predicted set equals the true set), `auc` the mean of the per-label ROC AUCs.
pub fn compute_multi_label_metrics(preds: &Predictions, thresholds: &[f64]) -> Result<TestMetrics> {
    let report = multilabel_report(preds, thresholds)?;
    // Every (example, label) pair as one binary example [1 - p, p] with its 0/1 target.
    let pairs: Vec<f32> = preds.probs.iter().flat_map(|&p| [1.0 - p, p]).collect();
    let targets: Vec<u32> = preds.targets.iter().map(|&t| u32::from(t)).collect();
    let loss = log_loss(&pairs, 2, &targets)?;
    Ok(TestMetrics {
        data: String::new(),
        n: report.n,
        loss,
        accuracy: report.subset_accuracy,
        auc: report.macro_roc_auc(),
        threshold: None,
        class_names: preds.class_names.clone(),
        confusion_matrix: None,
        classification_report: None,
        multi_label: Some(report),
        calibration: None,
    })
}

/// A run's metrics for `preds`: at its per-label thresholds for a multi-label run, else at
/// `threshold`.
pub(crate) fn run_metrics(
    run: &Run,
    preds: &Predictions,
    threshold: Option<DecisionThreshold>,
) -> Result<TestMetrics> {
    if run.multi_label() {
        compute_multi_label_metrics(preds, &run.label_thresholds()?)
    } else {
        compute_metrics(preds, threshold)
    }
}

/// Re-evaluates the run on its recipe's test split (re-created from the corpus), at
/// `threshold` for a binary run (checked to lie in [0, 1]; an error for a multi-class run),
/// else the run's own (`threshold.json` if present, else 0.5).
pub fn evaluate(run: &Run, data: &DataOptions, threshold: Option<f64>) -> Result<TestMetrics> {
    let threshold = run.decision_threshold(threshold)?;
    let split = run.split(data, Which::Test)?;
    let mut metrics = evaluate_split(run, &split.encoded, threshold, data.progress)?;
    metrics.data = test_data_label(run.config().recipe());
    Ok(metrics)
}

/// The run's metrics on an encoded split at its calibration (if any), with the calibration
/// metrics before and after; the model runs once (its logits give both).
fn evaluate_split(
    run: &Run,
    split: &EncodedSplit,
    threshold: Option<DecisionThreshold>,
    progress: bool,
) -> Result<TestMetrics> {
    let logits = run.split_logits(split, progress)?;
    let (preds, calibration) = crate::calibrate::split_metrics(run, &logits, split)?;
    let mut metrics = run_metrics(run, &preds, threshold)?;
    metrics.calibration = Some(calibration);
    Ok(metrics)
}

/// Evaluates the run on any labelled file (CSV, TSV, JSON Lines, Parquet), with the same
/// metrics as [`evaluate`]. Labels the run does not know are one error naming them.
pub fn evaluate_file(
    run: &Run,
    path: &Path,
    spec: &TableSpec,
    threshold: Option<f64>,
    progress: bool,
) -> Result<TestMetrics> {
    let threshold = run.decision_threshold(threshold)?;
    let data = textrnn_data::load_labelled_file(path, spec, run.class_names())?;
    let split = run.encode(data)?;
    let mut metrics = evaluate_split(run, &split.encoded, threshold, progress)?;
    metrics.data = format!("file {}", path.display());
    Ok(metrics)
}

/// What a run's test metrics are computed on, as printed and saved with them.
pub(crate) fn test_data_label(recipe: &Recipe) -> String {
    match &recipe.data {
        DataConfig::ImdbSample => {
            "SAMPLE: the embedded IMDB sample's test reviews, not the full IMDB test set".into()
        }
        DataConfig::Imdb { .. } => "IMDB test split".into(),
        DataConfig::AgNews { .. } => "AG News test split".into(),
        other => match other.user_files() {
            Some(UserFiles {
                test: Some(test), ..
            }) => format!("test file {}", test.display()),
            Some(files) => format!("test split held out from {}", files.train.display()),
            None => "test split".into(),
        },
    }
}

/// Test labels and probabilities: from `test_predictions.json` when `saved_ok` and the file
/// exists, else by re-creating the test split and running the model.
pub(crate) fn test_predictions(
    run: &Run,
    data: &DataOptions,
    saved_ok: bool,
) -> Result<Predictions> {
    if saved_ok {
        if let Some(path) = crate::integrity::regular_file(run.dir(), run::TEST_PREDICTIONS)? {
            return crate::integrity::read_test_predictions(
                &path,
                run.class_names(),
                run.n_classes(),
            );
        }
    }
    let split = run.split(data, Which::Test)?;
    run.predict_split(&split.encoded, data.progress)
}

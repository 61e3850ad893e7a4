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
//! The same function serves `train` (right after fitting) and `evaluate RUN_DIR`, so both
//! print identical numbers.
//!
//! ```no_run
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let m = textrnn::evaluate(&run, &textrnn::DataOptions::default(), None)?;
//! println!("{}\n{}", m.classification_report, m.confusion_matrix);
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::path::Path;

use serde::Serialize;
use textrnn_data::table::TableSpec;
use textrnn_data::{DataConfig, UserFiles};
use textrnn_eval::{
    classification_report, confusion_matrix, log_loss, roc_auc_binary, roc_auc_ovr,
    ClassificationReport, ConfusionMatrix, Predictions,
};

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
    /// Counts of (true, predicted) classes.
    pub confusion_matrix: ConfusionMatrix,
    /// Precision, recall, F1 and support per class, with macro and weighted averages.
    pub classification_report: ClassificationReport,
}

/// Computes every test metric from saved probabilities and labels (`data` left empty for the
/// caller to say what they are).
pub fn compute_metrics(
    preds: &Predictions,
    threshold: Option<DecisionThreshold>,
) -> Result<TestMetrics> {
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
        confusion_matrix: cm,
        classification_report: report,
    })
}

/// Re-evaluates the run on its recipe's test split (re-created from the corpus), at
/// `threshold` for a binary run (checked to lie in [0, 1]; an error for a multi-class run),
/// else the run's own (`threshold.json` if present, else 0.5).
pub fn evaluate(run: &Run, data: &DataOptions, threshold: Option<f64>) -> Result<TestMetrics> {
    let threshold = run.decision_threshold(threshold)?;
    let preds = test_predictions(run, data, false)?;
    let mut metrics = compute_metrics(&preds, threshold)?;
    metrics.data = test_data_label(run.config().recipe());
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
    let preds = run.predict_split(&split.encoded, progress)?;
    let mut metrics = compute_metrics(&preds, threshold)?;
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

//! Evaluation of text classifiers from their predictions: metrics reports, ROC and
//! precision-recall curves, threshold tuning, LIME explanations, plots and the HTML run report.
//!
//! Inputs are plain data, independent of any model or tensor library: probabilities as a
//! row-major `N x C` slice (or a [`Predictions`]), labels as class indices, binary scores as
//! `&[f32]` with `&[bool]` targets. The numbers follow scikit-learn's definitions (named in each
//! file). Every function fails with the one [`Error`] type.
//!
//! * Predictions and decisions: [`Predictions`] (probabilities with labels and class names,
//!   the layout of a run's `test_predictions.json`), [`argmax`], [`argmax_labels`] and the one
//!   decision rule [`Predictions::decide`] (`p >= threshold` for a binary model, else arg-max).
//! * Metrics: [`classification_report`], [`confusion_matrix`], [`log_loss`], [`roc_auc`],
//!   [`roc_auc_binary`], [`roc_auc_ovr`], [`average_precision`].
//! * Curves: [`roc_curve`], [`roc_curves`], [`precision_recall_curve`],
//!   [`precision_recall_curves`].
//! * Calibration: temperature scaling ([`fit_temperature`] on [`LabelledLogits`]), the
//!   expected calibration error and reliability bins ([`reliability`], [`ECE_BINS`]).
//! * Binary threshold tuning: [`tune_threshold`] with an [`Objective`], [`predict_with_threshold`].
//! * Multi-label (independent per-label probabilities, multi-hot targets): the decision rule
//!   [`Predictions::decide_labels`], [`multilabel_report`] (subset accuracy, Hamming loss, micro
//!   and macro precision/recall/F1, per-label rows with ROC AUC) and per-label thresholds
//!   [`tune_label_thresholds`].
//! * Explanations: [`LimeTextExplainer`] over any prediction closure, its [`Explanation`] (text
//!   and HTML), the weighted [`ridge_fit`] behind it.
//! * With the default `render` feature (plotters, PNG, base64 and an embedded font): the figures
//!   (`history_plot`, `confusion_heatmap`, `roc_plot`, `pr_plot`, `reliability_plot` and their `*_figure` in-memory
//!   versions) and the self-contained HTML report (`write_report`). A crate that only needs the
//!   metrics depends on this one with `default-features = false`.
//!
//! Files are written atomically through `textrnn_fs`.
//!
//! ```
//! use textrnn_eval::{classification_report, confusion_matrix, log_loss, Predictions};
//! let names: Vec<String> = ["neg", "pos"].map(String::from).to_vec();
//! let preds = Predictions::new(vec![0.9, 0.1, 0.3, 0.7, 0.6, 0.4], 2)
//!     .with_labels(vec![0, 1, 1], names.clone());
//! let pred = preds.decide(Some(0.5));
//! let report = classification_report(&preds.labels, &pred, &names).unwrap().with_digits(4);
//! let cm = confusion_matrix(&preds.labels, &pred, &names).unwrap();
//! assert_eq!(cm.counts, vec![vec![1, 0], vec![1, 1]]);
//! assert!(log_loss(&preds.probs, 2, &preds.labels).unwrap() > 0.0);
//! print!("{report}\n{cm}");
//! ```
#![warn(missing_docs)]

mod calibration;
mod classification_report;
mod confusion_matrix;
mod error;
mod explain;
mod log_loss;
mod multilabel;
#[cfg(feature = "render")]
mod plot;
mod precision_recall;
mod predictions;
#[cfg(feature = "render")]
mod report;
mod roc;
mod threshold;

pub use calibration::{
    expected_calibration_error, fit_temperature, negative_log_likelihood, reliability,
    LabelledLogits, Reliability, ReliabilityBin, ReliabilityKind, TemperatureFit, ECE_BINS,
};
pub use classification_report::{
    classification_report, AverageScores, ClassScores, ClassificationReport,
};
pub use confusion_matrix::{confusion_matrix, ConfusionMatrix};
pub use error::{BoxError, Error, PredictResult, Result};
pub use explain::{ridge_fit, Explanation, LimeConfig, LimeTextExplainer, RidgeFit, WordWeight};
pub use log_loss::{log_loss, LOG_LOSS_EPS};
pub use multilabel::{multilabel_report, tune_label_thresholds, LabelRow, MultiLabelReport, Prf};
#[cfg(feature = "render")]
pub use plot::{
    confusion_figure, confusion_heatmap, history_figure, history_plot, pr_figure, pr_plot,
    reliability_figure, reliability_plot, roc_figure, roc_plot, Figure,
};
pub use precision_recall::{
    average_precision, precision_recall_curve, precision_recall_curves, PrCurve,
};
pub use predictions::{argmax, argmax_labels, Predictions};
#[cfg(feature = "render")]
pub use report::{render_html, write_report, ExplainedExample, RunReport};
pub use roc::{
    roc_auc, roc_auc_binary, roc_auc_macro, roc_auc_ovr, roc_curve, roc_curves, NamedCurve, OvrAuc,
    RocCurve,
};
pub use threshold::{predict_with_threshold, tune_threshold, Objective, ThresholdChoice};

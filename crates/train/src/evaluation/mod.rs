//! Evaluation of a classifier's predictions: classification report, confusion matrix, ROC and
//! precision-recall curves, ROC AUC, log loss and binary threshold tuning.
//!
//! Inputs are plain data, independent of models: probabilities as a row-major `N x C` slice,
//! labels as class indices, binary scores as `&[f32]` with `&[bool]` targets. The numbers follow
//! scikit-learn's definitions (named in each file).
//!
//! ```
//! use textrnn_train::evaluation::{argmax_labels, classification_report, confusion_matrix, log_loss};
//! let names: Vec<String> = ["neg", "pos"].map(String::from).to_vec();
//! let probs = [0.9, 0.1, 0.3, 0.7, 0.6, 0.4];
//! let labels = [0, 1, 1];
//! let pred = argmax_labels(&probs, 2).unwrap();
//! let report = classification_report(&labels, &pred, &names).unwrap().with_digits(4);
//! let cm = confusion_matrix(&labels, &pred, &names).unwrap();
//! assert_eq!(cm.counts, vec![vec![1, 0], vec![1, 1]]);
//! assert!(log_loss(&probs, 2, &labels).unwrap() > 0.0);
//! print!("{report}\n{cm}");
//! ```

mod classification_report;
mod confusion_matrix;
mod error;
mod log_loss;
mod precision_recall;
mod predictions;
mod roc;
mod threshold;

pub use classification_report::{
    classification_report, AverageScores, ClassScores, ClassificationReport,
};
pub use confusion_matrix::{confusion_matrix, ConfusionMatrix};
pub use error::{EvalError, Result};
pub use log_loss::{log_loss, LOG_LOSS_EPS};
pub use precision_recall::{
    average_precision, precision_recall_curve, precision_recall_curves, PrCurve,
};
pub use predictions::argmax_labels;
pub use roc::{roc_auc_binary, roc_auc_ovr, roc_curve, roc_curves, NamedCurve, OvrAuc, RocCurve};
pub use threshold::{predict_with_threshold, tune_threshold, Objective, ThresholdChoice};

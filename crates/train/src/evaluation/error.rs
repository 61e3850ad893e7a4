//! Errors of the evaluation functions.
//!
//! Every variant names the offending argument so a caller can tell which input was wrong.
//!
//! ```
//! use textrnn_train::evaluation::{confusion_matrix, EvalError};
//! let err = confusion_matrix(&[0, 1], &[0], &["a".into(), "b".into()]).unwrap_err();
//! assert!(matches!(err, EvalError::LengthMismatch { .. }));
//! ```

/// Why an evaluation could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EvalError {
    /// Two inputs that must describe the same samples have different lengths.
    #[error("{what}: expected {expected} values, got {got}")]
    LengthMismatch {
        /// Which argument is wrong.
        what: &'static str,
        /// Length implied by the other inputs.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// No samples at all.
    #[error("no samples to evaluate")]
    Empty,
    /// A label is not a valid class index.
    #[error("label {label} at sample {index} is out of range for {n_classes} classes")]
    LabelOutOfRange {
        /// Sample index.
        index: usize,
        /// The label found.
        label: u32,
        /// Number of classes.
        n_classes: usize,
    },
    /// A score or probability is NaN or infinite.
    #[error("score at position {index} is not finite ({value})")]
    NonFinite {
        /// Position in the flat input.
        index: usize,
        /// The value found.
        value: f32,
    },
    /// A curve or AUC needs both positive and negative samples.
    #[error("{what} needs both classes in the labels, but only {present} samples are present")]
    SingleClass {
        /// Which quantity was asked for.
        what: &'static str,
        /// `"positive"` or `"negative"`: the class that is present.
        present: &'static str,
    },
    /// No class had both positive and negative samples for a one-vs-rest average.
    #[error("one-vs-rest ROC AUC is undefined: no class has both positive and negative samples")]
    NoScorableClass,
    /// A parameter is outside its domain.
    #[error("invalid {what}: {value} (expected {expected})")]
    InvalidParameter {
        /// Parameter name.
        what: &'static str,
        /// The value given.
        value: f64,
        /// Description of the valid range.
        expected: &'static str,
    },
    /// No threshold satisfies the requested constraint.
    #[error("no threshold reaches {constraint} (the best achievable is {best:.4})")]
    ThresholdUnreachable {
        /// The constraint, e.g. `precision >= 0.95`.
        constraint: String,
        /// The best value of the constrained quantity over all thresholds.
        best: f64,
    },
}

/// Result of the evaluation functions.
pub type Result<T> = std::result::Result<T, EvalError>;

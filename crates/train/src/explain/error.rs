//! Errors of the LIME explainer.
//!
//! ```
//! use textrnn_train::explain::{ExplainError, LimeConfig, LimeTextExplainer};
//! let explainer = LimeTextExplainer::new(LimeConfig::default());
//! let mut predict = |texts: &[String]| -> Result<Vec<Vec<f32>>, textrnn_train::explain::BoxError> {
//!     Ok(texts.iter().map(|_| vec![0.5, 0.5]).collect())
//! };
//! let err = explainer.explain("", &mut predict, None).unwrap_err();
//! assert!(matches!(err, ExplainError::EmptyText));
//! ```

/// Error type a prediction closure may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a prediction closure returns: one probability row per input text.
pub type PredictResult = std::result::Result<Vec<Vec<f32>>, BoxError>;

/// Why an explanation could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The text is empty or only whitespace.
    #[error("cannot explain an empty text")]
    EmptyText,
    /// The text has no word characters, so there is no feature to remove.
    #[error("the text has no words to explain (only separators): {0:?}")]
    NoWords(String),
    /// The requested label is not one of the model's classes.
    #[error("label {label} is out of range: the model predicts {n_classes} classes")]
    LabelOutOfRange {
        /// Requested label.
        label: usize,
        /// Number of classes the closure returned.
        n_classes: usize,
    },
    /// The prediction closure failed.
    #[error("prediction failed: {0}")]
    Predict(#[source] BoxError),
    /// The prediction closure returned a malformed batch.
    #[error("prediction closure returned {got} for a batch where {expected} was expected")]
    BadPrediction {
        /// What was expected, e.g. `"12 rows"`.
        expected: String,
        /// What came back.
        got: String,
    },
    /// A configuration value is invalid.
    #[error("invalid LIME configuration: {0}")]
    Config(String),
    /// The regression's normal equations could not be solved.
    #[error("ridge regression failed: the normal equations are not positive definite")]
    Singular,
}

/// Result of the explainer.
pub type Result<T> = std::result::Result<T, ExplainError>;

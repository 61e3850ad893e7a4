//! The one error type of the crate: evaluation, explanation, plotting and the report.
//!
//! Every variant names the offending argument or step, so a caller can tell which input was
//! wrong.
//!
//! ```
//! use textrnn_eval::{confusion_matrix, Error};
//! let err = confusion_matrix(&[0, 1], &[0], &["a".into(), "b".into()]).unwrap_err();
//! assert!(matches!(err, Error::LengthMismatch { .. }));
//! ```

/// Error type a prediction closure given to the LIME explainer may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a prediction closure returns: one probability row per input text.
pub type PredictResult = std::result::Result<Vec<Vec<f32>>, BoxError>;

/// Why an evaluation, explanation, figure or report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// LIME: the text is empty or only whitespace.
    #[error("cannot explain an empty text")]
    EmptyText,
    /// LIME: the text has no word characters, so there is no feature to remove.
    #[error("the text has no words to explain (only separators): {0:?}")]
    NoWords(String),
    /// LIME: the requested class is not one of the model's classes.
    #[error("label {label} is out of range: the model predicts {n_classes} classes")]
    ClassOutOfRange {
        /// Requested class index.
        label: usize,
        /// Number of classes the prediction closure returned.
        n_classes: usize,
    },
    /// LIME: the prediction closure failed.
    #[error("prediction failed: {0}")]
    Predict(#[source] BoxError),
    /// LIME: the prediction closure returned a malformed batch.
    #[error("prediction closure returned {got} for a batch where {expected} was expected")]
    BadPrediction {
        /// What was expected, e.g. `"12 rows"`.
        expected: String,
        /// What came back.
        got: String,
    },
    /// LIME or its ridge regression: a setting or an input shape is invalid.
    #[error("invalid LIME configuration: {0}")]
    LimeSettings(String),
    /// LIME: the ridge regression's normal equations could not be solved.
    #[error("ridge regression failed: the normal equations are not positive definite")]
    Singular,
    /// An operation for one kind of predictions (single-label or multi-label) got the other.
    #[error("{what} works on {expected} predictions only")]
    WrongKind {
        /// The operation asked for.
        what: &'static str,
        /// `"single-label"` or `"multi-label"`: the kind it needs.
        expected: &'static str,
    },
    /// The predictions carry no true labels (multi-label `targets`).
    #[error("{what} needs the true labels, but the predictions are unlabelled")]
    Unlabelled {
        /// The operation asked for.
        what: &'static str,
    },
    /// A multi-label target is neither 0 nor 1.
    #[error("target of example {example}, label {label} is {value} (expected 0 or 1)")]
    InvalidTarget {
        /// Example index.
        example: usize,
        /// Label index.
        label: usize,
        /// The value found.
        value: u8,
    },
    /// A per-label step of a multi-label evaluation failed for one label.
    #[error("label {label:?}: {error}")]
    Label {
        /// Name of the label (or `label <index>` when names are unknown).
        label: String,
        /// What went wrong for it.
        error: Box<Error>,
    },
    /// Temperature scaling has no finite optimum on these logits (one class only, perfectly
    /// separated or uninformative logits).
    #[error("temperature scaling is impossible: {0}")]
    CalibrationDegenerate(String),
    /// A figure has nothing to draw.
    #[error("nothing to plot: {0}")]
    NothingToPlot(String),
    /// plotters or the PNG encoder failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The embedded font could not be loaded.
    #[error("the embedded DejaVu Sans font could not be registered with plotters")]
    Font,
    /// Writing a figure or the report failed.
    #[error(transparent)]
    Write(#[from] textrnn_fs::Error),
}

/// Result of every function of the crate.
pub type Result<T> = std::result::Result<T, Error>;

//! The error type of `textrnn-train`.
//!
//! Every fallible function of the crate returns [`Result<T>`]. Messages name the file, field or
//! shape involved so that a failed run can be diagnosed from the message alone.
//!
//! ```
//! use textrnn_train::Error;
//! let err = Error::InvalidConfig { field: "batch_size".into(), reason: "must be at least 1".into() };
//! assert_eq!(err.to_string(), "invalid training config `batch_size`: must be at least 1");
//! ```

/// Everything that can go wrong while training, evaluating or saving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// Writing a file (history, checkpoint) failed.
    #[error(transparent)]
    Fs(#[from] textrnn_fs::Error),
    /// A configuration value is out of range or inconsistent.
    #[error("invalid training config `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field (Keras name).
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Data or tensors do not have the expected shape.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A label is outside `0..n_classes`.
    #[error("label {label} at row {row} is out of range for {n_classes} classes")]
    Label {
        /// Row of the offending example.
        row: usize,
        /// The label found.
        label: u32,
        /// Number of classes of the model output.
        n_classes: usize,
    },
    /// Serialising history or metrics failed.
    #[error("serialization of {what} failed: {reason}")]
    Serialize {
        /// What was being serialised.
        what: String,
        /// The underlying message.
        reason: String,
    },
    /// The loss became NaN or infinite.
    #[error("loss is not finite ({value}) at epoch {epoch}, batch {batch}")]
    NonFiniteLoss {
        /// Epoch (0-based).
        epoch: usize,
        /// Batch within the epoch (0-based).
        batch: usize,
        /// The value observed.
        value: f64,
    },
    /// A training checkpoint cannot be written, read or resumed from (wrong file, another
    /// config or seed, another model or data, a newer format).
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A callback failed for its own reason.
    #[error("callback `{callback}` failed: {reason}")]
    Callback {
        /// Name of the callback.
        callback: String,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// An [`Error::InvalidConfig`] for `field`.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl Error {
    /// An [`Error::Checkpoint`] about the file at `path`.
    pub fn checkpoint(path: &std::path::Path, reason: impl Into<String>) -> Self {
        Error::Checkpoint {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// `std::result::Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

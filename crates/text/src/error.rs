//! The crate's error type.
//!
//! Every variant names what failed: the file for I/O and JSON errors, the field for an invalid
//! configuration.
//!
//! ```
//! use textrnn_text::{pad_sequences, Error, Padding, Truncating};
//!
//! let err = pad_sequences(&[vec![1, 2]], 0, Padding::Pre, Truncating::Pre, 0).unwrap_err();
//! assert!(matches!(err, Error::InvalidConfig { ref field, .. } if field == "maxlen"));
//! ```

use std::path::PathBuf;

/// Errors of `textrnn-text`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing a file into place failed (the message names the file and the step).
    #[error(transparent)]
    Write(#[from] textrnn_fs::Error),
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid JSON or does not have the expected shape.
    #[error("invalid JSON in {path}: {source}")]
    Json {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A file is valid JSON but not a tokenizer this crate wrote (or it is inconsistent).
    #[error("{path} is not a textrnn tokenizer file: {reason}")]
    Format {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The Hugging Face `tokenizers` crate reported an error.
    #[error("tokenizers: {context}: {source}")]
    Tokenizers {
        /// What we were doing.
        context: String,
        /// The underlying error.
        #[source]
        source: tokenizers::Error,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid config field `{field}`: {reason}")]
    InvalidConfig {
        /// The field (Keras name) that is wrong.
        field: String,
        /// Why it is wrong.
        reason: String,
    },
    /// Serializing an exported tokenizer or its cleaning description failed.
    #[error("serializing {what}: {source}")]
    Serialize {
        /// What was being serialized.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A word-vectors file is malformed or does not fit the embedding (see [`crate::vectors`]).
    #[error("{path}, {at}: {reason}")]
    Vectors {
        /// The vectors file.
        path: PathBuf,
        /// Where: `line N` (text formats) or `byte N` (word2vec binary).
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// A regular expression failed to compile.
    #[error("invalid regular expression: {0}")]
    Regex(#[from] regex::Error),
}

impl Error {
    /// Shorthand for [`Error::InvalidConfig`].
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

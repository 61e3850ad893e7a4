//! The error type of `textrnn-models`.
//!
//! Every variant names what went wrong and where: the spec layer (`"layer 2 (lstm)"`), the
//! weights file, the tensor key.
//!
//! ```
//! use textrnn_models::Error;
//! let e = Error::InvalidSpec { layer: "layer 0 (dense)".into(), reason: "the first layer must be an embedding".into() };
//! assert!(e.to_string().contains("layer 0 (dense)"));
//! ```

use std::path::PathBuf;

/// Errors raised while validating specs, building models, and loading or saving weights.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// Reading or writing a file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// Publishing the saved weights file failed (temporary file, flush, rename); names the file.
    #[error("cannot save the model weights: {0}")]
    Save(#[from] textrnn_fs::Error),

    /// A safetensors file could not be parsed (truncated, corrupt, unsupported dtype).
    #[error("invalid safetensors file {path}: {reason}")]
    Safetensors {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The model spec is not valid.
    #[error("invalid model spec at {layer}: {reason}")]
    InvalidSpec {
        /// The layer, as `"layer <index> (<type>)"`, or `"model"` for whole-model problems.
        layer: String,
        /// Why it is invalid.
        reason: String,
    },

    /// A weights file lacks a tensor the model needs.
    #[error("weights file {path} has no tensor named `{name}`")]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// The missing key.
        name: String,
    },

    /// A tensor in a weights file has a shape other than the model expects.
    #[error("tensor `{name}` in {path} has shape {found:?}, the model expects {expected:?}")]
    ShapeMismatch {
        /// The weights file.
        path: PathBuf,
        /// The tensor key.
        name: String,
        /// The shape the spec declares.
        expected: Vec<usize>,
        /// The shape found in the file.
        found: Vec<usize>,
    },

    /// A model does not fit in memory, or its sizes overflow a 64-bit count.
    #[error("not enough memory: {reason}")]
    Memory {
        /// What needs how much, and what is available.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::InvalidSpec`] for layer `index` of type `kind`.
    pub(crate) fn spec(index: usize, kind: &str, reason: impl Into<String>) -> Self {
        Error::InvalidSpec {
            layer: format!("layer {index} ({kind})"),
            reason: reason.into(),
        }
    }
}

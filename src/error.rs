//! The facade's error type: wraps each crate's error and names files and fields.

use std::path::{Path, PathBuf};

/// Errors of the end-to-end pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON file could not be read or written.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A recipe file could not be parsed (unknown key, wrong type, ...).
    #[error("recipe {path}: {message}")]
    Recipe {
        /// The recipe file (or built-in name).
        path: String,
        /// What is wrong, as the TOML parser reports it.
        message: String,
    },
    /// A setting has a value that cannot work.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The recipe field or command-line option.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A run directory is missing a file or holds a broken one.
    #[error("run directory {dir}: {reason}")]
    Run {
        /// The run directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Training was stopped by Ctrl-C or SIGTERM; the run keeps a checkpoint to resume from.
    #[error("training interrupted in epoch {epoch} after {step} batches; the checkpoint is saved: resume with `textrnn train --resume {}`", dir.display())]
    Interrupted {
        /// The run directory.
        dir: PathBuf,
        /// The epoch in progress (1-based).
        epoch: usize,
        /// Batches of that epoch done.
        step: usize,
    },
    /// From the data crate.
    #[error(transparent)]
    Data(#[from] textrnn_data::Error),
    /// From the text crate.
    #[error(transparent)]
    Text(#[from] textrnn_text::Error),
    /// From the models crate.
    #[error(transparent)]
    Models(#[from] textrnn_models::Error),
    /// From the train crate.
    #[error(transparent)]
    Train(#[from] textrnn_train::Error),
    /// From evaluation, threshold tuning, LIME, the plots or the HTML report.
    #[error(transparent)]
    Eval(#[from] textrnn_eval::Error),
    /// Writing a file atomically failed.
    #[error(transparent)]
    Fs(#[from] textrnn_fs::Error),
    /// From candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// Result alias of the facade.
pub type Result<T> = std::result::Result<T, Error>;

//! The serve crate's error type: what stops the server from starting or running. Errors of one
//! request are answered to that request (`api::ApiError`), never returned here.

use std::path::PathBuf;

/// Errors of starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A run directory could not be opened (the message names the directory and the file).
    #[error(transparent)]
    Run(#[from] textrnn::Error),
    /// No model name can be taken from a run directory's path.
    #[error("run directory {}: its path has no last component to name the model after; give --name NAME", dir.display())]
    Unnamed {
        /// The run directory as given.
        dir: PathBuf,
    },
    /// Two runs would be served under one name.
    #[error("two runs are both named `{name}`: {} and {}; serve one of them, or copy one to a directory of another name", first.display(), second.display())]
    DuplicateName {
        /// The model name.
        name: String,
        /// The first run directory with that name.
        first: PathBuf,
        /// The second one.
        second: PathBuf,
    },
    /// An option has a value that cannot work.
    #[error("invalid {option}: {reason}")]
    Invalid {
        /// The option (`--max-batch`, ...).
        option: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Serving failed (accepting connections, spawning the inference threads, ...).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn invalid(option: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            option,
            reason: reason.into(),
        }
    }
}

/// Result alias of the serve crate.
pub type Result<T> = std::result::Result<T, Error>;

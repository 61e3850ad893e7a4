//! Atomic JSON writes for run files, on top of [`textrnn_train::atomic_write`] (temporary file
//! beside the target, then rename), so an interrupted run never leaves a half-written file.

use std::path::Path;

use crate::{Error, Result};

/// Serialises `value` as pretty JSON and writes it atomically.
pub(crate) fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(textrnn_train::atomic_write(path, text.as_bytes())?)
}

//! Atomic file writes: write `path.tmp-<pid>` next to the target, then `rename` over it.
//!
//! A reader never sees a half-written file; a crash leaves at most a stray temporary file.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("history.csv");
//! textrnn_train::atomic_write(&path, b"epoch,loss\n").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"epoch,loss\n");
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The temporary sibling `path.tmp-<pid>` used while writing `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` atomically (temporary file + rename).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write_with(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| Error::io(tmp, e))
    })
}

/// Lets `write` produce the temporary file, then renames it over `path`.
///
/// The temporary file is removed when `write` fails.
pub fn atomic_write_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let tmp = temp_path(path);
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

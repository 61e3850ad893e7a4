//! Atomic file writes: write `<path>.tmp-<pid>` next to the target, flush it, then `rename`.
//!
//! A reader therefore sees either the old file or the complete new one, never a torn write.
//! (Crate-internal; used by [`crate::KerasTokenizer::save`].)

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically (temporary sibling file, then rename).
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = written {
        // Best effort: the temporary file may not exist if `create` failed.
        let _ = std::fs::remove_file(&tmp);
        return Err(io(source));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        atomic_write(&path, b"one").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope").join("a.json");
        let err = atomic_write(&path, b"x").unwrap_err();
        assert!(err.to_string().contains("a.json"), "{err}");
    }
}

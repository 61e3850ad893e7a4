//! Crash-safe file writes for every textrnn crate: one helper, used everywhere a file is written.
//!
//! [`write`] and [`write_with`] create a temporary file in the target's directory (so the final
//! rename never crosses a file system), let the caller fill it, flush it to disk (`fsync`), give
//! it mode 0644 on Unix (like a file made with `std::fs::write` under the usual umask, instead of
//! the temporary file's 0600), rename it over the target and finally `fsync` the directory so
//! the rename itself survives a crash. A reader sees either the old file or the complete new
//! one, never a mix; a failure removes the temporary file and leaves the old file as it was.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("history.csv");
//! textrnn_fs::write(&path, b"epoch,loss\n").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"epoch,loss\n");
//! ```
#![warn(missing_docs)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A failed file operation, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct Error {
    /// What was being done ("write", "create the directory of", ...).
    pub action: &'static str,
    /// The file or directory concerned.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

impl Error {
    fn new(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes `bytes` to `path` atomically (see the crate docs); creates missing parent directories.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_with(path, |tmp: &Path| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| Error::new("write", path, e))?;
        file.write_all(bytes)
            .map_err(|e| Error::new("write", path, e))
    })
}

/// Lets `fill` write the content through the temporary file's path, then publishes it at `path`
/// atomically (see the crate docs). For writers that only take a path (safetensors, image
/// encoders, streamed downloads). `fill` may truncate or recreate the file at that path; the
/// temporary file is removed when `fill` or any later step fails. Returns what `fill` returns.
pub fn write_with<T, E: From<Error>>(
    path: &Path,
    fill: impl FnOnce(&Path) -> Result<T, E>,
) -> Result<T, E> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::new("create the directory of", path, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.as_deref().unwrap_or("file")))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::new("create a temporary file for", path, e))?;
    // On any early return `tmp` is dropped, which deletes the temporary file.
    let value = fill(tmp.path())?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(tmp.path())
        .map_err(|e| Error::new("reopen the temporary file for", path, e))?;
    set_mode_0644(&file).map_err(|e| Error::new("set the permissions of", path, e))?;
    file.sync_all()
        .map_err(|e| Error::new("flush to disk", path, e))?;
    drop(file);
    tmp.persist(path)
        .map_err(|e| Error::new("rename into place", path, e.error))?;
    sync_dir(dir).map_err(|e| Error::new("flush the directory of", path, e))?;
    Ok(value)
}

/// Whether `name` is one of [`write_with`]'s temporary files (`.<name>.<random>.tmp`).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp") && name.len() > 5
}

/// Removes the temporary files [`write_with`] left in `dir` (not in its sub-directories) when a
/// process was killed while writing; returns the files removed. A missing `dir` removes nothing.
pub fn remove_temporaries(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::new("list", dir, e)),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::new("list", dir, e))?;
        let name = entry.file_name();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && is_temporary(&name.to_string_lossy()) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::new("remove", &path, e))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(unix)]
fn set_mode_0644(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_mode_0644(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn leftover_temporaries_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("model.safetensors"), b"x").unwrap();
        std::fs::write(dir.path().join(".model.safetensors.a1B2c3.tmp"), b"half").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"user").unwrap();
        std::fs::write(dir.path().join("notes.tmp"), b"user").unwrap();
        let removed = remove_temporaries(dir.path()).unwrap();
        assert_eq!(
            removed,
            vec![dir.path().join(".model.safetensors.a1B2c3.tmp")]
        );
        assert_eq!(
            entries(dir.path()),
            vec![".hidden", "model.safetensors", "notes.tmp"]
        );
        assert!(remove_temporaries(&dir.path().join("absent"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write(&path, b"old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), vec!["a.json".to_string()]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_mode_0644() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        write(&path, b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn a_failing_writer_keeps_the_old_file_and_removes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.txt");
        write(&path, b"kept").unwrap();
        let r: Result<(), Error> = write_with(&path, |tmp| {
            std::fs::write(tmp, b"partial").unwrap();
            Err(Error::new("write", tmp, std::io::Error::other("disk full")))
        });
        let err = r.unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"kept");
        assert_eq!(entries(dir.path()), vec!["b.txt".to_string()]);
    }

    #[test]
    fn creates_missing_parents_and_names_the_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plots/roc.svg");
        write(&path, b"<svg/>").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<svg/>");
        // A directory where the file should go: the rename fails and names the target.
        let blocked = dir.path().join("plots");
        let err = write(&blocked, b"x").unwrap_err();
        assert!(err.to_string().contains("plots"), "{err}");
        assert_eq!(entries(&blocked), vec!["roc.svg".to_string()]);
    }
}

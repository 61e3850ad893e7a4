//! Who owns a run directory and how far its training got: the directory is created atomically
//! and locked for the whole training ([`RunLock`], an OS file lock on `run.lock`), and `run.json`
//! ([`RunStatus`]) says whether the run is `training`, `interrupted`, `failed` or `complete`.
//!
//! An OS lock is released when its process dies, so a `training` status whose lock is free means
//! the training process was killed (`kill -9`, a crash, a power cut): the run is unfinished and
//! can be resumed from its last checkpoint. Runs written before `run.json` existed have none and
//! count as complete.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Subnormals};

pub(crate) const STATUS: &str = "run.json";
pub(crate) const LOCK: &str = "run.lock";

/// How far a run's training got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// A training process is (or was, if it died) writing the run.
    Training,
    /// Stopped by Ctrl-C or SIGTERM after saving a checkpoint; `train --resume` continues it.
    Interrupted,
    /// Training stopped with an error.
    Failed,
    /// Training finished and every artefact was written.
    Complete,
}

impl RunState {
    /// The word used in `run.json` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            RunState::Training => "training",
            RunState::Interrupted => "interrupted",
            RunState::Failed => "failed",
            RunState::Complete => "complete",
        }
    }
}

/// The content of `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunStatus {
    /// Where the training got.
    pub state: RunState,
    /// Epochs completed so far.
    pub epochs_done: usize,
    /// Epochs asked for.
    pub epochs: usize,
    /// The recipe (its `name`).
    pub recipe: String,
    /// The textrnn version that wrote the run.
    pub textrnn_version: String,
    /// Process id of the training process that last wrote this file.
    pub pid: u32,
    /// How that process computed with subnormal floats ([`Subnormals`]); runs written before
    /// this was recorded kept them.
    #[serde(default)]
    pub subnormals: Subnormals,
    /// The error, for a failed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunStatus {
    /// A run starting to train.
    pub(crate) fn training(recipe: &str, epochs: usize) -> Self {
        Self {
            state: RunState::Training,
            epochs_done: 0,
            epochs,
            recipe: recipe.to_string(),
            textrnn_version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            subnormals: Subnormals::current(),
            error: None,
        }
    }

    /// Writes `run.json` atomically.
    pub(crate) fn save(&self, dir: &Path) -> Result<()> {
        crate::run::write_json(&dir.join(STATUS), self)
    }

    /// Reads `run.json`; `None` when the run has none (written before it existed).
    pub(crate) fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(STATUS);
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
            Ok(m) if !m.is_file() => Err(Error::Run {
                dir: dir.to_path_buf(),
                reason: format!("{STATUS} is not a regular file"),
            }),
            Ok(_) => crate::run::read_json(&path).map(Some),
        }
    }
}

/// The exclusive lock of a run directory, held while training writes it (released on drop or
/// when the process dies).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock of `dir`, or says who holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::Run {
                dir: dir.to_path_buf(),
                reason: format!(
                    "another textrnn process{} is training into this directory; wait for it, or choose another --out",
                    RunStatus::load(dir)
                        .ok()
                        .flatten()
                        .map(|s| format!(" (pid {})", s.pid))
                        .unwrap_or_default()
                ),
            }),
            Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    /// Whether a training process holds the lock of `dir` now.
    pub(crate) fn is_held(dir: &Path) -> bool {
        let Ok(file) = File::open(dir.join(LOCK)) else {
            return false;
        };
        matches!(file.try_lock(), Err(TryLockError::WouldBlock))
    }
}

/// What an unfinished run looks like to a command that wants to use it, or `None` when it is
/// complete (or predates `run.json`).
pub(crate) fn unfinished(dir: &Path) -> Result<Option<String>> {
    let Some(status) = RunStatus::load(dir)? else {
        return Ok(None);
    };
    let resume = format!("textrnn train --resume {}", dir.display());
    Ok(match status.state {
        RunState::Complete => None,
        RunState::Training if RunLock::is_held(dir) => Some(format!(
            "is still training (pid {}, {} of {} epochs done); wait for it to finish",
            status.pid, status.epochs_done, status.epochs
        )),
        RunState::Training => Some(format!(
            "is unfinished: its training process (pid {}) ended without finishing ({} of {} epochs done; killed?); resume it with `{resume}`",
            status.pid, status.epochs_done, status.epochs
        )),
        RunState::Interrupted => Some(format!(
            "was interrupted after {} of {} epochs; resume it with `{resume}`",
            status.epochs_done, status.epochs
        )),
        RunState::Failed => Some(format!(
            "failed after {} of {} epochs ({}); resume it with `{resume}` or train it again",
            status.epochs_done,
            status.epochs,
            status.error.as_deref().unwrap_or("no error recorded")
        )),
    })
}

/// Whether `name` can name a run directory under `runs/`: a plain file name (no path
/// separator, not empty, `.` or `..`, no leading dot, no control characters).
pub(crate) fn check_run_name(name: &str) -> Result<()> {
    let bad = if name.is_empty() {
        Some("is empty")
    } else if name.contains(['/', '\\']) {
        Some("contains a path separator")
    } else if name.starts_with('.') {
        Some("starts with a dot")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else if name.len() > 100 {
        Some("is longer than 100 bytes")
    } else {
        None
    };
    match bad {
        Some(why) => Err(Error::invalid(
            "name",
            format!(
                "{name:?} {why}; a recipe name is a plain file name (the run goes to runs/<name>; use --out DIR for another place)"
            ),
        )),
        None => Ok(()),
    }
}

/// Creates and locks the run directory: `out` if given (created if missing; an existing one must
/// be empty), else `runs/<name>`, or `runs/<name>-N` for the first free N. Creation is atomic
/// (`create_dir` fails when the directory exists), so two trainings never share a directory.
pub(crate) fn create_run_dir(out: Option<&Path>, name: &str) -> Result<(PathBuf, RunLock)> {
    match out {
        Some(dir) => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            match std::fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if RunLock::is_held(dir) {
                        // Says who holds it.
                        RunLock::acquire(dir)?;
                    }
                    refuse_unless_empty(dir)?
                }
                Err(e) => return Err(Error::io(dir, e)),
            }
            let lock = RunLock::acquire(dir)?;
            // Another process may have filled the directory between the check and the lock.
            refuse_unless_empty(dir)?;
            Ok((dir.to_path_buf(), lock))
        }
        None => {
            check_run_name(name)?;
            let base = Path::new("runs");
            std::fs::create_dir_all(base).map_err(|e| Error::io(base, e))?;
            for n in 1.. {
                let dir = if n == 1 {
                    base.join(name)
                } else {
                    base.join(format!("{name}-{n}"))
                };
                match std::fs::create_dir(&dir) {
                    Ok(()) => return Ok((dir.clone(), RunLock::acquire(&dir)?)),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(Error::io(&dir, e)),
                }
            }
            unreachable!("the loop returns")
        }
    }
}

/// An existing `--out` directory is used only when it holds nothing (but perhaps our lock file).
fn refuse_unless_empty(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::Run {
            dir: dir.to_path_buf(),
            reason: "exists and is not a directory; choose another --out".into(),
        });
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != LOCK && !textrnn_fs::is_temporary(n))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    names.sort();
    let what = match unfinished(dir)? {
        Some(state) => format!("holds a run that {state}"),
        None if names
            .iter()
            .any(|n| n == STATUS || n == "model.safetensors") =>
        {
            "already holds a trained run".to_string()
        }
        None => {
            let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
            format!(
                "is not empty ({}{}); textrnn does not write into a folder it did not create",
                shown.join(", "),
                if names.len() > 5 { ", ..." } else { "" }
            )
        }
    };
    Err(Error::Run {
        dir: dir.to_path_buf(),
        reason: format!("{what}; choose another --out"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_are_plain_file_names() {
        for ok in ["imdb-bigru", "my_run.v2", "données"] {
            check_run_name(ok).unwrap();
        }
        for bad in [
            "", ".", "..", "../../x", "/tmp/x", "a/b", "a\\b", ".hidden", "a\nb",
        ] {
            let e = check_run_name(bad).unwrap_err().to_string();
            assert!(e.contains("plain file name"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn an_out_directory_is_used_only_when_empty_and_not_locked() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let (dir, lock) = create_run_dir(Some(&out), "x").unwrap();
        assert_eq!(dir, out);
        // A second training into the same directory is refused while the first holds it.
        let e = create_run_dir(Some(&out), "x").unwrap_err().to_string();
        assert!(e.contains("another textrnn process"), "{e}");
        drop(lock);
        // A user's folder is never written into.
        let mine = tmp.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(mine.join("config.json"), "{}").unwrap();
        let e = create_run_dir(Some(&mine), "x").unwrap_err().to_string();
        assert!(e.contains("is not empty (config.json)"), "{e}");
        assert_eq!(
            std::fs::read_to_string(mine.join("config.json")).unwrap(),
            "{}"
        );
    }

    #[test]
    fn unfinished_runs_say_how_to_resume() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert_eq!(unfinished(dir).unwrap(), None);
        let mut status = RunStatus::training("r", 5);
        status.epochs_done = 2;
        status.save(dir).unwrap();
        // No process holds the lock: the training died.
        let msg = unfinished(dir).unwrap().unwrap();
        assert!(
            msg.contains("ended without finishing (2 of 5 epochs"),
            "{msg}"
        );
        assert!(msg.contains("textrnn train --resume"), "{msg}");
        let lock = RunLock::acquire(dir).unwrap();
        let msg = unfinished(dir).unwrap().unwrap();
        assert!(msg.contains("is still training"), "{msg}");
        drop(lock);
        status.state = RunState::Complete;
        status.save(dir).unwrap();
        assert_eq!(unfinished(dir).unwrap(), None);
    }
}

//! Fingerprints of data files: absolute path, byte size, sha256 and row count, so a run can tell
//! later whether the files it was trained on are still the same.
//!
//! ```no_run
//! use textrnn_data::fingerprint::{fingerprint, FileState};
//! let fp = fingerprint("train.csv".as_ref(), 1200)?;
//! match fp.state()? {
//!     FileState::Same => {}
//!     FileState::Missing => println!("{} is gone", fp.path.display()),
//!     FileState::Changed(how) => println!("{} changed: {how}", fp.path.display()),
//! }
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What a data file looked like when it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Absolute path.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Lowercase hex sha256 of the content.
    pub sha256: String,
    /// Number of data rows read from it.
    pub rows: u64,
}

/// How a fingerprinted file compares with what is on disk now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Same size and sha256.
    Same,
    /// The file no longer exists.
    Missing,
    /// The content differs, e.g. `size 1200 -> 1250 bytes, sha256 differs`.
    Changed(String),
}

/// Streams `path` through sha256: `(bytes, hex digest)`.
fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    let digest = hasher.finalize();
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((bytes, hex))
}

/// Fingerprints `path` (made absolute) with `rows` data rows.
pub fn fingerprint(path: &Path, rows: u64) -> Result<Fingerprint> {
    let (bytes, sha256) = hash_file(path)?;
    Ok(Fingerprint {
        path: std::path::absolute(path).map_err(|e| Error::io(path, e))?,
        bytes,
        sha256,
        rows,
    })
}

impl Fingerprint {
    /// Compares the fingerprint with the file at `self.path` now (reads it through sha256).
    pub fn state(&self) -> Result<FileState> {
        if !self.path.exists() {
            return Ok(FileState::Missing);
        }
        let (bytes, sha256) = hash_file(&self.path)?;
        let mut changes = Vec::new();
        if bytes != self.bytes {
            changes.push(format!("size {} -> {bytes} bytes", self.bytes));
        }
        if sha256 != self.sha256 {
            changes.push("sha256 differs".to_string());
        }
        Ok(if changes.is_empty() {
            FileState::Same
        } else {
            FileState::Changed(changes.join(", "))
        })
    }
}

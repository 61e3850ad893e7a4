//! sha256-verified HTTP download into the cache, with a progress bar.
//!
//! [`fetch`] streams the body into a temporary file beside `dest` (the workspace's atomic
//! write, [`textrnn_fs::write_with`]), hashing while it writes, and publishes it at `dest` only
//! when the length matches `Content-Length` and the digest matches. On any failure (HTTP error
//! status, transport error, truncated body, wrong checksum) the temporary file is removed, so
//! the cache never holds a partial or corrupt file. A file already at `dest`
//! is re-hashed before use and downloaded again when it does not match.
//!
//! ```no_run
//! use std::path::Path;
//! let path = textrnn_data::download::fetch(
//!     "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
//!     Path::new("/home/me/.cache/textrnn/imdb/aclImdb_v1.tar.gz"),
//!     Some("c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"),
//!     true,
//! )?;
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Lower-case hex encoding of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a file, as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let host = rest.split(['/', ':']).next().unwrap_or("");
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

fn progress_bar(total: Option<u64>, show: bool, name: &str) -> ProgressBar {
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(total, target);
    let template = if total.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})"
    } else {
        "{msg} {bytes} ({bytes_per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    bar
}

/// Downloads `url` to `dest` (creating its directory), verifying `expected_sha256` when given.
///
/// Returns `dest`. When `dest` already exists and matches the checksum (or no checksum is
/// given) no request is made. `progress` shows a byte progress bar on stderr when it is a TTY.
pub fn fetch(
    url: &str,
    dest: &Path,
    expected_sha256: Option<&str>,
    progress: bool,
) -> Result<PathBuf> {
    let expected = expected_sha256.map(str::to_ascii_lowercase);
    if dest.is_file() {
        match &expected {
            None => {
                tracing::debug!(path = %dest.display(), "using cached file (no checksum to verify)");
                return Ok(dest.to_path_buf());
            }
            Some(want) => {
                let got = sha256_file(dest)?;
                if &got == want {
                    tracing::debug!(path = %dest.display(), "cached file verified");
                    return Ok(dest.to_path_buf());
                }
                tracing::warn!(
                    path = %dest.display(),
                    expected = %want,
                    actual = %got,
                    "cached file is corrupt; downloading it again"
                );
                std::fs::remove_file(dest).map_err(|e| Error::io(dest, e))?;
            }
        }
    }
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());

    tracing::info!(%url, dest = %dest.display(), "downloading");
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(120))
        .try_proxy_from_env(!is_loopback(url))
        .user_agent(concat!("textrnn-data/", env!("CARGO_PKG_VERSION")))
        .build();
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, r) => Error::Http {
            url: url.to_string(),
            message: format!("HTTP status {code} {}", r.status_text()),
        },
        ureq::Error::Transport(t) => Error::Http {
            url: url.to_string(),
            message: t.to_string(),
        },
    })?;
    let total = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let bar = progress_bar(total, progress, &file_name);

    let actual = textrnn_fs::write_with(dest, |part: &Path| -> Result<String> {
        let out = File::create(part).map_err(|e| Error::io(dest, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, out);
        let mut body = response.into_reader();
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut received: u64 = 0;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    bar.abandon();
                    return Err(match total {
                        Some(expected) if received < expected => Error::Truncated {
                            url: url.to_string(),
                            expected,
                            received,
                        },
                        _ => Error::Http {
                            url: url.to_string(),
                            message: format!("reading body after {received} bytes: {e}"),
                        },
                    });
                }
            };
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| Error::io(dest, e))?;
            received += n as u64;
            bar.set_position(received);
        }
        bar.finish_and_clear();
        if let Some(expected) = total {
            if received != expected {
                return Err(Error::Truncated {
                    url: url.to_string(),
                    expected,
                    received,
                });
            }
        }
        out.flush().map_err(|e| Error::io(dest, e))?;
        let actual = hex(&hasher.finalize());
        if let Some(want) = &expected {
            if &actual != want {
                return Err(Error::Checksum {
                    url: url.to_string(),
                    expected: want.clone(),
                    actual,
                });
            }
        }
        tracing::debug!(bytes = received, "download verified");
        Ok(actual)
    })?;
    tracing::info!(%url, sha256 = %actual, "download complete");
    Ok(dest.to_path_buf())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_loopback() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert!(is_loopback("http://127.0.0.1:8080/x"));
        assert!(is_loopback("http://localhost/x"));
        assert!(!is_loopback("https://ai.stanford.edu/~amaas/"));
    }

    #[test]
    fn sha256_of_known_input() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        // sha256("abc"), FIPS 180-2 appendix B.1
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

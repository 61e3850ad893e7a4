//! Where loaders look for data: [`LoadOptions`] (data directory override, cache, offline mode,
//! download URLs, Hugging Face Hub settings).
//!
//! Environment variables read by [`LoadOptions::from_env`]:
//!
//! | variable | field | meaning |
//! | --- | --- | --- |
//! | `TEXTRNN_DATA_DIR` | `env_data_dir` | directory searched after the config's own `data_dir` |
//! | `TEXTRNN_CACHE` | `cache_dir` | download cache (default `$XDG_CACHE_HOME/textrnn`, else `~/.cache/textrnn`, see below without `HOME`) |
//! | `TEXTRNN_OFFLINE`, `HF_HUB_OFFLINE` | `offline` | `1`/`true`: never use the network |
//! | `TEXTRNN_IMDB_URL` | `imdb_url` | URL of `aclImdb_v1.tar.gz` (a mirror, or a loopback server in tests) |
//! | `TEXTRNN_IMDB_SHA256` | `imdb_sha256` | its expected sha256 (empty: do not verify); default from `datasets/imdb.toml` |
//! | `HF_ENDPOINT` | `hub.endpoint` | Hub endpoint |
//! | `HF_HOME`, `HF_HUB_CACHE` | `hub.cache_dir` (when `None`) | read by `hf-hub` itself |
//! | `TEXTRNN_MAX_MEMBER_BYTES` | `max_member_bytes` | largest file read from a corpus archive or directory (default 64 MiB) |
//! | `TEXTRNN_MAX_ARCHIVE_BYTES` | `max_archive_bytes` | most bytes decompressed from one archive, or read from one corpus directory (default 1 GiB) |
//!
//! The two limits take a number of bytes with an optional `K`, `M` or `G` suffix (powers of
//! 1024: `64M`, `2G`); a value that does not parse is reported in a warning and the default used.
//! They stop a crafted or corrupt archive (a tar header claiming a 1 TB member, a gzip bomb)
//! before it is allocated; `aclImdb_v1_labeled.tar.gz` decompresses to 100 MiB (the full
//! tarball, with `unsup`, to a few hundred MB) and its largest review is 13,704 bytes.
//!
//! Without `HOME` (and without `TEXTRNN_CACHE` / `XDG_CACHE_HOME`) the cache is NOT put in a
//! world-writable `/tmp/.cache`: it is `<temp dir>/textrnn-cache-<uid>`, created with mode
//! 0700 and used only when it is a real directory (not a symbolic link) owned by this user and
//! closed to others. When that path is taken by someone else, a fresh private directory
//! `<temp dir>/textrnn-cache-<uid>-<pid>-<n>` is created for this process instead (with a
//! warning asking for `TEXTRNN_CACHE`). The Hub cache (`hf-hub`'s own fallback is
//! `/tmp/.cache/huggingface`) is then `<that directory>/huggingface` unless `HF_HOME`,
//! `HF_HUB_CACHE` or `XDG_CACHE_HOME` is set.
//!
//! Directory precedence for a corpus: `data_dir` (`--data-dir`) > the config's `data_dir`/`path`
//! > `env_data_dir` (`TEXTRNN_DATA_DIR`) > the cache > the Hub cache > a download.
//!
//! ```
//! use textrnn_data::LoadOptions;
//! let opts = LoadOptions::isolated("/tmp/textrnn-cache");
//! assert!(opts.offline && !opts.progress);
//! ```

use std::path::{Path, PathBuf};

/// Hugging Face Hub settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubOptions {
    /// Use the Hub at all (cache and network).
    pub enabled: bool,
    /// Endpoint (`HF_ENDPOINT`); `None`: `hf-hub`'s default.
    pub endpoint: Option<String>,
    /// Hub cache; `None`: `HF_HUB_CACHE`, then `$HF_HOME/hub`, then `~/.cache/huggingface/hub`.
    pub cache_dir: Option<PathBuf>,
}

impl Default for HubOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            endpoint: None,
            cache_dir: None,
        }
    }
}

/// Options shared by every loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Overrides the config's `data_dir` / `path` (the CLI's `--data-dir`).
    pub data_dir: Option<PathBuf>,
    /// Searched after the config's directory (`TEXTRNN_DATA_DIR`).
    pub env_data_dir: Option<PathBuf>,
    /// Download cache.
    pub cache_dir: PathBuf,
    /// Never use the network (caches and local files only).
    pub offline: bool,
    /// Show download progress bars (only drawn on a TTY).
    pub progress: bool,
    /// URL of the original IMDB tarball; `None`: the URL in `datasets/imdb.toml`.
    pub imdb_url: Option<String>,
    /// Expected sha256 of that tarball; `None`: the manifest's; `Some("")`: do not verify.
    pub imdb_sha256: Option<String>,
    /// Hugging Face Hub settings.
    pub hub: HubOptions,
    /// Largest file taken from a corpus archive or directory; a larger one is refused by its
    /// header or metadata, before anything is allocated (`TEXTRNN_MAX_MEMBER_BYTES`).
    pub max_member_bytes: u64,
    /// Most bytes decompressed from one archive (tar headers and skipped members included), or
    /// read from one corpus directory (`TEXTRNN_MAX_ARCHIVE_BYTES`).
    pub max_archive_bytes: u64,
}

/// Default [`LoadOptions::max_member_bytes`]: 64 MiB.
pub const DEFAULT_MAX_MEMBER_BYTES: u64 = 64 << 20;
/// Default [`LoadOptions::max_archive_bytes`]: 1 GiB.
pub const DEFAULT_MAX_ARCHIVE_BYTES: u64 = 1 << 30;

/// A byte count: digits with an optional `K`, `M` or `G` suffix (powers of 1024, an optional
/// trailing `B` or `iB`); `None` for anything else, zero, or an overflow.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_uppercase();
    let t = t
        .strip_suffix("IB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(&t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K')) => (&t[..i], 10),
        Some((i, 'M')) => (&t[..i], 20),
        Some((i, 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: u64 = digits.trim().parse().ok()?;
    let n = n.checked_mul(1u64 << shift)?;
    (n > 0).then_some(n)
}

/// A byte limit from the environment variable `name`, else `default` (a bad value is warned about).
fn env_bytes(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => parse_bytes(&v).unwrap_or_else(|| {
            tracing::warn!(
                "{name}={v:?} is not a byte count such as 67108864, 64M or 1G; using {default}"
            );
            default
        }),
        _ => default,
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The default cache: `TEXTRNN_CACHE`, else `$XDG_CACHE_HOME/textrnn`, else
/// `$HOME/.cache/textrnn`, else a private directory of this user in the temp dir
/// ([`private_temp_cache`]).
pub fn default_cache_dir() -> PathBuf {
    if let Some(p) = env_path("TEXTRNN_CACHE") {
        return p;
    }
    if let Some(p) = env_path("XDG_CACHE_HOME") {
        return p.join("textrnn");
    }
    match env_path("HOME").or_else(|| env_path("USERPROFILE")) {
        Some(home) => home.join(".cache").join("textrnn"),
        None => private_temp_cache(&std::env::temp_dir()),
    }
}

/// A cache directory under `tmp` that only this user can use (see the module docs):
/// `tmp/textrnn-cache-<uid>` when it is (or can be made) a private directory of ours, else a
/// fresh `tmp/textrnn-cache-<uid>-<pid>-<n>` created exclusively for this process.
#[cfg(unix)]
pub fn private_temp_cache(tmp: &Path) -> PathBuf {
    let uid = current_uid(tmp);
    let tag = uid.map_or_else(|| "unknown".to_string(), |u| u.to_string());
    let shared = tmp.join(format!("textrnn-cache-{tag}"));
    let problem = match uid {
        Some(uid) => match ensure_private_dir(&shared, uid) {
            Ok(()) => return shared,
            Err(why) => why,
        },
        None => format!("cannot tell this process's user id in {}", tmp.display()),
    };
    let pid = std::process::id();
    let mut fresh = tmp.join(format!("textrnn-cache-{tag}-{pid}-0"));
    for n in 0..100 {
        fresh = tmp.join(format!("textrnn-cache-{tag}-{pid}-{n}"));
        match create_private_dir(&fresh) {
            // Created by this call: nobody else can own it or have put anything in it.
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => break,
        }
    }
    tracing::warn!(
        "HOME is not set and {problem}; caching in {} for this process only (set TEXTRNN_CACHE to a directory of yours to keep downloads)",
        fresh.display()
    );
    fresh
}

/// Without Unix permissions: `tmp/textrnn-cache`.
#[cfg(not(unix))]
pub fn private_temp_cache(tmp: &Path) -> PathBuf {
    tmp.join("textrnn-cache")
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

/// The effective user id, read from the owner of a file this process creates in `dir` (no
/// `libc` needed; `create_new` never follows a planted symbolic link).
#[cfg(unix)]
fn current_uid(dir: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let probe = dir.join(format!(".textrnn-uid-{}-{nanos}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .ok()?;
    let uid = file.metadata().ok().map(|m| m.uid());
    drop(file);
    let _ = std::fs::remove_file(&probe);
    uid
}

/// Creates `path` with mode 0700 unless it exists, then checks that it is a directory (not a
/// symbolic link) owned by `uid` with no group or other permissions; the reason otherwise.
#[cfg(unix)]
fn ensure_private_dir(path: &Path, uid: u32) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    match create_private_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{} cannot be created: {e}", path.display())),
    }
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
    if !meta.file_type().is_dir() {
        return Err(format!(
            "{} exists and is not a directory (a symbolic link or file)",
            path.display()
        ));
    }
    if meta.uid() != uid {
        return Err(format!(
            "{} belongs to user id {}, not to this user ({uid})",
            path.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is open to other users (mode {:o})",
            path.display(),
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

impl LoadOptions {
    /// Options from the environment (see the module table); progress bars on.
    pub fn from_env() -> Self {
        let mut opts = Self {
            data_dir: None,
            env_data_dir: env_path("TEXTRNN_DATA_DIR"),
            cache_dir: default_cache_dir(),
            offline: env_flag("TEXTRNN_OFFLINE") || env_flag("HF_HUB_OFFLINE"),
            progress: true,
            imdb_url: std::env::var("TEXTRNN_IMDB_URL")
                .ok()
                .filter(|s| !s.is_empty()),
            imdb_sha256: std::env::var("TEXTRNN_IMDB_SHA256").ok(),
            hub: HubOptions {
                enabled: true,
                endpoint: std::env::var("HF_ENDPOINT").ok().filter(|s| !s.is_empty()),
                cache_dir: None,
            },
            max_member_bytes: env_bytes("TEXTRNN_MAX_MEMBER_BYTES", DEFAULT_MAX_MEMBER_BYTES),
            max_archive_bytes: env_bytes("TEXTRNN_MAX_ARCHIVE_BYTES", DEFAULT_MAX_ARCHIVE_BYTES),
        };
        // `hf-hub` falls back to the world-writable `/tmp/.cache/huggingface` without HOME.
        let hf_vars = [
            "HF_HOME",
            "HF_HUB_CACHE",
            "HUGGINGFACE_HUB_CACHE",
            "XDG_CACHE_HOME",
            "HOME",
        ];
        if hf_vars.iter().all(|v| env_path(v).is_none()) {
            opts.hub.cache_dir = Some(opts.cache_dir.join("huggingface"));
        }
        opts
    }

    /// Options that read no environment variable: the given cache, offline, no progress bar,
    /// Hub cache under `<cache>/huggingface` (so nothing outside `cache_dir` is touched). For tests.
    pub fn isolated(cache_dir: impl Into<PathBuf>) -> Self {
        let cache_dir = cache_dir.into();
        Self {
            data_dir: None,
            env_data_dir: None,
            hub: HubOptions {
                enabled: true,
                endpoint: None,
                cache_dir: Some(cache_dir.join("huggingface")),
            },
            cache_dir,
            offline: true,
            progress: false,
            imdb_url: None,
            imdb_sha256: None,
            max_member_bytes: DEFAULT_MAX_MEMBER_BYTES,
            max_archive_bytes: DEFAULT_MAX_ARCHIVE_BYTES,
        }
    }

    /// Sets the `--data-dir` override.
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// The directories to search, in order: override, the config's, the environment's.
    pub fn search_dirs(&self, config_dir: Option<&Path>) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(d) = &self.data_dir {
            dirs.push(d.clone());
        }
        if let Some(d) = config_dir {
            dirs.push(d.to_path_buf());
        }
        if let Some(d) = &self.env_data_dir {
            dirs.push(d.clone());
        }
        dirs
    }

    /// Cache sub-directory for one corpus, e.g. `<cache>/imdb`.
    pub fn corpus_cache(&self, corpus: &str) -> PathBuf {
        self.cache_dir.join(corpus)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn search_order() {
        let o = LoadOptions::isolated("/c").with_data_dir("/cli");
        assert_eq!(
            o.search_dirs(Some(Path::new("/cfg"))),
            vec![PathBuf::from("/cli"), PathBuf::from("/cfg")]
        );
        assert_eq!(o.corpus_cache("imdb"), PathBuf::from("/c/imdb"));
        assert_eq!(
            o.hub.cache_dir.as_deref(),
            Some(Path::new("/c/huggingface"))
        );
    }
}

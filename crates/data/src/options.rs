//! Where loaders look for data: [`LoadOptions`] (data directory override, cache, offline mode,
//! download URLs, Hugging Face Hub settings).
//!
//! Environment variables read by [`LoadOptions::from_env`]:
//!
//! | variable | field | meaning |
//! | --- | --- | --- |
//! | `TEXTRNN_DATA_DIR` | `env_data_dir` | directory searched after the config's own `data_dir` |
//! | `TEXTRNN_CACHE` | `cache_dir` | download cache (default `$XDG_CACHE_HOME/textrnn`, else `~/.cache/textrnn`) |
//! | `TEXTRNN_OFFLINE`, `HF_HUB_OFFLINE` | `offline` | `1`/`true`: never use the network |
//! | `TEXTRNN_IMDB_URL` | `imdb_url` | URL of `aclImdb_v1.tar.gz` (a mirror, or a loopback server in tests) |
//! | `TEXTRNN_IMDB_SHA256` | `imdb_sha256` | its expected sha256 (empty: do not verify); default from `datasets/imdb.toml` |
//! | `HF_ENDPOINT` | `hub.endpoint` | Hub endpoint |
//! | `HF_HOME`, `HF_HUB_CACHE` | `hub.cache_dir` (when `None`) | read by `hf-hub` itself |
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

/// The default cache: `TEXTRNN_CACHE`, else `$XDG_CACHE_HOME/textrnn`, else `$HOME/.cache/textrnn`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(p) = env_path("TEXTRNN_CACHE") {
        return p;
    }
    if let Some(p) = env_path("XDG_CACHE_HOME") {
        return p.join("textrnn");
    }
    let home = env_path("HOME")
        .or_else(|| env_path("USERPROFILE"))
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("textrnn")
}

impl LoadOptions {
    /// Options from the environment (see the module table); progress bars on.
    pub fn from_env() -> Self {
        Self {
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
        }
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

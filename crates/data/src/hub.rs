//! Hugging Face Hub datasets through `hf-hub`: cached files first, the network only when allowed.
//!
//! `candle_datasets::hub::from_hub` was considered and not used: it always calls the Hub's
//! `info` endpoint (so it fails offline even when the files are cached), it reads the
//! `refs/convert/parquet` revision rather than the files a dataset publishes on `main`
//! (`plain_text/train-00000-of-00001.parquet` for `stanfordnlp/imdb`), it returns readers without
//! their file names (so train and test cannot be told apart), and it would pull the tensor crates
//! into this tensor-free crate. Its "cache first" idea is kept: [`hub_file`] asks `hf-hub` with
//! `local_files_only(true)` before any request, which reuses a copy already in the user's HF cache
//! (`HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`); `offline` (`HF_HUB_OFFLINE=1`)
//! stops there.
//!
//! ```no_run
//! use textrnn_data::{hub, LoadOptions};
//! let opts = LoadOptions::from_env();
//! let path = hub::hub_file("stanfordnlp/imdb", "plain_text/test-00000-of-00001.parquet", &opts)?;
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::path::{Path, PathBuf};

use hf_hub::{HFClientBuilder, HFClientSync, HFError};

use crate::error::{Error, Result};
use crate::options::LoadOptions;

fn hub_err(repo: &str, file: &str, e: impl std::fmt::Display) -> Error {
    Error::Hub {
        repo: repo.to_string(),
        file: file.to_string(),
        message: e.to_string(),
    }
}

fn client(repo: &str, opts: &LoadOptions) -> Result<HFClientSync> {
    let mut builder = HFClientBuilder::new().retry_max_attempts(2);
    if let Some(endpoint) = &opts.hub.endpoint {
        builder = builder.endpoint(endpoint.clone());
    }
    if let Some(dir) = &opts.hub.cache_dir {
        builder = builder.cache_dir(dir.clone());
    }
    builder.build_sync().map_err(|e| hub_err(repo, "*", e))
}

fn split_repo(repo: &str) -> Result<(&str, &str)> {
    match repo.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((owner, name))
        }
        _ => Err(Error::Config {
            field: "hub".into(),
            message: format!("{repo:?} is not a Hub dataset id of the form owner/name"),
        }),
    }
}

/// The local path of `filename` in dataset `repo` (revision `main`): from the HF cache when it is
/// there, else downloaded into it unless `opts.offline`.
pub fn hub_file(repo: &str, filename: &str, opts: &LoadOptions) -> Result<PathBuf> {
    if !opts.hub.enabled {
        return Err(hub_err(repo, filename, "the Hub is disabled"));
    }
    let (owner, name) = split_repo(repo)?;
    let client = client(repo, opts)?;
    let dataset = client.dataset(owner, name);
    let request = dataset.download_file().filename(filename);
    match request.clone().local_files_only(true).send() {
        Ok(path) => {
            tracing::info!(repo, filename, path = %path.display(), "using Hub cache");
            Ok(path)
        }
        Err(HFError::LocalEntryNotFound { .. }) if !opts.offline => {
            tracing::info!(repo, filename, "downloading from the Hugging Face Hub");
            request.send().map_err(|e| hub_err(repo, filename, e))
        }
        Err(HFError::LocalEntryNotFound { .. }) => Err(hub_err(
            repo,
            filename,
            format!(
                "not in the Hub cache {} and offline mode is on",
                hub_cache_dir(opts).display()
            ),
        )),
        Err(e) => Err(hub_err(repo, filename, e)),
    }
}

/// A local snapshot directory of dataset `repo` holding the files matching `patterns`
/// (globs such as `*.parquet`): the cached snapshot of `main` when there is one, else downloaded
/// unless `opts.offline`.
pub fn hub_snapshot(repo: &str, patterns: &[&str], opts: &LoadOptions) -> Result<PathBuf> {
    if !opts.hub.enabled {
        return Err(hub_err(repo, "*", "the Hub is disabled"));
    }
    let (owner, name) = split_repo(repo)?;
    let client = client(repo, opts)?;
    let dataset = client.dataset(owner, name);
    let allow: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
    let request = dataset.snapshot_download().allow_patterns(allow);
    match request.clone().local_files_only(true).send() {
        Ok(dir) => Ok(dir),
        Err(HFError::LocalEntryNotFound { .. }) if !opts.offline => {
            tracing::info!(repo, "downloading a snapshot from the Hugging Face Hub");
            request.send().map_err(|e| hub_err(repo, "*", e))
        }
        Err(e) => Err(hub_err(repo, "*", e)),
    }
}

/// Files under `dir` (recursively, following the Hub cache's symlinks) whose name ends with one
/// of `extensions`, sorted by path. Each directory is entered once (by its real path), so a
/// symbolic link cycle cannot loop; only regular files are returned.
pub fn files_with_extension(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if !seen.insert(d.canonicalize().map_err(|e| Error::io(&d, e))?) {
            continue;
        }
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file()
                && extensions.iter().any(|ext| {
                    path.file_name()
                        .is_some_and(|n| n.to_string_lossy().ends_with(ext))
                })
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The Hub cache directory `hf-hub` uses with these options.
pub fn hub_cache_dir(opts: &LoadOptions) -> PathBuf {
    opts.hub
        .cache_dir
        .clone()
        .unwrap_or_else(hf_hub::resolve_cache_dir)
}

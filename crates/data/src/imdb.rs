//! The Large Movie Review Dataset v1.0 (IMDB): 25,000 train and 25,000 test reviews, classes
//! `["neg", "pos"]`.
//!
//! Sources, in order ([`load_imdb`]):
//! 1. a data directory (`--data-dir`, the config's `data_dir`, `TEXTRNN_DATA_DIR`) holding
//!    `aclImdb_v1.tar.gz`, `aclImdb_v1_labeled.tar.gz` or an extracted `aclImdb/` (or being
//!    the `aclImdb/` directory, or the tarball itself);
//! 2. the cache `<cache>/imdb/aclImdb_v1.tar.gz`, its sha256 re-verified before use;
//! 3. `stanfordnlp/imdb` already in the Hugging Face cache (no request);
//! 4. unless offline: a download of the original tarball (URL and sha256 from
//!    `datasets/imdb.toml`, overridable with `TEXTRNN_IMDB_URL` / `TEXTRNN_IMDB_SHA256`),
//!    then the Hub's parquet files.
//!
//! The tarball is read as a stream (gzip + tar, nothing extracted): only
//! `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt` are taken (`unsup`, `.feat`, `urls_*`,
//! `README` are skipped). Reviews are sorted by (split, label, numeric id) so that a seed gives
//! the same validation split on every machine whatever the archive's member order. Bytes that are
//! not UTF-8 are decoded lossily and counted in one warning. Empty reviews are KEPT (the corpus
//! keeps its published size) and counted in one warning.
//!
//! Limits ([`LoadOptions::max_member_bytes`], [`LoadOptions::max_archive_bytes`]): a review
//! member whose tar header claims more than the member limit (64 MiB by default) is refused
//! from the header, naming the archive and the member, before anything is allocated; reading
//! stops once the archive has decompressed more than the total limit (1 GiB by default; the
//! labelled tarball is 100 MiB, the full one a few hundred MB), so a gzip bomb costs at most
//! that. An extracted directory is read under the same limits, and its symbolic links leading
//! outside it are not followed ([`crate::corpus_dir`]).
//!
//! ```no_run
//! use textrnn_data::{imdb::load_imdb, split_fraction, LoadOptions, IMDB_VALIDATION_FRACTION};
//! let corpus = load_imdb(None, &LoadOptions::from_env())?;
//! let (train, val) = split_fraction(&corpus.train, IMDB_VALIDATION_FRACTION, 42)?;
//! assert_eq!(train.len() + val.len(), 25_000);
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::cell::Cell;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use flate2::read::GzDecoder;

use crate::corpus_dir::{CorpusDir, CountingReader, Kind};
use crate::dataset::{Corpus, Dataset};
use crate::download;
use crate::error::{Error, Result};
use crate::hub;
use crate::manifest;
use crate::options::LoadOptions;
use crate::parquet_file::{read_text_label, RawLabel};

/// Class names, label 0 = `neg`, 1 = `pos`.
pub const IMDB_CLASS_NAMES: [&str; 2] = ["neg", "pos"];
/// File names accepted in a data directory, in order of preference.
pub const IMDB_TARBALLS: [&str; 2] = ["aclImdb_v1.tar.gz", "aclImdb_v1_labeled.tar.gz"];

const SPLITS: [&str; 2] = ["train", "test"];

struct Review {
    split: usize,
    label: u32,
    id: u64,
    name: String,
    text: String,
}

/// Accumulates reviews and the counts reported in warnings.
#[derive(Default)]
struct Collector {
    reviews: Vec<Review>,
    lossy: usize,
    empty: usize,
}

impl Collector {
    fn add(&mut self, split: usize, label: u32, name: &str, bytes: Vec<u8>) {
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                self.lossy += 1;
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        if text.trim().is_empty() {
            self.empty += 1;
        }
        let id = name
            .split(['_', '.'])
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        self.reviews.push(Review {
            split,
            label,
            id,
            name: name.to_string(),
            text,
        });
    }

    fn finish(mut self, source: &str) -> Result<Corpus> {
        let mut counts = [[0usize; 2]; 2];
        for r in &self.reviews {
            counts[r.split][r.label as usize] += 1;
        }
        let mut missing = Vec::new();
        for (s, split) in SPLITS.iter().enumerate() {
            for (l, label) in IMDB_CLASS_NAMES.iter().enumerate() {
                if counts[s][l] == 0 {
                    missing.push(format!("aclImdb/{split}/{label}/*.txt"));
                }
            }
        }
        if !missing.is_empty() {
            return Err(Error::IncompleteCorpus {
                source_name: source.to_string(),
                missing,
            });
        }
        if self.lossy > 0 {
            tracing::warn!(
                source,
                reviews = self.lossy,
                "reviews with bytes that are not UTF-8, decoded lossily (U+FFFD)"
            );
        }
        if self.empty > 0 {
            tracing::warn!(source, reviews = self.empty, "empty reviews kept");
        }
        self.reviews.sort_by(|a, b| {
            (a.split, a.label, a.id, &a.name).cmp(&(b.split, b.label, b.id, &b.name))
        });
        let names: Vec<String> = IMDB_CLASS_NAMES.iter().map(|s| s.to_string()).collect();
        let mut parts = [
            Dataset {
                class_names: names.clone(),
                ..Dataset::default()
            },
            Dataset {
                class_names: names,
                ..Dataset::default()
            },
        ];
        for r in self.reviews {
            // Where the review came from: its label directory and file name, e.g. `pos/7_9.txt`.
            let dir = IMDB_CLASS_NAMES
                .get(r.label as usize)
                .copied()
                .unwrap_or("?");
            parts[r.split].ids.push(format!("{dir}/{}", r.name));
            parts[r.split].texts.push(r.text);
            parts[r.split].labels.push(r.label);
        }
        let [train, test] = parts;
        tracing::info!(source, train = train.len(), test = test.len(), "read IMDB");
        Ok(Corpus {
            train,
            test: Some(test),
            validation: None,
            source: source.to_string(),
            files: Vec::new(),
        })
    }
}

/// `(split, label, file name)` when `path` ends in `{train,test}/{neg,pos}/<name>.txt`.
fn classify(path: &Path) -> Option<(usize, u32, String)> {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let [.., split, label, name] = parts.as_slice() else {
        return None;
    };
    if !name.ends_with(".txt") {
        return None;
    }
    let split = SPLITS.iter().position(|s| s == split)?;
    let label = IMDB_CLASS_NAMES.iter().position(|l| l == label)? as u32;
    Some((split, label, name.clone()))
}

/// Reads an IMDB tarball from a gzip stream (`aclImdb_v1.tar.gz` or the labelled-only variant)
/// with the default size limits. `source` names the stream in messages and in
/// [`Corpus::source`].
pub fn read_imdb_tar_gz<R: Read>(reader: R, source: &str) -> Result<Corpus> {
    read_imdb_tar_gz_with(reader, source, &LoadOptions::isolated(""))
}

/// [`read_imdb_tar_gz`] under `opts`'s limits: a review member whose header claims more than
/// [`LoadOptions::max_member_bytes`] is refused before anything is allocated for it
/// ([`Error::MemberTooLarge`]), and decompressing more than [`LoadOptions::max_archive_bytes`]
/// in all stops the read ([`Error::ArchiveTooLarge`]).
pub fn read_imdb_tar_gz_with<R: Read>(
    reader: R,
    source: &str,
    opts: &LoadOptions,
) -> Result<Corpus> {
    let count = Rc::new(Cell::new(0));
    let total = opts.max_archive_bytes;
    // Caps what the archive may decompress in all (headers and skipped members included).
    let capped = CountingReader {
        inner: GzDecoder::new(BufReader::with_capacity(1 << 20, reader)),
        count: Rc::clone(&count),
        limit: total,
    };
    // The member being read or skipped, for messages.
    let mut member = String::from("the first header");
    let fail = |e: std::io::Error, member: &str| {
        if count.get() > total {
            Error::ArchiveTooLarge {
                archive: source.to_string(),
                member: member.to_string(),
                limit: total,
            }
        } else {
            Error::io(source, e)
        }
    };
    let mut archive = tar::Archive::new(capped);
    let mut collector = Collector::default();
    for entry in archive.entries().map_err(|e| fail(e, &member))? {
        let mut entry = entry.map_err(|e| fail(e, &member))?;
        let path = entry.path().map_err(|e| fail(e, &member))?.into_owned();
        member = path.display().to_string();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let Some((split, label, name)) = classify(&path) else {
            continue;
        };
        let size = entry.size();
        if size > opts.max_member_bytes {
            return Err(Error::MemberTooLarge {
                archive: source.to_string(),
                member,
                size,
                limit: opts.max_member_bytes,
            });
        }
        // The header may lie (a short body): reserve a small hint only and let the bounded
        // read grow the buffer with the bytes that really arrive.
        let mut bytes = Vec::with_capacity(usize::try_from(size.min(1 << 16)).unwrap_or(0));
        (&mut entry)
            .take(opts.max_member_bytes)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(e, &member))?;
        collector.add(split, label, &name, bytes);
    }
    collector.finish(source)
}

/// Reads an IMDB tarball file with the default size limits.
pub fn read_imdb_tarball(path: &Path) -> Result<Corpus> {
    read_imdb_tarball_with(path, &LoadOptions::isolated(""))
}

/// Reads an IMDB tarball file under `opts`'s limits (see [`read_imdb_tar_gz_with`]).
pub fn read_imdb_tarball_with(path: &Path, opts: &LoadOptions) -> Result<Corpus> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_imdb_tar_gz_with(file, &path.display().to_string(), opts)
}

/// Reads an extracted corpus with the default limits: `dir` is `aclImdb/` itself or a
/// directory containing it.
pub fn read_imdb_dir(dir: &Path) -> Result<Corpus> {
    read_imdb_dir_with(dir, &LoadOptions::isolated(""))
}

/// Reads an extracted corpus under `opts`'s limits. Symbolic links that lead outside the
/// corpus directory are skipped (one warning counts them) and only regular files are read; a
/// file over [`LoadOptions::max_member_bytes`] or a directory over
/// [`LoadOptions::max_archive_bytes`] in all is refused (see [`crate::corpus_dir`]).
pub fn read_imdb_dir_with(dir: &Path, opts: &LoadOptions) -> Result<Corpus> {
    let root = if dir.join("aclImdb").is_dir() {
        dir.join("aclImdb")
    } else {
        dir.to_path_buf()
    };
    let source = root.display().to_string();
    let mut corpus = CorpusDir::open(&root, opts)?;
    let mut collector = Collector::default();
    for (s, split) in SPLITS.iter().enumerate() {
        for (l, label) in IMDB_CLASS_NAMES.iter().enumerate() {
            // Missing folders are reported by `finish`.
            let Some(folder) = corpus.entry(&root.join(split).join(label), Kind::Dir) else {
                continue;
            };
            for (name, path) in corpus.files_in(&folder)? {
                if name.ends_with(".txt") {
                    let bytes = corpus.read(&path)?;
                    collector.add(s, l as u32, &name, bytes);
                }
            }
        }
    }
    corpus.finish();
    collector.finish(&source)
}

/// What a data directory offers: a tarball, an extracted tree, or nothing.
fn find_in_dir(dir: &Path) -> Option<PathBuf> {
    if dir.is_file() {
        return Some(dir.to_path_buf());
    }
    for name in IMDB_TARBALLS {
        let p = dir.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    if dir.join("aclImdb").is_dir() || (dir.join("train").is_dir() && dir.join("test").is_dir()) {
        return Some(dir.to_path_buf());
    }
    None
}

fn read_any(path: &Path, opts: &LoadOptions) -> Result<Corpus> {
    if path.is_dir() {
        read_imdb_dir_with(path, opts)
    } else {
        read_imdb_tarball_with(path, opts)
    }
}

/// The Hub copy (`stanfordnlp/imdb` parquet). With `local_only`, only the HF cache is used.
pub fn read_imdb_hub(opts: &LoadOptions, local_only: bool) -> Result<Corpus> {
    let m = manifest::imdb()?;
    let src = m.source("hf").cloned().unwrap_or_default();
    let repo = src.repo.unwrap_or_else(|| "stanfordnlp/imdb".into());
    let text_col = src.text_col.unwrap_or_else(|| "text".into());
    let label_col = src.label_col.unwrap_or_else(|| "label".into());
    let mut opts = opts.clone();
    opts.offline |= local_only;
    let names: Vec<String> = IMDB_CLASS_NAMES.iter().map(|s| s.to_string()).collect();
    let read = |file: Option<String>| -> Result<Dataset> {
        let file = file.unwrap_or_default();
        let path = hub::hub_file(&repo, &file, &opts)?;
        let rows = read_text_label(&path, &text_col, &label_col)?;
        let mut ds = Dataset {
            class_names: names.clone(),
            ..Dataset::default()
        };
        for (i, (text, label)) in rows.into_iter().enumerate() {
            let id = match label {
                RawLabel::Int(v @ 0..=1) => v as u32,
                other => {
                    return Err(Error::Parquet {
                        path,
                        message: format!("row {i}: label {other} is not 0 or 1"),
                    })
                }
            };
            ds.ids.push((i + 1).to_string());
            ds.texts.push(text);
            ds.labels.push(id);
        }
        Ok(ds)
    };
    let train = read(src.train)?;
    let test = read(src.test)?;
    Ok(Corpus {
        train,
        test: Some(test),
        validation: None,
        source: format!("hf://datasets/{repo}"),
        files: Vec::new(),
    })
}

/// The original tarball's URL and sha256: `opts.imdb_url` / `TEXTRNN_IMDB_SHA256`-style
/// overrides, else the manifest.
fn url_and_sha(opts: &LoadOptions) -> Result<(String, Option<String>)> {
    let m = manifest::imdb()?;
    let src = m.source("url").cloned().unwrap_or_default();
    let url = opts.imdb_url.clone().or(src.url).unwrap_or_default();
    let sha = match &opts.imdb_sha256 {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s.clone()),
        None => src.sha256,
    };
    Ok((url, sha))
}

/// Loads IMDB from the first source that has it (see the module docs).
pub fn load_imdb(data_dir: Option<&Path>, opts: &LoadOptions) -> Result<Corpus> {
    let mut tried = Vec::new();
    for dir in opts.search_dirs(data_dir) {
        match find_in_dir(&dir) {
            Some(found) => return read_any(&found, opts),
            None => tried.push(format!(
                "data dir {}: no {}, {} or aclImdb/",
                dir.display(),
                IMDB_TARBALLS[0],
                IMDB_TARBALLS[1]
            )),
        }
    }

    let (url, sha) = url_and_sha(opts)?;
    let cached = opts.corpus_cache("imdb").join(IMDB_TARBALLS[0]);
    if cached.is_file() {
        let good = match &sha {
            Some(want) => {
                let got = download::sha256_file(&cached)?;
                if &got != want {
                    tracing::warn!(path = %cached.display(), expected = %want, actual = %got, "cached IMDB tarball is corrupt");
                    tried.push(format!(
                        "cache {}: sha256 {got}, expected {want} (removed)",
                        cached.display()
                    ));
                    std::fs::remove_file(&cached).map_err(|e| Error::io(&cached, e))?;
                    false
                } else {
                    true
                }
            }
            None => true,
        };
        if good {
            return read_imdb_tarball_with(&cached, opts);
        }
    } else {
        tried.push(format!("cache {}: not present", cached.display()));
    }

    if opts.hub.enabled {
        match read_imdb_hub(opts, true) {
            Ok(c) => return Ok(c),
            Err(e) => tried.push(format!("Hugging Face cache: {e}")),
        }
    }

    if opts.offline {
        tried.push(
            "network: offline mode (TEXTRNN_OFFLINE / HF_HUB_OFFLINE), no download attempted"
                .into(),
        );
    } else {
        match download::fetch(&url, &cached, sha.as_deref(), opts.progress) {
            Ok(path) => return read_imdb_tarball_with(&path, opts),
            Err(e) => tried.push(format!("download: {e}")),
        }
        if opts.hub.enabled {
            match read_imdb_hub(opts, false) {
                Ok(c) => return Ok(c),
                Err(e) => tried.push(format!("Hugging Face Hub download: {e}")),
            }
        }
    }

    Err(Error::NotFound {
        corpus: "IMDB (Large Movie Review Dataset v1.0)".into(),
        tried,
        how: vec![
            format!(
                "pass --data-dir DIR (or `data_dir` in the recipe, or TEXTRNN_DATA_DIR=DIR) where DIR holds {}, {} or an extracted aclImdb/",
                IMDB_TARBALLS[0], IMDB_TARBALLS[1]
            ),
            format!(
                "put {} (sha256 {}) in the cache directory {} (TEXTRNN_CACHE moves the cache)",
                IMDB_TARBALLS[0],
                sha.as_deref().unwrap_or("-"),
                opts.corpus_cache("imdb").display()
            ),
            format!("let textrnn download {url} (needs network; TEXTRNN_IMDB_URL sets a mirror)"),
            format!(
                "or put the Hugging Face dataset stanfordnlp/imdb in the HF cache {} (HF_HOME / HF_HUB_CACHE), e.g. `hf download --repo-type dataset stanfordnlp/imdb`",
                hub::hub_cache_dir(opts).display()
            ),
        ],
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn classify_paths() {
        assert_eq!(
            classify(Path::new("aclImdb/train/pos/10_9.txt")),
            Some((0, 1, "10_9.txt".into()))
        );
        assert_eq!(
            classify(Path::new("./aclImdb/test/neg/3_1.txt")),
            Some((1, 0, "3_1.txt".into()))
        );
        assert_eq!(classify(Path::new("aclImdb/train/unsup/1_0.txt")), None);
        assert_eq!(classify(Path::new("aclImdb/train/labeledBow.feat")), None);
        assert_eq!(classify(Path::new("aclImdb/train/urls_pos.txt")), None);
        assert_eq!(classify(Path::new("pos/1_1.txt")), None);
    }
}

//! AG News topic classification: classes `["World", "Sports", "Business", "Sci/Tech"]`.
//!
//! Original CSV form (`ag_news_csv/train.csv`, `test.csv`): no header, every field quoted,
//! `"class","title","description"` with class 1..4; the text is `title + " " + description`.
//!
//! Sources, in order ([`load_ag_news`]): a data directory holding `ag_news_csv/` or the two files
//! directly; the cache `<cache>/ag_news/ag_news_csv/`; the Hub dataset `fancyzhx/ag_news`
//! (parquet, label 0..3), from the HF cache first and, unless offline, downloaded.
//! A missing `test.csv` next to a `train.csv` gives a corpus without a test split (warning).
//!
//! ```no_run
//! let corpus = textrnn_data::ag_news::load_ag_news(None, &textrnn_data::LoadOptions::from_env())?;
//! assert_eq!(corpus.train.class_names, ["World", "Sports", "Business", "Sci/Tech"]);
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::corpus_dir::{first_with, CountingReader};
use crate::dataset::{Corpus, Dataset};
use crate::error::{Error, Result};
use crate::hub;
use crate::manifest;
use crate::options::LoadOptions;
use crate::parquet_file::{read_text_label, RawLabel};
use crate::table::MAX_LINE_BYTES;

/// Class names; CSV class `k` (1..4) is label `k - 1`.
pub const AG_NEWS_CLASS_NAMES: [&str; 4] = ["World", "Sports", "Business", "Sci/Tech"];

fn class_names() -> Vec<String> {
    AG_NEWS_CLASS_NAMES.iter().map(|s| s.to_string()).collect()
}

/// The csv reader's read-ahead allowed past [`MAX_LINE_BYTES`] before the reading stops.
const READ_AHEAD: u64 = 1 << 16;

/// Reads one AG News CSV file (no header; `class,title,description`). A record (a line, or the
/// lines a quoted field spans) longer than [`MAX_LINE_BYTES`] is refused with its line
/// ([`Error::LineTooLong`]), without buffering more than that.
pub fn read_ag_news_csv(path: &Path) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let since = Rc::new(Cell::new(0));
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        // Bytes read since the last record: a record without end (`/dev/zero`-like content,
        // an unterminated quote) never makes the csv reader buffer more than the bound; the
        // exact limit is checked on each record's length below.
        .from_reader(CountingReader {
            inner: file,
            count: Rc::clone(&since),
            limit: MAX_LINE_BYTES as u64 + READ_AHEAD,
        });
    let too_long = |line: u64| Error::LineTooLong {
        path: path.to_path_buf(),
        line,
        limit: MAX_LINE_BYTES,
    };
    let mut ds = Dataset {
        class_names: class_names(),
        ..Dataset::default()
    };
    let mut row = csv::StringRecord::new();
    loop {
        let start = rdr.position().clone();
        match rdr.read_record(&mut row) {
            Ok(true) => since.set(0),
            Ok(false) => break,
            // Only the counting reader leaves `since` past its bound.
            Err(_) if since.get() > MAX_LINE_BYTES as u64 + READ_AHEAD => {
                return Err(too_long(start.line()))
            }
            Err(e) => return Err(Error::csv(path, e)),
        }
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        if rdr.position().byte() - start.byte() > MAX_LINE_BYTES as u64 {
            return Err(too_long(line));
        }
        if row.len() != 3 {
            return Err(Error::FieldCount {
                path: path.to_path_buf(),
                line,
                expected: "3 fields (class, title, description)".into(),
                found: row.len(),
            });
        }
        let class = row.get(0).unwrap_or("").trim();
        let label = match class.parse::<u32>() {
            Ok(k @ 1..=4) => k - 1,
            _ => {
                return Err(Error::InvalidLabel {
                    path: path.to_path_buf(),
                    line,
                    value: class.to_string(),
                    allowed: vec!["1".into(), "2".into(), "3".into(), "4".into()],
                })
            }
        };
        let title = row.get(1).unwrap_or("");
        let description = row.get(2).unwrap_or("");
        ds.ids.push((ds.texts.len() + 1).to_string());
        ds.texts.push(format!("{title} {description}"));
        ds.labels.push(label);
    }
    Ok(ds)
}

/// The `(train.csv, test.csv)` paths in `dir` (under `ag_news_csv/` or directly), if present:
/// regular files inside that folder, not symbolic links leading out of it (those are counted
/// in a warning, see [`crate::corpus_dir`]). `test.csv` is `None` when absent.
fn find_in_dir(dir: &Path, opts: &LoadOptions) -> Option<(PathBuf, Option<PathBuf>)> {
    let dirs = [dir.join("ag_news_csv"), dir.to_path_buf()];
    let mut found = first_with(&dirs, &["train.csv", "test.csv"], opts)?.into_iter();
    Some((found.next()??, found.next()?))
}

/// Reads `train.csv` and (when present) `test.csv` from a directory.
pub fn read_ag_news_dir(dir: &Path) -> Result<Corpus> {
    read_ag_news_dir_with(dir, &LoadOptions::isolated(""))
}

/// [`read_ag_news_dir`] with `opts` (the limits of [`crate::corpus_dir`]).
pub fn read_ag_news_dir_with(dir: &Path, opts: &LoadOptions) -> Result<Corpus> {
    let Some((train_path, test_path)) = find_in_dir(dir, opts) else {
        return Err(Error::io(
            dir.join("ag_news_csv/train.csv"),
            std::io::Error::new(std::io::ErrorKind::NotFound, "no AG News train.csv here"),
        ));
    };
    read_found(dir, &train_path, test_path.as_deref())
}

/// Reads the files [`find_in_dir`] found in `dir`.
fn read_found(dir: &Path, train_path: &Path, test_path: Option<&Path>) -> Result<Corpus> {
    let train = read_ag_news_csv(train_path)?;
    let test = match test_path {
        Some(p) => Some(read_ag_news_csv(p)?),
        None => {
            tracing::warn!(dir = %train_path.parent().unwrap_or(dir).display(), "AG News test.csv missing (or not a regular file in the folder); no test split");
            None
        }
    };
    tracing::info!(source = %train_path.display(), train = train.len(), test = test.as_ref().map_or(0, Dataset::len), "read AG News");
    Ok(Corpus {
        train,
        test,
        validation: None,
        source: train_path.parent().unwrap_or(dir).display().to_string(),
        files: Vec::new(),
    })
}

/// The Hub copy (`fancyzhx/ag_news`); with `local_only`, only the HF cache is used.
pub fn read_ag_news_hub(opts: &LoadOptions, local_only: bool) -> Result<Corpus> {
    let m = manifest::ag_news()?;
    let src = m.source("hf").cloned().unwrap_or_default();
    let repo = src.repo.unwrap_or_else(|| "fancyzhx/ag_news".into());
    let text_col = src.text_col.unwrap_or_else(|| "text".into());
    let label_col = src.label_col.unwrap_or_else(|| "label".into());
    let mut opts = opts.clone();
    opts.offline |= local_only;
    let read = |file: Option<String>| -> Result<Dataset> {
        let path = hub::hub_file(&repo, &file.unwrap_or_default(), &opts)?;
        let mut ds = Dataset {
            class_names: class_names(),
            ..Dataset::default()
        };
        for (i, (text, label)) in read_text_label(&path, &text_col, &label_col)?
            .into_iter()
            .enumerate()
        {
            let id = match label {
                RawLabel::Int(v @ 0..=3) => v as u32,
                other => {
                    return Err(Error::Parquet {
                        path,
                        message: format!("row {i}: label {other} is not in 0..=3"),
                    })
                }
            };
            ds.ids.push((ds.texts.len() + 1).to_string());
            ds.texts.push(text);
            ds.labels.push(id);
        }
        Ok(ds)
    };
    Ok(Corpus {
        train: read(src.train)?,
        test: Some(read(src.test)?),
        validation: None,
        source: format!("hf://datasets/{repo}"),
        files: Vec::new(),
    })
}

/// Loads AG News from the first source that has it (see the module docs).
pub fn load_ag_news(data_dir: Option<&Path>, opts: &LoadOptions) -> Result<Corpus> {
    let mut tried = Vec::new();
    let cache = opts.corpus_cache("ag_news");
    let mut dirs = opts.search_dirs(data_dir);
    dirs.push(cache.clone());
    for dir in &dirs {
        if let Some((train, test)) = find_in_dir(dir, opts) {
            return read_found(dir, &train, test.as_deref());
        }
        tried.push(format!(
            "{}: no ag_news_csv/train.csv or train.csv",
            dir.display()
        ));
    }
    if opts.hub.enabled {
        match read_ag_news_hub(opts, true) {
            Ok(c) => return Ok(c),
            Err(e) => tried.push(format!("Hugging Face cache: {e}")),
        }
        if opts.offline {
            tried.push("network: offline mode, no download attempted".into());
        } else {
            match read_ag_news_hub(opts, false) {
                Ok(c) => return Ok(c),
                Err(e) => tried.push(format!("Hugging Face Hub download: {e}")),
            }
        }
    }
    Err(Error::NotFound {
        corpus: "AG News".into(),
        tried,
        how: vec![
            "pass --data-dir DIR (or `data_dir` in the recipe, or TEXTRNN_DATA_DIR=DIR) where DIR holds ag_news_csv/train.csv and test.csv (from ag_news_csv.tgz)".into(),
            format!("put ag_news_csv/ in the cache directory {}", cache.display()),
            format!(
                "or let textrnn download the Hugging Face dataset fancyzhx/ag_news (needs network), or put it in the HF cache {}",
                hub::hub_cache_dir(opts).display()
            ),
        ],
    })
}

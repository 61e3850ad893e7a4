//! Twitter US Airline Sentiment: classes `["negative", "neutral", "positive"]`.
//!
//! `Tweets.csv` has a header; the label column is `airline_sentiment`, the text column `text`.
//! The corpus has a single split; use [`crate::stratified_split`] with
//! [`crate::TWEETS_FRACTIONS`] for 80/10/10.
//!
//! Sources, in order ([`load_tweets`]): `--data-dir`, the config's `path`, `TEXTRNN_DATA_DIR`
//! (each a `Tweets.csv` file, or a directory holding `airline_tweets/Tweets.csv` or
//! `Tweets.csv`); the cache `<cache>/airline_tweets/Tweets.csv`; a Hub dataset id given by the
//! user (`hub = "owner/name"`), whose parquet or CSV files have the same two columns (file names
//! containing `test` / `valid` become the test / validation splits).
//!
//! ```no_run
//! use textrnn_data::{tweets::load_tweets, stratified_split, LoadOptions, TWEETS_FRACTIONS};
//! let corpus = load_tweets(Some("data/Tweets.csv".as_ref()), None, &LoadOptions::from_env())?;
//! let parts = stratified_split(&corpus.train, &TWEETS_FRACTIONS, 42)?;
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::corpus_dir::first_with;
use crate::dataset::{Corpus, Dataset};
use crate::error::{Error, Result};
use crate::hub;
use crate::options::LoadOptions;
use crate::parquet_file::{read_text_label, RawLabel};
use crate::table::{FileFormat, TableReader, TableSpec};

/// Class names in label order.
pub const TWEETS_CLASS_NAMES: [&str; 3] = ["negative", "neutral", "positive"];
/// Label column.
pub const TWEETS_LABEL_COL: &str = "airline_sentiment";
/// Text column.
pub const TWEETS_TEXT_COL: &str = "text";

fn class_names() -> Vec<String> {
    TWEETS_CLASS_NAMES.iter().map(|s| s.to_string()).collect()
}

fn label_id(path: &Path, line: u64, value: &str) -> Result<u32> {
    TWEETS_CLASS_NAMES
        .iter()
        .position(|c| *c == value.trim())
        .map(|i| i as u32)
        .ok_or_else(|| Error::InvalidLabel {
            path: path.to_path_buf(),
            line,
            value: value.to_string(),
            allowed: class_names(),
        })
}

/// Reads a `Tweets.csv` file through the one bounded reader of delimited files
/// ([`TableReader`]: a record over [`crate::MAX_LINE_BYTES`] is refused with its line, never
/// buffered whole).
pub fn read_tweets_csv(path: &Path) -> Result<Dataset> {
    let spec = TableSpec {
        format: Some(FileFormat::Csv),
        text_col: TWEETS_TEXT_COL.into(),
        label_col: Some(TWEETS_LABEL_COL.into()),
        delimiter: Some(b','),
        ..TableSpec::default()
    };
    let mut ds = Dataset {
        class_names: class_names(),
        ..Dataset::default()
    };
    for row in TableReader::open(path, &spec)? {
        let row = row?;
        let label = label_id(path, row.line, row.label.as_deref().unwrap_or(""))?;
        if row.text.trim().is_empty() {
            return Err(Error::EmptyField {
                path: path.to_path_buf(),
                line: row.line,
                column: TWEETS_TEXT_COL.into(),
            });
        }
        ds.ids.push(row.id);
        ds.texts.push(row.text);
        ds.labels.push(label);
    }
    Ok(ds)
}

fn read_parquet(path: &Path) -> Result<Dataset> {
    let mut ds = Dataset {
        class_names: class_names(),
        ..Dataset::default()
    };
    for (i, (text, label)) in read_text_label(path, TWEETS_TEXT_COL, TWEETS_LABEL_COL)?
        .into_iter()
        .enumerate()
    {
        let id = match &label {
            RawLabel::Str(s) => label_id(path, i as u64 + 1, s)?,
            RawLabel::Int(_) => {
                return Err(Error::Parquet {
                    path: path.to_path_buf(),
                    message: format!(
                        "row {i}: {TWEETS_LABEL_COL} must be a string (negative/neutral/positive), found {label}"
                    ),
                })
            }
        };
        ds.ids.push((ds.texts.len() + 1).to_string());
        ds.texts.push(text);
        ds.labels.push(id);
    }
    Ok(ds)
}

/// `candidate` itself when it is a regular file (the user named it), else `Tweets.csv` in
/// `candidate/airline_tweets/` or `candidate/`: a regular file inside that folder, not a
/// symbolic link leading out of it (see [`crate::corpus_dir`]).
fn find(candidate: &Path, opts: &LoadOptions) -> Option<PathBuf> {
    if candidate.is_file() {
        return Some(candidate.to_path_buf());
    }
    let dirs = [candidate.join("airline_tweets"), candidate.to_path_buf()];
    first_with(&dirs, &["Tweets.csv"], opts)?.pop()?
}

fn corpus_from_file(path: &Path) -> Result<Corpus> {
    let train = read_tweets_csv(path)?;
    tracing::info!(source = %path.display(), rows = train.len(), "read airline tweets");
    Ok(Corpus {
        train,
        test: None,
        validation: None,
        source: path.display().to_string(),
        files: Vec::new(),
    })
}

/// Reads a Hub dataset's parquet or CSV files.
pub fn read_tweets_hub(repo: &str, opts: &LoadOptions) -> Result<Corpus> {
    let dir = hub::hub_snapshot(repo, &["*.parquet", "*.csv"], opts)?;
    let files = hub::files_with_extension(&dir, &[".parquet", ".csv"])?;
    if files.is_empty() {
        return Err(Error::Hub {
            repo: repo.to_string(),
            file: "*.parquet, *.csv".into(),
            message: "the dataset has no parquet or CSV file".into(),
        });
    }
    let mut splits: [Option<Dataset>; 3] = [None, None, None];
    for f in &files {
        let rel = f
            .strip_prefix(&dir)
            .unwrap_or(f)
            .to_string_lossy()
            .to_lowercase();
        let slot = if rel.contains("test") {
            1
        } else if rel.contains("valid") {
            2
        } else {
            0
        };
        let ds = if rel.ends_with(".parquet") {
            read_parquet(f)?
        } else {
            read_tweets_csv(f)?
        };
        match &mut splits[slot] {
            Some(acc) => {
                // Ids stay those of each file (its row numbers); ids must match texts 1:1.
                acc.ids.extend(ds.ids);
                acc.texts.extend(ds.texts);
                acc.labels.extend(ds.labels);
            }
            none => *none = Some(ds),
        }
    }
    let [train, test, validation] = splits;
    let train = train.ok_or_else(|| Error::Hub {
        repo: repo.to_string(),
        file: "*".into(),
        message: "no train file (every file name contains test or valid)".into(),
    })?;
    Ok(Corpus {
        train,
        test,
        validation,
        source: format!("hf://datasets/{repo}"),
        files: Vec::new(),
    })
}

/// Loads the airline tweets from the first source that has them (see the module docs).
pub fn load_tweets(
    path: Option<&Path>,
    hub_id: Option<&str>,
    opts: &LoadOptions,
) -> Result<Corpus> {
    let mut tried = Vec::new();
    let cache = opts.corpus_cache("airline_tweets");
    let mut candidates = opts.search_dirs(path);
    candidates.push(cache.clone());
    for c in &candidates {
        if let Some(file) = find(c, opts) {
            return corpus_from_file(&file);
        }
        tried.push(format!(
            "{}: no Tweets.csv or airline_tweets/Tweets.csv",
            c.display()
        ));
    }
    if let Some(repo) = hub_id {
        match read_tweets_hub(repo, opts) {
            Ok(c) => return Ok(c),
            Err(e) => tried.push(format!("Hugging Face Hub: {e}")),
        }
    }
    Err(Error::NotFound {
        corpus: "Twitter US Airline Sentiment".into(),
        tried,
        how: vec![
            "download Tweets.csv from https://www.kaggle.com/datasets/crowdflower/twitter-airline-sentiment (needs a Kaggle login)".into(),
            "then set `path` in the recipe, or pass --data-dir DIR / TEXTRNN_DATA_DIR=DIR where DIR holds airline_tweets/Tweets.csv or Tweets.csv".into(),
            format!("or put Tweets.csv in the cache directory {}", cache.display()),
            "or name a Hugging Face dataset with the columns text and airline_sentiment: `hub = \"owner/name\"` in the recipe".into(),
        ],
    })
}

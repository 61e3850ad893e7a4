//! Text-classification corpora for textrnn: find, download (sha256-verified, cached), parse and
//! split. No tensors here: a corpus is strings and `u32` labels.
//!
//! - [`Dataset`] / [`Corpus`]: documents, labels indexing `class_names`, the id of each document
//!   in its source, and where they came from (with a [`Fingerprint`] of each user file).
//! - [`DataConfig`] + [`load`]: the recipe's `data` section (`imdb`, `ag_news`, `tweets`, `files`,
//!   `csv`, `jsonl`, `parquet`) and the one entry point; [`DataConfig::rebase`] anchors its
//!   paths; [`LoadOptions`] say where to look (data dir, cache, offline, mirrors, Hub).
//! - Corpora: [`imdb`], [`ag_news`], [`tweets`], user files ([`user_files`]: the loader's checks,
//!   [`load_labelled_file`] for evaluating on a new file).
//! - [`table`]: the one streaming reader of user files ([`TableReader`]: CSV, TSV, JSON Lines,
//!   parquet, plain text; format detection, bounded lines, errors with file and line).
//! - [`fingerprint`]: size, sha256 and rows of a data file, and whether it changed since.
//! - [`stored`]: a run's stored split ([`save_split`] / [`load_split`], gzip JSON Lines).
//! - Splits: [`shuffle`], [`split_fraction`], [`validation_split_last`], [`stratified_split`],
//!   all seeded with `ChaCha8Rng::seed_from_u64`; ids travel with their documents.
//! - Plumbing: [`download::fetch`], [`hub`], [`parquet_file`], [`manifest`] (the `datasets/*.toml`).
//! - Limits: archives and corpus directories are read within [`LoadOptions::max_member_bytes`]
//!   and [`LoadOptions::max_archive_bytes`] (refused before allocating); [`corpus_dir`] does not
//!   follow symbolic links out of a corpus directory; without `HOME` the cache is a private
//!   per-user directory ([`options`]).
//!
//! ```no_run
//! use textrnn_data::{load, split_fraction, DataConfig, LoadOptions};
//! let corpus = load(&DataConfig::Imdb { data_dir: None }, &LoadOptions::from_env())?;
//! let (train, val) = split_fraction(&corpus.train, 0.15, 42)?;
//! println!("{} / {} / {}", train.len(), val.len(), corpus.test.map_or(0, |t| t.len()));
//! # Ok::<(), textrnn_data::Error>(())
//! ```
#![warn(missing_docs)]

pub mod ag_news;
pub mod config;
pub mod corpus_dir;
pub mod csv_file;
pub mod dataset;
pub mod download;
pub mod error;
pub mod fingerprint;
pub mod hub;
pub mod imdb;
pub mod imdb_sample;
pub mod labels;
pub mod manifest;
pub mod options;
pub mod parquet_file;
pub mod split;
pub mod stored;
pub mod table;
pub mod table_writer;
pub mod tweets;
pub mod user_files;

pub use config::{load, DataConfig};
pub use dataset::{Corpus, Dataset};
pub use error::{Error, Result};
pub use fingerprint::{fingerprint, FileState, Fingerprint};
pub use labels::infer_class_names;
pub use options::{
    default_cache_dir, HubOptions, LoadOptions, DEFAULT_MAX_ARCHIVE_BYTES, DEFAULT_MAX_MEMBER_BYTES,
};
pub use split::{
    shuffle, split_fraction, stratified_split, validation_split_last, IMDB_VALIDATION_FRACTION,
    TWEETS_FRACTIONS,
};
pub use stored::{load_split, save_split};
pub use table::{FileFormat, Row, TableReader, TableSpec, Utf8Policy, MAX_LINE_BYTES};
pub use user_files::{load_labelled_file, load_user_files, UserFiles};

//! Text-classification corpora for textrnn: find, download (sha256-verified, cached), parse and
//! split. No tensors here: a corpus is strings and `u32` labels.
//!
//! - [`Dataset`] / [`Corpus`]: documents, labels indexing `class_names`, and where they came from.
//! - [`DataConfig`] + [`load`]: the recipe's `data` section (`imdb`, `ag_news`, `tweets`, `csv`,
//!   `jsonl`) and the one entry point; [`LoadOptions`] say where to look (data dir, cache,
//!   offline, mirrors, Hub).
//! - Corpora: [`imdb`], [`ag_news`], [`tweets`], user files ([`user_files`]).
//! - Splits: [`shuffle`], [`split_fraction`], [`validation_split_last`], [`stratified_split`],
//!   all seeded with `ChaCha8Rng::seed_from_u64`.
//! - Plumbing: [`download::fetch`], [`hub`], [`parquet_file`], [`manifest`] (the `datasets/*.toml`).
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
pub mod csv_file;
pub mod dataset;
pub mod download;
pub mod error;
pub mod hub;
pub mod imdb;
pub mod jsonl_file;
pub mod labels;
pub mod manifest;
pub mod options;
pub mod parquet_file;
pub mod split;
pub mod tweets;
pub mod user_files;

pub use config::{load, DataConfig};
pub use dataset::{Corpus, Dataset};
pub use error::{Error, Result};
pub use labels::infer_class_names;
pub use options::{default_cache_dir, HubOptions, LoadOptions};
pub use split::{
    shuffle, split_fraction, stratified_split, validation_split_last, IMDB_VALIDATION_FRACTION,
    TWEETS_FRACTIONS,
};
pub use user_files::{load_user_files, FileFormat, UserFiles};

//! [`DataConfig`], the `data` section of a recipe, and the [`load`] entry point.
//!
//! A serde enum tagged by `corpus`:
//!
//! ```toml
//! [data]
//! corpus = "imdb"            # or "ag_news"
//! data_dir = "data"          # optional
//!
//! # corpus = "tweets"; path = "data/Tweets.csv"  or  hub = "owner/name"
//! # corpus = "files"; train = "train.csv"; validation = "val.csv"; test = "test.jsonl"
//! #                  text_col = "sentence"; label_col = "label"; id_col = "id"
//! #                  format = "csv"; delimiter = ";"; class_names = ["neg", "pos"]
//! #   (format: csv|tsv|jsonl|parquet, else each file's extension; see `crate::table`)
//! # corpus = "csv" / "jsonl" / "parquet": the same fields, the format forced
//! ```
//!
//! Relative paths are relative to the working directory until [`DataConfig::rebase`] anchors
//! them (to the recipe file's directory) and makes them absolute.
//!
//! ```
//! use textrnn_data::DataConfig;
//! let cfg: DataConfig = toml::from_str("corpus = \"tweets\"\npath = \"Tweets.csv\"").unwrap();
//! assert_eq!(cfg, DataConfig::Tweets { path: Some("Tweets.csv".into()), hub: None });
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataset::Corpus;
use crate::error::{Error, Result};
use crate::options::LoadOptions;
use crate::table::FileFormat;
use crate::user_files::{load_user_files, UserFiles};
use crate::{ag_news, imdb, tweets};

/// Which corpus to load and where from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "corpus", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataConfig {
    /// Large Movie Review Dataset (see [`crate::imdb`]).
    Imdb {
        /// Directory holding the tarball or `aclImdb/`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data_dir: Option<PathBuf>,
    },
    /// The small IMDB sample embedded in the binary (see [`crate::imdb_sample`]): what training
    /// falls back to when the IMDB corpus can be neither found nor downloaded.
    ImdbSample,
    /// AG News (see [`crate::ag_news`]).
    AgNews {
        /// Directory holding `ag_news_csv/`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data_dir: Option<PathBuf>,
    },
    /// Twitter US Airline Sentiment (see [`crate::tweets`]).
    Tweets {
        /// `Tweets.csv`, or a directory holding it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<PathBuf>,
        /// A Hugging Face dataset id with the same columns.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hub: Option<String>,
    },
    /// The user's files, each read by the `format` field or its extension.
    Files(UserFiles),
    /// The user's CSV/TSV files.
    Csv(UserFiles),
    /// The user's JSON Lines files.
    Jsonl(UserFiles),
    /// The user's parquet files.
    Parquet(UserFiles),
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig::Imdb { data_dir: None }
    }
}

/// Loads the corpus `config` names (see each corpus module for its sources and their order).
///
/// ```no_run
/// use textrnn_data::{load, DataConfig, LoadOptions};
/// let corpus = load(&DataConfig::Imdb { data_dir: None }, &LoadOptions::from_env())?;
/// println!("{} train documents from {}", corpus.train.len(), corpus.source);
/// # Ok::<(), textrnn_data::Error>(())
/// ```
pub fn load(config: &DataConfig, opts: &LoadOptions) -> Result<Corpus> {
    match config {
        DataConfig::Imdb { data_dir } => imdb::load_imdb(data_dir.as_deref(), opts),
        DataConfig::ImdbSample => crate::imdb_sample::load_imdb_sample(),
        DataConfig::AgNews { data_dir } => ag_news::load_ag_news(data_dir.as_deref(), opts),
        DataConfig::Tweets { path, hub } => {
            tweets::load_tweets(path.as_deref(), hub.as_deref(), opts)
        }
        DataConfig::Files(files) => load_user_files(files, None),
        DataConfig::Csv(files) => load_user_files(files, Some(FileFormat::Csv)),
        DataConfig::Jsonl(files) => load_user_files(files, Some(FileFormat::Jsonl)),
        DataConfig::Parquet(files) => load_user_files(files, Some(FileFormat::Parquet)),
    }
}

impl DataConfig {
    /// The user files of a `files` / `csv` / `jsonl` / `parquet` config.
    pub fn user_files(&self) -> Option<&UserFiles> {
        match self {
            Self::Files(f) | Self::Csv(f) | Self::Jsonl(f) | Self::Parquet(f) => Some(f),
            Self::Imdb { .. } | Self::AgNews { .. } | Self::Tweets { .. } | Self::ImdbSample => {
                None
            }
        }
    }

    /// Mutable [`DataConfig::user_files`].
    pub fn user_files_mut(&mut self) -> Option<&mut UserFiles> {
        match self {
            Self::Files(f) | Self::Csv(f) | Self::Jsonl(f) | Self::Parquet(f) => Some(f),
            Self::Imdb { .. } | Self::AgNews { .. } | Self::Tweets { .. } | Self::ImdbSample => {
                None
            }
        }
    }

    /// Anchors every path of the config: a relative one becomes `base_dir.join(p)`, and every
    /// one is made absolute (`std::path::absolute`, against the working directory).
    pub fn rebase(&mut self, base_dir: &Path) -> Result<()> {
        let anchor = |p: &mut PathBuf| -> Result<()> {
            let joined = base_dir.join(&*p);
            *p = std::path::absolute(&joined).map_err(|e| Error::io(&joined, e))?;
            Ok(())
        };
        match self {
            DataConfig::Imdb { data_dir } | DataConfig::AgNews { data_dir } => {
                data_dir.as_mut().map(anchor).transpose()?;
            }
            DataConfig::Tweets { path, .. } => {
                path.as_mut().map(anchor).transpose()?;
            }
            DataConfig::ImdbSample => {}
            DataConfig::Files(_)
            | DataConfig::Csv(_)
            | DataConfig::Jsonl(_)
            | DataConfig::Parquet(_) => {}
        }
        if let Some(f) = self.user_files_mut() {
            anchor(&mut f.train)?;
            f.validation.as_mut().map(anchor).transpose()?;
            f.test.as_mut().map(anchor).transpose()?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_variant_and_rejects_unknown_fields() {
        let c: DataConfig = toml::from_str("corpus = \"imdb\"").unwrap();
        assert_eq!(c, DataConfig::default());
        let c: DataConfig = toml::from_str("corpus = \"ag_news\"\ndata_dir = \"d\"").unwrap();
        assert_eq!(
            c,
            DataConfig::AgNews {
                data_dir: Some("d".into())
            }
        );
        let c: DataConfig = toml::from_str(
            "corpus = \"csv\"\ntrain = \"a.tsv\"\ntext_col = \"s\"\ndelimiter = \"\\t\"\nclass_names = [\"x\", \"y\"]",
        )
        .unwrap();
        let DataConfig::Csv(f) = &c else {
            panic!("{c:?}")
        };
        assert_eq!(f.delimiter, Some('\t'));
        assert_eq!(f.label_col, "label");
        assert_eq!(
            f.class_names.as_deref(),
            Some(&["x".to_string(), "y".to_string()][..])
        );
        let c: DataConfig = toml::from_str("corpus = \"jsonl\"\ntrain = \"a.jsonl\"").unwrap();
        assert!(matches!(c, DataConfig::Jsonl(_)));
        let c: DataConfig = toml::from_str(
            "corpus = \"files\"\ntrain = \"a.txt\"\nformat = \"tsv\"\nid_col = \"k\"\ndelimiter = \";\"",
        )
        .unwrap();
        let f = c.user_files().unwrap();
        assert_eq!(f.format, Some(FileFormat::Tsv));
        assert_eq!(f.id_col.as_deref(), Some("k"));
        assert_eq!(f.delimiter_byte().unwrap(), Some(b';'));
        let c: DataConfig = toml::from_str("corpus = \"parquet\"\ntrain = \"a.parquet\"").unwrap();
        assert!(matches!(c, DataConfig::Parquet(_)));
        assert!(DataConfig::default().user_files().is_none());

        for bad in [
            "corpus = \"imdb\"\ndatadir = \"x\"",
            "corpus = \"csv\"\ntrain = \"a\"\ntext_column = \"x\"",
            "corpus = \"tweets\"\nfile = \"x\"",
            "corpus = \"mnist\"",
            "corpus = \"files\"\ntrain = \"a\"\nformat = \"xls\"",
        ] {
            assert!(toml::from_str::<DataConfig>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_round_trip() {
        let c = DataConfig::Tweets {
            path: None,
            hub: Some("a/b".into()),
        };
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(j, r#"{"corpus":"tweets","hub":"a/b"}"#);
        assert_eq!(serde_json::from_str::<DataConfig>(&j).unwrap(), c);
        let c = DataConfig::Csv(UserFiles {
            train: "t.csv".into(),
            ..UserFiles::default()
        });
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<DataConfig>(&j).unwrap(), c);
    }
}

//! The corpus manifests in the repository's `datasets/` folder, compiled in with `include_str!`
//! so URLs, checksums, Hub ids and class names have one source of truth.
//!
//! ```
//! let imdb = textrnn_data::manifest::imdb().unwrap();
//! assert_eq!(imdb.class_names, ["neg", "pos"]);
//! let url = imdb.source("url").unwrap();
//! assert_eq!(url.file.as_deref(), Some("aclImdb_v1.tar.gz"));
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};

/// `datasets/imdb.toml`.
pub const IMDB_TOML: &str = include_str!("../../../datasets/imdb.toml");
/// `datasets/ag_news.toml`.
pub const AG_NEWS_TOML: &str = include_str!("../../../datasets/ag_news.toml");
/// `datasets/airline_tweets.toml`.
pub const AIRLINE_TWEETS_TOML: &str = include_str!("../../../datasets/airline_tweets.toml");

/// One corpus manifest.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Short name, e.g. `imdb`.
    pub name: String,
    /// Full title.
    pub title: String,
    /// Project page.
    pub homepage: String,
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// How the files are laid out.
    pub format: String,
    /// Licence note.
    pub license: String,
    /// Citation.
    pub citation: String,
    /// Document counts (split or class name -> count).
    pub size: BTreeMap<String, u64>,
    /// Where the data can come from, in the loader's order of preference.
    pub sources: Vec<Source>,
    /// A small sample bundled with textrnn (IMDB only: [`crate::imdb_sample`]).
    #[serde(default)]
    pub sample: Option<Sample>,
}

/// How a bundled sample of a corpus was made (`[sample]` in the manifest).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// File name in `datasets/`.
    pub file: String,
    /// Its layout.
    pub format: String,
    /// The command that wrote it.
    pub command: String,
    /// How the documents were chosen.
    pub method: String,
    /// Seed of the draw.
    pub seed: u64,
    /// Training documents.
    pub train: u64,
    /// Test documents.
    pub test: u64,
    /// Documents per class in each split.
    pub per_class: u64,
    /// The corpus file the sample was drawn from.
    pub source_file: String,
    /// sha256 of that file.
    pub source_sha256: String,
    /// sha256 of the sample file.
    pub sha256: String,
    /// Size of the sample file in bytes.
    pub bytes: u64,
    /// Licence note.
    pub license: String,
}

/// One source of a corpus: a URL, local file names, or a Hugging Face Hub dataset.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `url`, `files` or `hf`.
    pub kind: String,
    /// Download URL (`url`).
    pub url: Option<String>,
    /// File name of the download (`url`).
    pub file: Option<String>,
    /// sha256 of the download (`url`).
    pub sha256: Option<String>,
    /// Directory name (`files`).
    pub dir: Option<String>,
    /// Hub dataset id (`hf`).
    pub repo: Option<String>,
    /// Train file (`files`, `hf`).
    pub train: Option<String>,
    /// Test file (`files`, `hf`).
    pub test: Option<String>,
    /// Text column (`hf`).
    pub text_col: Option<String>,
    /// Label column (`hf`).
    pub label_col: Option<String>,
    /// md5 of the train file when no sha256 is known.
    pub train_md5: Option<String>,
    /// md5 of the test file.
    pub test_md5: Option<String>,
    /// sha256 of the train file.
    pub train_sha256: Option<String>,
    /// sha256 of the test file.
    pub test_sha256: Option<String>,
    /// Free-form remark.
    pub note: Option<String>,
}

impl Manifest {
    /// Parses a manifest; `name` is used in error messages.
    pub fn parse(name: &str, text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Manifest {
            name: name.to_string(),
            message: e.to_string(),
        })
    }

    /// The first source of the given kind.
    pub fn source(&self, kind: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.kind == kind)
    }
}

/// The IMDB manifest.
pub fn imdb() -> Result<Manifest> {
    Manifest::parse("imdb", IMDB_TOML)
}

/// The AG News manifest.
pub fn ag_news() -> Result<Manifest> {
    Manifest::parse("ag_news", AG_NEWS_TOML)
}

/// The airline tweets manifest.
pub fn airline_tweets() -> Result<Manifest> {
    Manifest::parse("airline_tweets", AIRLINE_TWEETS_TOML)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn manifests_parse_and_agree_with_the_loaders() {
        let m = imdb().unwrap();
        assert_eq!(m.size["train"], 25000);
        let url = m.source("url").unwrap();
        assert_eq!(
            url.sha256.as_deref(),
            Some("c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe")
        );
        assert_eq!(
            m.source("hf").unwrap().repo.as_deref(),
            Some("stanfordnlp/imdb")
        );

        let m = ag_news().unwrap();
        assert_eq!(m.class_names, ["World", "Sports", "Business", "Sci/Tech"]);
        assert_eq!(
            m.source("hf").unwrap().repo.as_deref(),
            Some("fancyzhx/ag_news")
        );
        assert_eq!(m.size["test"], 7600);

        let m = airline_tweets().unwrap();
        assert_eq!(m.class_names, ["negative", "neutral", "positive"]);
        assert_eq!(
            m.size["negative"] + m.size["neutral"] + m.size["positive"],
            m.size["rows"]
        );
    }

    #[test]
    fn bad_manifest_is_reported_by_name() {
        let e = Manifest::parse("x", "name = 1").unwrap_err();
        assert!(
            e.to_string().starts_with("manifest datasets/x.toml:"),
            "{e}"
        );
    }
}

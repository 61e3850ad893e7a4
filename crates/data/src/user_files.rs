//! The user's own CSV/TSV/JSONL files: [`UserFiles`] (the `csv` / `jsonl` data config) and
//! [`load_user_files`].
//!
//! Label ids: given `class_names` (a label outside them is an error with file:line and value),
//! or inferred from all splits together as the sorted unique values (see [`crate::labels`]).
//! The CSV delimiter is `,` or `\t`; when not given it is `\t` for a `.tsv` train file, else `,`.
//! Relative paths are relative to the working directory.
//!
//! ```no_run
//! use textrnn_data::{load_user_files, FileFormat, UserFiles};
//! let files = UserFiles {
//!     train: "data/train.tsv".into(),
//!     text_col: "sentence".into(),
//!     ..UserFiles::default()
//! };
//! let corpus = load_user_files(&files, FileFormat::Csv)?;
//! println!("{:?}", corpus.train.class_names);
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataset::Corpus;
use crate::error::{Error, Result};
use crate::labels::{class_names_for, to_dataset, RawSplit};
use crate::{csv_file, jsonl_file};

fn default_text_col() -> String {
    "text".into()
}

fn default_label_col() -> String {
    "label".into()
}

/// User-supplied files (the fields of the `csv` and `jsonl` data configs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFiles {
    /// Training file.
    pub train: PathBuf,
    /// Test file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<PathBuf>,
    /// Validation file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<PathBuf>,
    /// Text column / field (default `text`).
    #[serde(default = "default_text_col")]
    pub text_col: String,
    /// Label column / field (default `label`).
    #[serde(default = "default_label_col")]
    pub label_col: String,
    /// CSV delimiter, `,` or `\t` (default: inferred from the train file's extension). Not
    /// allowed for JSONL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Class names in label-id order; inferred (sorted unique values) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
}

impl Default for UserFiles {
    fn default() -> Self {
        Self {
            train: PathBuf::new(),
            test: None,
            validation: None,
            text_col: default_text_col(),
            label_col: default_label_col(),
            delimiter: None,
            class_names: None,
        }
    }
}

/// File format of [`UserFiles`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma- or tab-separated values with a header row.
    Csv,
    /// JSON Lines.
    Jsonl,
}

impl UserFiles {
    /// The delimiter byte: the configured one, else `\t` for `.tsv`, else `,`.
    pub fn delimiter_byte(&self) -> Result<u8> {
        match self.delimiter {
            Some(',') => Ok(b','),
            Some('\t') => Ok(b'\t'),
            Some(other) => Err(Error::Config {
                field: "delimiter".into(),
                message: format!("{other:?} is not supported; use ',' or '\\t'"),
            }),
            None => Ok(
                if self
                    .train
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("tsv"))
                {
                    b'\t'
                } else {
                    b','
                },
            ),
        }
    }
}

/// Reads the train file and the optional test and validation files.
pub fn load_user_files(files: &UserFiles, format: FileFormat) -> Result<Corpus> {
    let read = |path: &Path| -> Result<RawSplit> {
        match format {
            FileFormat::Csv => csv_file::read_records(
                path,
                files.delimiter_byte()?,
                &files.text_col,
                &files.label_col,
            ),
            FileFormat::Jsonl => jsonl_file::read_records(path, &files.text_col, &files.label_col),
        }
    };
    if format == FileFormat::Jsonl && files.delimiter.is_some() {
        return Err(Error::Config {
            field: "delimiter".into(),
            message: "only applies to csv files, not jsonl".into(),
        });
    }
    let train = read(&files.train)?;
    let test = files.test.as_deref().map(read).transpose()?;
    let validation = files.validation.as_deref().map(read).transpose()?;
    let all: Vec<&RawSplit> = std::iter::once(&train)
        .chain(test.as_ref())
        .chain(validation.as_ref())
        .collect();
    let class_names = class_names_for(&all, files.class_names.as_deref())?;
    tracing::info!(
        train = %files.train.display(),
        classes = ?class_names,
        "loaded user files"
    );
    Ok(Corpus {
        train: to_dataset(train, &class_names)?,
        test: test.map(|s| to_dataset(s, &class_names)).transpose()?,
        validation: validation
            .map(|s| to_dataset(s, &class_names))
            .transpose()?,
        source: files.train.display().to_string(),
    })
}

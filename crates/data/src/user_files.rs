//! The user's own labelled files: [`UserFiles`] (the `files`, `csv`, `jsonl` and `parquet` data
//! configs), [`load_user_files`] and, for evaluating a run on a new file, [`load_labelled_file`].
//!
//! Every file is read through [`TableReader`] (format from the `format` field, the config's
//! corpus or the file's extension; see [`crate::table`]). Labels are strings kept exactly as
//! written (`"01"` and `"1"` are two labels). Label ids: given `class_names` (a label outside
//! them is an error with file:line and value), or inferred from all files together as the sorted
//! unique values (see [`crate::labels`]). Ids: the `id_col` value, else the 1-based data row.
//! Sample weights: the train file's `weight_col` ([`Dataset::weights`]; a value that is not a
//! finite number `>= 0` is an [`Error::BadWeight`] with file, line and column, all zero an
//! [`Error::ZeroWeights`]).
//!
//! Multi-label files: with [`UserFiles::label_sep`] every label cell is split on the separator
//! (each label trimmed, blanks dropped), and a JSONL label that is a list of strings is a label
//! set without one; class names are then the sorted unique labels, and the datasets carry
//! [`Dataset::label_sets`] (rows of one label are sets of one). Refused, naming the file and
//! line: a row left without a label, a separator that no label cell of the train file contains
//! (almost certainly the wrong one), a label of the validation or test file unseen in training.
//!
//! Loading fails before anything is returned, naming the file and line, on: a file with no
//! records, an empty text, a train file with a single class, a label of the validation or test
//! file that the train file never has, and everything [`TableReader`] refuses. Relative paths are
//! relative to the working directory; [`crate::DataConfig::rebase`] makes them relative to a
//! recipe file. [`crate::Corpus::files`] gets a [`Fingerprint`] of each file read.
//!
//! ```no_run
//! use textrnn_data::{load_user_files, UserFiles};
//! let files = UserFiles {
//!     train: "data/train.tsv".into(),
//!     text_col: "sentence".into(),
//!     ..UserFiles::default()
//! };
//! let corpus = load_user_files(&files, None)?;
//! println!("{:?} from {:?}", corpus.train.class_names, corpus.files);
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataset::{Corpus, Dataset};
use crate::error::{Error, Result};
use crate::fingerprint::{fingerprint, Fingerprint};
use crate::labels::{class_names_for, split_label_cell, to_dataset, RawRecord, RawSplit};
use crate::table::{json_label_list, FileFormat, TableReader, TableSpec};

fn default_text_col() -> String {
    "text".into()
}

fn default_label_col() -> String {
    "label".into()
}

/// User-supplied files (the fields of the `files`, `csv`, `jsonl` and `parquet` data configs).
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
    /// File format of every file; detected per file (extension, sniffing) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FileFormat>,
    /// Text column / field (default `text`).
    #[serde(default = "default_text_col")]
    pub text_col: String,
    /// Label column / field (default `label`).
    #[serde(default = "default_label_col")]
    pub label_col: String,
    /// Id column / field; the 1-based data row when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_col: Option<String>,
    /// Delimiter of delimited files: `,`, `\t`, `;` or `|` (default: `\t` for `.tsv`, else
    /// sniffed). Not allowed for JSONL or parquet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Class names in label-id order; inferred (sorted unique values) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// Sample-weight column / field of the train file (`--weight-col`): a finite number `>= 0`
    /// per row multiplying that row's loss (Keras `sample_weight`). Validation and test files
    /// are read without it (their metrics are unweighted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_col: Option<String>,
    /// Multi-label files: the separator between the labels of one label cell (`--label-sep
    /// ","`). A JSONL label that is a list of strings is multi-label without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_sep: Option<String>,
}

impl Default for UserFiles {
    fn default() -> Self {
        Self {
            train: PathBuf::new(),
            test: None,
            validation: None,
            format: None,
            text_col: default_text_col(),
            label_col: default_label_col(),
            id_col: None,
            delimiter: None,
            class_names: None,
            label_sep: None,
            weight_col: None,
        }
    }
}

impl UserFiles {
    /// The configured delimiter as a byte (`None`: by extension or sniffed).
    pub fn delimiter_byte(&self) -> Result<Option<u8>> {
        match self.delimiter {
            None => Ok(None),
            Some(c @ (',' | '\t' | ';' | '|')) => Ok(Some(c as u8)),
            Some(other) => Err(Error::Config {
                field: "delimiter".into(),
                message: format!("{other:?} is not supported; use ',', '\\t', ';' or '|'"),
            }),
        }
    }

    /// How to read the files: `forced` (the config's corpus) or the `format` field, the columns,
    /// the delimiter.
    pub fn table_spec(&self, forced: Option<FileFormat>) -> Result<TableSpec> {
        let format = forced.or(self.format);
        let delimiter = self.delimiter_byte()?;
        if let (Some(f @ (FileFormat::Jsonl | FileFormat::Parquet)), Some(_)) = (format, delimiter)
        {
            return Err(Error::Config {
                field: "delimiter".into(),
                message: format!("only applies to csv and tsv files, not {f}"),
            });
        }
        if self
            .label_sep
            .as_deref()
            .is_some_and(|sep| sep.trim().is_empty())
        {
            return Err(Error::Config {
                field: "label_sep".into(),
                message: "the label separator must hold a visible character".into(),
            });
        }
        Ok(TableSpec {
            format,
            text_col: self.text_col.clone(),
            label_col: Some(self.label_col.clone()),
            id_col: self.id_col.clone(),
            delimiter,
            label_sep: self.label_sep.clone(),
            weight_col: self.weight_col.clone(),
            ..TableSpec::default()
        })
    }
}

/// Reads every row of a labelled file without its sample weights (see [`read_weighted`]).
fn read_labelled(path: &Path, spec: &TableSpec) -> Result<(RawSplit, Fingerprint)> {
    let spec = TableSpec {
        weight_col: None,
        ..spec.clone()
    };
    read_weighted(path, &spec).map(|(split, fp, _)| (split, fp))
}

/// Reads every row of a labelled file, refusing empty texts: the records, the fingerprint and,
/// when `spec.weight_col` is set, every row's sample weight.
fn read_weighted(
    path: &Path,
    spec: &TableSpec,
) -> Result<(RawSplit, Fingerprint, Option<Vec<f32>>)> {
    let mut records = Vec::new();
    let mut weights = Vec::new();
    let reader = TableReader::open(path, spec)?;
    let jsonl = reader.format() == FileFormat::Jsonl;
    for row in reader {
        let row = row?;
        weights.extend(row.weight);
        if row.text.trim().is_empty() {
            return Err(Error::EmptyText {
                path: path.to_path_buf(),
                line: row.line,
                column: spec.text_col.clone(),
            });
        }
        let label = row.label.unwrap_or_default();
        let labels = label_cell(path, spec, jsonl, row.line, &label)?;
        records.push(RawRecord {
            id: row.id,
            text: row.text,
            label,
            labels,
            line: row.line,
        });
    }
    let fp = fingerprint(path, records.len() as u64)?;
    let split = RawSplit {
        path: path.to_path_buf(),
        records,
    };
    Ok((split, fp, spec.weight_col.is_some().then_some(weights)))
}

/// A record's label set when the file is multi-label (see [`RawRecord::labels`]): a JSONL list
/// of strings, or the cell split on `spec.label_sep`, each label trimmed; `None` for a
/// single-label cell. A set left empty is an [`Error::NoLabel`].
pub fn label_cell(
    path: &Path,
    spec: &TableSpec,
    jsonl: bool,
    line: u64,
    cell: &str,
) -> Result<Option<Vec<String>>> {
    let labels = match (
        jsonl.then(|| json_label_list(cell)).flatten(),
        &spec.label_sep,
    ) {
        (Some(list), _) => list
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        (None, Some(sep)) => split_label_cell(cell, sep),
        (None, None) => return Ok(None),
    };
    if labels.is_empty() {
        return Err(Error::NoLabel {
            path: path.to_path_buf(),
            line,
            column: spec.label_col.clone().unwrap_or_default(),
        });
    }
    Ok(Some(labels))
}

/// Refuses a label separator that no label cell of the training file contains (a JSONL list
/// needs none): almost certainly the wrong separator.
pub fn check_separator(train: &RawSplit, spec: &TableSpec) -> Result<()> {
    let Some(sep) = &spec.label_sep else {
        return Ok(());
    };
    let used = train
        .records
        .iter()
        .any(|r| r.label.contains(sep.as_str()) || r.label.starts_with('['));
    if used {
        return Ok(());
    }
    Err(Error::SeparatorNeverOccurs {
        path: train.path.clone(),
        column: spec.label_col.clone().unwrap_or_default(),
        sep: sep.clone(),
        rows: train.records.len() as u64,
    })
}

/// Each distinct label of `split` (every label of a multi-label record) with the line of its
/// first occurrence, in that order.
fn first_lines(split: &RawSplit) -> Vec<(&str, u64)> {
    let mut seen = HashSet::new();
    split
        .records
        .iter()
        .flat_map(|r| r.label_set().into_iter().map(move |l| (l, r.line)))
        .filter(|(l, _)| seen.insert(*l))
        .collect()
}

/// `ds` as multi-label data when `multi` (rows of one label become sets of one).
pub fn multi_if(ds: Dataset, multi: bool) -> Dataset {
    if multi {
        ds.into_multi_label()
    } else {
        ds
    }
}

/// Refuses a train split with a single class and other splits with labels the train split lacks.
fn check_labels(train: &RawSplit, others: &[&RawSplit]) -> Result<()> {
    let train_labels = first_lines(train);
    if let [(only, _)] = train_labels.as_slice() {
        return Err(Error::SingleClass {
            path: train.path.clone(),
            label: only.to_string(),
            rows: train.records.len() as u64,
        });
    }
    let known: HashSet<&str> = train_labels.iter().map(|(l, _)| *l).collect();
    for split in others {
        if let Some((label, line)) = first_lines(split)
            .into_iter()
            .find(|(l, _)| !known.contains(l))
        {
            return Err(Error::UnseenLabel {
                path: split.path.clone(),
                line,
                label: label.to_string(),
                train: train.path.clone(),
            });
        }
    }
    Ok(())
}

/// Refuses sample weights (of the training file `path`, read with `spec`) that are all 0:
/// nothing would be learned. Each weight was checked on its own as it was read.
pub fn check_not_all_zero(path: &Path, spec: &TableSpec, weights: &[f32]) -> Result<()> {
    if weights.iter().all(|&v| v == 0.0) {
        return Err(Error::ZeroWeights {
            path: path.to_path_buf(),
            column: spec.weight_col.clone().unwrap_or_default(),
            rows: weights.len() as u64,
        });
    }
    Ok(())
}

/// Reads the train file and the optional validation and test files (see the module docs).
/// `forced` is the format a `csv` / `jsonl` / `parquet` config imposes; `None` for `files`.
pub fn load_user_files(files: &UserFiles, forced: Option<FileFormat>) -> Result<Corpus> {
    let spec = files.table_spec(forced)?;
    let (train, train_fp, weights) = read_weighted(&files.train, &spec)?;
    if let Some(w) = &weights {
        check_not_all_zero(&files.train, &spec, w)?;
    }
    check_separator(&train, &spec)?;
    let multi = spec.label_sep.is_some() || train.is_multi_label();
    let validation = files
        .validation
        .as_deref()
        .map(|p| read_labelled(p, &spec))
        .transpose()?;
    let test = files
        .test
        .as_deref()
        .map(|p| read_labelled(p, &spec))
        .transpose()?;
    let others: Vec<&RawSplit> = validation.iter().chain(&test).map(|(s, _)| s).collect();
    check_labels(&train, &others)?;
    let all: Vec<&RawSplit> = std::iter::once(&train).chain(others).collect();
    let class_names = class_names_for(&all, files.class_names.as_deref())?;
    tracing::info!(
        train = %files.train.display(),
        classes = ?class_names,
        "loaded user files"
    );
    let mut fps = vec![train_fp];
    let mut dataset = |split: Option<(RawSplit, Fingerprint)>| -> Result<Option<Dataset>> {
        split
            .map(|(s, fp)| {
                fps.push(fp);
                to_dataset(s, &class_names).map(|ds| multi_if(ds, multi))
            })
            .transpose()
    };
    let validation = dataset(validation)?;
    let test = dataset(test)?;
    let train = Dataset {
        weights,
        ..multi_if(to_dataset(train, &class_names)?, multi)
    };
    Ok(Corpus {
        train,
        test,
        validation,
        source: files.train.display().to_string(),
        files: fps,
    })
}

/// Most unknown labels [`load_labelled_file`] names.
const MAX_UNKNOWN_LABELS: usize = 10;

/// Reads a labelled file for evaluation against a run's `class_names` (`spec.label_col` must be
/// set). Every label must be one of `class_names`: otherwise one [`Error::UnknownLabels`] names
/// the unknown labels (up to 10, with the first line of each) and the run's classes.
pub fn load_labelled_file(
    path: &Path,
    spec: &TableSpec,
    class_names: &[String],
) -> Result<Dataset> {
    if spec.label_col.is_none() {
        return Err(Error::Config {
            field: "label_col".into(),
            message: format!("{}: no label column given to evaluate on", path.display()),
        });
    }
    let (split, _) = read_labelled(path, spec)?;
    let known: HashSet<&str> = class_names.iter().map(String::as_str).collect();
    let unknown: Vec<(&str, u64)> = first_lines(&split)
        .into_iter()
        .filter(|(l, _)| !known.contains(l))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::UnknownLabels {
            path: path.to_path_buf(),
            count: unknown.len(),
            unknown: unknown
                .into_iter()
                .take(MAX_UNKNOWN_LABELS)
                .map(|(l, line)| (l.to_string(), line))
                .collect(),
            classes: class_names.to_vec(),
        });
    }
    let multi = spec.label_sep.is_some() || split.is_multi_label();
    Ok(multi_if(to_dataset(split, class_names)?, multi))
}

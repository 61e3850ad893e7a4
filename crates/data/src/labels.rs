//! Turning string labels into class ids: given class names, or names inferred from the data.
//!
//! Inference ([`infer_class_names`]) returns the sorted unique values, so the ids do not depend
//! on row order or on which split a value first appears in: numerically when every value is an
//! integer that fits an `i128` (`"2" < "10"`; equal values by their text, so `"01"` and `"1"` stay
//! two labels), else by byte order (`"neg" < "pos"`). Given names must match exactly;
//! a value outside them is an [`Error::InvalidLabel`] naming the file, line and value.
//!
//! ```
//! use textrnn_data::infer_class_names;
//! assert_eq!(infer_class_names(["pos", "neg", "pos"]), ["neg", "pos"]);
//! assert_eq!(infer_class_names(["10", "2", "1"]), ["1", "2", "10"]);
//! assert_eq!(infer_class_names(["1", "01", "2"]), ["01", "1", "2"]);
//! ```

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// A record read from a user file, before its label becomes an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// Where the record came from (id column or 1-based data row).
    pub id: String,
    /// The text.
    pub text: String,
    /// The label as written in the file.
    pub label: String,
    /// A multi-label record's labels (trimmed, in file order, at least one): the JSON list, or
    /// the label cell split on the separator; `None` for a single-label record.
    pub labels: Option<Vec<String>>,
    /// 1-based line where the record starts.
    pub line: u64,
}

/// All records of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSplit {
    /// The file the records come from.
    pub path: PathBuf,
    /// Records in file order.
    pub records: Vec<RawRecord>,
}

/// Sorted unique labels, each kept as written: by `(value, text)` when all parse as `i128`,
/// else by byte order.
pub fn infer_class_names<'a>(labels: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let unique: BTreeSet<&str> = labels.into_iter().collect();
    let numeric: Option<Vec<(i128, &str)>> = unique
        .iter()
        .map(|n| n.parse::<i128>().ok().map(|v| (v, *n)))
        .collect();
    match numeric {
        Some(mut nums) => {
            nums.sort_unstable();
            nums.into_iter().map(|(_, n)| n.to_string()).collect()
        }
        None => unique.into_iter().map(str::to_string).collect(),
    }
}

impl RawRecord {
    /// The record's labels: its label set, or its one label.
    pub fn label_set(&self) -> Vec<&str> {
        match &self.labels {
            Some(set) => set.iter().map(String::as_str).collect(),
            None => vec![self.label.as_str()],
        }
    }
}

impl RawSplit {
    /// True when some record carries a label set (a multi-label file).
    pub fn is_multi_label(&self) -> bool {
        self.records.iter().any(|r| r.labels.is_some())
    }
}

/// Maps the labels of `split` onto `class_names`: a multi-label dataset when some record
/// carries a label set (the others count as sets of one), else one label per document.
pub fn to_dataset(split: RawSplit, class_names: &[String]) -> Result<Dataset> {
    if split.is_multi_label() {
        return to_multi_label_dataset(split, class_names);
    }
    let index: HashMap<&str, u32> = class_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut texts = Vec::with_capacity(split.records.len());
    let mut labels = Vec::with_capacity(split.records.len());
    let mut ids = Vec::with_capacity(split.records.len());
    for r in split.records {
        let Some(&id) = index.get(r.label.as_str()) else {
            return Err(Error::InvalidLabel {
                path: split.path,
                line: r.line,
                value: r.label,
                allowed: class_names.to_vec(),
            });
        };
        texts.push(r.text);
        labels.push(id);
        ids.push(r.id);
    }
    Dataset::new(texts, labels, class_names.to_vec())?.with_ids(ids)
}

/// [`to_dataset`] for multi-label records.
fn to_multi_label_dataset(split: RawSplit, class_names: &[String]) -> Result<Dataset> {
    let index: HashMap<&str, u32> = class_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut sets = Vec::with_capacity(split.records.len());
    for r in &split.records {
        let mut set = Vec::new();
        for label in r.label_set() {
            let Some(&id) = index.get(label) else {
                return Err(Error::InvalidLabel {
                    path: split.path,
                    line: r.line,
                    value: label.to_string(),
                    allowed: class_names.to_vec(),
                });
            };
            set.push(id);
        }
        sets.push(set);
    }
    let (texts, ids) = split.records.into_iter().map(|r| (r.text, r.id)).unzip();
    Dataset::multi_label(texts, sets, class_names.to_vec())?.with_ids(ids)
}

/// The labels of a multi-label cell: `sep`-separated, each trimmed, blanks dropped.
pub fn split_label_cell(cell: &str, sep: &str) -> Vec<String> {
    cell.split(sep)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Class names for a set of splits: `given`, or inferred from every split together.
pub fn class_names_for(splits: &[&RawSplit], given: Option<&[String]>) -> Result<Vec<String>> {
    match given {
        Some(names) => {
            let unique: BTreeSet<&String> = names.iter().collect();
            if names.is_empty() || unique.len() != names.len() {
                return Err(Error::Config {
                    field: "class_names".into(),
                    message: format!("must be non-empty and unique, got {names:?}"),
                });
            }
            Ok(names.to_vec())
        }
        None => {
            Ok(infer_class_names(splits.iter().flat_map(|s| {
                s.records.iter().flat_map(RawRecord::label_set)
            })))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn split(labels: &[&str]) -> RawSplit {
        RawSplit {
            path: "f.csv".into(),
            records: labels
                .iter()
                .enumerate()
                .map(|(i, l)| RawRecord {
                    id: format!("r{i}"),
                    text: format!("t{i}"),
                    label: l.to_string(),
                    labels: None,
                    line: i as u64 + 2,
                })
                .collect(),
        }
    }

    #[test]
    fn infers_sorted_names_across_splits() {
        let a = split(&["pos", "neg"]);
        let b = split(&["neutral"]);
        assert_eq!(
            class_names_for(&[&a, &b], None).unwrap(),
            ["neg", "neutral", "pos"]
        );
        assert_eq!(infer_class_names(["-1", "1", "0"]), ["-1", "0", "1"]);
        assert_eq!(infer_class_names(["b", "10", "9"]), ["10", "9", "b"]);
        assert_eq!(
            infer_class_names(["1", "01", "-1", "+1"]),
            ["-1", "+1", "01", "1"]
        );
        let big = "12345678901234567890123";
        assert_eq!(infer_class_names([big, "2"]), ["2", big]);
        let huge = "1234567890123456789012345678901234567890";
        assert_eq!(infer_class_names([huge, "2"]), [huge, "2"]);
    }

    #[test]
    fn given_names_map_and_reject() {
        let names = vec!["neg".to_string(), "pos".to_string()];
        let ds = to_dataset(split(&["pos", "neg", "pos"]), &names).unwrap();
        assert_eq!(ds.labels, vec![1, 0, 1]);
        assert_eq!(ds.ids, vec!["r0", "r1", "r2"]);
        let e = to_dataset(split(&["pos", "meh"]), &names).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv:3: label \"meh\" is not one of [\"neg\", \"pos\"]"
        );
        let dup = vec!["a".to_string(), "a".to_string()];
        assert!(class_names_for(&[], Some(&dup)).is_err());
    }
}

//! Turning string labels into class ids: given class names, or names inferred from the data.
//!
//! Inference ([`infer_class_names`]) returns the sorted unique values, so the ids do not depend
//! on row order or on which split a value first appears in: numerically when every value is an
//! integer (`"2" < "10"`), else by byte order (`"neg" < "pos"`). Given names must match exactly;
//! a value outside them is an [`Error::InvalidLabel`] naming the file, line and value.
//!
//! ```
//! use textrnn_data::infer_class_names;
//! assert_eq!(infer_class_names(["pos", "neg", "pos"]), ["neg", "pos"]);
//! assert_eq!(infer_class_names(["10", "2", "1"]), ["1", "2", "10"]);
//! ```

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// A record read from a user file, before its label becomes an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The text.
    pub text: String,
    /// The label as written in the file.
    pub label: String,
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

/// Sorted unique labels: numerically when all parse as integers, else lexicographically.
pub fn infer_class_names<'a>(labels: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let unique: BTreeSet<&str> = labels.into_iter().collect();
    let mut names: Vec<String> = unique.into_iter().map(str::to_string).collect();
    let numeric: Option<Vec<i64>> = names.iter().map(|n| n.parse::<i64>().ok()).collect();
    if let Some(mut nums) = numeric {
        nums.sort_unstable();
        names = nums.iter().map(i64::to_string).collect();
    }
    names
}

/// Maps the labels of `split` onto `class_names`.
pub fn to_dataset(split: RawSplit, class_names: &[String]) -> Result<Dataset> {
    let index: HashMap<&str, u32> = class_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut texts = Vec::with_capacity(split.records.len());
    let mut labels = Vec::with_capacity(split.records.len());
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
    }
    Dataset::new(texts, labels, class_names.to_vec())
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
        None => Ok(infer_class_names(
            splits
                .iter()
                .flat_map(|s| s.records.iter().map(|r| r.label.as_str())),
        )),
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
                    text: format!("t{i}"),
                    label: l.to_string(),
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
    }

    #[test]
    fn given_names_map_and_reject() {
        let names = vec!["neg".to_string(), "pos".to_string()];
        let ds = to_dataset(split(&["pos", "neg", "pos"]), &names).unwrap();
        assert_eq!(ds.labels, vec![1, 0, 1]);
        let e = to_dataset(split(&["pos", "meh"]), &names).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv:3: label \"meh\" is not one of [\"neg\", \"pos\"]"
        );
        let dup = vec!["a".to_string(), "a".to_string()];
        assert!(class_names_for(&[], Some(&dup)).is_err());
    }
}

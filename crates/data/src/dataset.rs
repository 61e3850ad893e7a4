//! In-memory labelled text: [`Dataset`] (one split) and [`Corpus`] (train / test / validation).
//!
//! `labels[i]` indexes `class_names`; `texts`, `labels` and `ids` have the same length. `ids[i]`
//! says where document `i` came from in its source (a user file's id column or 1-based data row,
//! an IMDB file name, ...), so results can be lined up with the input after shuffles and splits.
//!
//! ```
//! use textrnn_data::Dataset;
//! let ds = Dataset::new(
//!     vec!["good".into(), "bad".into(), "fine".into()],
//!     vec![1, 0, 1],
//!     vec!["neg".into(), "pos".into()],
//! )
//! .unwrap();
//! assert_eq!(ds.class_counts(), vec![1, 2]);
//! assert_eq!(ds.subset(&[2, 0]).texts, vec!["fine", "good"]);
//! assert_eq!(ds.subset(&[2, 0]).ids, vec!["3", "1"]);
//! assert_eq!(ds.take(1).len(), 1);
//! ```

use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;

/// One split of a labelled text corpus.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dataset {
    /// The documents.
    pub texts: Vec<String>,
    /// One label per document, an index into `class_names`.
    pub labels: Vec<u32>,
    /// Class names; label `i` is `class_names[i]`.
    pub class_names: Vec<String>,
    /// Where each document came from in its source (same length as `texts`).
    pub ids: Vec<String>,
}

impl Dataset {
    /// Builds a dataset, checking that lengths agree and every label indexes `class_names`.
    /// Ids are numbered `"1"..="n"`; [`Dataset::with_ids`] replaces them.
    pub fn new(texts: Vec<String>, labels: Vec<u32>, class_names: Vec<String>) -> Result<Self> {
        if texts.len() != labels.len() {
            return Err(Error::Dataset(format!(
                "{} texts but {} labels",
                texts.len(),
                labels.len()
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= class_names.len()) {
            return Err(Error::Dataset(format!(
                "label {bad} out of range for {} classes {class_names:?}",
                class_names.len()
            )));
        }
        let ids = (1..=texts.len()).map(|i| i.to_string()).collect();
        Ok(Self {
            texts,
            labels,
            class_names,
            ids,
        })
    }

    /// Replaces the ids (one per document, else [`Error::Dataset`]).
    pub fn with_ids(mut self, ids: Vec<String>) -> Result<Self> {
        if ids.len() != self.texts.len() {
            return Err(Error::Dataset(format!(
                "{} texts but {} ids",
                self.texts.len(),
                ids.len()
            )));
        }
        self.ids = ids;
        Ok(self)
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// True when there are no documents.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Number of classes (`class_names.len()`).
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Documents per class, indexed like `class_names`.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// The documents at `indices`, in that order (indices may repeat).
    ///
    /// # Panics
    /// If an index is `>= self.len()`, like slice indexing.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        Dataset {
            texts: indices.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            class_names: self.class_names.clone(),
            ids: indices.iter().map(|&i| self.ids[i].clone()).collect(),
        }
    }

    /// The first `min(n, len)` documents.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            texts: self.texts[..n].to_vec(),
            labels: self.labels[..n].to_vec(),
            class_names: self.class_names.clone(),
            ids: self.ids[..n].to_vec(),
        }
    }

    /// Text references, handy for tokenizers taking `&[&str]`.
    pub fn text_refs(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }
}

/// A corpus as read from its source: the train split plus the splits the source provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corpus {
    /// Training split.
    pub train: Dataset,
    /// Test split, when the source has one (IMDB, AG News).
    pub test: Option<Dataset>,
    /// Validation split, when the source has one.
    pub validation: Option<Dataset>,
    /// Where the data was read from (a path, a URL or `hf://datasets/<id>`), for logs and run reports.
    pub source: String,
    /// A fingerprint of every user file read (train, validation, test order); empty for the
    /// built-in corpora.
    pub files: Vec<Fingerprint>,
}

impl Corpus {
    /// Class names (those of the train split).
    pub fn class_names(&self) -> &[String] {
        &self.train.class_names
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ds() -> Dataset {
        Dataset::new(
            (0..5).map(|i| format!("t{i}")).collect(),
            vec![0, 1, 1, 2, 1],
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap()
    }

    #[test]
    fn counts_subset_take() {
        let d = ds();
        assert_eq!(d.len(), 5);
        assert!(!d.is_empty());
        assert_eq!(d.class_counts(), vec![1, 3, 1]);
        let s = d.subset(&[4, 0, 4]);
        assert_eq!(s.texts, vec!["t4", "t0", "t4"]);
        assert_eq!(s.labels, vec![1, 0, 1]);
        assert_eq!(s.ids, vec!["5", "1", "5"]);
        assert_eq!(d.take(2).ids, vec!["1", "2"]);
        assert_eq!(d.take(2).texts, vec!["t0", "t1"]);
        assert_eq!(d.take(99).len(), 5);
        assert!(Dataset::default().is_empty());
    }

    #[test]
    fn new_validates() {
        let e = Dataset::new(vec!["x".into()], vec![], vec!["a".into()]).unwrap_err();
        assert!(e.to_string().contains("1 texts but 0 labels"), "{e}");
        let e = Dataset::new(vec!["x".into()], vec![3], vec!["a".into()]).unwrap_err();
        assert!(e.to_string().contains("label 3 out of range"), "{e}");
        let d = Dataset::new(vec!["x".into()], vec![0], vec!["a".into()]).unwrap();
        assert_eq!(d.clone().with_ids(vec!["r7".into()]).unwrap().ids, ["r7"]);
        let e = d.with_ids(vec![]).unwrap_err();
        assert_eq!(e.to_string(), "invalid dataset: 1 texts but 0 ids");
    }
}

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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    /// The documents.
    pub texts: Vec<String>,
    /// One label per document, an index into `class_names`.
    pub labels: Vec<u32>,
    /// Class names; label `i` is `class_names[i]`.
    pub class_names: Vec<String>,
    /// Where each document came from in its source (same length as `texts`).
    pub ids: Vec<String>,
    /// Multi-label data: each document's label set (sorted, unique indices into `class_names`,
    /// never empty); `None` for single-label data. `labels[i]` is then the set's first
    /// (smallest) index, so code that needs one label per document (stratified splits, counts
    /// by first label) keeps working.
    pub label_sets: Option<Vec<Vec<u32>>>,
    /// Per-document sample weights read from the user's weight column (`--weight-col`; finite,
    /// `>= 0`, same length as `texts`); `None`: every document weighs 1.
    pub weights: Option<Vec<f32>>,
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
            label_sets: None,
            weights: None,
        })
    }

    /// A multi-label dataset: `label_sets[i]` are document `i`'s labels (indices into
    /// `class_names`, at least one each; sorted and deduplicated here). Ids as [`Dataset::new`].
    pub fn multi_label(
        texts: Vec<String>,
        label_sets: Vec<Vec<u32>>,
        class_names: Vec<String>,
    ) -> Result<Self> {
        let mut sets = label_sets;
        let mut first = Vec::with_capacity(sets.len());
        for (i, set) in sets.iter_mut().enumerate() {
            set.sort_unstable();
            set.dedup();
            match set.first() {
                Some(&l) => first.push(l),
                None => return Err(Error::Dataset(format!("document {} has no label", i + 1))),
            }
        }
        let mut ds = Self::new(texts, first, class_names)?;
        if let Some(bad) = sets
            .iter()
            .flatten()
            .find(|&&l| l as usize >= ds.class_names.len())
        {
            return Err(Error::Dataset(format!(
                "label {bad} out of range for {} classes {:?}",
                ds.class_names.len(),
                ds.class_names
            )));
        }
        ds.label_sets = Some(sets);
        Ok(ds)
    }

    /// The same documents as multi-label data: each label becomes a set of one (unchanged
    /// when already multi-label). A multi-label run evaluated on a file whose rows each carry one
    /// label reads it this way.
    pub fn into_multi_label(mut self) -> Self {
        if self.label_sets.is_none() {
            self.label_sets = Some(self.labels.iter().map(|&l| vec![l]).collect());
        }
        self
    }

    /// True for multi-label data ([`Dataset::label_sets`] present).
    pub fn is_multi_label(&self) -> bool {
        self.label_sets.is_some()
    }

    /// Document `i`'s labels: its label set, or its one label.
    pub fn labels_of(&self, i: usize) -> &[u32] {
        match &self.label_sets {
            Some(sets) => &sets[i],
            None => std::slice::from_ref(&self.labels[i]),
        }
    }

    /// Documents carrying each label, indexed like `class_names` (for multi-label data a
    /// document counts once for every label it carries; [`Dataset::class_counts`] counts it
    /// under its first label only).
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for i in 0..self.len() {
            for &l in self.labels_of(i) {
                if let Some(c) = counts.get_mut(l as usize) {
                    *c += 1;
                }
            }
        }
        counts
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
            label_sets: self
                .label_sets
                .as_ref()
                .map(|sets| indices.iter().map(|&i| sets[i].clone()).collect()),
            weights: self
                .weights
                .as_ref()
                .map(|w| indices.iter().map(|&i| w[i]).collect()),
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
            label_sets: self.label_sets.as_ref().map(|sets| sets[..n].to_vec()),
            weights: self.weights.as_ref().map(|w| w[..n].to_vec()),
        }
    }

    /// Text references, handy for tokenizers taking `&[&str]`.
    pub fn text_refs(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }
}

/// A corpus as read from its source: the train split plus the splits the source provides.
#[derive(Debug, Clone, PartialEq)]
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
        // sample weights follow their documents
        let w = Dataset {
            weights: Some(vec![0.0, 1.0, 2.0, 3.0, 4.0]),
            ..d
        };
        assert_eq!(w.subset(&[4, 0, 4]).weights, Some(vec![4.0, 0.0, 4.0]));
        assert_eq!(w.take(2).weights, Some(vec![0.0, 1.0]));
    }

    #[test]
    fn multi_label_sets_follow_subsets() {
        let names: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        let d = Dataset::multi_label(
            vec!["x".into(), "y".into(), "z".into()],
            vec![vec![2, 0, 2], vec![1], vec![1, 2]],
            names.clone(),
        )
        .unwrap();
        assert!(d.is_multi_label());
        assert_eq!(d.labels, vec![0, 1, 1]);
        assert_eq!(d.labels_of(0), [0, 2]);
        assert_eq!(d.label_counts(), vec![1, 2, 2]);
        assert_eq!(d.class_counts(), vec![1, 2, 0]);
        let s = d.subset(&[2, 0]);
        assert_eq!(s.label_sets, Some(vec![vec![1, 2], vec![0, 2]]));
        assert_eq!(d.take(1).label_sets, Some(vec![vec![0, 2]]));
        let e = Dataset::multi_label(vec!["x".into()], vec![vec![]], names.clone()).unwrap_err();
        assert_eq!(e.to_string(), "invalid dataset: document 1 has no label");
        let e = Dataset::multi_label(vec!["x".into()], vec![vec![0, 5]], names).unwrap_err();
        assert!(e.to_string().contains("label 5 out of range"), "{e}");
        let single = Dataset::new(vec!["x".into()], vec![1], vec!["a".into(), "b".into()]).unwrap();
        assert_eq!(single.labels_of(0), [1]);
        assert!(!single.is_multi_label());
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

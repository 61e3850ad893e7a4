//! The resolved configuration of a run: the [`Recipe`] with what training derived from the data
//! filled in (sequence length, vocabulary size, class names), saved as `config.json`.
//!
//! A [`Recipe`] is what the user asks for; a [`RunConfig`] is what a run was trained with. It is
//! made once, by training (after [`Recipe::validate`]), or read back from a run directory, so
//! everything downstream gets the sequence length as a plain number.
//!
//! `config.json` is the resolved recipe itself (`text.maxlen`, the embedding's `input_dim` and
//! `classes` set), so it stays a valid recipe: `textrnn train --recipe RUN_DIR/config.json`
//! trains the same run again.

use std::path::Path;

use serde::{Serialize, Serializer};

use crate::{Error, Recipe, Result};

/// A recipe resolved against its data (see the module docs).
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The recipe with `text.maxlen`, the vocabulary size and `classes` filled in.
    recipe: Recipe,
    /// `recipe.text.maxlen`, resolved.
    maxlen: usize,
}

impl RunConfig {
    /// Fills in what training derived from the data: the sequence length, the vocabulary size
    /// (for an embedding that leaves `input_dim` open) and the class names.
    pub(crate) fn resolve(
        recipe: &Recipe,
        maxlen: usize,
        vocab_size: usize,
        classes: Vec<String>,
    ) -> Self {
        let mut resolved = recipe.clone();
        resolved.text.maxlen = Some(maxlen);
        resolved.classes = classes;
        resolved.model = recipe.model.clone().with_vocab_size(vocab_size);
        Self {
            recipe: resolved,
            maxlen,
        }
    }

    /// Reads a run's `config.json`; it must be a valid recipe with `text.maxlen` set.
    pub fn load(path: &Path) -> Result<Self> {
        let recipe = Recipe::load(path)?;
        recipe.validate()?;
        let maxlen = recipe.text.maxlen.ok_or_else(|| Error::Run {
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            reason: format!(
                "{} has no text.maxlen",
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into()
                )
            ),
        })?;
        Ok(Self { recipe, maxlen })
    }

    /// Records what training read from the embedding's pretrained vectors.
    pub(crate) fn set_pretrained_vectors(&mut self, report: Option<crate::VectorsReport>) {
        self.recipe.pretrained_vectors = report;
    }

    /// Records the class weights training resolved from the recipe's `train.class_weight`
    /// (a weight per class name; see [`crate::weighting`]).
    pub(crate) fn set_class_weight(&mut self, resolved: Option<textrnn_train::ClassWeight>) {
        if resolved.is_some() {
            self.recipe.train.class_weight = resolved;
        }
    }

    /// The resolved recipe.
    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }

    /// The sequence length the model reads (Keras `maxlen`).
    pub fn maxlen(&self) -> usize {
        self.maxlen
    }

    /// Class names, indexed by label.
    pub fn classes(&self) -> &[String] {
        &self.recipe.classes
    }

    /// True for a multi-label run: its output layer is `Dense(n > 1, sigmoid)` (what the run
    /// records; the data's label separator is in [`RunConfig::label_sep`]).
    pub fn multi_label(&self) -> bool {
        self.recipe.model.output().is_ok_and(|o| o.is_multi_label())
    }

    /// The label separator the run's training file was read with (`--label-sep`), if any.
    pub fn label_sep(&self) -> Option<&str> {
        self.recipe.data.user_files()?.label_sep.as_deref()
    }
}

/// Serialised as the resolved recipe, the layout of `config.json`.
impl Serialize for RunConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.recipe.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn config_json_round_trips_and_needs_maxlen() {
        let recipe = Recipe::builtin("imdb-bigru").unwrap();
        let classes = vec!["neg".to_string(), "pos".to_string()];
        let config = RunConfig::resolve(&recipe, 37, 500, classes.clone());
        assert_eq!(config.maxlen(), 37);
        assert_eq!(config.classes(), classes.as_slice());
        assert_eq!(config.recipe().text.maxlen, Some(37));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        let back = RunConfig::load(&path).unwrap();
        assert_eq!(back.maxlen(), 37);
        assert_eq!(back.classes(), classes.as_slice());
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&config).unwrap()
        );

        // A recipe that was never resolved is not a run configuration.
        let mut unresolved = recipe.clone();
        unresolved.text.maxlen = None;
        std::fs::write(&path, serde_json::to_string(&unresolved).unwrap()).unwrap();
        let err = RunConfig::load(&path).unwrap_err();
        assert!(
            err.to_string().contains("config.json has no text.maxlen"),
            "{err}"
        );
    }
}

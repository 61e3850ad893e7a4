//! The recipe: what the user asks for (data, text processing, model, training) in one serde
//! struct, read from TOML. Training checks it ([`Recipe::validate`]) and resolves it against the
//! data into a [`RunConfig`](crate::RunConfig), which is saved as `config.json`.
//!
//! Unknown keys are errors (`deny_unknown_fields`), so a typo in a recipe never passes silently;
//! parsing checks only the syntax, so command-line overrides can still change the values before
//! the one check.
//! Field names mirror the Keras arguments tutorial users know (`num_words`, `maxlen`,
//! `padding`, `truncating`, `recurrent_dropout`, `restore_best_weights`, ...).
//!
//! ```
//! let recipe = textrnn::Recipe::builtin("imdb-bigru")?;
//! assert_eq!(recipe.text.num_words, Some(10_000));
//! assert_eq!(recipe.train.batch_size, 256);
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use textrnn_data::{DataConfig, Fingerprint, UserFiles};
use textrnn_models::ModelSpec;
use textrnn_text::{pad_sequences, KerasTokenizer, NormalizeConfig, Padding, Pipeline, Truncating};
use textrnn_train::TrainConfig;

use crate::{Error, Result};

/// The recipes shipped in `recipes/`, by name, with their TOML text.
pub const BUILTIN_RECIPES: &[(&str, &str)] = &[
    ("imdb-bigru", include_str!("../recipes/imdb-bigru.toml")),
    ("tweets-lstm", include_str!("../recipes/tweets-lstm.toml")),
    ("imdb-lstm32", include_str!("../recipes/imdb-lstm32.toml")),
    ("imdb-lstm100", include_str!("../recipes/imdb-lstm100.toml")),
    (
        "imdb-lstm100-dropout",
        include_str!("../recipes/imdb-lstm100-dropout.toml"),
    ),
    (
        "imdb-cnn-lstm",
        include_str!("../recipes/imdb-cnn-lstm.toml"),
    ),
    (
        "agnews-lstm-25",
        include_str!("../recipes/agnews-lstm-25.toml"),
    ),
    (
        "agnews-lstm-50",
        include_str!("../recipes/agnews-lstm-50.toml"),
    ),
    (
        "agnews-bilstm-50",
        include_str!("../recipes/agnews-bilstm-50.toml"),
    ),
    (
        "agnews-lstm-50-masked",
        include_str!("../recipes/agnews-lstm-50-masked.toml"),
    ),
    (
        "agnews-stacked-lstm",
        include_str!("../recipes/agnews-stacked-lstm.toml"),
    ),
    (
        "agnews-stacked-bilstm",
        include_str!("../recipes/agnews-stacked-bilstm.toml"),
    ),
    // Beyond the tutorials (issue #16): the best recipe found per corpus, chosen by validation
    // score only; docs/results.md lists every candidate tried.
    ("agnews-best", include_str!("../recipes/agnews-best.toml")),
    ("tweets-best", include_str!("../recipes/tweets-best.toml")),
    ("imdb-best", include_str!("../recipes/imdb-best.toml")),
];

/// A complete description of a run, as the user wrote it (`maxlen`, the vocabulary size and the
/// class names may still be left to the data).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Short name, used for the default run directory.
    pub name: String,
    /// One line saying what the recipe is.
    #[serde(default)]
    pub description: String,
    /// Seed for data shuffling, splits, initialisation and dropout.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The tutorial's published result, shown beside ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
    /// Which corpus to read (default: IMDB; `textrnn train --train FILE` replaces it).
    #[serde(default)]
    pub data: DataConfig,
    /// How to carve validation (and test) sets.
    #[serde(default)]
    pub split: SplitConfig,
    /// Normalisation, tokenizer and padding.
    #[serde(default)]
    pub text: TextRecipe,
    /// The architecture.
    pub model: ModelSpec,
    /// Optimiser, epochs, batch size, early stopping.
    #[serde(default)]
    pub train: TrainConfig,
    /// Class names, indexed by label; filled in from the corpus in the [`RunConfig`](crate::RunConfig).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// The data files a run was trained from (absolute path, size, sha256, rows); filled in by
    /// training in the [`RunConfig`](crate::RunConfig), so a run can tell when they change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_files: Vec<Fingerprint>,
    /// What training read from the embedding's pretrained vectors file (`weights`): format,
    /// size, coverage of the vocabulary and of the test tokens; filled in by training in the
    /// [`RunConfig`](crate::RunConfig).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrained_vectors: Option<crate::pretrained::VectorsReport>,
}

fn default_seed() -> u64 {
    42
}

/// A tutorial's published test numbers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// Test accuracy.
    pub accuracy: Option<f64>,
    /// Test ROC AUC (binary tasks).
    pub auc: Option<f64>,
    /// Test loss.
    pub loss: Option<f64>,
    /// Training accuracy, where the tutorial gives it.
    pub train_accuracy: Option<f64>,
    /// Where the numbers come from.
    #[serde(default)]
    pub source: String,
}

/// How validation and test sets are made from the corpus.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SplitConfig {
    /// No validation set (the corpus' own validation file is used when it has one).
    #[default]
    None,
    /// A seeded random fraction of the training set becomes the validation set.
    Random {
        /// Fraction in (0, 1).
        validation: f64,
    },
    /// Keras `validation_split`: the last fraction of the training data, unshuffled.
    Keras {
        /// Fraction in (0, 1).
        validation: f64,
    },
    /// Own data (`textrnn train --train FILE`): a stratified `test` fraction of the training
    /// file is held out when there is no test file, then a stratified `validation` fraction of
    /// the rest when there is no validation file.
    Holdout {
        /// Fraction of the rows left after the test hold-out.
        validation: f64,
        /// Fraction of all training rows.
        test: f64,
    },
    /// Stratified validation (and test, when the corpus has none) fractions.
    Stratified {
        /// Validation fraction.
        validation: f64,
        /// Test fraction; used when the corpus has no test split.
        #[serde(default)]
        test: f64,
    },
}

/// Which texts the tokenizer is fitted on.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FitOn {
    /// The training split only.
    #[default]
    Train,
    /// Training and test texts, as the AG News tutorial does.
    TrainAndTest,
}

/// Text processing: normalisation, Keras tokenizer settings and padding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TextRecipe {
    /// Keep the `num_words - 1` most frequent words (Keras `num_words`); all when absent.
    pub num_words: Option<usize>,
    /// Token for out-of-vocabulary words (Keras `oov_token`).
    pub oov_token: Option<String>,
    /// Lower-case before tokenizing (Keras `lower`).
    pub lower: bool,
    /// Characters removed before splitting (Keras `filters`).
    pub filters: String,
    /// Sequence length (Keras `maxlen`); absent means the longest training sequence + 1.
    pub maxlen: Option<usize>,
    /// Where padding goes.
    pub padding: Padding,
    /// Where long sequences are cut.
    pub truncating: Truncating,
    /// Cleaning before tokenizing: a preset (`"none"`, `"imdb"`, `"tweets"`) or a list of
    /// steps (`["strip_html_breaks", "lowercase", ...]`, see `textrnn_text::Step`).
    pub normalize: NormalizeConfig,
    /// Which texts the vocabulary is built from.
    pub fit_on: FitOn,
}

impl Default for TextRecipe {
    fn default() -> Self {
        let keras = textrnn_text::TokenizerConfig::default();
        Self {
            num_words: None,
            oov_token: None,
            lower: keras.lower,
            filters: keras.filters,
            maxlen: None,
            padding: Padding::Pre,
            truncating: Truncating::Pre,
            normalize: NormalizeConfig::default(),
            fit_on: FitOn::Train,
        }
    }
}

impl TextRecipe {
    /// The tokenizer settings of this recipe.
    pub fn tokenizer_config(&self) -> textrnn_text::TokenizerConfig {
        textrnn_text::TokenizerConfig {
            num_words: self.num_words,
            oov_token: self.oov_token.clone(),
            lower: self.lower,
            filters: self.filters.clone(),
            ..Default::default()
        }
    }

    /// The compiled cleaning pipeline of this recipe.
    pub fn pipeline(&self) -> Result<Pipeline> {
        Ok(Pipeline::new(&self.normalize)?)
    }

    /// Token ids of already cleaned texts, padded and truncated to `maxlen` as this recipe says:
    /// a row-major `texts.len() x maxlen` matrix.
    pub fn encode(
        &self,
        tokenizer: &KerasTokenizer,
        maxlen: usize,
        texts: &[String],
    ) -> Result<Vec<u32>> {
        self.pad(&tokenizer.texts_to_sequences(texts), maxlen)
    }

    /// Pads and truncates token id sequences to `maxlen` as this recipe says.
    pub(crate) fn pad(&self, seqs: &[Vec<u32>], maxlen: usize) -> Result<Vec<u32>> {
        Ok(pad_sequences(
            seqs,
            maxlen,
            self.padding,
            self.truncating,
            0,
        )?)
    }
}

impl Recipe {
    /// Parses a recipe from TOML text; `origin` names it in errors. Only the syntax is checked
    /// here (unknown keys, types, preset names); [`Recipe::validate`] checks the values.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let mut recipe: Recipe = toml::from_str(text).map_err(|e| Error::Recipe {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        if recipe.model.name.is_empty() {
            recipe.model.name = recipe.name.clone();
        }
        Ok(recipe)
    }

    /// Reads a recipe file (`.toml`, or a run's `config.json`). Relative data paths (and an
    /// embedding's `weights` file) in it are relative to the file's directory and come back
    /// absolute.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut recipe: Recipe = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| Error::Recipe {
                path: path.display().to_string(),
                message: e.to_string(),
            })?
        } else {
            Self::from_toml(&text, &path.display().to_string())?
        };
        let base = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        recipe.data.rebase(&base)?;
        for layer in &mut recipe.model.layers {
            if let textrnn_models::LayerSpec::Embedding(e) = layer {
                e.rebase(&base)?;
            }
        }
        Ok(recipe)
    }

    /// Replaces the data with the user's own files (`textrnn train --train FILE`): relative
    /// paths are taken from the working directory, the run is named after the training file,
    /// and missing test and validation files are held out (10% and 15% of the rest, stratified).
    pub fn use_files(&mut self, files: UserFiles) -> Result<()> {
        let stem = files
            .train
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let train = files.train.display().to_string();
        self.data = DataConfig::Files(files);
        self.data.rebase(Path::new("."))?;
        self.description = format!("recipe {} on {train}", self.name);
        self.name = run_name(&stem);
        self.model.name = self.name.clone();
        self.published = None;
        self.split = SplitConfig::Holdout {
            validation: 0.15,
            test: 0.1,
        };
        self.text.fit_on = FitOn::Train;
        Ok(())
    }

    /// One of the recipes shipped with textrnn ([`BUILTIN_RECIPES`]).
    pub fn builtin(name: &str) -> Result<Self> {
        let (_, text) = BUILTIN_RECIPES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| {
                let names: Vec<&str> = BUILTIN_RECIPES.iter().map(|(n, _)| *n).collect();
                Error::invalid(
                    "recipe",
                    format!("no built-in recipe {name:?}; known: {}", names.join(", ")),
                )
            })?;
        Self::from_toml(text, &format!("recipes/{name}.toml"))
    }

    /// A built-in name or a path to a TOML/JSON file.
    pub fn resolve(name_or_path: &str) -> Result<Self> {
        let path = Path::new(name_or_path);
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if let Some(ext @ ("csv" | "tsv" | "jsonl" | "ndjson" | "parquet" | "txt")) = ext.as_deref()
        {
            return Err(Error::invalid(
                "--recipe",
                format!(
                    "{name_or_path} is a data file (.{ext}), not a recipe: train on it with `textrnn train --train {name_or_path}` (add --recipe NAME for another model)"
                ),
            ));
        }
        if path.exists() || name_or_path.ends_with(".toml") || name_or_path.ends_with(".json") {
            Self::load(path)
        } else {
            Self::builtin(name_or_path)
        }
    }

    /// Checks values the type system cannot (fractions, lengths, sizes). Training calls it once,
    /// before reading any data.
    pub fn validate(&self) -> Result<()> {
        crate::run_state::check_run_name(&self.name)?;
        if let Some(0) = self.text.maxlen {
            return Err(Error::invalid(
                "text.maxlen (--max-len)",
                "must be at least 1",
            ));
        }
        if let Some(n) = self.text.num_words {
            if n < 3 {
                return Err(Error::invalid(
                    "text.num_words (--vocab-size)",
                    format!("{n} keeps no word: index 0 is padding, so at least 3 are needed"),
                ));
            }
        }
        if self.train.batch_size == 0 {
            return Err(Error::invalid(
                "train.batch_size (--batch-size)",
                "must be at least 1",
            ));
        }
        if self.train.epochs == 0 {
            return Err(Error::invalid(
                "train.epochs (--epochs)",
                "must be at least 1",
            ));
        }
        let fraction_ok = |f: f64| f > 0.0 && f < 1.0;
        match &self.split {
            SplitConfig::None => {}
            SplitConfig::Random { validation } | SplitConfig::Keras { validation } => {
                if !fraction_ok(*validation) {
                    return Err(Error::invalid(
                        "split.validation",
                        format!("{validation} is not in (0, 1)"),
                    ));
                }
            }
            SplitConfig::Holdout { validation, test } => {
                if !fraction_ok(*validation) || !fraction_ok(*test) {
                    return Err(Error::invalid(
                        "split",
                        format!(
                            "validation {validation} and test {test} must be fractions in (0, 1)"
                        ),
                    ));
                }
            }
            SplitConfig::Stratified { validation, test } => {
                if !fraction_ok(*validation)
                    || !(0.0..1.0).contains(test)
                    || validation + test >= 1.0
                {
                    return Err(Error::invalid(
                        "split",
                        format!("validation {validation} and test {test} must be fractions summing below 1"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The recipe as TOML text.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::Recipe {
            path: self.name.clone(),
            message: e.to_string(),
        })
    }
}

/// A run name from a file stem: letters, digits, `-`, `_` and `.` kept, anything else `_`;
/// `data` when nothing is left.
fn run_name(stem: &str) -> String {
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.');
    if name.is_empty() {
        "data".into()
    } else {
        name.into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MINIMAL: &str = "name = \"x\"\n[data]\ncorpus = \"imdb\"\n[model]\nlayers = []\n";

    #[test]
    fn parsing_checks_syntax_and_validate_checks_values() {
        // Overrides may still fix a value after parsing, so parsing accepts it...
        let text = format!("{MINIMAL}[train]\nepochs = 0\n");
        let mut recipe = Recipe::from_toml(&text, "x.toml").unwrap();
        // ...and the one check names the setting and its command-line flag.
        let err = recipe.validate().unwrap_err();
        assert!(err.to_string().contains("--epochs"), "{err}");
        recipe.train.epochs = 1;
        recipe.validate().unwrap();
    }

    #[test]
    fn builtin_recipes_parse_and_validate() {
        for (name, _) in BUILTIN_RECIPES {
            let recipe = Recipe::builtin(name).unwrap();
            assert_eq!(recipe.name, *name);
            recipe.validate().unwrap();
            recipe.train.validate().unwrap();
        }
        // The best recipes are chosen by validation score, so each has a validation split
        // carved from the training rows and keeps the weights of its best validation epoch.
        let best: Vec<&str> = BUILTIN_RECIPES
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| n.ends_with("-best"))
            .collect();
        assert_eq!(best, ["agnews-best", "tweets-best", "imdb-best"]);
        for name in best {
            let recipe = Recipe::builtin(name).unwrap();
            assert!(
                matches!(
                    recipe.split,
                    SplitConfig::Random { .. } | SplitConfig::Stratified { .. }
                ),
                "{name}"
            );
            assert_eq!(recipe.text.fit_on, FitOn::Train, "{name}");
            let es = recipe.train.early_stopping.unwrap();
            assert_eq!(es.monitor, "val_loss", "{name}");
            assert!(es.restore_best_weights, "{name}");
        }
    }

    #[test]
    fn normalize_is_a_preset_or_steps() {
        let imdb = Recipe::builtin("imdb-bigru").unwrap();
        assert_eq!(imdb.text.normalize, NormalizeConfig::imdb());
        let steps = format!("{MINIMAL}[text]\nnormalize = [\"lowercase\"]\n");
        let recipe = Recipe::from_toml(&steps, "x.toml").unwrap();
        assert_eq!(
            recipe.text.normalize.steps(),
            [textrnn_text::Step::Lowercase]
        );
        let bad = format!("{MINIMAL}[text]\nnormalize = \"nope\"\n");
        let err = Recipe::from_toml(&bad, "x.toml").unwrap_err();
        assert!(err.to_string().contains("none, imdb, tweets"), "{err}");
        // The default is the `none` preset, written as in earlier config.json files.
        let json = serde_json::to_value(TextRecipe::default()).unwrap();
        assert_eq!(json["normalize"], "none");
    }
}

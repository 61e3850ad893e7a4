//! Reading a recipe's corpus and carving its splits: the same code serves training and the
//! commands that re-create a split of a saved run (`evaluate`, `tune-threshold`, `report`), so
//! both see exactly the same examples.
//!
//! Every random choice (shuffles, splits, subsamples) derives from `recipe.seed`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use textrnn_data::{Corpus, DataConfig, Dataset, LoadOptions};

use crate::recipe::{Recipe, SplitConfig};
use crate::{Error, Result};

/// Where the corpus is, and whether to show progress: all that the commands re-reading a run's
/// data (`evaluate`, `tune-threshold`, `plot`, `report`) need.
#[derive(Debug, Clone, Default)]
pub struct DataOptions {
    /// Where the corpus is (overrides `TEXTRNN_DATA_DIR`).
    pub data_dir: Option<PathBuf>,
    /// Show progress bars.
    pub progress: bool,
}

/// Subsampling limits of a training run, saved as `limits.json` when any is set, so that
/// `evaluate`, `tune-threshold` and `report` re-create exactly the same splits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// At most this many training examples (stratified subsample; validation:
    /// `limit_train / 4 + 1`).
    pub limit_train: Option<usize>,
    /// At most this many test examples.
    pub limit_test: Option<usize>,
}

impl Limits {
    /// Whether any limit is set.
    pub fn is_set(&self) -> bool {
        self.limit_train.is_some() || self.limit_test.is_some()
    }
}

/// Reads the recipe's corpus.
pub(crate) fn load(recipe: &Recipe, data: &DataOptions) -> Result<Corpus> {
    let mut load = LoadOptions::from_env();
    if let Some(dir) = &data.data_dir {
        load = load.with_data_dir(dir);
    }
    load.progress = data.progress;
    Ok(textrnn_data::load(&recipe.data, &load)?)
}

/// The (train, validation, test) splits of a corpus, not cleaned.
pub(crate) type Splits = (Dataset, Option<Dataset>, Option<Dataset>);

/// Splits the corpus as the recipe says, then applies the subsampling limits.
pub(crate) fn select_splits(recipe: &Recipe, corpus: Corpus, limits: &Limits) -> Result<Splits> {
    let (mut train, mut val, mut test) = split(recipe, corpus)?;
    if let Some(n) = limits.limit_train {
        train = subsample(&train, n, recipe.seed)?;
        val = val
            .map(|v| subsample(&v, n / 4 + 1, recipe.seed))
            .transpose()?;
    }
    if let Some(n) = limits.limit_test {
        test = test.map(|t| subsample(&t, n, recipe.seed)).transpose()?;
    }
    Ok((train, val, test))
}

/// Splits the corpus as the recipe says: (train, validation, test).
fn split(recipe: &Recipe, corpus: Corpus) -> Result<Splits> {
    let Corpus {
        train,
        test,
        validation,
        ..
    } = corpus;
    let seed = recipe.seed;
    Ok(match &recipe.split {
        SplitConfig::None => (train, validation, test),
        SplitConfig::Random { validation: f } => {
            let (train, val) = textrnn_data::split_fraction(&train, *f, seed)?;
            (train, Some(val), test)
        }
        SplitConfig::Keras { validation: f } => {
            // Keras' `validation_split` takes the last fraction as it stands. The tutorials get
            // their data from `keras.datasets.*.load_data()`, which shuffles (IMDB with seed 113);
            // our readers return a stable order grouped by label, so built-in corpora are shuffled
            // with the recipe seed first. User files keep their own order, as in Keras.
            let train = match recipe.data {
                DataConfig::Csv(_) | DataConfig::Jsonl(_) => train,
                _ => textrnn_data::shuffle(&train, seed),
            };
            let (train, val) = textrnn_data::validation_split_last(&train, *f)?;
            (train, Some(val), test)
        }
        SplitConfig::Stratified {
            validation: v,
            test: t,
        } => {
            if test.is_some() || *t == 0.0 {
                let mut parts = textrnn_data::stratified_split(&train, &[1.0 - v, *v], seed)?;
                let val = parts.pop();
                let train = parts
                    .pop()
                    .ok_or_else(|| Error::invalid("split", "empty split"))?;
                (train, val, test)
            } else {
                let mut parts =
                    textrnn_data::stratified_split(&train, &[1.0 - v - t, *v, *t], seed)?;
                let test = parts.pop();
                let val = parts.pop();
                let train = parts
                    .pop()
                    .ok_or_else(|| Error::invalid("split", "empty split"))?;
                (train, val, test)
            }
        }
    })
}

fn subsample(d: &Dataset, n: usize, seed: u64) -> Result<Dataset> {
    if d.len() <= n {
        return Ok(d.clone());
    }
    let keep = n as f64 / d.len() as f64;
    let mut parts = textrnn_data::stratified_split(d, &[keep, 1.0 - keep], seed)?;
    parts.truncate(1);
    parts
        .pop()
        .ok_or_else(|| Error::invalid("limit", "empty subsample"))
}

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
    Ok(textrnn_data::load(&recipe.data, &load_options(data))?)
}

fn load_options(data: &DataOptions) -> LoadOptions {
    let mut load = LoadOptions::from_env();
    if let Some(dir) = &data.data_dir {
        load = load.with_data_dir(dir);
    }
    load.progress = data.progress;
    load
}

/// Reads the corpus for training. When the recipe asks for IMDB and it can be neither found
/// nor downloaded, says why in one line and returns the embedded sample instead, with the data
/// config that names it (`corpus = "imdb_sample"`), so the run records what it was trained on.
pub(crate) fn load_for_training(
    recipe: &Recipe,
    data: &DataOptions,
) -> Result<(Corpus, Option<DataConfig>)> {
    match textrnn_data::load(&recipe.data, &load_options(data)) {
        Ok(corpus) => Ok((corpus, None)),
        Err(e) if matches!(recipe.data, DataConfig::Imdb { .. }) && unavailable(&e) => {
            let message = e.to_string();
            let reason = first_line(&message);
            tracing::warn!(
                "the IMDB corpus is not available ({reason}); training on the embedded sample instead (2,500 train / 2,500 test reviews; every metric of this run is a sample metric). Pass --data-dir DIR with aclImdb_v1.tar.gz for the full corpus."
            );
            let sample = DataConfig::ImdbSample;
            Ok((
                textrnn_data::load(&sample, &load_options(data))?,
                Some(sample),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether a load error means "not here and not downloadable" (as opposed to a corrupt file).
fn unavailable(e: &textrnn_data::Error) -> bool {
    use textrnn_data::Error as E;
    matches!(
        e,
        E::NotFound { .. } | E::Http { .. } | E::Hub { .. } | E::Truncated { .. }
    )
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim_end_matches(':')
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
            let train = if recipe.data.user_files().is_some() {
                train
            } else {
                textrnn_data::shuffle(&train, seed)
            };
            let (train, val) = textrnn_data::validation_split_last(&train, *f)?;
            (train, Some(val), test)
        }
        SplitConfig::Holdout {
            validation: v,
            test: t,
        } => {
            let (train, test) = match test {
                Some(test) => (train, test),
                None => {
                    let (train, test) = holdout(&train, *t, seed)?;
                    tracing::info!(
                        "no test file: held out a stratified {:.0}% of the training rows as the test split ({} rows)",
                        t * 100.0,
                        test.len()
                    );
                    (train, test)
                }
            };
            let (train, val) = match validation {
                Some(val) => (train, val),
                None => {
                    let (train, val) = holdout(&train, *v, seed)?;
                    tracing::info!(
                        "no validation file: held out a stratified {:.0}% of the rest as the validation split ({} rows)",
                        v * 100.0,
                        val.len()
                    );
                    (train, val)
                }
            };
            (train, Some(val), Some(test))
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

/// (rest, held out): a stratified `fraction` of `d`, and the rest.
fn holdout(d: &Dataset, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    let mut parts = textrnn_data::stratified_split(d, &[1.0 - fraction, fraction], seed)?;
    match (parts.pop(), parts.pop()) {
        (Some(held), Some(rest)) if !held.is_empty() && !rest.is_empty() => Ok((rest, held)),
        _ => Err(Error::invalid(
            "split",
            format!(
                "{} training rows are too few to hold out {:.0}% of them; give --test and --validation files",
                d.len(),
                fraction * 100.0
            ),
        )),
    }
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

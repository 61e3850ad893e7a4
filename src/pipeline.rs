//! The end-to-end training pipeline: corpus -> normalisation -> splits -> tokenizer ->
//! padded sequences -> model -> training -> test evaluation and plots -> run directory; and
//! [`recreate_split`], which rebuilds one split of a saved run (same corpus, split, seed and
//! `--limit`) for `evaluate`, `tune-threshold` and `report`.
//!
//! Every random choice (shuffles, splits, initialisation, dropout) derives from `recipe.seed`.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use textrnn_data::{Corpus, DataConfig, Dataset, LoadOptions};
use textrnn_models::{Classifier, TextClassifier};
use textrnn_text::{pad_sequences, KerasTokenizer};
use textrnn_train::{EncodedSplit, History};

use crate::evaluate::TestMetrics;

use crate::recipe::{FitOn, Recipe, SplitConfig, TextRecipe};
use crate::run::{self, Run};
use crate::{Error, Result};

/// Options of a training run that are not part of the recipe (where things are, how verbose).
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Where the corpus is (overrides `TEXTRNN_DATA_DIR`).
    pub data_dir: Option<PathBuf>,
    /// Run directory; default `runs/<recipe name>` (a fresh `-N` suffix when it exists).
    pub out: Option<PathBuf>,
    /// Use at most this many training examples (stratified subsample; `xtask --quick`).
    pub limit_train: Option<usize>,
    /// Use at most this many test examples.
    pub limit_test: Option<usize>,
    /// Show progress bars.
    pub progress: bool,
    /// Prefer a GPU when built with `cuda`/`metal`.
    pub gpu: bool,
}

/// What [`train_run`] returns.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The run directory written.
    pub dir: PathBuf,
    /// Per-epoch history.
    pub history: History,
    /// Epochs actually run (early stopping may stop sooner).
    pub epochs_run: usize,
    /// Wall-clock seconds spent in `fit`.
    pub train_seconds: f64,
    /// Number of training, validation and test examples used.
    pub sizes: (usize, usize, usize),
    /// Total trainable parameters.
    pub parameters: usize,
    /// Test metrics when the recipe has a test split.
    pub test: Option<TestMetrics>,
}

/// Tokenized, padded splits ready for training.
pub struct Prepared {
    /// The recipe with `maxlen` and the embedding's `input_dim` resolved.
    pub recipe: Recipe,
    /// The fitted tokenizer.
    pub tokenizer: KerasTokenizer,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
    /// Training split.
    pub train: EncodedSplit,
    /// Validation split, if any.
    pub validation: Option<EncodedSplit>,
    /// Test split, if any.
    pub test: Option<EncodedSplit>,
    /// Raw test texts (for reports and explanations).
    pub test_texts: Vec<String>,
}

/// The recipe's cleaning pipeline.
pub(crate) fn normalizer(text: &TextRecipe) -> Result<textrnn_text::Pipeline> {
    text.normalize.pipeline()
}

fn load_corpus(recipe: &Recipe, opts: &TrainOptions) -> Result<Corpus> {
    let mut load = LoadOptions::from_env();
    if let Some(dir) = &opts.data_dir {
        load = load.with_data_dir(dir);
    }
    load.progress = opts.progress;
    Ok(textrnn_data::load(&recipe.data, &load)?)
}

/// Splits the corpus as the recipe says: (train, validation, test).
fn split(recipe: &Recipe, corpus: Corpus) -> Result<(Dataset, Option<Dataset>, Option<Dataset>)> {
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

/// Encodes texts with a fitted tokenizer and pads them to `maxlen`.
pub(crate) fn encode(
    tokenizer: &KerasTokenizer,
    text: &TextRecipe,
    maxlen: usize,
    texts: &[String],
) -> Result<Vec<u32>> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let seqs = tokenizer.texts_to_sequences(&refs);
    Ok(pad_sequences(
        &seqs,
        maxlen,
        text.padding,
        text.truncating,
        0,
    )?)
}

/// Loads, cleans, splits, tokenizes and pads the corpus of a recipe.
pub fn prepare(recipe: &Recipe, opts: &TrainOptions) -> Result<Prepared> {
    recipe.validate()?;
    let started = Instant::now();
    let corpus = load_corpus(recipe, opts)?;
    let (mut train, mut val, mut test) = select_splits(recipe, corpus, &Limits::of(opts))?;
    let clean = normalizer(&recipe.text)?;
    let clean_all = |d: &mut Dataset| {
        for t in d.texts.iter_mut() {
            *t = clean.apply(t);
        }
    };
    clean_all(&mut train);
    if let Some(v) = val.as_mut() {
        clean_all(v);
    }
    if let Some(t) = test.as_mut() {
        clean_all(t);
    }
    let class_names = train.class_names.clone();
    check_classes(recipe, class_names.len())?;

    let mut fit_texts: Vec<&str> = train.texts.iter().map(String::as_str).collect();
    if recipe.text.fit_on == FitOn::TrainAndTest {
        if let Some(t) = &test {
            fit_texts.extend(t.texts.iter().map(String::as_str));
        }
    }
    let tokenizer = KerasTokenizer::fit(&recipe.text.tokenizer_config(), fit_texts)?;
    let mut resolved = recipe.clone();
    // The training sequences serve both the automatic maxlen and the padded training split.
    let train_seqs = tokenizer.texts_to_sequences(&train.texts);
    let maxlen = match recipe.text.maxlen {
        Some(m) => m,
        None => train_seqs.iter().map(Vec::len).max().unwrap_or(0) + 1,
    };
    resolved.text.maxlen = Some(maxlen);
    resolved.classes = class_names.clone();
    resolved.model = recipe.model.clone().with_vocab_size(tokenizer.vocab_size());

    let to_split = |d: &Dataset| -> Result<EncodedSplit> {
        let tokens = encode(&tokenizer, &recipe.text, maxlen, &d.texts)?;
        Ok(EncodedSplit::new(tokens, maxlen, d.labels.clone())?)
    };
    let train_tokens = pad_sequences(
        &train_seqs,
        maxlen,
        recipe.text.padding,
        recipe.text.truncating,
        0,
    )?;
    let train_split = EncodedSplit::new(train_tokens, maxlen, train.labels.clone())?;
    let val_split = val.as_ref().map(&to_split).transpose()?;
    let test_split = test.as_ref().map(&to_split).transpose()?;
    tracing::info!(
        train = train_split.len(),
        validation = val_split.as_ref().map_or(0, |v| v.len()),
        test = test_split.as_ref().map_or(0, |t| t.len()),
        vocab = tokenizer.vocab_size(),
        maxlen,
        seconds = started.elapsed().as_secs_f64(),
        "data prepared"
    );
    Ok(Prepared {
        recipe: resolved,
        tokenizer,
        class_names,
        train: train_split,
        validation: val_split,
        test: test_split,
        test_texts: test.map(|t| t.texts).unwrap_or_default(),
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

fn check_classes(recipe: &Recipe, n_classes: usize) -> Result<()> {
    let output = recipe.model.output()?;
    if output.n_classes() != n_classes {
        return Err(Error::invalid(
            "model",
            format!(
                "the output layer gives {} classes but the corpus has {n_classes}; use Dense(1, sigmoid) for 2 classes or Dense({n_classes}, softmax)",
                output.n_classes()
            ),
        ));
    }
    Ok(())
}

/// The subsampling limits a run was trained with, saved as `limits.json` when any is set, so
/// that `evaluate`, `tune-threshold` and `report` re-create exactly the same splits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Limits {
    /// At most this many training examples (validation: `limit_train / 4 + 1`).
    pub limit_train: Option<usize>,
    /// At most this many test examples.
    pub limit_test: Option<usize>,
}

impl Limits {
    pub(crate) fn of(opts: &TrainOptions) -> Self {
        Self {
            limit_train: opts.limit_train,
            limit_test: opts.limit_test,
        }
    }

    fn is_set(&self) -> bool {
        self.limit_train.is_some() || self.limit_test.is_some()
    }
}

/// Splits the corpus and applies the subsampling limits: (train, validation, test), not cleaned.
fn select_splits(
    recipe: &Recipe,
    corpus: Corpus,
    limits: &Limits,
) -> Result<(Dataset, Option<Dataset>, Option<Dataset>)> {
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

/// Batch size of evaluation passes (the same in `train` and `evaluate`, so the numbers agree).
pub(crate) const EVAL_BATCH: usize = 512;

/// Trains a recipe end to end and writes its run directory: the model, the history, the test
/// metrics (`metrics.json`, `test_predictions.json`) and the plots (`plots/`).
pub fn train_run(recipe: &Recipe, opts: &TrainOptions) -> Result<TrainOutcome> {
    let prepared = prepare(recipe, opts)?;
    let recipe = &prepared.recipe;
    let maxlen = recipe.text.maxlen.unwrap_or(1);
    let dir = run::create_dir(opts.out.as_deref(), &recipe.name)?;
    let device = textrnn_models::select_device(opts.gpu);
    let (model, varmap) = TextClassifier::init(&recipe.model, maxlen, recipe.seed, &device)?;
    let parameters: usize = model.vars().iter().map(|v| v.elem_count()).sum();
    tracing::info!(dir = %dir.display(), parameters, "training");

    // Config and tokenizer first: a run directory always says what it is.
    crate::atomic::write_json(&dir.join(run::CONFIG), recipe)?;
    prepared.tokenizer.save(dir.join(run::TOKENIZER))?;
    let limits = Limits::of(opts);
    if limits.is_set() {
        crate::atomic::write_json(&dir.join(run::LIMITS), &limits)?;
    }

    let model_path = dir.join(run::MODEL);
    let mut callbacks: Vec<Box<dyn textrnn_train::Callback>> = Vec::new();
    if prepared.validation.is_some() {
        // Keep the best weights on disk while training, so an interrupted run still has a model.
        let (monitor, mode) = match &recipe.train.early_stopping {
            Some(es) => (es.monitor.clone(), es.mode),
            None => ("val_loss".to_string(), textrnn_train::MonitorMode::Min),
        };
        callbacks.push(Box::new(textrnn_train::BestCheckpoint::safetensors(
            model_path.clone(),
            &varmap,
            &monitor,
            mode,
        )?));
    }
    let mut train_cfg = recipe.train.clone();
    if !opts.progress {
        train_cfg.verbose = 0;
    }
    let started = Instant::now();
    let history = textrnn_train::fit(
        &model,
        &prepared.train,
        prepared.validation.as_ref(),
        &train_cfg,
        recipe.seed,
        &mut callbacks,
    )?;
    let train_seconds = started.elapsed().as_secs_f64();
    // The weights in memory are the final (or restored best) ones: save them.
    TextClassifier::save(&varmap, &model_path)?;
    history.save_csv(dir.join(run::HISTORY_CSV))?;
    history.save_json(dir.join(run::HISTORY_JSON))?;
    let series = crate::plots::history_series(&dir.join(run::HISTORY_JSON))?;

    let test = match &prepared.test {
        Some(split) => {
            let preds = textrnn_train::predict_proba(
                &model,
                &split.tokens,
                split.seq_len,
                EVAL_BATCH,
                opts.progress,
            )?;
            let saved = TestPredictions {
                class_names: prepared.class_names.clone(),
                labels: split.labels.clone(),
                n_classes: preds.n_classes,
                probs: preds.probs,
            };
            let metrics = crate::evaluate::compute_metrics(&saved, None)?;
            crate::atomic::write_json(&dir.join(run::METRICS), &metrics)?;
            crate::atomic::write_json(&dir.join(run::TEST_PREDICTIONS), &saved)?;
            crate::plots::write_plots(&dir, Some(&series), Some((&saved, &metrics)))?;
            Some(metrics)
        }
        None => {
            crate::plots::write_plots(&dir, Some(&series), None)?;
            None
        }
    };
    Ok(TrainOutcome {
        dir,
        epochs_run: history.records().len(),
        history,
        train_seconds,
        sizes: (
            prepared.train.len(),
            prepared.validation.as_ref().map_or(0, |v| v.len()),
            prepared.test.as_ref().map_or(0, |t| t.len()),
        ),
        parameters,
        test,
    })
}

/// A split of a saved run, re-created from its recipe, seed and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Validation,
    Test,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Validation => "validation",
            Which::Test => "test",
        }
    }
}

/// One split of a saved run: cleaned texts, labels, and the padded token ids.
pub(crate) struct RunSplit {
    /// Cleaned texts (as the model saw them).
    pub texts: Vec<String>,
    /// Token ids and labels.
    pub encoded: EncodedSplit,
}

/// Re-creates one split of a run exactly as in training (same corpus, split, seed and limits),
/// cleaning and encoding only that split with the run's tokenizer.
pub(crate) fn recreate_split(run: &Run, opts: &TrainOptions, which: Which) -> Result<RunSplit> {
    let recipe = &run.recipe;
    let corpus = load_corpus(recipe, opts)?;
    let (train, val, test) = select_splits(recipe, corpus, &run.limits)?;
    if !recipe.classes.is_empty() && train.class_names != recipe.classes {
        return Err(Error::Run {
            dir: run.dir.clone(),
            reason: format!(
                "the corpus now has classes [{}] but the run was trained on [{}]",
                train.class_names.join(", "),
                recipe.classes.join(", ")
            ),
        });
    }
    let data = match which {
        Which::Validation => val,
        Which::Test => test,
    }
    .ok_or_else(|| Error::Run {
        dir: run.dir.clone(),
        reason: match which {
            Which::Validation => "the run has no validation split (its recipe's [split] is `none` and the corpus has none); retrain with e.g. [split] kind = \"random\", validation = 0.2".to_string(),
            Which::Test => "the recipe's corpus has no test split".to_string(),
        },
    })?;
    let clean = normalizer(&recipe.text)?;
    let texts: Vec<String> = data.texts.iter().map(|t| clean.apply(t)).collect();
    let tokens = encode(&run.tokenizer, &recipe.text, run.maxlen(), &texts)?;
    let encoded = EncodedSplit::new(tokens, run.maxlen(), data.labels)?;
    tracing::info!(split = which.name(), n = encoded.len(), "split re-created");
    Ok(RunSplit { texts, encoded })
}

/// Test-split probabilities and labels, saved as `test_predictions.json` so that `plot` and
/// `report` need neither the corpus nor a forward pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestPredictions {
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
    /// True label of each test example.
    pub labels: Vec<u32>,
    /// Number of classes `C` (2 for a sigmoid model).
    pub n_classes: usize,
    /// `N * C` probabilities, row-major.
    pub probs: Vec<f32>,
}

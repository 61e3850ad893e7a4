//! The end-to-end training pipeline: corpus -> normalisation -> splits -> tokenizer ->
//! padded sequences -> model -> training -> test evaluation -> run directory.
//!
//! Every random choice (shuffles, splits, initialisation, dropout) derives from `recipe.seed`.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use textrnn_data::{Corpus, Dataset, LoadOptions};
use textrnn_models::{Classifier, TextClassifier};
use textrnn_text::{pad_sequences, KerasTokenizer};
use textrnn_train::{EncodedSplit, History};

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

/// Test-split numbers saved as `metrics.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TestMetrics {
    /// Number of test examples.
    pub n: usize,
    /// Mean loss.
    pub loss: f64,
    /// Accuracy (threshold 0.5 or argmax).
    pub accuracy: f64,
    /// ROC AUC (binary tasks).
    pub auc: Option<f64>,
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
    let (mut train, mut val, mut test) = split(recipe, corpus)?;
    if let Some(n) = opts.limit_train {
        train = subsample(&train, n, recipe.seed)?;
        val = val
            .map(|v| subsample(&v, n / 4 + 1, recipe.seed))
            .transpose()?;
    }
    if let Some(n) = opts.limit_test {
        test = test.map(|t| subsample(&t, n, recipe.seed)).transpose()?;
    }
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
    let maxlen = match recipe.text.maxlen {
        Some(m) => m,
        None => {
            let refs: Vec<&str> = train.texts.iter().map(String::as_str).collect();
            let longest = tokenizer
                .texts_to_sequences(&refs)
                .iter()
                .map(Vec::len)
                .max()
                .unwrap_or(0);
            longest + 1
        }
    };
    resolved.text.maxlen = Some(maxlen);
    resolved.classes = class_names.clone();
    resolved.model = recipe.model.clone().with_vocab_size(tokenizer.vocab_size());

    let to_split = |d: &Dataset| -> Result<EncodedSplit> {
        let tokens = encode(&tokenizer, &recipe.text, maxlen, &d.texts)?;
        Ok(EncodedSplit::new(tokens, maxlen, d.labels.clone())?)
    };
    let train_split = to_split(&train)?;
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

/// Trains a recipe end to end and writes its run directory.
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

    let test = match &prepared.test {
        Some(split) => {
            let m = textrnn_train::evaluate(&model, split, recipe.train.batch_size.max(256))?;
            let metrics = TestMetrics {
                n: split.len(),
                loss: m.loss,
                accuracy: m.accuracy,
                auc: m.auc,
            };
            crate::atomic::write_json(&dir.join(run::METRICS), &metrics)?;
            Some(metrics)
        }
        None => None,
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

/// Evaluates a loaded run on its recipe's test split.
pub(crate) fn evaluate_run(run: &Run, opts: &TrainOptions) -> Result<(TestMetrics, Prepared)> {
    let mut recipe = run.recipe.clone();
    // Re-create the same splits; the tokenizer and model come from the run.
    recipe.text.maxlen = run.recipe.text.maxlen;
    let prepared = prepare_with_tokenizer(&recipe, opts, &run.tokenizer)?;
    let split = prepared
        .test
        .as_ref()
        .ok_or_else(|| Error::invalid("data", "the recipe's corpus has no test split"))?;
    let m = textrnn_train::evaluate(&run.model, split, 512)?;
    Ok((
        TestMetrics {
            n: split.len(),
            loss: m.loss,
            accuracy: m.accuracy,
            auc: m.auc,
        },
        prepared,
    ))
}

/// Like [`prepare`] but encodes with an existing tokenizer (re-evaluating a saved run).
pub(crate) fn prepare_with_tokenizer(
    recipe: &Recipe,
    opts: &TrainOptions,
    tokenizer: &KerasTokenizer,
) -> Result<Prepared> {
    let corpus = load_corpus(recipe, opts)?;
    let (train, val, mut test) = split(recipe, corpus)?;
    if let Some(n) = opts.limit_test {
        test = test.map(|t| subsample(&t, n, recipe.seed)).transpose()?;
    }
    let clean = normalizer(&recipe.text)?;
    let maxlen = recipe
        .text
        .maxlen
        .ok_or_else(|| Error::invalid("text.maxlen", "missing in the run's config.json"))?;
    let to_split = |d: &Dataset| -> Result<EncodedSplit> {
        let texts: Vec<String> = d.texts.iter().map(|t| clean.apply(t)).collect();
        let tokens = encode(tokenizer, &recipe.text, maxlen, &texts)?;
        Ok(EncodedSplit::new(tokens, maxlen, d.labels.clone())?)
    };
    Ok(Prepared {
        recipe: recipe.clone(),
        tokenizer: tokenizer.clone(),
        class_names: train.class_names.clone(),
        train: to_split(&train)?,
        validation: val.as_ref().map(&to_split).transpose()?,
        test: test.as_ref().map(&to_split).transpose()?,
        test_texts: test
            .map(|t| t.texts.iter().map(|x| clean.apply(x)).collect())
            .unwrap_or_default(),
    })
}

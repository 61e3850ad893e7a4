//! The end-to-end training pipeline: recipe check -> corpus -> splits -> normalisation ->
//! tokenizer -> [`RunConfig`] -> padded sequences -> model -> training -> test evaluation and
//! plots -> run directory.
//!
//! Every random choice (shuffles, splits, initialisation, dropout) derives from `recipe.seed`.
//!
//! ```no_run
//! use textrnn::{Recipe, TrainOptions};
//! let recipe = Recipe::builtin("imdb-bigru")?;
//! let outcome = textrnn::train_run(&recipe, &TrainOptions::default())?;
//! println!("{} epochs, run saved in {}", outcome.epochs_run, outcome.dir.display());
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::path::PathBuf;
use std::time::Instant;

use textrnn_data::Dataset;
use textrnn_models::{Classifier, TextClassifier};
use textrnn_text::KerasTokenizer;
use textrnn_train::{EncodedSplit, History};

use crate::corpus::{self, DataOptions, Limits};
use crate::evaluate::{self, TestMetrics};
use crate::recipe::{FitOn, Recipe};
use crate::run;
use crate::{plots, Error, Result, RunConfig};

/// Options of a training run that are not part of the recipe: where the data is and where the
/// run goes, subsampling, device.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Where the corpus is, and whether to show progress bars.
    pub data: DataOptions,
    /// Run directory; default `runs/<recipe name>` (a fresh `-N` suffix when it exists).
    pub out: Option<PathBuf>,
    /// Subsampling of the corpus (`--limit`, `xtask --quick`), saved as `limits.json`.
    pub limits: Limits,
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
struct Prepared {
    config: RunConfig,
    tokenizer: KerasTokenizer,
    train: EncodedSplit,
    validation: Option<EncodedSplit>,
    test: Option<EncodedSplit>,
}

/// Checks the recipe, then loads, splits, cleans, tokenizes and pads its corpus and resolves the
/// run configuration.
fn prepare(recipe: &Recipe, opts: &TrainOptions) -> Result<Prepared> {
    recipe.validate()?;
    let started = Instant::now();
    let corpus = corpus::load(recipe, &opts.data)?;
    let (mut train, mut val, mut test) = corpus::select_splits(recipe, corpus, &opts.limits)?;
    let clean = recipe.text.pipeline()?;
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
    check_classes(recipe, train.class_names.len())?;

    let mut fit_texts: Vec<&str> = train.texts.iter().map(String::as_str).collect();
    if recipe.text.fit_on == FitOn::TrainAndTest {
        if let Some(t) = &test {
            fit_texts.extend(t.texts.iter().map(String::as_str));
        }
    }
    let tokenizer = KerasTokenizer::fit(&recipe.text.tokenizer_config(), fit_texts)?;
    // The training sequences serve both the automatic maxlen and the padded training split.
    let train_seqs = tokenizer.texts_to_sequences(&train.texts);
    let maxlen = match recipe.text.maxlen {
        Some(m) => m,
        None => train_seqs.iter().map(Vec::len).max().unwrap_or(0) + 1,
    };
    let config = RunConfig::resolve(
        recipe,
        maxlen,
        tokenizer.vocab_size(),
        train.class_names.clone(),
    );

    let to_split = |d: &Dataset| -> Result<EncodedSplit> {
        let tokens = recipe.text.encode(&tokenizer, maxlen, &d.texts)?;
        Ok(EncodedSplit::new(tokens, maxlen, d.labels.clone())?)
    };
    let train_tokens = recipe.text.pad(&train_seqs, maxlen)?;
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
        config,
        tokenizer,
        train: train_split,
        validation: val_split,
        test: test_split,
    })
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

/// Trains a recipe end to end and writes its run directory: the model, the history, the test
/// metrics (`metrics.json`, `test_predictions.json`) and the plots (`plots/`).
pub fn train_run(recipe: &Recipe, opts: &TrainOptions) -> Result<TrainOutcome> {
    let prepared = prepare(recipe, opts)?;
    let config = &prepared.config;
    let recipe = config.recipe();
    let progress = opts.data.progress;
    let dir = run::create_dir(opts.out.as_deref(), &recipe.name)?;
    let device = textrnn_models::select_device(opts.gpu);
    let (model, varmap) =
        TextClassifier::init(&recipe.model, config.maxlen(), recipe.seed, &device)?;
    let parameters: usize = model.vars().iter().map(|v| v.elem_count()).sum();
    tracing::info!(dir = %dir.display(), parameters, "training");

    // Config and tokenizer first: a run directory always says what it is.
    run::write_json(&dir.join(run::CONFIG), config)?;
    prepared.tokenizer.save(dir.join(run::TOKENIZER))?;
    if opts.limits.is_set() {
        run::write_json(&dir.join(run::LIMITS), &opts.limits)?;
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
    if !progress {
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
    let series = plots::history_series(&dir.join(run::HISTORY_JSON))?;

    let test = match &prepared.test {
        Some(split) => {
            let saved = run::predict_split(&model, split, config.classes(), progress)?;
            let metrics = evaluate::compute_metrics(&saved, None)?;
            run::write_json(&dir.join(run::METRICS), &metrics)?;
            run::write_json(&dir.join(run::TEST_PREDICTIONS), &saved)?;
            plots::write_plots(&dir, Some(&series), Some((&saved, &metrics)))?;
            Some(metrics)
        }
        None => {
            plots::write_plots(&dir, Some(&series), None)?;
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

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

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use textrnn_data::{Dataset, FileState};
use textrnn_models::{Activation, Classifier, DenseSpec, LayerSpec, TextClassifier};
use textrnn_text::KerasTokenizer;
use textrnn_train::{EncodedSplit, FitControl, FitOutcome, History};

use crate::corpus::{self, DataOptions, Limits};
use crate::evaluate::{self, TestMetrics};
use crate::recipe::{FitOn, Recipe};
use crate::run;
use crate::run_state::{self, RunLock, RunState, RunStatus};
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
    /// Set (by a Ctrl-C or SIGTERM handler) to stop after the current batch, save a checkpoint
    /// and mark the run interrupted.
    pub stop: Option<Arc<AtomicBool>>,
    /// Also checkpoint every this many steps (a checkpoint is written after every epoch).
    pub checkpoint_every: Option<usize>,
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

/// A recipe's data exactly as [`train_run`] feeds it to the model: the resolved configuration
/// and the tokenized, padded splits (the same seed gives the same splits). Made by
/// [`prepare_data`], e.g. to train another framework on the very same tensors.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// The recipe resolved against the data: `maxlen`, the embedding's `input_dim`, classes.
    pub config: RunConfig,
    /// The training split (with per-example weights when the recipe has class weights).
    pub train: EncodedSplit,
    /// The validation split, when the recipe makes one.
    pub validation: Option<EncodedSplit>,
    /// The test split, when the recipe has one.
    pub test: Option<EncodedSplit>,
    /// The tokenizer's vocabulary size (the embedding's `input_dim` when the recipe leaves it
    /// open).
    pub vocab_size: usize,
}

impl PreparedData {
    /// The sequence length every split is padded to.
    pub fn maxlen(&self) -> usize {
        self.config.maxlen()
    }

    /// The model's layers, resolved (the embedding's `input_dim` filled in).
    pub fn layers(&self) -> &[LayerSpec] {
        &self.config.recipe().model.layers
    }
}

/// Tokenized, padded splits ready for training, and what the run directory keeps besides.
struct Prepared {
    data: PreparedData,
    tokenizer: KerasTokenizer,
    /// The validation and test splits as read (not cleaned), stored in the run directory.
    stored: (Option<Dataset>, Option<Dataset>),
    /// The embedding's pretrained vectors (`weights`), for the tokenizer's words.
    vectors: Option<textrnn_text::WordVectors>,
}

/// Prepares a recipe's data exactly as [`train_run`] does (check, corpus, splits, cleaning,
/// tokenizer, padding, resolved configuration) without training: the same recipe, seed, data
/// and limits give the very splits training uses.
///
/// ```no_run
/// let recipe = textrnn::Recipe::builtin("agnews-lstm-25")?;
/// let data = textrnn::prepare_data(&recipe, &textrnn::TrainOptions::default())?;
/// println!("{} training rows of {} tokens", data.train.len(), data.maxlen());
/// # Ok::<(), textrnn::Error>(())
/// ```
pub fn prepare_data(recipe: &Recipe, opts: &TrainOptions) -> Result<PreparedData> {
    Ok(prepare(recipe, opts)?.data)
}

/// Checks the recipe, then loads, splits, cleans, tokenizes and pads its corpus and resolves the
/// run configuration.
fn prepare(recipe: &Recipe, opts: &TrainOptions) -> Result<Prepared> {
    recipe.validate()?;
    // A bad vectors file fails before the corpus is read.
    crate::pretrained::check(&recipe.model)?;
    let started = Instant::now();
    let (corpus, sample) = corpus::load_for_training(recipe, &opts.data)?;
    let mut recipe = recipe.clone();
    if let Some(sample) = sample {
        recipe.data = sample;
    }
    recipe.data_files = corpus.files.clone();
    if recipe.data.user_files().is_some() {
        fit_output_to_classes(
            &mut recipe,
            corpus.class_names(),
            corpus.train.is_multi_label(),
        )?;
    }
    let recipe = &recipe;
    let (mut train, mut val, mut test) = corpus::select_splits(recipe, corpus, &opts.limits)?;
    let stored = (val.clone(), test.clone());
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
    check_multi_label(recipe, &train)?;
    let weighting = crate::weighting::resolve(recipe, &train)?;
    for warning in crate::check::quick_warnings(&train, val.as_ref(), test.as_ref(), &recipe.text) {
        tracing::warn!("{warning} (textrnn check shows the details)");
    }

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
    let mut config = RunConfig::resolve(
        recipe,
        maxlen,
        tokenizer.vocab_size(),
        train.class_names.clone(),
    );
    // Parameters, optimizer state and activations against the machine's memory, before the
    // padded splits or the model are allocated.
    let estimate = config
        .recipe()
        .model
        .memory_estimate(maxlen, recipe.train.batch_size)?;
    if let Some(warning) = estimate.check(textrnn_models::available_memory())? {
        tracing::warn!("{warning}");
    }

    let to_split = |d: &Dataset| -> Result<EncodedSplit> {
        let tokens = recipe.text.encode(&tokenizer, maxlen, &d.texts)?;
        encoded_split(tokens, maxlen, d)
    };
    let train_tokens = recipe.text.pad(&train_seqs, maxlen)?;
    let train_split =
        encoded_split(train_tokens, maxlen, &train)?.with_weights(weighting.examples)?;
    config.set_class_weight(weighting.class_weight);
    let val_split = val.as_ref().map(&to_split).transpose()?;
    let test_split = test.as_ref().map(&to_split).transpose()?;
    let vectors = crate::pretrained::load(
        &recipe.model,
        &tokenizer,
        test_split.as_ref().map(|t| t.tokens.as_slice()),
    )?
    .map(|(vectors, report)| {
        config.set_pretrained_vectors(Some(report));
        vectors
    });
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
        data: PreparedData {
            config,
            train: train_split,
            validation: val_split,
            test: test_split,
            vocab_size: tokenizer.vocab_size(),
        },
        tokenizer,
        stored,
        vectors,
    })
}

/// A dataset's padded `tokens` as an [`EncodedSplit`]; multi-label data also gets its multi-hot
/// targets (one row of `class_names.len()` values per document).
pub(crate) fn encoded_split(tokens: Vec<u32>, maxlen: usize, d: &Dataset) -> Result<EncodedSplit> {
    let split = EncodedSplit::new(tokens, maxlen, d.labels.clone())?;
    match &d.label_sets {
        Some(sets) => {
            let n = d.class_names.len();
            let mut targets = vec![0f32; sets.len() * n];
            for (i, set) in sets.iter().enumerate() {
                for &l in set {
                    targets[i * n + l as usize] = 1.0;
                }
            }
            Ok(split.with_targets(targets, n)?)
        }
        None => Ok(split),
    }
}

/// Own data: the recipe's output layer follows the data's class count. Two classes keep a
/// sigmoid output (`Dense(1, sigmoid)`); otherwise the output becomes `Dense(n, softmax)`, and
/// an early-stopping monitor on AUC (a binary metric) moves to `val_loss`. Multi-label data
/// (any class count) gets `Dense(n, sigmoid)`, one probability per label. Said in one line.
fn fit_output_to_classes(recipe: &mut Recipe, classes: &[String], multi_label: bool) -> Result<()> {
    let n = classes.len();
    let output = recipe.model.output()?;
    if output.n_classes() == n && output.is_multi_label() == multi_label {
        return Ok(());
    }
    let Some(LayerSpec::Dense(last)) = recipe.model.layers.last_mut() else {
        return Ok(()); // `check_classes` names the problem
    };
    *last = if multi_label {
        DenseSpec {
            units: n,
            activation: Activation::Sigmoid,
        }
    } else if n == 2 {
        DenseSpec {
            units: 1,
            activation: Activation::Sigmoid,
        }
    } else {
        DenseSpec {
            units: n,
            activation: Activation::Softmax,
        }
    };
    recipe.train.loss = None;
    recipe.train.metrics = None;
    let mut monitor_note = String::new();
    if let Some(es) = recipe.train.early_stopping.as_mut() {
        if n != 2 && !multi_label && es.monitor.ends_with("auc") {
            es.monitor = "val_loss".into();
            es.mode = textrnn_train::MonitorMode::Min;
            monitor_note = ", early stopping on val_loss".into();
        }
    }
    tracing::info!(
        "the data has {n} classes ({}): output layer Dense({}, {}){monitor_note}",
        classes.join(", "),
        last.units,
        last.activation.name()
    );
    Ok(())
}

/// Refuses a multi-label output on single-label data and the reverse.
fn check_multi_label(recipe: &Recipe, train: &Dataset) -> Result<()> {
    let output = recipe.model.output()?;
    if output.is_multi_label() == train.is_multi_label() {
        return Ok(());
    }
    let reason = if train.is_multi_label() {
        "the data is multi-label but the output layer is not Dense(n, sigmoid) with one unit per label"
    } else {
        "the output layer is multi-label (Dense(n > 1, sigmoid)) but the data has one label per row; give --label-sep or JSON label lists"
    };
    Err(Error::invalid("model", reason))
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
    train_run_with_data(recipe, opts).map(|(outcome, _)| outcome)
}

/// [`train_run`], also returning the data it trained on (what [`prepare_data`] gives), for a
/// caller that needs both without preparing the corpus twice.
pub fn train_run_with_data(
    recipe: &Recipe,
    opts: &TrainOptions,
) -> Result<(TrainOutcome, PreparedData)> {
    let prepared = prepare(recipe, opts)?;
    let recipe = prepared.data.config.recipe();
    let (dir, _lock) = run_state::create_run_dir(opts.out.as_deref(), &recipe.name)?;
    let status = RunStatus::training(&recipe.name, recipe.train.epochs);
    status.save(&dir)?;
    let outcome = finish(&dir, status, train_into(&dir, &prepared, opts, None))?;
    Ok((outcome, prepared.data))
}

/// Whether every epoch of `history` diverged (then no weights are worth keeping).
fn all_diverged(history: &History) -> bool {
    let epochs: std::collections::BTreeSet<usize> = history.warnings().map(|(e, _)| e).collect();
    !history.records().is_empty() && epochs.len() == history.records().len()
}

/// Records how a training ended in `run.json`: complete, interrupted or failed.
fn finish(dir: &Path, mut status: RunStatus, result: Result<TrainOutcome>) -> Result<TrainOutcome> {
    match result {
        Ok(outcome) => {
            status.state = RunState::Complete;
            status.epochs_done = outcome.epochs_run;
            status.save(dir)?;
            // The run is complete: its resume checkpoint is no longer needed.
            let checkpoint = dir.join(run::CHECKPOINT);
            if checkpoint.is_file() {
                std::fs::remove_file(&checkpoint).map_err(|e| Error::io(&checkpoint, e))?;
            }
            Ok(outcome)
        }
        Err(e) => {
            // Keep the epoch count the status callback recorded.
            if let Ok(Some(last)) = RunStatus::load(dir) {
                status.epochs_done = last.epochs_done;
            }
            if matches!(e, Error::Interrupted { .. }) {
                status.state = RunState::Interrupted;
            } else {
                status.state = RunState::Failed;
                status.error = Some(e.to_string());
            }
            if let Err(save) = status.save(dir) {
                tracing::warn!(
                    "cannot record the end of training in {}: {save}",
                    dir.display()
                );
            }
            Err(e)
        }
    }
}

/// Counts finished epochs in `run.json`, so a killed training says how far it got.
struct StatusUpdate {
    dir: PathBuf,
    status: RunStatus,
}

impl textrnn_train::Callback for StatusUpdate {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _logs: &textrnn_train::EpochLogs,
    ) -> textrnn_train::Result<textrnn_train::Control> {
        self.status.epochs_done = epoch + 1;
        self.status
            .save(&self.dir)
            .map_err(|e| textrnn_train::Error::Callback {
                callback: "run status".into(),
                reason: e.to_string(),
            })?;
        Ok(textrnn_train::Control::Continue)
    }
}

/// Trains the prepared data into the (created, locked) run directory and writes its artefacts.
fn train_into(
    dir: &Path,
    prepared: &Prepared,
    opts: &TrainOptions,
    resume: Option<&Path>,
) -> Result<TrainOutcome> {
    let dir = dir.to_path_buf();
    let data = &prepared.data;
    let config = &data.config;
    let recipe = config.recipe();
    let progress = opts.data.progress;
    let device = textrnn_models::select_device(opts.gpu);
    let (model, varmap) =
        TextClassifier::init(&recipe.model, config.maxlen(), recipe.seed, &device)?;
    if let Some(vectors) = &prepared.vectors {
        crate::pretrained::apply(vectors, &varmap)?;
    }
    let parameters: usize = model.vars().iter().map(|v| v.elem_count()).sum();
    tracing::info!(dir = %dir.display(), parameters, "training");

    // Config, tokenizer and the held-out splits first: a run directory always says what it is
    // and carries the data it is evaluated on.
    run::write_json(&dir.join(run::CONFIG), config)?;
    prepared.tokenizer.save(dir.join(run::TOKENIZER))?;
    run::store_splits(&dir, prepared.stored.0.as_ref(), prepared.stored.1.as_ref())?;
    if opts.limits.is_set() {
        run::write_json(&dir.join(run::LIMITS), &opts.limits)?;
    }

    let model_path = dir.join(run::MODEL);
    let mut callbacks: Vec<Box<dyn textrnn_train::Callback>> = vec![Box::new(StatusUpdate {
        dir: dir.clone(),
        status: RunStatus::training(&recipe.name, recipe.train.epochs),
    })];
    if data.validation.is_some() {
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
    let checkpoint = dir.join(run::CHECKPOINT);
    let control = FitControl {
        stop: opts.stop.clone(),
        checkpoint: Some(checkpoint.clone()),
        checkpoint_every: opts.checkpoint_every,
        resume: resume.map(Path::to_path_buf),
    };
    let outcome = textrnn_train::fit_with(
        &model,
        &data.train,
        data.validation.as_ref(),
        &train_cfg,
        recipe.seed,
        &mut callbacks,
        &control,
    )?;
    // The history is kept however training ended.
    outcome.history().save_csv(dir.join(run::HISTORY_CSV))?;
    outcome.history().save_json(dir.join(run::HISTORY_JSON))?;
    let history = match outcome {
        FitOutcome::Completed { history } if all_diverged(&history) => {
            return Err(Error::invalid(
                "train",
                format!(
                    "every epoch diverged ({}); no model is kept: lower the learning rate (--lr) and train again",
                    history.warnings().last().map_or("", |(_, w)| w)
                ),
            ));
        }
        FitOutcome::Completed { history } => history,
        FitOutcome::Interrupted { epoch, step, .. } => {
            if !model_path.is_file() {
                // No best checkpoint (no validation split): keep the current weights, so
                // `--allow-incomplete` has a model to use.
                TextClassifier::save(&varmap, &model_path)?;
            }
            return Err(Error::Interrupted {
                dir: dir.clone(),
                epoch: epoch + 1,
                step,
            });
        }
    };
    let train_seconds = started.elapsed().as_secs_f64();
    // The weights in memory are the final (or restored best) ones: save them.
    TextClassifier::save(&varmap, &model_path)?;
    let series = plots::history_series(&dir.join(run::HISTORY_JSON))?;

    let test = match &data.test {
        Some(split) => {
            let saved = run::predict_split(&model, split, config.classes(), progress)?;
            let mut metrics = evaluate::compute_metrics(&saved, None)?;
            metrics.data = evaluate::test_data_label(recipe);
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
            data.train.len(),
            data.validation.as_ref().map_or(0, |v| v.len()),
            data.test.as_ref().map_or(0, |t| t.len()),
        ),
        parameters,
        test,
    })
}

/// Continues an interrupted (or killed, or failed) run from its last checkpoint: the same
/// recipe, data and seed, so it ends with the weights an uninterrupted training would have.
/// The data files must be unchanged since training (their fingerprints are checked).
pub fn resume_run(dir: &Path, opts: &TrainOptions) -> Result<TrainOutcome> {
    let lock = RunLock::acquire(dir)?;
    let run_error = |reason: String| Error::Run {
        dir: dir.to_path_buf(),
        reason,
    };
    let Some(mut status) = RunStatus::load(dir)? else {
        return Err(run_error(format!(
            "has no {}: it is not a run textrnn can resume",
            run_state::STATUS
        )));
    };
    if status.state == RunState::Complete {
        return Err(run_error(
            "is complete: there is nothing to resume (train again with another --out)".into(),
        ));
    }
    run::remove_leftover_temporaries(dir)?;
    let checkpoint = dir.join(run::CHECKPOINT);
    if !checkpoint.is_file() {
        return Err(run_error(format!(
            "has no {} (training stopped before its first checkpoint); train it again",
            run::CHECKPOINT
        )));
    }
    let config = RunConfig::load(&dir.join(run::CONFIG))?;
    let recipe = config.recipe().clone();
    for file in &recipe.data_files {
        match file.state()? {
            FileState::Same => {}
            FileState::Missing => {
                return Err(run_error(format!(
                    "was trained on {}, which is gone; resuming needs the same data",
                    file.path.display()
                )))
            }
            FileState::Changed(what) => {
                return Err(run_error(format!(
                "was trained on {}, which has changed since ({what}); resuming needs the same data",
                file.path.display()
            )))
            }
        }
    }
    let limits_path = dir.join(run::LIMITS);
    let limits = if limits_path.is_file() {
        run::read_json(&limits_path)?
    } else {
        Limits::default()
    };
    let opts = TrainOptions {
        limits,
        out: Some(dir.to_path_buf()),
        ..opts.clone()
    };
    let prepared = prepare(&recipe, &opts)?;
    crate::pretrained::check_unchanged(
        recipe.pretrained_vectors.as_ref(),
        prepared.data.config.recipe().pretrained_vectors.as_ref(),
    )
    .map_err(run_error)?;
    tracing::info!(
        dir = %dir.display(),
        epochs_done = status.epochs_done,
        "resuming from {}",
        checkpoint.display()
    );
    let mode = crate::Subnormals::current();
    if status.subnormals != mode {
        let (env, was) = (crate::SUBNORMALS_ENV, status.subnormals.name());
        tracing::warn!(
            "this run trained with {env}={was} and this process runs with {env}={}: the resumed \
             epochs will not repeat an uninterrupted training bit for bit (set {env}={was} to \
             match)",
            mode.name()
        );
        status.subnormals = mode;
    }
    status.state = RunState::Training;
    status.pid = std::process::id();
    status.error = None;
    status.save(dir)?;
    let result = train_into(dir, &prepared, &opts, Some(&checkpoint));
    let outcome = finish(dir, status, result);
    drop(lock);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Which;

    /// The exported splits are the ones training uses: the run's stored validation and test
    /// splits, re-encoded with its tokenizer, equal them; so do the sizes, `maxlen` and the
    /// resolved layers; and preparing twice with one seed gives the same training split.
    #[test]
    fn prepared_data_equals_what_training_uses() {
        let tmp = tempfile::tempdir().unwrap();
        let mut recipe = crate::synthetic::tiny_recipe(tmp.path(), "tiny", 5).unwrap();
        recipe.train.epochs = 1;
        let opts = TrainOptions {
            out: Some(tmp.path().join("run")),
            ..TrainOptions::default()
        };
        let data = prepare_data(&recipe, &opts).unwrap();
        let again = prepare_data(&recipe, &opts).unwrap();
        assert_eq!(data.train, again.train);
        assert_eq!(data.maxlen(), 16);
        assert_eq!(data.vocab_size, 31); // the synthetic corpus has 30 distinct words

        let (outcome, trained_on) = train_run_with_data(&recipe, &opts).unwrap();
        assert_eq!(trained_on.train, data.train);
        let (val, test) = (
            data.validation.as_ref().unwrap(),
            data.test.as_ref().unwrap(),
        );
        // 400 training rows, 15 % of them held out for validation; 100 test rows.
        assert_eq!((data.train.len(), val.len(), test.len()), (340, 60, 100));
        assert_eq!(outcome.sizes, (340, 60, 100));
        let run = crate::Run::open(&outcome.dir).unwrap();
        assert_eq!(run.config().maxlen(), data.maxlen());
        assert_eq!(run.config().recipe().model.layers, data.layers());
        let options = DataOptions::default();
        assert_eq!(
            &run.split(&options, Which::Validation).unwrap().encoded,
            val
        );
        assert_eq!(&run.split(&options, Which::Test).unwrap().encoded, test);

        // Another seed draws another validation split.
        recipe.seed = 6;
        let other = prepare_data(&recipe, &opts).unwrap();
        assert_ne!(other.validation.as_ref(), Some(val));
    }
}

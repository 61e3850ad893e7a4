//! The training loop, [`fit`]: Keras `model.fit` for a [`Classifier`].
//!
//! ```text
//! shuffle_rng  = ChaCha8Rng(seed), stream 0     // batch order, one permutation per epoch
//! dropout_rng  = ChaCha8Rng(seed), stream 1     // handed to the model as Mode::Train
//! for epoch in 0..epochs:
//!     for (tokens (b, T) u32, labels (b) u32) in train.batches(batch_size, shuffle):
//!         logits = model.forward_t(tokens, Train)   // (b, 1) sigmoid or (b, C) softmax
//!         loss   = bce / scce(logits, labels)        // scalar, stable form; Σ w_i l_i / b
//!                                                    // with the split's per-example weights
//!         optimizer.step(loss.backward())            // over model.vars(); with
//!                                                    // embedding_gradients = "sparse", the
//!                                                    // table's g² is Σ of its occurrences' g²
//!         metrics.update(probabilities(logits), labels, loss)
//!     val: the same in Eval mode without updates    // → val_loss, val_<metric>
//!     callbacks.on_epoch_end(...)                   // any Stop ends training
//! ```
//!
//! The same model initialisation, data, config and `seed` give the same [`History`] (CPU).
//! The loop records the returned history itself; at each event the callbacks run in this order:
//! the progress display (`verbose > 0`), the caller's callbacks, then early stopping from the
//! config.
//!
//! [`fit_with`] is the same loop, interruptible and resumable ([`FitControl`]): it checks the
//! stop flag after every batch, writes a checkpoint at the end of every epoch (and every
//! `checkpoint_every` steps, and on interruption) and can start from one; an epoch whose losses
//! blow up is marked diverged ([`divergence`](crate::divergence)).
//!
//! The pieces: `fit` checks the inputs and sets up; `Trainer::epochs` is the epoch loop,
//! `Trainer::train_epoch` one pass over the training batches, `Trainer::train_step` one gradient
//! step, `Trainer::validate` the validation pass; `Callbacks` sends each event to every callback.
//!
//! ```ignore
//! let (model, varmap) = TextClassifier::init(&spec, seq_len, seed, &device)?;
//! let history = textrnn_train::fit(&model, &train, Some(&val), &TrainConfig::default(), seed, &mut [])?;
//! history.save_csv(run_dir.join("history.csv"))?;
//! ```

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Var};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::{Classifier, Mode, Output};

use crate::callbacks::{
    BatchLogs, Callback, CallbackState, Control, EarlyStopping, EpochLogs, EpochRecord, History,
    Logs, ProgressBar, TrainBegin,
};
use crate::config::{metric_by_name, EmbeddingGradients, TrainConfig};
use crate::data::{Batch, EncodedSplit};
use crate::divergence::divergence;
use crate::error::{Error, Result};
use crate::inference::{
    check_logits, check_targets, eval_into, host_probs, metric_view, model_device,
};
use crate::loss::Loss;
use crate::metrics::{LossMean, Metric, MetricBatch, MetricState};
use crate::optim::{AnyOptimizer, SquaredGrads};
use crate::resume::{self, FitControl, FitOutcome, Position, RunKey, TrainState};

/// Stream of the ChaCha8 generator that drives dropout (the shuffle uses stream 0).
pub const DROPOUT_STREAM: u64 = 1;

/// The generator that orders the training batches: ChaCha8 seeded with `seed`, stream 0.
fn shuffle_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The training rows of `epochs` epochs in the order [`fit`] / [`fit_with`] draw them with
/// `cfg.shuffle` and `seed`: one list of row indices per epoch ([`EncodedSplit::order`]), which
/// `fit` cuts into batches of `cfg.batch_size` (the last one partial). For replaying a training
/// elsewhere, as `cargo xtask parity --data-dir` replays a recipe's in Keras.
pub fn epoch_orders(
    train: &EncodedSplit,
    cfg: &TrainConfig,
    epochs: usize,
    seed: u64,
) -> Vec<Vec<usize>> {
    let mut rng = shuffle_rng(seed);
    (0..epochs)
        .map(|_| train.order(cfg.shuffle.then_some(&mut rng)))
        .collect()
}

/// Trains `model` on `train` (validating on `val` after each epoch) and returns the history.
///
/// Errors before any update on: invalid config, inconsistent splits, labels out of range for
/// the model output, a model without variables, an early-stopping monitor that will never be
/// logged. A non-finite loss stops training with [`Error::NonFiniteLoss`].
pub fn fit(
    model: &dyn Classifier,
    train: &EncodedSplit,
    val: Option<&EncodedSplit>,
    cfg: &TrainConfig,
    seed: u64,
    callbacks: &mut [Box<dyn Callback>],
) -> Result<History> {
    let control = FitControl::default();
    Ok(fit_with(model, train, val, cfg, seed, callbacks, &control)?.into_history())
}

/// [`fit`], interruptible and resumable as `control` says (see [`FitControl`] and the
/// checkpoint layout in [`crate::resume`]). With `FitControl::default()` it is exactly `fit`.
///
/// On resume the model's weights, the optimizer, both random streams, the running metrics of
/// the epoch in progress, the history and the callbacks' state (early stopping, best
/// checkpoint) come from the checkpoint; the callbacks get `on_train_begin` and then their
/// saved state. Besides `fit`'s errors: [`Error::Checkpoint`] for a checkpoint that cannot be
/// read or written, or that belongs to another config, seed, data or model.
pub fn fit_with(
    model: &dyn Classifier,
    train: &EncodedSplit,
    val: Option<&EncodedSplit>,
    cfg: &TrainConfig,
    seed: u64,
    callbacks: &mut [Box<dyn Callback>],
    control: &FitControl,
) -> Result<FitOutcome> {
    check_inputs(model, train, val, cfg)?;
    control.validate()?;
    let output = model.output();
    let loss = cfg.loss_for(output)?;
    let metric_names = cfg.metric_names(output);
    let mut early = early_stopping(cfg, &metric_names, val.is_some())?;
    let vars = model.vars();
    if vars.is_empty() {
        return Err(Error::config(
            "model",
            "the model has no trainable variables",
        ));
    }
    let optimizer = cfg.optimizer.build(vars.clone())?;
    let key = RunKey::new(cfg, seed, train, val, &vars)?;
    let mut trainer = Trainer::new(model, cfg, loss, optimizer, &metric_names, seed)?;
    let mut progress = (cfg.verbose > 0).then(|| ProgressBar::new(cfg.verbose));
    let mut cbs = Callbacks::new(progress.as_mut(), callbacks, early.as_mut());

    let steps = train.num_batches(cfg.batch_size);
    tracing::info!(
        epochs = cfg.epochs,
        batch_size = cfg.batch_size,
        steps,
        n_train = train.len(),
        n_val = val.map(|v| v.len()),
        optimizer = cfg.optimizer.name(),
        loss = loss.name(),
        weighted = train.weights.is_some(),
        "training"
    );
    cbs.train_begin(&TrainBegin {
        epochs: cfg.epochs,
        steps_per_epoch: steps,
        n_train: train.len(),
        n_val: val.map(|v| v.len()),
        vars: &vars,
    })?;
    let start = match &control.resume {
        Some(path) => trainer.restore(path, &key, &mut cbs)?,
        None => Start::default(),
    };
    let saver = control
        .checkpoint
        .as_deref()
        .map(|path| Saver { path, key: &key });
    let outcome = trainer.epochs(train, val, &mut cbs, start, control, saver.as_ref())?;
    if let FitOutcome::Completed { history } = &outcome {
        cbs.train_end(history)?;
    }
    Ok(outcome)
}

/// Rejects a config or data that cannot train `model`, before any work.
fn check_inputs(
    model: &dyn Classifier,
    train: &EncodedSplit,
    val: Option<&EncodedSplit>,
    cfg: &TrainConfig,
) -> Result<()> {
    cfg.validate()?;
    train.validate()?;
    if train.is_empty() {
        return Err(Error::Shape("fit: the training split is empty".into()));
    }
    let n_classes = model.output().n_classes();
    train.check_labels(n_classes)?;
    check_targets(model.output(), train)?;
    if cfg.class_weight.is_some() && train.weights.is_none() {
        return Err(Error::config(
            "class_weight",
            "is set but the training split has no weights: resolve it with ClassWeight::resolve and give the split its example_weights (EncodedSplit::with_weights)",
        ));
    }
    if let Some(w) = &train.weights {
        if w.iter().all(|&v| v == 0.0) {
            return Err(Error::config(
                "weights",
                "every training example has weight 0 (class weight × sample weight): nothing would be learned",
            ));
        }
    }
    if let Some(v) = val {
        v.validate()?;
        v.check_labels(n_classes)?;
        check_targets(model.output(), v)?;
    }
    Ok(())
}

/// The early stopping the config asks for; its monitor must be a key the loop will log.
fn early_stopping(
    cfg: &TrainConfig,
    metric_names: &[String],
    validating: bool,
) -> Result<Option<EarlyStopping>> {
    let Some(es) = &cfg.early_stopping else {
        return Ok(None);
    };
    let mut keys = vec!["loss".to_string()];
    keys.extend(metric_names.iter().cloned());
    if validating {
        let val_keys: Vec<String> = keys.iter().map(|k| format!("val_{k}")).collect();
        keys.extend(val_keys);
    }
    if !keys.contains(&es.monitor) {
        return Err(Error::config(
            "early_stopping.monitor",
            format!(
                "`{}` is never logged (logged: {})",
                es.monitor,
                keys.join(", ")
            ),
        ));
    }
    Ok(Some(EarlyStopping::new(es)?))
}

/// The loss mean and the configured metrics of one pass over a split.
struct Tracked {
    loss: LossMean,
    metrics: Vec<Box<dyn Metric>>,
}

impl Tracked {
    fn new(names: &[String]) -> Result<Self> {
        Ok(Self {
            loss: LossMean::new(),
            metrics: names
                .iter()
                .map(|n| metric_by_name(n))
                .collect::<Result<_>>()?,
        })
    }

    fn reset(&mut self) {
        self.loss.reset();
        for m in self.metrics.iter_mut() {
            m.reset();
        }
    }

    fn update(&mut self, batch: &MetricBatch<'_>) {
        self.loss.update(batch);
        for m in self.metrics.iter_mut() {
            m.update(batch);
        }
    }

    /// The loss mean's then every metric's running totals.
    fn state(&self) -> Vec<MetricState> {
        std::iter::once(self.loss.state())
            .chain(self.metrics.iter().map(|m| m.state()))
            .collect()
    }

    /// Continues from [`Tracked::state`] of the same metrics.
    fn restore(&mut self, states: Vec<MetricState>) -> Result<()> {
        if states.len() != 1 + self.metrics.len() {
            return Err(Error::Shape(format!(
                "{} saved metric states for the loss and {} metrics",
                states.len(),
                self.metrics.len()
            )));
        }
        for (m, state) in std::iter::once(&mut self.loss as &mut dyn Metric)
            .chain(
                self.metrics
                    .iter_mut()
                    .map(|m| m.as_mut() as &mut dyn Metric),
            )
            .zip(states)
        {
            m.restore(state)?;
        }
        Ok(())
    }

    /// Inserts `<prefix>loss` and `<prefix><metric>` for every metric, in that order.
    fn write(&self, prefix: &str, logs: &mut Logs) {
        logs.insert(format!("{prefix}loss"), self.loss.compute());
        for m in self.metrics.iter() {
            logs.insert(format!("{prefix}{}", m.name()), m.compute());
        }
    }
}

/// The state that changes while training: optimizer, random streams and running metrics.
struct Trainer<'a> {
    model: &'a dyn Classifier,
    cfg: &'a TrainConfig,
    output: Output,
    loss: Loss,
    optimizer: AnyOptimizer,
    device: Device,
    /// The model's variables (weights saved in and restored from checkpoints).
    vars: Vec<Var>,
    /// Batch order, one permutation per epoch (stream 0).
    shuffle_rng: ChaCha8Rng,
    /// Word position of `shuffle_rng` at the start of the current epoch, before its
    /// permutation was drawn (what a mid-epoch checkpoint saves).
    shuffle_epoch_start: u128,
    /// Dropout masks, handed to the model as `Mode::Train` (stream [`DROPOUT_STREAM`]).
    dropout_rng: ChaCha8Rng,
    train: Tracked,
    val: Tracked,
}

/// Where the epoch loop starts: from scratch, or where a checkpoint left off.
#[derive(Default)]
struct Start {
    history: History,
    position: Position,
}

/// Where and for which training checkpoints are written.
struct Saver<'a> {
    path: &'a Path,
    key: &'a RunKey,
}

/// How one pass over the training batches ended.
enum Pass {
    /// Every batch trained on: the epoch's `loss` and metrics.
    Done(Logs),
    /// A stop was requested after `step` batches.
    Interrupted { step: usize },
}

impl<'a> Trainer<'a> {
    fn new(
        model: &'a dyn Classifier,
        cfg: &'a TrainConfig,
        loss: Loss,
        optimizer: AnyOptimizer,
        metric_names: &[String],
        seed: u64,
    ) -> Result<Self> {
        let mut dropout_rng = ChaCha8Rng::seed_from_u64(seed);
        dropout_rng.set_stream(DROPOUT_STREAM);
        Ok(Self {
            model,
            cfg,
            output: model.output(),
            loss,
            optimizer,
            device: model_device(model),
            vars: model.vars(),
            shuffle_rng: shuffle_rng(seed),
            shuffle_epoch_start: 0,
            dropout_rng,
            train: Tracked::new(metric_names)?,
            val: Tracked::new(metric_names)?,
        })
    }

    /// Runs the epochs from `start` until the last one, a callback's stop or a stop request.
    fn epochs(
        &mut self,
        train: &EncodedSplit,
        val: Option<&EncodedSplit>,
        cbs: &mut Callbacks<'_>,
        start: Start,
        control: &FitControl,
        saver: Option<&Saver<'_>>,
    ) -> Result<FitOutcome> {
        let Start {
            mut history,
            position,
        } = start;
        if position.stopped {
            return Ok(FitOutcome::Completed { history });
        }
        for epoch in position.epoch..self.cfg.epochs {
            let started = Instant::now();
            cbs.epoch_begin(epoch)?;
            let skip = if epoch == position.epoch {
                position.step
            } else {
                0
            };
            let mut logs =
                match self.train_epoch(epoch, skip, train, cbs, control, saver, &history)? {
                    Pass::Done(logs) => logs,
                    Pass::Interrupted { step } => {
                        return Ok(FitOutcome::Interrupted {
                            history,
                            epoch,
                            step,
                        })
                    }
                };
            if let Some(v) = val {
                self.validate(v, &mut logs)?;
            }
            let first_loss = history.records().first().and_then(|r| r.logs.get("loss"));
            let diverged = divergence(first_loss, &logs);
            if let Some(why) = &diverged {
                tracing::warn!(epoch = epoch + 1, "{why}");
            }
            let epoch_logs = EpochLogs {
                epoch,
                logs,
                elapsed: started.elapsed(),
                diverged,
            };
            tracing::debug!(epoch = epoch + 1, logs = %epoch_logs.logs.format(), "epoch end");
            history.push_record(EpochRecord {
                epoch,
                logs: epoch_logs.logs.clone(),
                warnings: epoch_logs.diverged.iter().cloned().collect(),
            });
            let stopped = cbs.epoch_end(epoch, &epoch_logs)? == Control::Stop;
            if let Some(saver) = saver {
                let next = Position {
                    epoch: epoch + 1,
                    step: 0,
                    stopped,
                    shuffle_pos: self.shuffle_rng.get_word_pos(),
                };
                self.save(saver, cbs, &history, next)?;
            }
            if stopped {
                tracing::info!(epoch = epoch + 1, "training stopped by a callback");
                break;
            }
        }
        Ok(FitOutcome::Completed { history })
    }

    /// One pass over the training batches of `epoch`, the first `skip` of which were done
    /// before a resume; returns `loss` and the metrics of the epoch, or where a stop request
    /// interrupted it (after writing the checkpoint).
    #[allow(clippy::too_many_arguments)]
    fn train_epoch(
        &mut self,
        epoch: usize,
        skip: usize,
        train: &EncodedSplit,
        cbs: &mut Callbacks<'_>,
        control: &FitControl,
        saver: Option<&Saver<'_>>,
        history: &History,
    ) -> Result<Pass> {
        self.shuffle_epoch_start = self.shuffle_rng.get_word_pos();
        if skip == 0 {
            self.train.reset();
        }
        let rng = self.cfg.shuffle.then_some(&mut self.shuffle_rng);
        let mut batches = train.batches(self.cfg.batch_size, rng, &self.device)?;
        let steps = batches.len();
        batches.skip_batches(skip);
        for (index, batch) in (skip..).zip(batches) {
            let batch = batch?;
            let batch_loss = self.train_step(epoch, index, &batch)?;
            if !cbs.is_empty() {
                let mut running = Logs::new();
                self.train.write("", &mut running);
                cbs.batch_end(
                    index,
                    &BatchLogs {
                        epoch,
                        size: batch.len(),
                        batch_loss,
                        logs: &running,
                    },
                )?;
            }
            let done = index + 1;
            let interrupted = control.stop_requested();
            // the end of the epoch writes its own checkpoint
            let due = done < steps
                && control
                    .checkpoint_every
                    .is_some_and(|n| self.optimizer.iterations().is_multiple_of(n as u64));
            if let Some(saver) = saver.filter(|_| interrupted || due) {
                let here = Position {
                    epoch,
                    step: done,
                    stopped: false,
                    shuffle_pos: self.shuffle_epoch_start,
                };
                self.save(saver, cbs, history, here)?;
            }
            if interrupted {
                tracing::info!(
                    epoch = epoch + 1,
                    batch = done,
                    checkpoint = ?saver.map(|s| s.path),
                    "training interrupted"
                );
                return Ok(Pass::Interrupted { step: done });
            }
        }
        let mut logs = Logs::new();
        self.train.write("", &mut logs);
        Ok(Pass::Done(logs))
    }

    /// Forward with dropout, loss, backward and one optimizer update on `batch` (number `index`
    /// of `epoch`); feeds the training metrics and returns the batch's mean loss.
    fn train_step(&mut self, epoch: usize, index: usize, batch: &Batch) -> Result<f64> {
        let mut mode = Mode::Train(&mut self.dropout_rng);
        let (logits, lookups) = match self.cfg.embedding_gradients {
            EmbeddingGradients::Dense => (self.model.forward_t(&batch.tokens, &mut mode)?, vec![]),
            EmbeddingGradients::Sparse => self.model.forward_recording(&batch.tokens, &mut mode)?,
        };
        check_logits(self.output, &logits, batch.len())?;
        // Per-example weights (class × sample weight) scale the training loss only.
        let loss =
            self.loss
                .compute_weighted(&logits, batch.loss_targets(), batch.weights.as_ref())?;
        let value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss {
                epoch,
                batch: index,
                value,
            });
        }
        // no lookups (the dense update) give no replaced squares: a plain step
        let grads = loss.backward()?;
        let squares = SquaredGrads::sparse(&lookups, &grads)?;
        self.optimizer.step_with(&grads, &squares)?;
        let (probs, labels, n_classes) = metric_view(
            self.output,
            host_probs(self.output, &logits.detach())?,
            batch,
        );
        self.train.update(&MetricBatch {
            probs: &probs,
            n_classes,
            labels: &labels,
            loss: value,
        });
        Ok(value)
    }

    /// Evaluates on `val` in eval mode and adds `val_loss` and the `val_` metrics to `logs`.
    fn validate(&mut self, val: &EncodedSplit, logs: &mut Logs) -> Result<()> {
        self.val.reset();
        eval_into(
            self.model,
            val,
            self.cfg.batch_size,
            self.loss,
            &mut self.val.loss,
            &mut self.val.metrics,
        )?;
        self.val.write("val_", logs);
        Ok(())
    }

    /// Writes the checkpoint of the training at `position` (see [`crate::resume`]).
    fn save(
        &self,
        saver: &Saver<'_>,
        cbs: &Callbacks<'_>,
        history: &History,
        position: Position,
    ) -> Result<()> {
        let state = TrainState {
            position,
            dropout_pos: self.dropout_rng.get_word_pos(),
            weights: self.vars.iter().map(|v| v.as_detached_tensor()).collect(),
            optimizer_name: self.optimizer.name().to_string(),
            optimizer: self.optimizer.state()?,
            train_metrics: if position.step > 0 {
                self.train.state()
            } else {
                Vec::new()
            },
            history: history.clone(),
            callbacks: cbs.states()?,
        };
        resume::write(saver.path, saver.key, state)?;
        tracing::debug!(
            epoch = position.epoch + 1,
            step = position.step,
            path = %saver.path.display(),
            "checkpoint written"
        );
        Ok(())
    }

    /// Puts the model, optimizer, random streams, running metrics and callbacks back as the
    /// checkpoint at `path` has them; returns where to continue.
    fn restore(&mut self, path: &Path, key: &RunKey, cbs: &mut Callbacks<'_>) -> Result<Start> {
        let state = resume::read(path, key, &self.device)?;
        let bad = |e: &dyn std::fmt::Display| Error::checkpoint(path, e.to_string());
        if state.optimizer_name != self.optimizer.name() {
            return Err(bad(&format!(
                "holds {} state, the config trains with {}",
                state.optimizer_name,
                self.optimizer.name()
            )));
        }
        for (var, w) in self.vars.iter().zip(&state.weights) {
            var.set(w)?;
        }
        self.optimizer
            .load_state(&state.optimizer)
            .map_err(|e| bad(&e))?;
        self.shuffle_rng.set_word_pos(state.position.shuffle_pos);
        self.dropout_rng.set_word_pos(state.dropout_pos);
        if state.position.step > 0 {
            self.train
                .restore(state.train_metrics)
                .map_err(|e| bad(&e))?;
        }
        cbs.restore(state.callbacks).map_err(|e| bad(&e))?;
        tracing::info!(
            epoch = state.position.epoch + 1,
            step = state.position.step,
            path = %path.display(),
            "resuming training"
        );
        Ok(Start {
            history: state.history,
            position: state.position,
        })
    }
}

/// The callbacks of one [`fit`] in calling order; a failure is reported with the callback's
/// name.
struct Callbacks<'a>(Vec<&'a mut dyn Callback>);

impl<'a> Callbacks<'a> {
    /// The progress display, the caller's callbacks, then the configured early stopping.
    fn new(
        progress: Option<&'a mut ProgressBar>,
        user: &'a mut [Box<dyn Callback>],
        early: Option<&'a mut EarlyStopping>,
    ) -> Self {
        let mut cbs: Vec<&'a mut dyn Callback> = Vec::new();
        if let Some(p) = progress {
            cbs.push(p);
        }
        for c in user.iter_mut() {
            cbs.push(c.as_mut());
        }
        if let Some(e) = early {
            cbs.push(e);
        }
        Self(cbs)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sends one event to every callback in order; stops at the first failure.
    fn each(&mut self, mut event: impl FnMut(&mut dyn Callback) -> Result<()>) -> Result<()> {
        for cb in self.0.iter_mut() {
            event(&mut **cb).map_err(|e| named(&**cb, e))?;
        }
        Ok(())
    }

    fn train_begin(&mut self, info: &TrainBegin<'_>) -> Result<()> {
        self.each(|cb| cb.on_train_begin(info))
    }

    fn epoch_begin(&mut self, epoch: usize) -> Result<()> {
        self.each(|cb| cb.on_epoch_begin(epoch))
    }

    fn batch_end(&mut self, index: usize, logs: &BatchLogs<'_>) -> Result<()> {
        self.each(|cb| cb.on_batch_end(index, logs))
    }

    /// Every callback sees the epoch's end; any [`Control::Stop`] stops training.
    fn epoch_end(&mut self, epoch: usize, logs: &EpochLogs) -> Result<Control> {
        let mut control = Control::Continue;
        self.each(|cb| {
            if cb.on_epoch_end(epoch, logs)? == Control::Stop {
                control = Control::Stop;
            }
            Ok(())
        })?;
        Ok(control)
    }

    fn train_end(&mut self, history: &History) -> Result<()> {
        self.each(|cb| cb.on_train_end(history))
    }

    /// `(name, state)` of every callback that has state to checkpoint, in calling order.
    fn states(&self) -> Result<Vec<(String, CallbackState)>> {
        let mut states = Vec::new();
        for cb in self.0.iter() {
            if let Some(state) = cb.checkpoint_state().map_err(|e| named(&**cb, e))? {
                states.push((cb.name().to_string(), state));
            }
        }
        Ok(states)
    }

    /// Hands each saved state to the next callback of its name, in calling order.
    fn restore(&mut self, states: Vec<(String, CallbackState)>) -> Result<()> {
        let mut next = 0;
        for (name, state) in states {
            let Some(offset) = self.0[next..].iter().position(|cb| cb.name() == name) else {
                return Err(Error::Shape(format!(
                    "it holds the state of callback `{name}`, which this training does not have"
                )));
            };
            let cb = &mut self.0[next + offset];
            cb.restore_checkpoint_state(state)
                .map_err(|e| named(&**cb, e))?;
            next += offset + 1;
        }
        Ok(())
    }
}

/// A callback's own failure, named after it; tensor and file errors pass through unchanged.
fn named(cb: &dyn Callback, e: Error) -> Error {
    match e {
        Error::Candle(_) | Error::Fs(_) | Error::Callback { .. } => e,
        other => Error::Callback {
            callback: cb.name().to_string(),
            reason: other.to_string(),
        },
    }
}

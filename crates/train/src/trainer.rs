//! The training loop, [`fit`]: Keras `model.fit` for a [`Classifier`].
//!
//! ```text
//! shuffle_rng  = ChaCha8Rng(seed), stream 0     // batch order, one permutation per epoch
//! dropout_rng  = ChaCha8Rng(seed), stream 1     // handed to the model as Mode::Train
//! for epoch in 0..epochs:
//!     for (tokens (b, T) u32, labels (b) u32) in train.batches(batch_size, shuffle):
//!         logits = model.forward_t(tokens, Train)   // (b, 1) sigmoid or (b, C) softmax
//!         loss   = bce / scce(logits, labels)        // scalar, stable form
//!         optimizer.step(loss.backward())            // over model.vars()
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
//! The pieces: `fit` checks the inputs and sets up; `Trainer::epochs` is the epoch loop,
//! `Trainer::train_epoch` one pass over the training batches, `Trainer::train_step` one gradient
//! step, `Trainer::validate` the validation pass; `Callbacks` sends each event to every callback.
//!
//! ```ignore
//! let (model, varmap) = TextClassifier::init(&spec, seq_len, seed, &device)?;
//! let history = textrnn_train::fit(&model, &train, Some(&val), &TrainConfig::default(), seed, &mut [])?;
//! history.save_csv(run_dir.join("history.csv"))?;
//! ```

use std::time::Instant;

use candle_core::{DType, Device};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::{Classifier, Mode, Output};

use crate::callbacks::{
    BatchLogs, Callback, Control, EarlyStopping, EpochLogs, History, Logs, ProgressBar, TrainBegin,
};
use crate::config::{metric_by_name, TrainConfig};
use crate::data::{Batch, EncodedSplit};
use crate::error::{Error, Result};
use crate::inference::{check_logits, eval_into, host_probs, model_device};
use crate::loss::Loss;
use crate::metrics::{LossMean, Metric, MetricBatch};
use crate::optim::{AnyOptimizer, Optimizer};

/// Stream of the ChaCha8 generator that drives dropout (the shuffle uses stream 0).
pub const DROPOUT_STREAM: u64 = 1;

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
    check_inputs(model, train, val, cfg)?;
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
        "training"
    );
    cbs.train_begin(&TrainBegin {
        epochs: cfg.epochs,
        steps_per_epoch: steps,
        n_train: train.len(),
        n_val: val.map(|v| v.len()),
        vars: &vars,
    })?;
    let history = trainer.epochs(train, val, &mut cbs)?;
    cbs.train_end(&history)?;
    Ok(history)
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
    if let Some(v) = val {
        v.validate()?;
        v.check_labels(n_classes)?;
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
    /// Batch order, one permutation per epoch (stream 0).
    shuffle_rng: ChaCha8Rng,
    /// Dropout masks, handed to the model as `Mode::Train` (stream [`DROPOUT_STREAM`]).
    dropout_rng: ChaCha8Rng,
    train: Tracked,
    val: Tracked,
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
            shuffle_rng: ChaCha8Rng::seed_from_u64(seed),
            dropout_rng,
            train: Tracked::new(metric_names)?,
            val: Tracked::new(metric_names)?,
        })
    }

    /// Runs the epochs until the last one or until a callback asks to stop.
    fn epochs(
        &mut self,
        train: &EncodedSplit,
        val: Option<&EncodedSplit>,
        cbs: &mut Callbacks<'_>,
    ) -> Result<History> {
        let mut history = History::new();
        for epoch in 0..self.cfg.epochs {
            let started = Instant::now();
            cbs.epoch_begin(epoch)?;
            let mut logs = self.train_epoch(epoch, train, cbs)?;
            if let Some(v) = val {
                self.validate(v, &mut logs)?;
            }
            let epoch_logs = EpochLogs {
                epoch,
                logs,
                elapsed: started.elapsed(),
            };
            tracing::debug!(epoch = epoch + 1, logs = %epoch_logs.logs.format(), "epoch end");
            history.push(epoch, epoch_logs.logs.clone());
            if cbs.epoch_end(epoch, &epoch_logs)? == Control::Stop {
                tracing::info!(epoch = epoch + 1, "training stopped by a callback");
                break;
            }
        }
        Ok(history)
    }

    /// One pass over the training batches; returns `loss` and the metrics of the epoch.
    fn train_epoch(
        &mut self,
        epoch: usize,
        train: &EncodedSplit,
        cbs: &mut Callbacks<'_>,
    ) -> Result<Logs> {
        self.train.reset();
        let rng = self.cfg.shuffle.then_some(&mut self.shuffle_rng);
        for (index, batch) in train
            .batches(self.cfg.batch_size, rng, &self.device)?
            .enumerate()
        {
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
        }
        let mut logs = Logs::new();
        self.train.write("", &mut logs);
        Ok(logs)
    }

    /// Forward with dropout, loss, backward and one optimizer update on `batch` (number `index`
    /// of `epoch`); feeds the training metrics and returns the batch's mean loss.
    fn train_step(&mut self, epoch: usize, index: usize, batch: &Batch) -> Result<f64> {
        let logits = self
            .model
            .forward_t(&batch.tokens, &mut Mode::Train(&mut self.dropout_rng))?;
        check_logits(self.output, &logits, batch.len())?;
        let loss = self.loss.compute(&logits, &batch.labels)?;
        let value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss {
                epoch,
                batch: index,
                value,
            });
        }
        self.optimizer.step(&loss.backward()?)?;
        let probs = host_probs(self.output, &logits.detach())?;
        self.train.update(&MetricBatch {
            probs: &probs,
            n_classes: self.output.n_classes(),
            labels: &batch.label_values,
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

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
//! Callbacks run in this order: the returned history, the progress display (`verbose > 0`),
//! the caller's callbacks, then early stopping from the config.
//!
//! ```ignore
//! let (model, varmap) = TextClassifier::init(&spec, seq_len, seed, &device)?;
//! let history = textrnn_train::fit(&model, &train, Some(&val), &TrainConfig::default(), seed, &mut [])?;
//! history.save_csv(run_dir.join("history.csv"))?;
//! ```

use std::time::Instant;

use candle_core::DType;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::{Classifier, Mode};

use crate::callbacks::{
    BatchLogs, Callback, Control, EarlyStopping, EpochLogs, History, Logs, ProgressBar, TrainBegin,
};
use crate::config::{metric_by_name, TrainConfig};
use crate::data::EncodedSplit;
use crate::error::{Error, Result};
use crate::inference::{check_logits, eval_into, host_probs, model_device};
use crate::metrics::{LossMean, Metric, MetricBatch};

/// Stream of the ChaCha8 generator that drives dropout (the shuffle uses stream 0).
pub const DROPOUT_STREAM: u64 = 1;

fn build_metrics(names: &[String]) -> Result<Vec<Box<dyn Metric>>> {
    names.iter().map(|n| metric_by_name(n)).collect()
}

fn wrap(cb: &dyn Callback, e: Error) -> Error {
    match e {
        Error::Candle(_) | Error::Io { .. } | Error::Callback { .. } => e,
        other => Error::Callback {
            callback: cb.name().to_string(),
            reason: other.to_string(),
        },
    }
}

/// Frees the fused recurrences' step-to-step buffers when dropped.
struct ReleaseBuffers;

impl Drop for ReleaseBuffers {
    fn drop(&mut self) {
        textrnn_models::recurrent::release_buffers();
    }
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
    cfg.validate()?;
    train.validate()?;
    if train.is_empty() {
        return Err(Error::Shape("fit: the training split is empty".into()));
    }
    let output = model.output();
    let n_classes = output.n_classes();
    train.check_labels(n_classes)?;
    if let Some(v) = val {
        v.validate()?;
        v.check_labels(n_classes)?;
    }
    let loss_fn = cfg.loss_for(output)?;
    let metric_names = cfg.metric_names(output);

    let mut early = match &cfg.early_stopping {
        Some(es) => {
            let mut keys = vec!["loss".to_string()];
            keys.extend(metric_names.iter().cloned());
            if val.is_some() {
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
            Some(EarlyStopping::new(es)?)
        }
        None => None,
    };

    let vars = model.vars();
    if vars.is_empty() {
        return Err(Error::config(
            "model",
            "the model has no trainable variables",
        ));
    }
    let device = model_device(model);
    let mut optimizer = cfg.optimizer.build(vars.clone())?;
    // The fused recurrences keep a batch's large buffers between steps; free them when training
    // ends, however it ends.
    let _release = ReleaseBuffers;
    let mut shuffle_rng = ChaCha8Rng::seed_from_u64(seed);
    let mut dropout_rng = ChaCha8Rng::seed_from_u64(seed);
    dropout_rng.set_stream(DROPOUT_STREAM);

    let mut train_metrics = build_metrics(&metric_names)?;
    let mut val_metrics = build_metrics(&metric_names)?;
    let mut history = History::new();
    let mut progress = (cfg.verbose > 0).then(|| ProgressBar::new(cfg.verbose));
    let steps = train.num_batches(cfg.batch_size);

    let mut cbs: Vec<&mut dyn Callback> = Vec::new();
    if let Some(p) = progress.as_mut() {
        cbs.push(p);
    }
    for c in callbacks.iter_mut() {
        cbs.push(c.as_mut());
    }
    if let Some(e) = early.as_mut() {
        cbs.push(e);
    }

    let info = TrainBegin {
        epochs: cfg.epochs,
        steps_per_epoch: steps,
        n_train: train.len(),
        n_val: val.map(|v| v.len()),
        vars: &vars,
    };
    tracing::info!(
        epochs = cfg.epochs,
        batch_size = cfg.batch_size,
        steps,
        n_train = train.len(),
        n_val = val.map(|v| v.len()),
        optimizer = cfg.optimizer.name(),
        loss = loss_fn.name(),
        "training"
    );
    for cb in cbs.iter_mut() {
        cb.on_train_begin(&info).map_err(|e| wrap(&**cb, e))?;
    }

    for epoch in 0..cfg.epochs {
        let started = Instant::now();
        for cb in cbs.iter_mut() {
            cb.on_epoch_begin(epoch).map_err(|e| wrap(&**cb, e))?;
        }
        let mut loss_mean = LossMean::new();
        for m in train_metrics.iter_mut() {
            m.reset();
        }
        let rng = cfg.shuffle.then_some(&mut shuffle_rng);
        for (bi, batch) in train.batches(cfg.batch_size, rng, &device)?.enumerate() {
            let batch = batch?;
            let logits = model.forward_t(&batch.tokens, &mut Mode::Train(&mut dropout_rng))?;
            check_logits(output, &logits, batch.len())?;
            let loss = loss_fn.compute(&logits, &batch.labels)?;
            let value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if !value.is_finite() {
                return Err(Error::NonFiniteLoss {
                    epoch,
                    batch: bi,
                    value,
                });
            }
            let grads = loss.backward()?;
            optimizer.step(&grads)?;

            let probs = host_probs(output, &logits.detach())?;
            let mb = MetricBatch {
                probs: &probs,
                n_classes,
                labels: &batch.label_values,
                loss: value,
            };
            loss_mean.update(&mb);
            for m in train_metrics.iter_mut() {
                m.update(&mb);
            }
            if !cbs.is_empty() {
                let mut running = Logs::new();
                running.insert("loss", loss_mean.compute());
                for m in train_metrics.iter() {
                    running.insert(m.name(), m.compute());
                }
                let bl = BatchLogs {
                    epoch,
                    size: batch.len(),
                    batch_loss: value,
                    logs: &running,
                };
                for cb in cbs.iter_mut() {
                    cb.on_batch_end(bi, &bl).map_err(|e| wrap(&**cb, e))?;
                }
            }
        }

        let mut logs = Logs::new();
        logs.insert("loss", loss_mean.compute());
        for m in train_metrics.iter() {
            logs.insert(m.name(), m.compute());
        }
        if let Some(v) = val {
            let mut val_loss = LossMean::new();
            for m in val_metrics.iter_mut() {
                m.reset();
            }
            eval_into(
                model,
                v,
                cfg.batch_size,
                loss_fn,
                &mut val_loss,
                &mut val_metrics,
            )?;
            logs.insert("val_loss", val_loss.compute());
            for m in val_metrics.iter() {
                logs.insert(format!("val_{}", m.name()), m.compute());
            }
        }
        let epoch_logs = EpochLogs {
            epoch,
            logs,
            elapsed: started.elapsed(),
        };
        tracing::debug!(epoch = epoch + 1, logs = %epoch_logs.logs.format(), "epoch end");
        history.push(epoch, epoch_logs.logs.clone());
        let mut stop = false;
        for cb in cbs.iter_mut() {
            if cb
                .on_epoch_end(epoch, &epoch_logs)
                .map_err(|e| wrap(&**cb, e))?
                == Control::Stop
            {
                stop = true;
            }
        }
        if stop {
            tracing::info!(epoch = epoch + 1, "training stopped by a callback");
            break;
        }
    }

    for cb in cbs.iter_mut() {
        cb.on_train_end(&history).map_err(|e| wrap(&**cb, e))?;
    }
    Ok(history)
}

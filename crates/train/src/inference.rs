//! Evaluation and prediction in [`Mode::Infer`] (no dropout, nothing kept for backward), batch by
//! batch.
//!
//! * [`evaluate`]: mean loss (sample-weighted over batches), accuracy, exact AUC (binary, or
//!   one-vs-rest macro for softmax) on a labelled split.
//! * [`predict_proba`]: class probabilities `(N, C)` row-major as unlabelled
//!   [`textrnn_eval::Predictions`]; a sigmoid model gives `C = 2` with rows `[1 - p, p]`.
//! * [`predict_logits`]: the raw logits ([`Logits`]), from which [`Logits::probabilities`]
//!   gives `activation(logits / T)` for a calibration temperature `T` (temperature scaling).
//!
//! Every probability the crate returns goes through [`probabilities_at`]: the output layer's
//! activation (sigmoid, softmax or per-label sigmoid) applied to `logits / T`, `T = 1` when
//! uncalibrated (then the logits are used as they are, so uncalibrated numbers do not change).
//!
//! ```ignore
//! let m = textrnn_train::evaluate(&model, &test, 128)?;
//! println!("loss {:.4} accuracy {:.4} auc {:?}", m.loss, m.accuracy, m.auc);
//! let p = textrnn_train::predict_proba(&model, &test.tokens, test.seq_len, 128, true)?;
//! assert_eq!(p.probs.len(), test.len() * p.n_classes);
//! ```

use candle_core::{DType, Device, Tensor};
use textrnn_eval::Predictions;
use textrnn_models::{Classifier, Mode, Output};

use crate::data::{token_rows, Batch, EncodedSplit};
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::metrics::{Accuracy, Auc, LossMean, Metric, MetricBatch};

/// Results of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalMetrics {
    /// Mean loss.
    pub loss: f64,
    /// Fraction of correct argmax predictions.
    pub accuracy: f64,
    /// Exact ROC AUC; `None` when only one class is present.
    pub auc: Option<f64>,
    /// Number of examples.
    pub n: usize,
}

/// Device of the model's first variable (CPU for a model without variables).
pub(crate) fn model_device(model: &dyn Classifier) -> Device {
    model
        .vars()
        .first()
        .map(|v| v.device().clone())
        .unwrap_or(Device::Cpu)
}

/// Probabilities as host `f32`, row-major `(B, C)` (uncalibrated: `T = 1`).
pub(crate) fn host_probs(output: Output, logits: &Tensor) -> Result<Vec<f32>> {
    probabilities_at(output, logits, 1.0)
}

/// The one place logits become probabilities: `activation(logits / temperature)` as host
/// `f32`, row-major `(B, C)`; with `temperature == 1` the logits are not touched.
///
/// Errors on a temperature that is not a finite number above 0.
pub fn probabilities_at(output: Output, logits: &Tensor, temperature: f64) -> Result<Vec<f32>> {
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(Error::config(
            "temperature",
            format!("{temperature} is not a finite number above 0"),
        ));
    }
    let probs = if temperature == 1.0 {
        output.probabilities(logits)?
    } else {
        output.probabilities(&(logits / temperature)?)?
    };
    Ok(probs
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// Raw outputs of a model for `N` examples, before the activation: `(N, C)` row-major `f32`
/// (`C = 1` for a sigmoid output), as [`predict_logits`] returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct Logits {
    /// The output layer they came from (its activation makes them probabilities).
    pub output: Output,
    /// `N * C` logits, row-major.
    pub values: Vec<f32>,
}

impl Logits {
    /// Number of examples `N`.
    pub fn len(&self) -> usize {
        self.values.len() / self.output.n_logits().max(1)
    }

    /// True when there is no example.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `activation(logits / temperature)` as unlabelled [`Predictions`] (through
    /// [`probabilities_at`]; `temperature = 1` gives [`predict_proba`]'s numbers).
    pub fn probabilities(&self, temperature: f64) -> Result<Predictions> {
        let rows = self.len();
        let logits =
            Tensor::from_slice(&self.values, (rows, self.output.n_logits()), &Device::Cpu)?;
        let probs = probabilities_at(self.output, &logits, temperature)?;
        Ok(predictions_of(self.output, probs))
    }
}

/// Unlabelled [`Predictions`] of an output layer from its probabilities.
fn predictions_of(output: Output, probs: Vec<f32>) -> Predictions {
    match output {
        // Per-label sigmoid probabilities, independent of each other.
        Output::MultiLabel(n) => Predictions::multi_label(probs, n),
        _ => Predictions::new(probs, output.n_classes()),
    }
}

/// Checks logits are `(b, C)` with `C` matching the output.
pub(crate) fn check_logits(output: Output, logits: &Tensor, b: usize) -> Result<()> {
    let want_c = output.n_logits();
    if logits.dims() != [b, want_c] {
        return Err(Error::Shape(format!(
            "model returned logits {:?}, expected [{b}, {want_c}] for a {output:?} output",
            logits.dims()
        )));
    }
    Ok(())
}

/// What the metrics see of a batch: for a multi-label batch every (example, label) pair is one
/// binary example with probabilities `[1 - p, p]` and label `y`, so `accuracy` is Keras'
/// `binary_accuracy` (`p > 0.5` against `y`, averaged over all pairs) and `auc` the micro AUC
/// (all pairs pooled); single-label batches pass through: `(probs, labels, n_classes)`.
pub(crate) fn metric_view(
    output: Output,
    probs: Vec<f32>,
    batch: &Batch,
) -> (Vec<f32>, Vec<u32>, usize) {
    if !output.is_multi_label() {
        return (probs, batch.label_values.clone(), output.n_classes());
    }
    let pairs = probs
        .iter()
        .flat_map(|&p| [1.0 - p, p])
        .collect::<Vec<f32>>();
    let labels = batch
        .target_values
        .iter()
        .map(|&t| u32::from(t > 0.5))
        .collect();
    (pairs, labels, 2)
}

/// Checks a split carries multi-hot targets exactly when the output is multi-label, one per
/// output label.
pub(crate) fn check_targets(output: Output, split: &EncodedSplit) -> Result<()> {
    let want = output.is_multi_label().then(|| output.n_classes());
    let have = split.targets.as_ref().map(|_| split.n_targets());
    match (want, have) {
        (None, None) => Ok(()),
        (Some(n), Some(Some(m))) if n == m => Ok(()),
        (Some(_), Some(None)) => Ok(()), // no rows
        (want, have) => Err(Error::Shape(format!(
            "a {output:?} output needs {} but the split has {}",
            want.map_or("no multi-label targets".to_string(), |n| format!(
                "{n} multi-hot targets per example"
            )),
            match have {
                None => "none".to_string(),
                Some(h) => format!("{} per example", h.unwrap_or(0)),
            }
        ))),
    }
}

/// Runs `model` in eval mode over `split`, feeding `loss_mean` and `metrics`.
pub(crate) fn eval_into(
    model: &dyn Classifier,
    split: &EncodedSplit,
    batch_size: usize,
    loss: Loss,
    loss_mean: &mut LossMean,
    metrics: &mut [Box<dyn Metric>],
) -> Result<()> {
    let output = model.output();
    split.check_labels(output.n_classes())?;
    check_targets(output, split)?;
    let device = model_device(model);
    for batch in split.batches(batch_size, None, &device)? {
        let batch = batch?;
        // No activations are kept for backward: evaluation never differentiates.
        let logits = model.forward_t(&batch.tokens, &mut Mode::Infer)?.detach();
        check_logits(output, &logits, batch.len())?;
        let l = loss
            .compute(&logits, batch.loss_targets())?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
        let (probs, labels, n_classes) = metric_view(output, host_probs(output, &logits)?, &batch);
        let mb = MetricBatch {
            probs: &probs,
            n_classes,
            labels: &labels,
            loss: l,
        };
        loss_mean.update(&mb);
        for m in metrics.iter_mut() {
            m.update(&mb);
        }
    }
    Ok(())
}

/// Loss, accuracy and AUC of `model` on `split` (eval mode, batches of `batch_size`).
pub fn evaluate(
    model: &dyn Classifier,
    split: &EncodedSplit,
    batch_size: usize,
) -> Result<EvalMetrics> {
    if batch_size == 0 {
        return Err(Error::config("batch_size", "must be at least 1"));
    }
    let loss = Loss::for_output(model.output());
    let mut loss_mean = LossMean::new();
    let mut metrics: Vec<Box<dyn Metric>> = vec![Box::new(Accuracy::new()), Box::new(Auc::new())];
    eval_into(model, split, batch_size, loss, &mut loss_mean, &mut metrics)?;
    let auc = metrics[1].compute();
    Ok(EvalMetrics {
        loss: loss_mean.compute(),
        accuracy: metrics[0].compute(),
        auc: (!auc.is_nan()).then_some(auc),
        n: split.len(),
    })
}

/// Rows from which [`predict_proba`] draws a progress bar (when asked to).
pub const PROGRESS_MIN_ROWS: usize = 2048;

/// Class probabilities for `tokens` (`N * seq_len` ids, row-major) in eval mode.
///
/// With `progress` and at least [`PROGRESS_MIN_ROWS`] rows, an indicatif bar is drawn on stderr
/// (hidden automatically when stderr is not a terminal).
pub fn predict_proba(
    model: &dyn Classifier,
    tokens: &[u32],
    seq_len: usize,
    batch_size: usize,
    progress: bool,
) -> Result<Predictions> {
    let probs = predict_batches(model, tokens, seq_len, batch_size, progress, |logits| {
        host_probs(model.output(), logits)
    })?;
    Ok(predictions_of(model.output(), probs))
}

/// Logits for `tokens` (`N * seq_len` ids, row-major) in eval mode, as [`predict_proba`] runs
/// the model (same batches, same progress bar).
pub fn predict_logits(
    model: &dyn Classifier,
    tokens: &[u32],
    seq_len: usize,
    batch_size: usize,
    progress: bool,
) -> Result<Logits> {
    let values = predict_batches(model, tokens, seq_len, batch_size, progress, |logits| {
        Ok(logits
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?)
    })?;
    Ok(Logits {
        output: model.output(),
        values,
    })
}

/// Runs `model` over `tokens` batch by batch and concatenates what `per_batch` makes of each
/// batch's checked logits.
fn predict_batches(
    model: &dyn Classifier,
    tokens: &[u32],
    seq_len: usize,
    batch_size: usize,
    progress: bool,
    per_batch: impl Fn(&Tensor) -> Result<Vec<f32>>,
) -> Result<Vec<f32>> {
    if batch_size == 0 {
        return Err(Error::config("batch_size", "must be at least 1"));
    }
    if seq_len == 0 || !tokens.len().is_multiple_of(seq_len) {
        return Err(Error::Shape(format!(
            "predict_proba: {} tokens are not a whole number of rows of seq_len {seq_len}",
            tokens.len()
        )));
    }
    let output = model.output();
    let n = tokens.len() / seq_len;
    let device = model_device(model);
    let bar = (progress && n >= PROGRESS_MIN_ROWS).then(|| {
        let bar = indicatif::ProgressBar::new(n as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("predict {pos}/{len} {bar:30} {elapsed}<{eta}")
        {
            bar.set_style(style);
        }
        bar
    });
    let mut probs = Vec::with_capacity(n * output.n_classes());
    let mut start = 0;
    while start < n {
        let end = (start + batch_size).min(n);
        let x = token_rows(tokens, seq_len, start, end, &device)?;
        let logits = model.forward_t(&x, &mut Mode::Infer)?.detach();
        check_logits(output, &logits, end - start)?;
        probs.extend(per_batch(&logits)?);
        if let Some(bar) = &bar {
            bar.set_position(end as u64);
        }
        start = end;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(probs)
}

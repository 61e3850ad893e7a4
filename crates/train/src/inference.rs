//! Evaluation and prediction in [`Mode::Infer`] (no dropout, nothing kept for backward), batch by
//! batch.
//!
//! * [`evaluate`]: mean loss (sample-weighted over batches), accuracy, exact AUC (binary, or
//!   one-vs-rest macro for softmax) on a labelled split.
//! * [`predict_proba`]: class probabilities `(N, C)` row-major as unlabelled
//!   [`textrnn_eval::Predictions`]; a sigmoid model gives `C = 2` with rows `[1 - p, p]`.
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

use crate::data::{token_rows, EncodedSplit};
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

/// Probabilities as host `f32`, row-major `(B, C)`.
pub(crate) fn host_probs(output: Output, logits: &Tensor) -> Result<Vec<f32>> {
    Ok(output
        .probabilities(logits)?
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// Checks logits are `(b, C)` with `C` matching the output.
pub(crate) fn check_logits(output: Output, logits: &Tensor, b: usize) -> Result<()> {
    let want_c = match output {
        Output::Sigmoid => 1,
        Output::Softmax(n) => n,
    };
    if logits.dims() != [b, want_c] {
        return Err(Error::Shape(format!(
            "model returned logits {:?}, expected [{b}, {want_c}] for a {output:?} output",
            logits.dims()
        )));
    }
    Ok(())
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
    let device = model_device(model);
    for batch in split.batches(batch_size, None, &device)? {
        let batch = batch?;
        // No activations are kept for backward: evaluation never differentiates.
        let logits = model.forward_t(&batch.tokens, &mut Mode::Infer)?.detach();
        check_logits(output, &logits, batch.len())?;
        let l = loss
            .compute(&logits, &batch.labels)?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
        let probs = host_probs(output, &logits)?;
        let mb = MetricBatch {
            probs: &probs,
            n_classes: output.n_classes(),
            labels: &batch.label_values,
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
        probs.extend(host_probs(output, &logits)?);
        if let Some(bar) = &bar {
            bar.set_position(end as u64);
        }
        start = end;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Predictions::new(probs, output.n_classes()))
}

//! The HTML report of a run: one self-contained file (figures embedded as
//! `data:image/png;base64`, inline CSS, no scripts, no external resources).
//!
//! It shows the headline test metrics, the training history (`history.json`), the
//! classification report and confusion matrix at the run's decision threshold, the ROC and
//! precision-recall curves, a few test examples explained with LIME — the most confidently
//! wrong ones first, then correct ones spread over the split — the Keras model summary and
//! the resolved recipe.
//!
//! For speed the examples use [`ReportOptions::lime_samples`] perturbations (default 1000,
//! against LIME's usual 5000): enough for the ranking of the top words, a little noisier in
//! their weights.
//!
//! ```no_run
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let data = textrnn::DataOptions::default();
//! let path = textrnn::report(&run, &data, &textrnn::ReportOptions::default())?;
//! println!("{}", path.display());
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::path::PathBuf;

use textrnn_eval::{write_report, ExplainedExample, RunReport};

use crate::corpus::DataOptions;
use crate::decision::ThresholdSource;
use crate::evaluate;
use crate::explain::{explain, ExplainOptions};
use crate::run::{self, Run, Which};
use crate::Result;

/// Settings of [`report`].
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Output file (default `RUN_DIR/report.html`).
    pub out: Option<PathBuf>,
    /// Number of explained test examples (default 4: half wrong, half correct when possible).
    pub examples: usize,
    /// LIME perturbations per example (default 1000).
    pub lime_samples: usize,
    /// Seed of the LIME perturbations.
    pub seed: u64,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            out: None,
            examples: 4,
            lime_samples: 1000,
            seed: 0,
        }
    }
}

/// Picks up to `k` example indices: about half of them the most confidently wrong
/// predictions, the rest correct ones spread evenly over the split.
fn pick_examples(labels: &[u32], predicted: &[u32], confidence: &[f32], k: usize) -> Vec<usize> {
    let mut wrong: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i] != predicted[i])
        .collect();
    wrong.sort_by(|&a, &b| confidence[b].total_cmp(&confidence[a]));
    let right: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i] == predicted[i])
        .collect();
    let n_wrong = wrong.len().min(k / 2).max(k.saturating_sub(right.len()));
    let n_wrong = n_wrong.min(wrong.len());
    let n_right = (k - n_wrong).min(right.len());
    let mut picked: Vec<usize> = wrong.into_iter().take(n_wrong).collect();
    picked.extend((0..n_right).map(|j| right[j * right.len() / n_right.max(1)]));
    picked
}

/// Writes the HTML report of a run and returns its path (see the module docs). The test split
/// is re-created for the example texts; the probabilities come from `test_predictions.json`
/// when it matches, else from a new pass.
pub fn report(run: &Run, data: &DataOptions, ro: &ReportOptions) -> Result<PathBuf> {
    let split = run.split(data, Which::Test)?;
    // Calibrated probabilities when the run is calibrated, with the reliability data.
    let (preds, reliability) = crate::calibrate::test_view(run, data, Some(&split.encoded))?;
    let threshold = run.decision_threshold(None)?;
    let metrics = evaluate::run_metrics(run, &preds, threshold)?;
    let multi = preds.multi_label;
    let sample = matches!(
        run.config().recipe().data,
        textrnn_data::DataConfig::ImdbSample
    );

    let history_path = run.dir().join(run::HISTORY_JSON);
    let history = if history_path.is_file() {
        crate::plots::history_series(&history_path)?
    } else {
        Vec::new()
    };
    let (c, names) = (preds.n_classes, &preds.class_names);
    // Multi-label runs: the per-label table (with each label's ROC AUC and threshold) instead
    // of class-wise curves and explained examples, which assume one label per example.
    let (roc, pr) = if multi {
        (Vec::new(), Vec::new())
    } else {
        (
            textrnn_eval::roc_curves(&preds.probs, c, &preds.labels, names)?,
            textrnn_eval::precision_recall_curves(&preds.probs, c, &preds.labels, names)?,
        )
    };

    let predicted = preds.decide(metrics.threshold.map(|t| t.value));
    let confidence: Vec<f32> = (0..predicted.len())
        .map(|i| preds.probs[i * c + predicted[i] as usize])
        .collect();
    let mut examples = Vec::new();
    let wanted = if multi { 0 } else { ro.examples };
    for i in pick_examples(&preds.labels, &predicted, &confidence, wanted) {
        let text = &split.texts[i];
        let options = ExplainOptions {
            label: Some(predicted[i] as usize),
            num_samples: ro.lime_samples,
            top: 10,
            seed: ro.seed,
            ..ExplainOptions::default()
        };
        let explanation = match explain(run, text, &options) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!(example = i, error = %e, "example left unexplained");
                None
            }
        };
        examples.push(ExplainedExample {
            text: text.clone(),
            true_label: preds.labels[i] as usize,
            predicted_label: predicted[i] as usize,
            probs: preds.probs[i * c..(i + 1) * c].to_vec(),
            explanation,
        });
    }

    let mut headline = vec![
        (
            format!(
                "test {}accuracy ({} examples{})",
                if multi { "subset " } else { "" },
                metrics.n,
                if sample { ", embedded IMDB SAMPLE" } else { "" }
            ),
            metrics.accuracy,
        ),
        ("test loss".to_string(), metrics.loss),
    ];
    if let Some(auc) = metrics.auc {
        headline.insert(1, ("test ROC AUC".to_string(), auc));
    }
    if let Some(t) = metrics.threshold {
        let from = match t.source {
            ThresholdSource::File => "decision threshold (tuned)",
            _ => "decision threshold",
        };
        headline.push((from.to_string(), t.value));
    }
    let recipe = run.config().recipe();
    let maxlen = run.config().maxlen();
    let summary = recipe
        .model
        .summary(maxlen)
        .map(|s| format!("sequence length {maxlen}\n{s}"))
        .unwrap_or_default();
    let report = RunReport {
        run_name: recipe.name.clone(),
        class_names: names.clone(),
        recipe: recipe.to_toml().unwrap_or_default(),
        model_summary: summary,
        metrics: headline,
        history,
        classification: metrics.classification_report.clone(),
        confusion: metrics.confusion_matrix.clone(),
        multi_label: metrics.multi_label.clone(),
        roc,
        pr,
        examples,
        reliability_note: crate::calibrate::reliability_note(run, &reliability),
        reliability,
    };
    let out = ro
        .out
        .clone()
        .unwrap_or_else(|| run.dir().join(run::REPORT));
    write_report(&report, &out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::pick_examples;

    #[test]
    fn picks_confident_wrong_then_spread_correct() {
        let labels = [0, 1, 0, 1, 0, 1];
        let predicted = [1, 1, 0, 0, 0, 1];
        let confidence = [0.6, 0.9, 0.8, 0.95, 0.7, 0.99];
        // wrong: 0 (0.6), 3 (0.95) -> 3 first; correct: 1, 2, 4, 5 spread -> 1, 4
        assert_eq!(
            pick_examples(&labels, &predicted, &confidence, 4),
            vec![3, 0, 1, 4]
        );
        // no wrong prediction: all correct
        assert_eq!(pick_examples(&[0, 1], &[0, 1], &[0.9, 0.9], 4), vec![0, 1]);
    }
}

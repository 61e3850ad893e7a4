//! The figures of a run directory, in `plots/` as PNG and SVG:
//!
//! | file | content |
//! | --- | --- |
//! | `history.{png,svg}` | loss and metrics per epoch, training and validation (from `history.json`) |
//! | `confusion.{png,svg}` | confusion heatmap of the test split at the run's decision threshold |
//! | `roc.{png,svg}` | ROC curve (binary: of the second class; multi-class: one vs rest per class) |
//! | `pr.{png,svg}` | precision-recall curves, same classes |
//! | `reliability.{png,svg}` | reliability diagram of the test split, before and (for a calibrated run) after calibration |
//!
//! `train` draws them (all but the reliability diagram); `plot RUN_DIR` ([`plot`]) redraws them
//! from `history.json` and the saved test predictions (`test_predictions.json`, or a new pass
//! over the test split; always a new pass for a calibrated run, whose probabilities differ
//! from the saved ones). `calibrate` and `report` draw the reliability diagram too.
//!
//! ```no_run
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! for path in textrnn::plot(&run, &textrnn::DataOptions::default())? {
//!     println!("{}", path.display());
//! }
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::path::{Path, PathBuf};

use textrnn_eval::{
    confusion_heatmap, history_plot, pr_plot, precision_recall_curves, roc_curves, roc_plot,
    Predictions,
};

use crate::corpus::DataOptions;
use crate::evaluate::{self, TestMetrics};
use crate::run::{self, Run};
use crate::{Error, Result};

/// Training history series `(name, per-epoch values)` from a Keras-layout `history.json`
/// (`{"epoch": [...], "loss": [...], ...}`, `null` for a missing value).
pub(crate) fn history_series(path: &Path) -> Result<Vec<(String, Vec<f64>)>> {
    let map: serde_json::Map<String, serde_json::Value> = run::read_json(path)?;
    let mut series = Vec::new();
    for (key, values) in map {
        if key == "epoch" || key == textrnn_train::WARNINGS_KEY {
            continue;
        }
        let values = values.as_array().ok_or_else(|| Error::Run {
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            reason: format!("{}: `{key}` is not a list", path.display()),
        })?;
        series.push((
            key,
            values
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
                .collect(),
        ));
    }
    Ok(series)
}

/// Writes the figures into `dir/plots/` and returns the files written.
pub(crate) fn write_plots(
    dir: &Path,
    history: Option<&[(String, Vec<f64>)]>,
    test: Option<(&Predictions, &TestMetrics)>,
) -> Result<Vec<PathBuf>> {
    let plots = dir.join(run::PLOTS);
    std::fs::create_dir_all(&plots).map_err(|e| Error::io(&plots, e))?;
    let mut written = Vec::new();
    if let Some(series) = history.filter(|s| !s.is_empty()) {
        written.extend(history_plot(series, &plots.join("history"))?);
    }
    // A multi-label run's per-label scores are in its metrics (no confusion matrix, and the
    // class-wise ROC / PR curves assume one label per example).
    if let Some((preds, metrics)) = test.filter(|(p, _)| !p.multi_label) {
        if let Some(cm) = &metrics.confusion_matrix {
            written.extend(confusion_heatmap(cm, &plots.join("confusion"))?);
        }
        let (c, labels, names) = (preds.n_classes, &preds.labels, &preds.class_names);
        let roc = roc_curves(&preds.probs, c, labels, names)?;
        if !roc.is_empty() {
            written.extend(roc_plot(&roc, &plots.join("roc"))?);
        }
        let pr = precision_recall_curves(&preds.probs, c, labels, names)?;
        if !pr.is_empty() {
            written.extend(pr_plot(&pr, &plots.join("pr"))?);
        }
    }
    Ok(written)
}

/// Redraws `plots/` of a run from `history.json` and the test predictions (saved ones, else a
/// new pass over the re-created test split); the confusion matrix uses the run's threshold.
pub fn plot(run: &Run, data: &DataOptions) -> Result<Vec<PathBuf>> {
    let path = run.dir().join(run::HISTORY_JSON);
    if !path.is_file() {
        return Err(Error::Run {
            dir: run.dir().to_path_buf(),
            reason: format!(
                "{} is missing: the training curves are drawn from it (train the run again to get it)",
                run::HISTORY_JSON
            ),
        });
    }
    let series = history_series(&path)?;
    if series.is_empty() {
        return Err(Error::Run {
            dir: run.dir().to_path_buf(),
            reason: format!("{} holds no epoch", run::HISTORY_JSON),
        });
    }
    // Calibrated probabilities when the run is calibrated, with the reliability data.
    let (preds, reliability) = crate::calibrate::test_view(run, data, None)?;
    let metrics = evaluate::compute_metrics(&preds, run.decision_threshold(None)?)?;
    let mut written = write_plots(run.dir(), Some(&series), Some((&preds, &metrics)))?;
    written.extend(crate::calibrate::write_reliability_plot(
        run.dir(),
        &reliability,
    )?);
    Ok(written)
}

//! The figures of a run directory, in `plots/` as PNG and SVG:
//!
//! | file | content |
//! | --- | --- |
//! | `history.{png,svg}` | loss and metrics per epoch, training and validation (from `history.json`) |
//! | `confusion.{png,svg}` | confusion heatmap of the test split at the run's decision threshold |
//! | `roc.{png,svg}` | ROC curve (binary: of the second class; multi-class: one vs rest per class) |
//! | `pr.{png,svg}` | precision-recall curves, same classes |
//!
//! `train` draws them; `plot RUN_DIR` ([`plot`]) redraws them from `history.json` and the
//! saved test predictions (`test_predictions.json`, or a new pass over the test split).
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
    if let Some((preds, metrics)) = test {
        written.extend(confusion_heatmap(
            &metrics.confusion_matrix,
            &plots.join("confusion"),
        )?);
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
    let preds = evaluate::test_predictions(run, data, true)?;
    let metrics = evaluate::compute_metrics(&preds, run.decision_threshold(None)?)?;
    write_plots(run.dir(), Some(&series), Some((&preds, &metrics)))
}

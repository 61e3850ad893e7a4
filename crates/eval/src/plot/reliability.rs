//! Reliability diagrams: per bin, the mean confidence against the accuracy, with the dashed
//! diagonal of perfect calibration; one line per set of probabilities (typically before and
//! after temperature scaling), each with its ECE in the legend. Empty bins are skipped. The
//! title says what was binned ([`ReliabilityKind`]).
//!
//! ```
//! use textrnn_eval::{reliability, reliability_figure, Predictions};
//! let preds = Predictions::new(vec![0.1, 0.9, 0.6, 0.4], 2).with_labels(vec![1, 1], vec![]);
//! let r = reliability(&preds, 15).unwrap();
//! let figure = reliability_figure(&[("uncalibrated", &r)]).unwrap();
//! assert!(figure.svg.contains("ECE = 0.3500"));
//! ```

use std::path::{Path, PathBuf};

use super::curves::CurvePlot;
use super::figure::{render, Figure};
use crate::{Error, Reliability, ReliabilityKind, Result};

/// Renders a reliability diagram of named [`Reliability`] data (see the module docs); errors
/// when `series` is empty.
pub fn reliability_figure(series: &[(&str, &Reliability)]) -> Result<Figure> {
    let Some((_, first)) = series.first() else {
        return Err(Error::NothingToPlot("no reliability data to plot".into()));
    };
    let lines = series
        .iter()
        .map(|(name, r)| {
            let points = r
                .bins
                .iter()
                .filter_map(|b| Some((b.confidence?, b.accuracy?)))
                .collect();
            (format!("{name} (ECE = {:.4})", r.ece), points)
        })
        .collect();
    let (title, x_desc, y_desc) = match first.kind {
        ReliabilityKind::TopLabel => (
            "Reliability diagram (top-label)",
            "Confidence (largest class probability)",
            "Accuracy",
        ),
        ReliabilityKind::PerLabel => (
            "Reliability diagram (every example and label)",
            "Predicted probability",
            "Share of labels present",
        ),
    };
    render(&CurvePlot {
        title,
        x_desc,
        y_desc,
        lines,
        diagonal: Some("perfectly calibrated"),
        markers: true,
        legend_left: false,
    })
}

/// Renders a reliability diagram and writes `<path_stem>.png` and `<path_stem>.svg`.
pub fn reliability_plot(series: &[(&str, &Reliability)], path_stem: &Path) -> Result<Vec<PathBuf>> {
    reliability_figure(series)?.write(path_stem)
}

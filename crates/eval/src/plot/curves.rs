//! ROC and precision-recall plots, one curve per class (or one for a binary model).
//!
//! ROC: false positive rate against true positive rate, with the diagonal of a random
//! classifier dashed; the legend gives each curve's AUC. Precision-recall: recall against
//! precision drawn as a step function (scikit-learn's `PrecisionRecallDisplay`, `steps-post`);
//! the legend gives the average precision.
//!
//! ```
//! use textrnn_eval::{roc_curve, NamedCurve};
//! use textrnn_eval::roc_figure;
//! let curve = roc_curve(&[0.9, 0.7, 0.4, 0.2], &[true, false, true, false]).unwrap();
//! let figure = roc_figure(&[NamedCurve { name: "positive".into(), curve }]).unwrap();
//! assert!(figure.svg.contains("AUC = 0.750"));
//! ```

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{draw_err, render, Draw, Figure, PALETTE};
use crate::{Error, Result};
use crate::{NamedCurve, PrCurve, RocCurve};

/// Named lines on the unit square (ROC, precision-recall and reliability diagrams).
pub(super) struct CurvePlot {
    pub(super) title: &'static str,
    pub(super) x_desc: &'static str,
    pub(super) y_desc: &'static str,
    pub(super) lines: Vec<(String, Vec<(f64, f64)>)>,
    /// The dashed diagonal `y = x` and its legend entry, when drawn.
    pub(super) diagonal: Option<&'static str>,
    /// A dot on every point of the lines (lines through few points, e.g. bins).
    pub(super) markers: bool,
    pub(super) legend_left: bool,
}

/// Renders ROC curves (see the module docs); errors when `curves` is empty.
pub fn roc_figure(curves: &[NamedCurve<RocCurve>]) -> Result<Figure> {
    if curves.is_empty() {
        return Err(Error::NothingToPlot("no ROC curve to plot".into()));
    }
    let lines = curves
        .iter()
        .map(|c| {
            let points = c.curve.fpr.iter().copied().zip(c.curve.tpr.iter().copied());
            (
                format!("{} (AUC = {:.3})", c.name, c.curve.auc()),
                points.collect(),
            )
        })
        .collect();
    render(&CurvePlot {
        title: "ROC curve",
        x_desc: "False positive rate",
        y_desc: "True positive rate",
        lines,
        diagonal: Some("chance (AUC = 0.5)"),
        markers: false,
        legend_left: false,
    })
}

/// Renders ROC curves and writes `<path_stem>.png` and `<path_stem>.svg`.
pub fn roc_plot(curves: &[NamedCurve<RocCurve>], path_stem: &Path) -> Result<Vec<PathBuf>> {
    roc_figure(curves)?.write(path_stem)
}

/// Renders precision-recall curves (see the module docs); errors when `curves` is empty.
pub fn pr_figure(curves: &[NamedCurve<PrCurve>]) -> Result<Figure> {
    if curves.is_empty() {
        return Err(Error::NothingToPlot(
            "no precision-recall curve to plot".into(),
        ));
    }
    let lines = curves
        .iter()
        .map(|c| {
            let (r, p) = (&c.curve.recall, &c.curve.precision);
            let mut points = Vec::with_capacity(2 * r.len());
            for i in 0..r.len().min(p.len()) {
                if i > 0 {
                    points.push((r[i], p[i - 1])); // steps-post: hold the previous precision
                }
                points.push((r[i], p[i]));
            }
            let label = format!("{} (AP = {:.3})", c.name, c.curve.average_precision());
            (label, points)
        })
        .collect();
    render(&CurvePlot {
        title: "Precision-recall curve",
        x_desc: "Recall",
        y_desc: "Precision",
        lines,
        diagonal: None,
        markers: false,
        legend_left: true,
    })
}

/// Renders precision-recall curves and writes `<path_stem>.png` and `<path_stem>.svg`.
pub fn pr_plot(curves: &[NamedCurve<PrCurve>], path_stem: &Path) -> Result<Vec<PathBuf>> {
    pr_figure(curves)?.write(path_stem)
}

impl Draw for CurvePlot {
    fn size(&self) -> (u32, u32) {
        (640, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.01f64..1.01f64, -0.01f64..1.02f64)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| format!("{v:.1}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(draw_err)?;
        if let Some(diagonal) = self.diagonal {
            let grey = RGBColor(120, 120, 120).stroke_width(1);
            chart
                .draw_series(DashedLineSeries::new([(0.0, 0.0), (1.0, 1.0)], 6, 5, grey))
                .map_err(draw_err)?
                .label(diagonal)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], grey));
        }
        for (i, (label, points)) in self.lines.iter().enumerate() {
            let style = PALETTE[i % PALETTE.len()].stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), style))
                .map_err(draw_err)?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
            if self.markers {
                let dot = PALETTE[i % PALETTE.len()].filled();
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 4, dot)))
                    .map_err(draw_err)?;
            }
        }
        chart
            .configure_series_labels()
            .position(if self.legend_left {
                SeriesLabelPosition::LowerLeft
            } else {
                SeriesLabelPosition::LowerRight
            })
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(draw_err)?;
        Ok(())
    }
}

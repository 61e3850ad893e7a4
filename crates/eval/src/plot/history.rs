//! Training curves: loss and each metric per epoch, training against validation, like
//! `plot(history)` in the Keras tutorials.
//!
//! Series are `(name, values per epoch)`; a series named `val_<q>` is the validation curve of
//! quantity `<q>`. One panel per quantity (`loss` first, then in order of appearance), two panels
//! per row, epochs numbered from 1. Non-finite values are left out of the lines.
//!
//! ```
//! use textrnn_eval::history_figure;
//! let series = vec![
//!     ("loss".to_string(), vec![0.69, 0.45, 0.33]),
//!     ("accuracy".to_string(), vec![0.55, 0.80, 0.87]),
//!     ("val_loss".to_string(), vec![0.60, 0.48, 0.41]),
//!     ("val_accuracy".to_string(), vec![0.70, 0.78, 0.83]),
//! ];
//! let figure = history_figure(&series).unwrap();
//! assert_eq!(figure.size, (1200, 440)); // two panels side by side
//! ```

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{draw_err, render, Draw, Figure, PALETTE};
use crate::{Error, Result};

const PANEL_W: u32 = 600;
const PANEL_H: u32 = 440;

struct Panel<'a> {
    quantity: String,
    train: Option<&'a [f64]>,
    validation: Option<&'a [f64]>,
}

/// A labelled, coloured polyline of (epoch, value) points.
type Line<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

struct HistoryFigure<'a> {
    panels: Vec<Panel<'a>>,
}

fn group(series: &[(String, Vec<f64>)]) -> Vec<Panel<'_>> {
    let mut panels: Vec<Panel<'_>> = Vec::new();
    for (name, values) in series {
        let (quantity, is_val) = match name.strip_prefix("val_") {
            Some(q) => (q, true),
            None => (name.as_str(), false),
        };
        let idx = match panels.iter().position(|p| p.quantity == quantity) {
            Some(i) => i,
            None => {
                panels.push(Panel {
                    quantity: quantity.to_string(),
                    train: None,
                    validation: None,
                });
                panels.len() - 1
            }
        };
        if is_val {
            panels[idx].validation = Some(values);
        } else {
            panels[idx].train = Some(values);
        }
    }
    // loss first, the rest keep their order
    panels.sort_by_key(|p| p.quantity != "loss");
    panels
}

/// Renders the training curves (see the module docs).
///
/// Errors when there is no series or no finite value.
pub fn history_figure(series: &[(String, Vec<f64>)]) -> Result<Figure> {
    let panels = group(series);
    let any_finite = panels.iter().any(|p| {
        p.train
            .into_iter()
            .chain(p.validation)
            .flatten()
            .any(|v| v.is_finite())
    });
    if !any_finite {
        return Err(Error::NothingToPlot("history has no finite values".into()));
    }
    render(&HistoryFigure { panels })
}

/// Renders the training curves and writes `<path_stem>.png` and `<path_stem>.svg`.
pub fn history_plot(series: &[(String, Vec<f64>)], path_stem: &Path) -> Result<Vec<PathBuf>> {
    history_figure(series)?.write(path_stem)
}

impl Draw for HistoryFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let n = self.panels.len() as u32;
        let cols = n.clamp(1, 2);
        let rows = n.div_ceil(cols).max(1);
        (PANEL_W * cols, PANEL_H * rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let n = self.panels.len();
        let cols = n.clamp(1, 2);
        let areas = root.split_evenly((n.div_ceil(cols).max(1), cols));
        for (panel, area) in self.panels.iter().zip(areas.iter()) {
            draw_panel(panel, area)?;
        }
        Ok(())
    }
}

fn finite_points(values: &[f64]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (i as f64 + 1.0, v))
        .collect()
}

fn draw_panel<DB: DrawingBackend>(panel: &Panel<'_>, area: &DrawingArea<DB, Shift>) -> Result<()> {
    let lines: Vec<Line<'_>> = [
        ("train", PALETTE[0], panel.train),
        ("validation", PALETTE[1], panel.validation),
    ]
    .into_iter()
    .filter_map(|(label, colour, values)| values.map(|v| (label, colour, finite_points(v))))
    .filter(|(_, _, points)| !points.is_empty())
    .collect();

    let epochs = lines
        .iter()
        .flat_map(|(_, _, p)| p.last().map(|q| q.0))
        .fold(1.0f64, f64::max);
    let (lo, hi) = lines
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|q| q.1))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        lo.abs().max(1.0) * 0.05
    };
    let x_range = if epochs > 1.0 { 1.0..epochs } else { 0.5..1.5 };

    let mut chart = ChartBuilder::on(area)
        .caption(&panel.quantity, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, (lo - pad)..(hi + pad))
        .map_err(draw_err)?;
    let integer_label = |x: &f64| {
        if (x - x.round()).abs() < 1e-9 {
            format!("{}", x.round() as i64)
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(&panel.quantity)
        .x_labels((epochs as usize).clamp(2, 10))
        .x_label_formatter(&integer_label)
        .y_label_formatter(&|y| format!("{y:.3}"))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_err)?;

    for (label, colour, points) in &lines {
        let style = colour.stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), style))
            .map_err(draw_err)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(draw_err)?;
    }
    // a falling curve (loss) leaves the upper right free, a rising one (accuracy) the lower right
    let falling = lines
        .first()
        .and_then(|(_, _, p)| Some(p.last()?.1 < p.first()?.1))
        .unwrap_or(true);
    chart
        .configure_series_labels()
        .position(if falling {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        })
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

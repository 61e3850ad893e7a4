//! Confusion-matrix heatmap: cells coloured by the row-normalised rate, with the count and the
//! percentage of the true class in each cell, and a colour bar.
//!
//! Rows are true classes, columns predicted classes (scikit-learn's `ConfusionMatrixDisplay`
//! with `normalize="true"` colours). Class names longer than 18 characters are abbreviated in the
//! middle with `…` (both ends kept); column names are written vertically when they are wider than a cell, so they never
//! overlap.
//!
//! ```
//! use textrnn_eval::confusion_matrix;
//! use textrnn_eval::confusion_figure;
//! let names: Vec<String> = ["World", "Sports", "Business", "Sci/Tech"].map(String::from).to_vec();
//! let cm = confusion_matrix(&[0, 1, 2, 3, 3], &[0, 1, 3, 3, 2], &names).unwrap();
//! let figure = confusion_figure(&cm).unwrap();
//! assert!(figure.svg.contains("Sci/Tech"));
//! ```

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figure::{draw_err, render, Draw, Figure};
use crate::ConfusionMatrix;
use crate::{Error, Result};

const MAX_NAME_CHARS: usize = 18;
const LABEL_SIZE: f64 = 15.0;

/// matplotlib's `Blues` colour map, sampled at 9 evenly spaced points.
const BLUES: [(u8, u8, u8); 9] = [
    (247, 251, 255),
    (222, 235, 247),
    (198, 219, 239),
    (158, 202, 225),
    (107, 174, 214),
    (66, 146, 198),
    (33, 113, 181),
    (8, 81, 156),
    (8, 48, 107),
];

fn blues(v: f64) -> RGBColor {
    let t = v.clamp(0.0, 1.0) * (BLUES.len() - 1) as f64;
    let i = (t.floor() as usize).min(BLUES.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Shortens a long name in the middle, keeping both ends (`"a rather lo…e 11"`), so names that
/// differ only at the end stay distinct.
fn abbreviate(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= MAX_NAME_CHARS {
        return name.to_string();
    }
    let head = (MAX_NAME_CHARS - 1) / 2;
    let tail = MAX_NAME_CHARS - 1 - head;
    let mut s: String = chars[..head].iter().collect();
    s.push('…');
    s.extend(&chars[chars.len() - tail..]);
    s
}

struct Layout {
    cell: i32,
    left: i32,
    top: i32,
    vertical_x_labels: bool,
    width: u32,
    height: u32,
}

struct Heatmap<'a> {
    cm: &'a ConfusionMatrix,
    names: Vec<String>,
    layout: Layout,
}

fn text_width(text: &str, size: f64) -> Result<i32> {
    let font = FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal);
    let (w, _) = font.box_size(text).map_err(draw_err)?;
    Ok(w as i32)
}

/// Renders the heatmap of `cm` (see the module docs).
pub fn confusion_figure(cm: &ConfusionMatrix) -> Result<Figure> {
    super::figure::ensure_font()?;
    let n = cm.n_classes();
    if n == 0 || cm.counts.len() != n || cm.counts.iter().any(|r| r.len() != n) {
        return Err(Error::NothingToPlot(format!(
            "confusion matrix must be square with one row per class ({n} names)"
        )));
    }
    let names: Vec<String> = cm.class_names.iter().map(|s| abbreviate(s)).collect();
    let mut widest = 0;
    for name in &names {
        widest = widest.max(text_width(name, LABEL_SIZE)?);
    }
    let cell = (560 / n as i32).clamp(36, 130);
    let vertical_x_labels = widest > cell - 10;
    let left = widest + 60;
    let top = 60;
    let bottom = if vertical_x_labels { widest + 70 } else { 80 };
    let right = 110;
    let layout = Layout {
        cell,
        left,
        top,
        vertical_x_labels,
        width: (left + cell * n as i32 + right).max(420) as u32,
        height: (top + cell * n as i32 + bottom) as u32,
    };
    render(&Heatmap { cm, names, layout })
}

/// Renders the heatmap and writes `<path_stem>.png` and `<path_stem>.svg`.
pub fn confusion_heatmap(cm: &ConfusionMatrix, path_stem: &Path) -> Result<Vec<PathBuf>> {
    confusion_figure(cm)?.write(path_stem)
}

impl Draw for Heatmap<'_> {
    fn size(&self) -> (u32, u32) {
        (self.layout.width, self.layout.height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let l = &self.layout;
        let n = self.names.len() as i32;
        let rates = self.cm.normalized();
        let font = |size: f64| FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal);
        let centred = Pos::new(HPos::Center, VPos::Center);
        let grid_right = l.left + l.cell * n;
        let grid_bottom = l.top + l.cell * n;

        root.draw(&Text::new(
            "Confusion matrix (colour: share of the true class)",
            ((l.width as i32) / 2, 24),
            font(19.0).color(&BLACK).pos(centred),
        ))
        .map_err(draw_err)?;

        for (t, row) in self.cm.counts.iter().enumerate() {
            for (p, &count) in row.iter().enumerate() {
                let rate = rates[t][p];
                let x0 = l.left + l.cell * p as i32;
                let y0 = l.top + l.cell * t as i32;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + l.cell, y0 + l.cell)],
                    blues(rate).filled(),
                ))
                .map_err(draw_err)?;
                let ink = if rate > 0.5 { WHITE } else { BLACK };
                let (cx, cy) = (x0 + l.cell / 2, y0 + l.cell / 2);
                let big = (f64::from(l.cell) / 5.5).clamp(10.0, 18.0);
                let small = (big - 3.0).max(9.0);
                let two_lines = l.cell >= 56;
                let count_y = if two_lines {
                    cy - (big * 0.55) as i32
                } else {
                    cy
                };
                root.draw(&Text::new(
                    count.to_string(),
                    (cx, count_y),
                    font(big).color(&ink).pos(centred),
                ))
                .map_err(draw_err)?;
                if two_lines {
                    root.draw(&Text::new(
                        format!("{:.1}%", rate * 100.0),
                        (cx, cy + (small * 0.75) as i32),
                        font(small).color(&ink).pos(centred),
                    ))
                    .map_err(draw_err)?;
                }
            }
        }
        root.draw(&Rectangle::new(
            [(l.left, l.top), (grid_right, grid_bottom)],
            BLACK.stroke_width(1),
        ))
        .map_err(draw_err)?;

        let label = font(LABEL_SIZE).color(&BLACK);
        for (i, name) in self.names.iter().enumerate() {
            let c = l.cell * i as i32 + l.cell / 2;
            // true classes: right-aligned left of each row
            root.draw(&Text::new(
                name.clone(),
                (l.left - 8, l.top + c),
                label.pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(draw_err)?;
            // predicted classes: centred under each column, or vertical when too wide
            let style = if l.vertical_x_labels {
                label
                    .transform(FontTransform::Rotate270)
                    .pos(Pos::new(HPos::Right, VPos::Center))
            } else {
                label.pos(Pos::new(HPos::Center, VPos::Top))
            };
            root.draw(&Text::new(
                name.clone(),
                (l.left + c, grid_bottom + 8),
                style,
            ))
            .map_err(draw_err)?;
        }
        let axis = font(16.0).color(&BLACK);
        root.draw(&Text::new(
            "Predicted label",
            ((l.left + grid_right) / 2, l.height as i32 - 22),
            axis.pos(centred),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(
            "True label",
            (20, (l.top + grid_bottom) / 2),
            axis.transform(FontTransform::Rotate270).pos(centred),
        ))
        .map_err(draw_err)?;

        // colour bar: 0% at the bottom, 100% at the top
        let bar_x = grid_right + 24;
        let bar_h = l.cell * n;
        for k in 0..bar_h {
            let v = 1.0 - f64::from(k) / f64::from(bar_h.max(1) - 1).max(1.0);
            root.draw(&Rectangle::new(
                [(bar_x, l.top + k), (bar_x + 18, l.top + k + 1)],
                blues(v).filled(),
            ))
            .map_err(draw_err)?;
        }
        root.draw(&Rectangle::new(
            [(bar_x, l.top), (bar_x + 18, grid_bottom)],
            BLACK.stroke_width(1),
        ))
        .map_err(draw_err)?;
        for tick in 0..=4 {
            let y = grid_bottom - bar_h * tick / 4;
            root.draw(&PathElement::new(
                vec![(bar_x + 18, y), (bar_x + 23, y)],
                BLACK.stroke_width(1),
            ))
            .map_err(draw_err)?;
            root.draw(&Text::new(
                format!("{}%", tick * 25),
                (bar_x + 27, y),
                font(13.0)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(draw_err)?;
        }
        Ok(())
    }
}

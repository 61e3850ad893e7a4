//! Figures of a run with plotters, each written as PNG and SVG: training history, confusion
//! heatmap, ROC and precision-recall curves, reliability diagrams (calibration).
//!
//! Every figure has a `*_figure` function returning a [`Figure`] in memory (both encodings, as
//! the HTML report embeds them) and a `*_plot`/`*_heatmap` function that writes
//! `<path_stem>.png` and `<path_stem>.svg` atomically and returns the two paths. Text uses the
//! DejaVu Sans font embedded in the crate, so no system font is needed.
//!
//! ```no_run
//! use std::path::Path;
//! use textrnn_eval::history_plot;
//! let series = vec![("loss".to_string(), vec![0.7, 0.5]), ("val_loss".to_string(), vec![0.6, 0.55])];
//! let paths = history_plot(&series, Path::new("runs/imdb/history")).unwrap();
//! // runs/imdb/history.png, runs/imdb/history.svg
//! # assert_eq!(paths.len(), 2);
//! ```

mod confusion;
mod curves;
mod figure;
mod history;
mod reliability;

pub use confusion::{confusion_figure, confusion_heatmap};
pub use curves::{pr_figure, pr_plot, roc_figure, roc_plot};
pub use figure::Figure;
pub use history::{history_figure, history_plot};
pub use reliability::{reliability_figure, reliability_plot};

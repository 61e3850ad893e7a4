//! Figures of a run with plotters, each written as PNG and SVG: training history, confusion
//! heatmap, ROC and precision-recall curves.
//!
//! Every figure has a `*_figure` function returning a [`Figure`] in memory (both encodings, as
//! the HTML report embeds them) and a `*_plot`/`*_heatmap` function that writes
//! `<path_stem>.png` and `<path_stem>.svg` atomically and returns the two paths. Text uses the
//! DejaVu Sans font embedded in the crate, so no system font is needed.
//!
//! ```no_run
//! use std::path::Path;
//! use textrnn_train::plot::history_plot;
//! let series = vec![("loss".to_string(), vec![0.7, 0.5]), ("val_loss".to_string(), vec![0.6, 0.55])];
//! let paths = history_plot(&series, Path::new("runs/imdb/history")).unwrap();
//! // runs/imdb/history.png, runs/imdb/history.svg
//! # assert_eq!(paths.len(), 2);
//! ```

mod confusion;
mod curves;
mod figure;
mod history;

use std::path::PathBuf;

pub use confusion::{confusion_figure, confusion_heatmap};
pub use curves::{pr_figure, pr_plot, roc_figure, roc_plot};
pub use figure::Figure;
pub use history::{history_figure, history_plot};

pub(crate) use figure::atomic_write;

/// Why a figure could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Nothing to draw.
    #[error("nothing to plot: {0}")]
    NoData(String),
    /// plotters or the PNG encoder failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The embedded font could not be loaded.
    #[error("the embedded DejaVu Sans font could not be registered with plotters")]
    Font,
    /// Writing a file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Result of the plotting functions.
pub type Result<T> = std::result::Result<T, PlotError>;

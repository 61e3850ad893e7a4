//! textrnn: train, evaluate, explain and serve recurrent-network text classifiers on candle.
//!
//! This facade re-exports the layered crates and owns what ties them together:
//! the [`Recipe`] (data, text, model and training settings in one serde struct, saved as
//! `config.json` in every run), the run directory ([`Run`]), and the end-to-end pipeline
//! ([`train_run`], [`Run::evaluate`], [`Run::predict`]), and what is done with a trained run:
//! threshold tuning ([`Run::tune_threshold`]), plots ([`Run::plot`]), LIME explanations
//! ([`Run::explain`]) and the HTML report ([`Run::report`]).
//!
//! ```no_run
//! use textrnn::{Recipe, TrainOptions, train_run};
//! let recipe = Recipe::builtin("imdb-bigru")?;
//! let outcome = train_run(&recipe, &TrainOptions::default())?;
//! println!("test accuracy {:.3}", outcome.test.map(|t| t.accuracy).unwrap_or(f64::NAN));
//! # Ok::<(), textrnn::Error>(())
//! ```
#![warn(missing_docs)]

mod atomic;
mod error;
mod evaluate;
mod explain;
mod pipeline;
mod plots;
mod recipe;
mod report;
mod run;
mod runtime;
pub mod synthetic;
mod threshold;

pub use error::{Error, Result};
pub use evaluate::{compute_metrics, DecisionThreshold, TestMetrics, ThresholdSource};
pub use explain::ExplainOptions;
pub use pipeline::{prepare, train_run, Prepared, TestPredictions, TrainOptions, TrainOutcome};
pub use recipe::{FitOn, Normalize, Published, Recipe, SplitConfig, TextRecipe, BUILTIN_RECIPES};
pub use report::ReportOptions;
pub use run::Run;
pub use runtime::configure_allocator;

pub use textrnn_data as data;
pub use textrnn_models as models;
pub use textrnn_text as text;
pub use textrnn_train as train;

//! textrnn: train, evaluate, explain and serve recurrent-network text classifiers on candle.
//!
//! This facade re-exports the layered crates and owns what ties them together:
//! - the user's [`Recipe`] (data, text, model and training settings in one serde struct, read
//!   from TOML) and the [`RunConfig`] it resolves to once training has seen the data (saved as
//!   `config.json` in every run);
//! - checking a recipe's data before training on it ([`check`](fn@check): balance, duplicates,
//!   conflicting labels, leakage, token lengths; [`quick_warnings`] is the part training logs);
//! - training a recipe end to end into a run directory ([`train_run`] with [`TrainOptions`]),
//!   and the data exactly as training feeds it ([`prepare_data`]);
//! - [`Run`], the one type that opens and checks a run directory, and predicts with it;
//! - what is done with an opened run: [`evaluate`](fn@evaluate) on the test split,
//!   [`tune_threshold`], [`plot`], LIME explanations ([`explain`](fn@explain)) and the HTML
//!   [`report`](fn@report). The commands that re-read the corpus take [`DataOptions`] (where
//!   the data is, whether to show progress).
//!
//! Metrics, curves, LIME, figures and the report come from [`eval`] (`textrnn-eval`); this
//! crate only wires runs and data to them.
//!
//! ```no_run
//! use textrnn::{DataOptions, Recipe, Run, TrainOptions};
//! let recipe = Recipe::builtin("imdb-bigru")?;
//! let outcome = textrnn::train_run(&recipe, &TrainOptions::default())?;
//! println!("test accuracy {:.3}", outcome.test.map(|t| t.accuracy).unwrap_or(f64::NAN));
//!
//! let run = Run::open(&outcome.dir)?;
//! let metrics = textrnn::evaluate(&run, &DataOptions::default(), None)?;
//! let preds = run.predict(&["a wonderful film".to_string()], 32, false)?;
//! let label = preds.decide(run.decision_threshold(None)?.map(|t| t.value))[0];
//! println!("{} -> {}", metrics.accuracy, run.class_names()[label as usize]);
//! # Ok::<(), textrnn::Error>(())
//! ```
#![warn(missing_docs)]

mod calibrate;
pub mod check;
mod config;
mod corpus;
mod decision;
mod error;
mod evaluate;
mod explain;
mod export;
// Cross-checks of a run directory (used by `Run::open`; public for the integration tests).
#[doc(hidden)]
pub mod integrity;
mod plots;
pub mod predict_file;
mod pretrained;
mod recipe;
mod report;
mod run;
mod run_state;
mod runtime;
pub mod synthetic;
mod threshold;
mod training;
mod weighting;

pub use calibrate::{
    calibrate, CalibrateOutcome, Calibration, CalibrationMetrics, CalibrationScores,
    SplitCalibration,
};
pub use check::{check, quick_warnings, CheckOptions, CheckReport};
pub use config::RunConfig;
pub use corpus::{DataOptions, Limits};
pub use decision::{DecisionThreshold, ThresholdSource};
pub use error::{Error, Result};
pub use evaluate::{
    compute_metrics, compute_multi_label_metrics, evaluate, evaluate_file, TestMetrics,
};
pub use explain::{explain, ExplainOptions};
pub use export::{export, ExportFormat, ExportOptions, ExportSummary};
pub use plots::plot;
pub use predict_file::{
    predict_rows, predict_texts, write_predictions, PredictFileOptions, PredictSummary,
    PredictedRow, PredictionRecord, RowPrediction, RowStatus,
};
pub use pretrained::VectorsReport;
pub use recipe::{FitOn, Published, Recipe, SplitConfig, TextRecipe, BUILTIN_RECIPES};
pub use report::{report, ReportOptions};
pub use run::Run;
pub use run_state::{RunState, RunStatus};
pub use runtime::{
    configure_allocator, configure_subnormals, with_subnormal_mode, Subnormals, SUBNORMALS_ENV,
};
pub use threshold::{tune_label_thresholds, tune_threshold, LabelThreshold, LabelThresholds};
pub use training::{
    prepare_data, resume_run, train_run, train_run_with_data, PreparedData, TrainOptions,
    TrainOutcome,
};

pub use textrnn_data as data;
pub use textrnn_eval as eval;
pub use textrnn_fs as fs;
pub use textrnn_models as models;
pub use textrnn_text as text;
pub use textrnn_train as train;

//! `textrnn serve`: trained runs behind an HTTP API, with dynamic micro-batching on dedicated
//! inference threads and Prometheus metrics.
//!
//! - [`open_models`] names and opens the run directories (a bad directory or two runs of one
//!   name fail before anything is bound);
//! - [`Server::bind`] checks the [`ServeOptions`] and binds the socket;
//!   [`ServerHandle::add_models`] starts each model's inference threads behind its bounded queue
//!   and marks the server ready; [`Server::run`] serves until a shutdown future resolves
//!   ([`shutdown_signal`]: SIGTERM or Ctrl-C), then finishes the requests in flight;
//! - [`serve`] does all of that on a runtime of its own, for the command line.
//!
//! The routes and their JSON are described in the `api` module (`POST
//! /v1/models/{name}/predict` answers one [`textrnn::PredictionRecord`] per text, the same
//! record and numbers as `textrnn predict --json`), the batching in `batcher`, the metrics in
//! `metrics`.
//!
//! Numbers: a text's probabilities are those of `predict --json` exactly when both forward
//! passes take the same path. `textrnn-models` folds the embedding into the recurrent projection
//! when the vocabulary is smaller than batch x maxlen, so a batch of one text (a lone request on
//! an idle server) can differ from a larger batch in the last bit of an `f32`: at most 1.2e-7
//! measured (tests/serve.rs, 256 texts), never enough to change a label away from a threshold.
//!
//! ```no_run
//! use textrnn_serve::{open_models, ServeOptions};
//! let models = open_models(&["runs/imdb-bigru".into()], None, false)?;
//! let opts = ServeOptions { port: 0, ..ServeOptions::default() };
//! textrnn_serve::serve(models, opts, |addr| println!("listening on http://{addr}"))?;
//! # Ok::<(), textrnn_serve::Error>(())
//! ```
#![warn(missing_docs)]

mod api;
mod batcher;
mod error;
mod metrics;
mod model;
mod options;
mod server;

pub use error::{Error, Result};
pub use model::{model_names, open_models, Model, ModelInfo, ServedCalibration, TestSummary};
pub use options::{parse_size, ServeOptions, MAX_EXPLAIN_SAMPLES, MAX_EXPLAIN_TOP};
pub use server::{serve, shutdown_signal, Server, ServerHandle};

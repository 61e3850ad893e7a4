//! Predicting a stream of texts (a user file, standard input, arguments) with exactly one result
//! per input, in input order, in bounded memory.
//!
//! Inputs are `(id, text)` pairs: [`read_file`] reads them from a CSV, TSV, JSON Lines, Parquet
//! or plain-text file through [`textrnn_data::TableReader`] (`text_col`, and `id_col` passed
//! through, else the 1-based data row); [`read_lines`] from any reader, one text per line.
//! [`predict_rows`] takes them [`PredictFileOptions::chunk_rows`] at a time, predicts the
//! non-empty texts of a chunk with [`Run::predict`] and the run's decision threshold
//! ([`Run::decision_threshold`]), and hands the chunk's [`PredictedRow`]s to a sink. An empty or
//! whitespace-only text gets a row without a prediction ([`RowStatus::EmptyText`]); nothing is
//! dropped ([`predict_texts`] is that per-text step; [`PredictionRecord`] is one result as
//! `predict --json` and `textrnn serve` write it). [`write_predictions`] is the sink that writes
//! a CSV, JSON Lines or Parquet table atomically ([`textrnn_data::table_writer`]): columns `id`,
//! `label`, `prob_<class>` per class and `status`.
//!
//! ```no_run
//! use textrnn::{predict_file, PredictFileOptions, Run};
//! let run = Run::open("runs/imdb-bigru".as_ref())?;
//! let opts = PredictFileOptions::default();
//! let summary = textrnn::write_predictions(
//!     &run,
//!     predict_file::read_file("reviews.csv".as_ref(), &opts)?,
//!     "predictions.parquet".as_ref(),
//!     &opts,
//! )?;
//! println!("{} rows, {:.0} rows/s", summary.rows, summary.rows_per_sec());
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal as _};
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use textrnn_data::table::{TableReader, TableSpec};
use textrnn_data::table_writer::{write_table, Cell, Column};
use textrnn_data::Error as DataError;

use crate::decision::{DecisionThreshold, ThresholdSource};
use crate::error::{Error, Result};
use crate::run::Run;

/// Rows predicted together by default: large enough to keep the model busy, small enough to
/// bound memory whatever the input size.
pub const PREDICT_CHUNK_ROWS: usize = 2_048;

/// How to read and predict a stream of texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictFileOptions {
    /// The text column or field of a table file (`--text-col`).
    pub text_col: String,
    /// The id column or field passed through (`--id-col`); `None`: the 1-based row number.
    pub id_col: Option<String>,
    /// Model batch size (`--batch-size`).
    pub batch_size: usize,
    /// Inputs read, predicted and handed to the sink together.
    pub chunk_rows: usize,
    /// Show a progress bar with rows/s on standard error (only when it is a terminal).
    pub progress: bool,
}

impl Default for PredictFileOptions {
    fn default() -> Self {
        Self {
            text_col: "text".into(),
            id_col: None,
            batch_size: 256,
            chunk_rows: PREDICT_CHUNK_ROWS,
            progress: false,
        }
    }
}

/// What became of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RowStatus {
    /// Predicted.
    #[serde(rename = "ok")]
    Ok,
    /// The text is empty or only whitespace: no prediction.
    #[serde(rename = "empty text")]
    EmptyText,
}

impl RowStatus {
    /// [`RowStatus::Ok`] with a prediction, else [`RowStatus::EmptyText`].
    pub fn of(prediction: Option<&RowPrediction>) -> Self {
        if prediction.is_some() {
            RowStatus::Ok
        } else {
            RowStatus::EmptyText
        }
    }

    /// `ok` or `empty text`, as written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Ok => "ok",
            RowStatus::EmptyText => "empty text",
        }
    }
}

/// The prediction for one non-empty text.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPrediction {
    /// The decided class (an index into [`Run::class_names`]); for a multi-label run the most
    /// probable label.
    pub label: usize,
    /// The probability of every class, in class order.
    pub probs: Vec<f32>,
    /// Multi-label runs: the decided label set (label `j` when `p_j` reaches its threshold, in
    /// label order; may be empty); `None` for single-label runs.
    pub labels: Option<Vec<usize>>,
}

/// The result for one input, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictedRow {
    /// 1-based position in the input.
    pub row: u64,
    /// The id column's value, else the row number.
    pub id: String,
    /// The text as read.
    pub text: String,
    /// `None` for an empty text.
    pub prediction: Option<RowPrediction>,
}

impl PredictedRow {
    /// [`RowStatus::Ok`] with a prediction, else [`RowStatus::EmptyText`].
    pub fn status(&self) -> RowStatus {
        RowStatus::of(self.prediction.as_ref())
    }
}

/// Counts and speed of a [`predict_rows`] pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictSummary {
    /// Inputs read (one result each).
    pub rows: u64,
    /// Inputs with an empty text (not predicted).
    pub empty: u64,
    /// Wall-clock seconds: reading, predicting and the sink.
    pub seconds: f64,
    /// The decision threshold of a binary run.
    pub threshold: Option<DecisionThreshold>,
}

impl PredictSummary {
    /// Inputs per second.
    pub fn rows_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// An `(id, text)` input.
pub type Input = Result<(String, String)>;

/// Opens `path` as a prediction input (see the module docs): the format, the header and the
/// first record are read here, so a missing text or id column fails before any prediction.
pub fn read_file(path: &Path, opts: &PredictFileOptions) -> Result<impl Iterator<Item = Input>> {
    let spec = TableSpec {
        text_col: opts.text_col.clone(),
        id_col: opts.id_col.clone(),
        ..TableSpec::default()
    };
    let reader = TableReader::open(path, &spec)?;
    Ok(reader.map(|row| row.map(|r| (r.id, r.text)).map_err(Error::from)))
}

/// One input per line of `reader` (ids `1`, `2`, ...; a blank line is an input too; `\n` or
/// `\r\n` ends a line), read by the plain-text [`TableReader`]: a line over the data crate's
/// line limit or one that is not UTF-8 is an error naming `origin` and the line. An empty stream
/// gives no input.
pub fn read_lines(
    reader: impl BufRead + 'static,
    origin: &str,
) -> Result<Box<dyn Iterator<Item = Input>>> {
    match TableReader::lines_from(Path::new(origin), Box::new(reader)) {
        Ok(rows) => {
            Ok(Box::new(rows.map(|row| {
                row.map(|r| (r.id, r.text)).map_err(Error::from)
            })))
        }
        Err(DataError::NoRecords { .. }) => Ok(Box::new(std::iter::empty())),
        Err(e) => Err(e.into()),
    }
}

/// Predicts every input (see the module docs), handing each chunk of results, in input order,
/// to `sink`. Stops at the first read, prediction or sink error.
pub fn predict_rows(
    run: &Run,
    inputs: impl IntoIterator<Item = Input>,
    opts: &PredictFileOptions,
    mut sink: impl FnMut(&[PredictedRow]) -> Result<()>,
) -> Result<PredictSummary> {
    if opts.batch_size == 0 || opts.chunk_rows == 0 {
        return Err(Error::invalid(
            "--batch-size",
            "the batch size and chunk size must be at least 1",
        ));
    }
    let threshold = run.decision_threshold(None)?;
    let started = Instant::now();
    let bar = progress_bar(opts.progress);
    let mut inputs = inputs.into_iter();
    let mut summary = PredictSummary {
        rows: 0,
        empty: 0,
        seconds: 0.0,
        threshold,
    };
    let mut chunk: Vec<PredictedRow> = Vec::with_capacity(opts.chunk_rows);
    loop {
        chunk.clear();
        for input in inputs.by_ref().take(opts.chunk_rows) {
            let (id, text) = input?;
            summary.rows += 1;
            chunk.push(PredictedRow {
                row: summary.rows,
                id,
                text,
                prediction: None,
            });
        }
        if chunk.is_empty() {
            break;
        }
        summary.empty += predict_chunk(run, &mut chunk, opts.batch_size, threshold)?;
        bar.suspend(|| sink(&chunk))?;
        bar.inc(chunk.len() as u64);
        let rate = summary.rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!("{rate:.0}"));
    }
    bar.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Fills in the predictions of the non-empty texts of `chunk`; returns the number of empty ones.
fn predict_chunk(
    run: &Run,
    chunk: &mut [PredictedRow],
    batch_size: usize,
    threshold: Option<DecisionThreshold>,
) -> Result<u64> {
    let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
    let predictions = predict_texts(run, &texts, batch_size, threshold)?;
    let mut empty = 0;
    for (row, prediction) in chunk.iter_mut().zip(predictions) {
        empty += u64::from(prediction.is_none());
        row.prediction = prediction;
    }
    Ok(empty)
}

/// The prediction of each text, in order: `None` for an empty or whitespace-only text (not
/// predicted), else the class decided at `threshold` ([`Predictions::decide`]) and every class'
/// probability. The non-empty texts go through one [`Run::predict`] call (forward passes of
/// `batch_size` texts). This is the one per-text step of `predict` and of `textrnn serve`.
///
/// [`Predictions::decide`]: textrnn_eval::Predictions::decide
pub fn predict_texts(
    run: &Run,
    texts: &[&str],
    batch_size: usize,
    threshold: Option<DecisionThreshold>,
) -> Result<Vec<Option<RowPrediction>>> {
    let is_empty = |text: &str| text.trim().is_empty();
    let kept: Vec<String> = texts
        .iter()
        .filter(|t| !is_empty(t))
        .map(|t| t.to_string())
        .collect();
    if kept.is_empty() {
        return Ok(vec![None; texts.len()]);
    }
    let preds = run.predict(&kept, batch_size, false)?;
    let labels = preds.decide(threshold.map(|t| t.value));
    // Multi-label: every label at its own threshold (threshold.json, else 0.5).
    let sets = if preds.multi_label {
        let n = preds.n_classes;
        let decided = preds.decide_labels(&run.label_thresholds()?)?;
        Some(
            decided
                .chunks(n.max(1))
                .map(|row| (0..n).filter(|&j| row[j] == 1).collect::<Vec<usize>>())
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let mut k = 0;
    Ok(texts
        .iter()
        .map(|text| {
            if is_empty(text) {
                return None;
            }
            let prediction = RowPrediction {
                label: labels.get(k).map_or(0, |&c| c as usize),
                probs: preds.row(k).to_vec(),
                labels: sets.as_ref().and_then(|s| s.get(k).cloned()),
            };
            k += 1;
            Some(prediction)
        })
        .collect())
}

/// One text's result as a JSON record: a line of `predict --json` without its `id` and `text`,
/// and an element of `textrnn serve`'s `predictions`. Fields are declared in alphabetical order,
/// the order in which `serde_json` writes a map, so a record printed directly and one printed
/// through a [`serde_json::Value`] read the same. Probabilities are the model's `f32` values
/// widened to `f64` (exactly), so both print the same digits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionRecord {
    /// The decided class (a multi-label run's most probable label); `None` for an empty text.
    pub label: Option<String>,
    /// Multi-label runs: the decided label set, in label order (absent for single-label runs
    /// and empty texts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Every class' probability by class name; `None` for an empty text.
    pub probabilities: Option<BTreeMap<String, f64>>,
    /// The decided class' probability; `None` for an empty text.
    pub probability: Option<f64>,
    /// `ok` or `empty text`.
    pub status: RowStatus,
    /// The decision threshold of a binary run (absent for a multi-class run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Where the threshold comes from (absent for a multi-class run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_source: Option<ThresholdSource>,
}

impl PredictionRecord {
    /// The record of one text's prediction (`None`: an empty text) by a run with `class_names`
    /// deciding at `threshold`; a class index without a name is written as its number.
    pub fn new(
        prediction: Option<&RowPrediction>,
        class_names: &[String],
        threshold: Option<DecisionThreshold>,
    ) -> Self {
        let name = |k: usize| class_names.get(k).cloned().unwrap_or_else(|| k.to_string());
        Self {
            label: prediction.map(|p| name(p.label)),
            labels: prediction
                .and_then(|p| p.labels.as_ref())
                .map(|set| set.iter().map(|&k| name(k)).collect()),
            probabilities: prediction.map(|p| {
                p.probs
                    .iter()
                    .enumerate()
                    .map(|(k, &v)| (name(k), f64::from(v)))
                    .collect()
            }),
            probability: prediction.and_then(|p| p.probs.get(p.label).map(|&v| f64::from(v))),
            status: RowStatus::of(prediction),
            threshold: threshold.map(|t| t.value),
            threshold_source: threshold.map(|t| t.source),
        }
    }
}

/// A spinner with the row count and rows/s on standard error when `show` and it is a terminal.
fn progress_bar(show: bool) -> ProgressBar {
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} predict: {human_pos} rows ({msg} rows/s) {elapsed}")
    {
        bar.set_style(style);
    }
    bar.set_message("-");
    bar
}

/// The columns of a predictions table: `id`, `label`, `prob_<class>` per class, `status`.
pub fn prediction_columns(class_names: &[String]) -> Vec<Column> {
    let mut columns = vec![Column::str("id"), Column::str("label")];
    columns.extend(class_names.iter().map(|c| Column::f32(format!("prob_{c}"))));
    columns.push(Column::str("status"));
    columns
}

/// Predicts every input and writes the results to `output` (`.csv`, `.jsonl` or `.parquet`,
/// columns as [`prediction_columns`]) atomically: the file appears only when complete. A bad
/// extension fails before any input is read.
pub fn write_predictions(
    run: &Run,
    inputs: impl IntoIterator<Item = Input>,
    output: &Path,
    opts: &PredictFileOptions,
) -> Result<PredictSummary> {
    let classes = run.class_names();
    let multi = run.multi_label();
    let mut columns = prediction_columns(classes);
    if multi {
        // Multi-label runs: the decided label set after `label`, joined by the run's label
        // separator (`,` when it had none).
        columns.insert(2, Column::str("labels"));
    }
    let sep = run.config().label_sep().unwrap_or(",").to_string();
    write_table(output, &columns, |w| {
        predict_rows(run, inputs, opts, |chunk| {
            let joined: Vec<Option<String>> = chunk
                .iter()
                .map(|row| {
                    let set = row.prediction.as_ref()?.labels.as_ref()?;
                    let names: Vec<&str> = set
                        .iter()
                        .filter_map(|&k| classes.get(k).map(String::as_str))
                        .collect();
                    Some(names.join(&sep))
                })
                .collect();
            let mut cells: Vec<Cell<'_>> = Vec::with_capacity(columns.len());
            for (row, set) in chunk.iter().zip(&joined) {
                cells.clear();
                cells.push(Cell::Str(&row.id));
                match &row.prediction {
                    Some(p) => {
                        cells.push(classes.get(p.label).map_or(Cell::Null, |c| Cell::Str(c)));
                        if multi {
                            cells.push(set.as_deref().map_or(Cell::Null, Cell::Str));
                        }
                        cells.extend(p.probs.iter().map(|&v| Cell::F32(v)));
                    }
                    None => {
                        cells.push(Cell::Null);
                        if multi {
                            cells.push(Cell::Null);
                        }
                        cells.extend(classes.iter().map(|_| Cell::Null));
                    }
                }
                cells.push(Cell::Str(row.status().as_str()));
                w.write_row(&cells)?;
            }
            Ok(())
        })
    })
}

/// [`read_file`] then [`predict_rows`].
pub fn predict_file(
    run: &Run,
    path: &Path,
    opts: &PredictFileOptions,
    sink: impl FnMut(&[PredictedRow]) -> Result<()>,
) -> Result<PredictSummary> {
    predict_rows(run, read_file(path, opts)?, opts, sink)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_blank_lines_and_strip_line_ends() {
        let rows: Vec<(String, String)> = read_lines(&b"a\r\n\n  \nb"[..], "stdin")
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        let expected = [("1", "a"), ("2", ""), ("3", "  "), ("4", "b")];
        assert_eq!(
            rows,
            expected
                .map(|(i, t)| (i.to_string(), t.to_string()))
                .to_vec()
        );
        assert_eq!(read_lines(&b""[..], "stdin").unwrap().count(), 0);
    }

    #[test]
    fn lines_refuse_bad_utf8_with_the_line() {
        let mut it = read_lines(&b"ok\n\xff\nnever"[..], "standard input").unwrap();
        assert!(it.next().unwrap().is_ok());
        let e = it.next().unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "standard input:2: not valid UTF-8; re-encode the file as UTF-8"
        );
        assert!(it.next().is_none());
    }

    #[test]
    fn columns_name_every_class() {
        let names: Vec<String> = prediction_columns(&["neg".into(), "pos".into()])
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["id", "label", "prob_neg", "prob_pos", "status"]);
    }
}

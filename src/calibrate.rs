//! Calibrated probabilities: temperature scaling fitted on a run's validation split
//! (`textrnn calibrate RUN`), saved as `calibration.json` in the run, and the calibration
//! metrics (NLL, expected calibration error, reliability bins) that `evaluate`, `report` and
//! `plot` show.
//!
//! [`calibrate`] runs the model once over the validation split and once over the test split,
//! keeping the logits; it fits one temperature `T` on the validation logits
//! ([`textrnn_eval::fit_temperature`]: binary, softmax or per-label sigmoid), and measures the
//! NLL (from the logits, in `f64`) and the ECE (15 equal-width bins; top-label confidence for
//! single-label runs, every (example, label) pair for multi-label runs, see
//! [`textrnn_eval::reliability`]) before and after on both splits. The logits are always the
//! model's own, so calibrating again refits from the uncalibrated outputs and never stacks two
//! temperatures.
//!
//! From then on [`Run::open`] loads the temperature and every probability of the run is
//! `activation(logits / T)` ([`textrnn_train::probabilities_at`]): `predict`, `evaluate`,
//! `tune-threshold`, `explain`, `report`, `serve` and the ONNX export. `metrics.json` stays the
//! training record (uncalibrated); the calibrated test numbers live in `calibration.json`'s
//! `test` section and in `evaluate`'s output.
//!
//! `threshold.json` records the temperature it was tuned under (`calibration_temperature`,
//! `null` when tuned on uncalibrated probabilities); calibrating a run whose threshold was tuned
//! under another temperature warns that it should be tuned again.
//!
//! ```no_run
//! let run = textrnn::Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let outcome = textrnn::calibrate(&run, &textrnn::DataOptions::default())?;
//! let c = &outcome.calibration;
//! println!("T = {:.3}: validation ECE {:.4} -> {:.4}", c.temperature, c.validation.ece_before, c.validation.ece_after);
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use textrnn_eval::{
    fit_temperature, negative_log_likelihood, reliability, LabelledLogits, Predictions,
    Reliability, ReliabilityKind, ECE_BINS,
};
use textrnn_train::{EncodedSplit, Logits};

use crate::corpus::DataOptions;
use crate::run::{self, Run, Which};
use crate::{Error, Result};

/// File name of the calibration in a run directory.
pub(crate) const CALIBRATION: &str = "calibration.json";

/// The only calibration method.
const METHOD: &str = "temperature";

/// Key of `threshold.json` that records the temperature the threshold was tuned under.
pub(crate) const THRESHOLD_TEMPERATURE_KEY: &str = "calibration_temperature";

/// A run's `calibration.json`: the fitted temperature and what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// `"temperature"`: probabilities are `activation(logits / temperature)`.
    pub method: String,
    /// The fitted temperature `T > 0`.
    pub temperature: f64,
    /// The split it was fitted on (`"validation"`).
    pub fitted_on: String,
    /// Number of examples it was fitted on.
    pub n: usize,
    /// What the ECE bins: top-label confidence (single-label) or every (example, label) pair.
    pub ece_kind: ReliabilityKind,
    /// Number of equal-width ECE bins.
    pub ece_bins: usize,
    /// NLL and ECE before and after on the validation split.
    pub validation: CalibrationScores,
    /// The same on the test split (absent when the run has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<CalibrationScores>,
}

/// NLL and ECE of one split, uncalibrated (`before`) and calibrated (`after`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationScores {
    /// Number of examples.
    pub n: usize,
    /// Mean negative log-likelihood of the uncalibrated probabilities (from the logits).
    pub nll_before: f64,
    /// The same at the fitted temperature.
    pub nll_after: f64,
    /// Expected calibration error before.
    pub ece_before: f64,
    /// Expected calibration error after.
    pub ece_after: f64,
}

/// What [`calibrate`] did.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrateOutcome {
    /// The saved calibration.
    pub calibration: Calibration,
    /// `calibration.json`.
    pub path: PathBuf,
    /// The reliability diagram of the test split (`plots/reliability.{png,svg}`), when drawn.
    pub plots: Vec<PathBuf>,
    /// Set when `threshold.json` was tuned under another temperature (or none).
    pub warning: Option<String>,
}

/// Calibration metrics of one split at the run's current calibration, as `evaluate` and
/// `report` show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationMetrics {
    /// The run's temperature; `None` when the run is not calibrated.
    pub temperature: Option<f64>,
    /// Number of equal-width bins.
    pub bins: usize,
    /// The uncalibrated probabilities: NLL, ECE and the reliability bins.
    pub uncalibrated: SplitCalibration,
    /// The calibrated ones (`None` when the run is not calibrated).
    pub calibrated: Option<SplitCalibration>,
}

/// NLL, ECE and reliability bins of one set of probabilities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitCalibration {
    /// Mean negative log-likelihood, from the logits.
    pub nll: f64,
    /// Expected calibration error.
    pub ece: f64,
    /// The reliability-diagram data (`reliability.ece` is `ece`).
    pub reliability: Reliability,
}

impl CalibrationMetrics {
    /// A one-line description of what the ECE measures, for output.
    pub fn describe(&self) -> String {
        format!(
            "{} bins, {}",
            self.bins,
            self.uncalibrated.reliability.kind.describe()
        )
    }
}

/// Reads and checks a run's `calibration.json` (`None` when absent): the method is
/// `temperature` and the temperature a finite number above 0.
pub(crate) fn load(dir: &Path) -> Result<Option<Calibration>> {
    let Some(path) = crate::integrity::regular_file(dir, CALIBRATION)? else {
        return Ok(None);
    };
    let calibration: Calibration = run::read_json(&path)?;
    let bad = |reason: String| Error::Run {
        dir: dir.to_path_buf(),
        reason: format!("{CALIBRATION}: {reason} (run `textrnn calibrate` again)"),
    };
    if calibration.method != METHOD {
        return Err(bad(format!(
            "unknown method `{}` (expected `{METHOD}`)",
            calibration.method
        )));
    }
    let t = calibration.temperature;
    if !(t.is_finite() && t > 0.0) {
        return Err(bad(format!(
            "temperature {t} is not a finite number above 0"
        )));
    }
    Ok(Some(calibration))
}

/// The true labels of a split as [`LabelledLogits`] for `logits` of the run's output.
fn labelled<'a>(
    logits: &'a Logits,
    split: &'a EncodedSplit,
    targets: &'a [u8],
) -> LabelledLogits<'a> {
    match logits.output {
        textrnn_models::Output::Sigmoid => LabelledLogits::Binary {
            logits: &logits.values,
            labels: &split.labels,
        },
        textrnn_models::Output::Softmax(n) => LabelledLogits::Softmax {
            logits: &logits.values,
            n_classes: n,
            labels: &split.labels,
        },
        textrnn_models::Output::MultiLabel(n) => LabelledLogits::MultiLabel {
            logits: &logits.values,
            n_labels: n,
            targets,
        },
    }
}

/// Multi-hot targets of a multi-label split as 0/1 bytes (empty for single-label splits).
fn targets_u8(split: &EncodedSplit) -> Vec<u8> {
    split
        .targets
        .as_ref()
        .map(|t| t.iter().map(|&v| u8::from(v > 0.5)).collect())
        .unwrap_or_default()
}

/// The labelled probabilities at `temperature` and their NLL, ECE and reliability bins.
fn scores_at(
    run: &Run,
    logits: &Logits,
    split: &EncodedSplit,
    temperature: f64,
) -> Result<(Predictions, SplitCalibration)> {
    let preds = run.label(logits.probabilities(temperature)?, split)?;
    let targets = targets_u8(split);
    let nll = negative_log_likelihood(&labelled(logits, split, &targets), temperature)?;
    let reliability = reliability(&preds, ECE_BINS)?;
    Ok((
        preds,
        SplitCalibration {
            nll,
            ece: reliability.ece,
            reliability,
        },
    ))
}

/// The probabilities every consumer of `run` uses on a split (calibrated when the run is), and
/// the calibration metrics before and after, from the split's logits.
pub(crate) fn split_metrics(
    run: &Run,
    logits: &Logits,
    split: &EncodedSplit,
) -> Result<(Predictions, CalibrationMetrics)> {
    let (plain, uncalibrated) = scores_at(run, logits, split, 1.0)?;
    let (preds, calibrated) = match run.calibration() {
        Some(c) => {
            let (preds, scores) = scores_at(run, logits, split, c.temperature)?;
            (preds, Some(scores))
        }
        None => (plain, None),
    };
    Ok((
        preds,
        CalibrationMetrics {
            temperature: run.calibration().map(|c| c.temperature),
            bins: ECE_BINS,
            uncalibrated,
            calibrated,
        },
    ))
}

impl CalibrationMetrics {
    /// The reliability data to draw: `uncalibrated` and, for a calibrated run,
    /// `calibrated, T = ...`.
    pub(crate) fn series(&self) -> Vec<(String, Reliability)> {
        let mut series = vec![(
            "uncalibrated".to_string(),
            self.uncalibrated.reliability.clone(),
        )];
        if let (Some(t), Some(after)) = (self.temperature, &self.calibrated) {
            series.push((format!("calibrated, T = {t:.3}"), after.reliability.clone()));
        }
        series
    }
}

/// What the report says under the reliability diagram.
pub(crate) fn reliability_note(run: &Run, series: &[(String, Reliability)]) -> String {
    let kind = series.first().map_or("", |(_, r)| r.kind.describe());
    match run.calibration() {
        Some(c) => format!(
            "Test split, {ECE_BINS} equal-width bins of the {kind}. The run is calibrated by temperature scaling (T = {:.4}, fitted on {} validation examples); every probability of the run is the calibrated one.",
            c.temperature, c.n
        ),
        None => format!(
            "Test split, {ECE_BINS} equal-width bins of the {kind}. The run is not calibrated (textrnn calibrate fits a temperature on its validation split)."
        ),
    }
}

/// Test probabilities as the run's consumers see them (calibrated when the run is) with the
/// reliability data before (and after) calibration. An uncalibrated run uses the saved
/// `test_predictions.json` when it matches `split` (or when no split is given); a calibrated
/// one runs the model over the test split (loaded when not given) for its logits.
pub(crate) fn test_view(
    run: &Run,
    data: &DataOptions,
    split: Option<&EncodedSplit>,
) -> Result<(Predictions, Vec<(String, Reliability)>)> {
    if run.calibration().is_some() {
        let loaded;
        let split = match split {
            Some(split) => split,
            None => {
                loaded = run.split(data, Which::Test)?;
                &loaded.encoded
            }
        };
        let logits = run.split_logits(split, data.progress)?;
        let (preds, metrics) = split_metrics(run, &logits, split)?;
        return Ok((preds, metrics.series()));
    }
    let mut preds = crate::evaluate::test_predictions(run, data, true)?;
    if let Some(split) = split {
        if preds.labels != split.labels || preds.class_names != run.class_names() {
            preds = run.predict_split(split, data.progress)?;
        }
    }
    let series = match reliability(&preds, ECE_BINS) {
        Ok(r) => vec![("uncalibrated".to_string(), r)],
        Err(e) => {
            tracing::warn!("no reliability diagram: {e}");
            Vec::new()
        }
    };
    Ok((preds, series))
}

/// Draws `plots/reliability.{png,svg}` from named reliability data (nothing when empty).
pub(crate) fn write_reliability_plot(
    dir: &Path,
    series: &[(String, Reliability)],
) -> Result<Vec<PathBuf>> {
    if series.is_empty() {
        return Ok(Vec::new());
    }
    let named: Vec<(&str, &Reliability)> = series.iter().map(|(n, r)| (n.as_str(), r)).collect();
    Ok(textrnn_eval::reliability_plot(
        &named,
        &dir.join(run::PLOTS).join("reliability"),
    )?)
}

/// Fits the temperature of `run` on its validation split and saves `calibration.json` (see
/// the module docs); also draws the test split's reliability diagram into `plots/`.
///
/// Errors: a run without a validation split (before anything is computed: the message says
/// how to retrain with one), a validation split of one class, logits that separate it
/// perfectly (no finite temperature).
pub fn calibrate(run: &Run, data: &DataOptions) -> Result<CalibrateOutcome> {
    let validation = run.split(data, Which::Validation)?;
    let logits = run.split_logits(&validation.encoded, data.progress)?;
    let targets = targets_u8(&validation.encoded);
    let fit = fit_temperature(&labelled(&logits, &validation.encoded, &targets)).map_err(|e| {
        Error::Run {
            dir: run.dir().to_path_buf(),
            reason: format!(
                "cannot calibrate on the {} validation examples: {e}",
                validation.encoded.len()
            ),
        }
    })?;
    let t = fit.temperature;
    tracing::info!(
        temperature = t,
        nll_before = fit.nll_before,
        nll_after = fit.nll_after,
        "temperature fitted on the validation split"
    );
    let scores = |logits: &Logits,
                  split: &EncodedSplit|
     -> Result<(CalibrationScores, CalibrationMetrics)> {
        let (_, before) = scores_at(run, logits, split, 1.0)?;
        let (_, after) = scores_at(run, logits, split, t)?;
        let summary = CalibrationScores {
            n: split.len(),
            nll_before: before.nll,
            nll_after: after.nll,
            ece_before: before.ece,
            ece_after: after.ece,
        };
        let metrics = CalibrationMetrics {
            temperature: Some(t),
            bins: ECE_BINS,
            uncalibrated: before,
            calibrated: Some(after),
        };
        Ok((summary, metrics))
    };
    let (validation_scores, validation_metrics) = scores(&logits, &validation.encoded)?;
    let test = match run.split(data, Which::Test) {
        Ok(test) => {
            let test_logits = run.split_logits(&test.encoded, data.progress)?;
            Some(scores(&test_logits, &test.encoded)?)
        }
        // A run without a test split is still calibrated; only its test section is missing.
        Err(Error::Run { reason, .. }) => {
            tracing::warn!("no test scores: {reason}");
            None
        }
        Err(e) => return Err(e),
    };
    let calibration = Calibration {
        method: METHOD.into(),
        temperature: t,
        fitted_on: "validation".into(),
        n: fit.n,
        ece_kind: validation_metrics.uncalibrated.reliability.kind,
        ece_bins: ECE_BINS,
        validation: validation_scores,
        test: test.as_ref().map(|(scores, _)| *scores),
    };
    let path = run.dir().join(CALIBRATION);
    run::write_json(&path, &calibration)?;
    // The diagram shows the test split (examples the temperature was not fitted on) when there
    // is one.
    let shown = test
        .as_ref()
        .map_or(&validation_metrics, |(_, metrics)| metrics);
    let plots = write_reliability_plot(run.dir(), &shown.series())?;
    Ok(CalibrateOutcome {
        calibration,
        path,
        plots,
        warning: stale_threshold(run.dir(), t)?,
    })
}

/// A warning when the run's `threshold.json` was tuned under a temperature other than `t` (or
/// on uncalibrated probabilities); `None` without a threshold file or when it matches.
fn stale_threshold(dir: &Path, t: f64) -> Result<Option<String>> {
    let Some(path) = crate::integrity::regular_file(dir, run::THRESHOLD)? else {
        return Ok(None);
    };
    let value: serde_json::Value = run::read_json(&path)?;
    let tuned_under = value
        .get(THRESHOLD_TEMPERATURE_KEY)
        .and_then(|v| v.as_f64());
    let same = tuned_under.is_some_and(|u| (u - t).abs() <= 1e-12 * t);
    Ok((!same).then(|| {
        format!(
            "{} was tuned on {} probabilities; the run's probabilities are now calibrated (T = {t:.4}): re-run `textrnn tune-threshold {}`",
            path.display(),
            match tuned_under {
                Some(u) => format!("differently calibrated (T = {u:.4})"),
                None => "uncalibrated".to_string(),
            },
            dir.display()
        )
    }))
}

/// Writes `threshold.json` from `value` (a binary [`ThresholdChoice`](textrnn_eval::ThresholdChoice)
/// or per-label thresholds) with the temperature of the probabilities it was tuned on
/// (`calibration_temperature`: the run's `T`, or `null` when uncalibrated), and has `run`
/// decide with it from then on ([`Run::remember_threshold`]).
pub(crate) fn write_threshold(run: &Run, value: run::SavedThreshold) -> Result<()> {
    let path = run.dir().join(run::THRESHOLD);
    let mut json = serde_json::to_value(&value).map_err(|e| Error::Json {
        path: path.clone(),
        source: e,
    })?;
    if let Some(map) = json.as_object_mut() {
        map.insert(
            THRESHOLD_TEMPERATURE_KEY.into(),
            run.calibration().map_or(serde_json::Value::Null, |c| {
                serde_json::Value::from(c.temperature)
            }),
        );
    }
    run::write_json(&path, &json)?;
    run.remember_threshold(value);
    Ok(())
}

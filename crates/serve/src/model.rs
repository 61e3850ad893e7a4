//! The models a server serves: a name per run directory ([`model_names`]), the opened runs
//! ([`open_models`]), what `GET /v1/models` says of each ([`ModelInfo`]), and the [`Engine`]
//! the inference threads run on an opened [`Run`].
//!
//! A model is named after its run directory's last path component (`runs/imdb-bigru` serves as
//! `imdb-bigru`); `--name` renames the one run of a single-model server. Names are checked
//! before any run is opened, so two runs of one name fail at once, naming both directories.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use textrnn::eval::Explanation;
use textrnn::{DecisionThreshold, ExplainOptions, RowPrediction, Run};

use crate::batcher::Engine;
use crate::error::{Error, Result};

/// A run to serve and its name.
pub struct Model {
    /// The name in the URLs (`/v1/models/{name}/predict`).
    pub name: String,
    /// The opened run.
    pub run: Run,
}

/// The name of each run directory, in order: its last path component, or `name` for a single
/// run. Two runs of one name are an error naming both.
pub fn model_names(dirs: &[PathBuf], name: Option<&str>) -> Result<Vec<String>> {
    if let Some(name) = name {
        if dirs.len() != 1 {
            return Err(Error::invalid(
                "--name",
                format!(
                    "it names one model, but {} run directories are given; each of them is named after its directory",
                    dirs.len()
                ),
            ));
        }
        if name.trim().is_empty() || name.contains('/') {
            return Err(Error::invalid(
                "--name",
                format!("{name:?}: a model name is a non-empty path segment without `/`"),
            ));
        }
        return Ok(vec![name.to_string()]);
    }
    let mut names: Vec<(String, &PathBuf)> = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let name = dir_name(dir).ok_or_else(|| Error::Unnamed { dir: dir.clone() })?;
        if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
            return Err(Error::DuplicateName {
                name,
                first: (*first).clone(),
                second: dir.clone(),
            });
        }
        names.push((name, dir));
    }
    Ok(names.into_iter().map(|(n, _)| n).collect())
}

/// The last component of `dir` (of its canonical form for `.` or `..`).
fn dir_name(dir: &Path) -> Option<String> {
    let last = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .map(|s| s.to_string())
    };
    last(dir).or_else(|| dir.canonicalize().ok().as_deref().and_then(last))
}

/// Names (see [`model_names`]) and opens every run directory; the first that fails to open is
/// the error (naming the directory and the file). `allow_incomplete` opens unfinished runs too
/// ([`Run::open_with`]).
pub fn open_models(
    dirs: &[PathBuf],
    name: Option<&str>,
    allow_incomplete: bool,
) -> Result<Vec<Model>> {
    let names = model_names(dirs, name)?;
    names
        .into_iter()
        .zip(dirs)
        .map(|(name, dir)| {
            let run = Run::open_with(dir, allow_incomplete)?;
            tracing::info!(model = %name, dir = %dir.display(), "model loaded");
            Ok(Model { name, run })
        })
        .collect()
}

/// The test metrics of a run's `metrics.json` that `GET /v1/models` lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestSummary {
    /// What they were computed on.
    pub data: serde_json::Value,
    /// Number of test examples.
    pub n: serde_json::Value,
    /// Accuracy.
    pub accuracy: serde_json::Value,
    /// ROC AUC (null when the test split had one class).
    pub auc: serde_json::Value,
    /// Mean cross-entropy.
    pub loss: serde_json::Value,
}

/// A served model's calibration: probabilities are `activation(logits / temperature)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ServedCalibration {
    /// The temperature fitted by `textrnn calibrate`.
    pub temperature: f64,
}

/// What `GET /v1/models` says of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// The model's name.
    pub name: String,
    /// The run directory.
    pub run_dir: PathBuf,
    /// The recipe it was trained from.
    pub recipe: String,
    /// Class names, in the order of the probabilities.
    pub classes: Vec<String>,
    /// Tokens per text (longer texts are truncated, shorter ones padded).
    pub maxlen: usize,
    /// Trainable parameters.
    pub parameters: Option<usize>,
    /// The decision threshold of a binary run (value and source); null for multi-class.
    pub threshold: Option<DecisionThreshold>,
    /// Probability calibration (`calibration.json`, from `textrnn calibrate`): the temperature
    /// every served probability is computed at; null when the run is not calibrated.
    pub calibration: Option<ServedCalibration>,
    /// Test metrics from the run's `metrics.json` (null when it is absent or unreadable).
    pub test_metrics: Option<TestSummary>,
}

impl ModelInfo {
    /// The description of `run` served as `name`, deciding at `threshold`.
    pub fn new(name: &str, run: &Run, threshold: Option<DecisionThreshold>) -> Self {
        let config = run.config();
        let parameters = match config.recipe().model.summary(config.maxlen()) {
            Ok(summary) => Some(summary.total_params),
            Err(e) => {
                tracing::warn!(model = name, "cannot count the parameters: {e}");
                None
            }
        };
        Self {
            name: name.to_string(),
            run_dir: run.dir().to_path_buf(),
            recipe: config.recipe().name.clone(),
            classes: run.class_names().to_vec(),
            maxlen: config.maxlen(),
            parameters,
            threshold,
            calibration: run.calibration().map(|c| ServedCalibration {
                temperature: c.temperature,
            }),
            test_metrics: test_summary(run.dir()),
        }
    }
}

/// The headline numbers of `dir/metrics.json`, when it is there and parses.
fn test_summary(dir: &Path) -> Option<TestSummary> {
    let path = dir.join("metrics.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let mut m: serde_json::Value = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(
                "{}: not valid JSON ({e}); no test metrics listed",
                path.display()
            );
            return None;
        }
    };
    let mut take = |key: &str| {
        m.get_mut(key)
            .map(serde_json::Value::take)
            .unwrap_or_default()
    };
    Some(TestSummary {
        data: take("data"),
        n: take("n"),
        accuracy: take("accuracy"),
        auc: take("auc"),
        loss: take("loss"),
    })
}

/// A run as the inference threads use it: predictions decided at the run's threshold, in
/// forward passes of up to `batch_size` texts.
pub(crate) struct RunEngine {
    pub(crate) run: Arc<Run>,
    pub(crate) threshold: Option<DecisionThreshold>,
    pub(crate) batch_size: usize,
}

impl Engine for RunEngine {
    fn predict(&self, texts: &[&str]) -> textrnn::Result<Vec<Option<RowPrediction>>> {
        textrnn::predict_texts(&self.run, texts, self.batch_size, self.threshold)
    }

    fn explain(&self, text: &str, opts: &ExplainOptions) -> textrnn::Result<Explanation> {
        textrnn::explain(&self.run, text, opts)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_component_and_must_differ() {
        let dirs = [PathBuf::from("runs/a/"), PathBuf::from("other/b")];
        assert_eq!(model_names(&dirs, None).unwrap(), ["a", "b"]);
        assert_eq!(model_names(&dirs[..1], Some("mine")).unwrap(), ["mine"]);
        let same = [PathBuf::from("x/imdb"), PathBuf::from("y/imdb")];
        assert_eq!(
            model_names(&same, None).unwrap_err().to_string(),
            "two runs are both named `imdb`: x/imdb and y/imdb; serve one of them, or copy one to a directory of another name"
        );
        assert_eq!(
            model_names(&dirs, Some("mine")).unwrap_err().to_string(),
            "invalid --name: it names one model, but 2 run directories are given; each of them is named after its directory"
        );
        assert_eq!(
            model_names(&dirs[..1], Some("a/b"))
                .unwrap_err()
                .to_string(),
            r#"invalid --name: "a/b": a model name is a non-empty path segment without `/`"#
        );
        // `.` is named after the directory it stands for.
        let here = std::env::current_dir().unwrap();
        let expected = here.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(
            model_names(&[PathBuf::from(".")], None).unwrap(),
            [expected]
        );
    }
}

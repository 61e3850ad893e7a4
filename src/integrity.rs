//! Cross-checks of a run directory's pieces against each other, done when a run is opened and
//! before anything large is allocated: a file copied in from another run, an edited
//! `config.json` or a damaged file is refused with an error that names the file and the
//! mismatch, instead of giving wrong predictions, an index error or a memory blow-up later.
//!
//! [`Run::open`](crate::Run::open) calls, in order:
//! 1. [`check_files`] before reading anything: every file the run uses is a regular file (a
//!    FIFO would block a read, a device would never end);
//! 2. [`check_run`] once `config.json` and `tokenizer.json` are read, before the weights are
//!    loaded: the configured model's sizes are counted with checked arithmetic and fit the
//!    machine's memory; `model.safetensors`' header declares exactly the configured parameters
//!    (so an edited `maxlen`, `input_dim` or `units` is refused from the header alone) and the
//!    file holds all their data; the tokenizer produces exactly the ids the embedding was
//!    trained for; `classes` matches the output layer; `threshold.json` is in range (the run
//!    keeps it as read, so it is read once per open);
//! 3. [`check_weights_finite`] on the loaded model.
//!
//! [`read_threshold`] and [`read_test_predictions`] read and check those files where they are
//! used.

use std::path::{Path, PathBuf};

use textrnn_eval::{Objective, Predictions, ThresholdChoice};
use textrnn_models::{LayerSpec, TextClassifier};
use textrnn_text::KerasTokenizer;

use crate::run::{
    read_json, SavedThreshold, CONFIG, MODEL, TEST_PREDICTIONS, THRESHOLD, TOKENIZER,
};
use crate::threshold::LabelThresholds;
use crate::{Error, Result, RunConfig};

/// Rows of probabilities must sum to 1 within this.
const ROW_SUM_TOLERANCE: f64 = 1e-3;

/// An [`Error::Run`] for `dir`.
fn run_error(dir: &Path, reason: impl Into<String>) -> Error {
    Error::Run {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

/// `dir/name` when it exists and is a regular file (or a link to one); `None` when it does not
/// exist; an error naming it when it is anything else (a directory, FIFO, socket, device or a
/// dangling link).
pub fn regular_file(dir: &Path, name: &str) -> Result<Option<PathBuf>> {
    let path = dir.join(name);
    // `symlink_metadata` sees a dangling link, which `metadata` reports as absent.
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
        Ok(_) => {}
    }
    let kind = match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => return Ok(Some(path)),
        Ok(meta) => file_kind(&meta.file_type()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "a dangling symbolic link",
        Err(e) => return Err(Error::io(&path, e)),
    };
    Err(run_error(
        dir,
        format!("{name} is {kind}, not a regular file"),
    ))
}

/// What a file that is not a regular file is, for messages.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Checks that the files a run needs (`config.json`, `tokenizer.json`, `model.safetensors`)
/// are regular files, and the optional ones (`threshold.json`, `test_predictions.json`) too
/// when present. Reads nothing.
pub fn check_files(dir: &Path) -> Result<()> {
    for name in [CONFIG, TOKENIZER, MODEL] {
        if regular_file(dir, name)?.is_none() {
            return Err(run_error(dir, format!("{name} is missing")));
        }
    }
    for name in [THRESHOLD, TEST_PREDICTIONS] {
        regular_file(dir, name)?;
    }
    Ok(())
}

/// Cross-checks a run's pieces before its weights are loaded (see the module docs), with the
/// machine's available memory ([`textrnn_models::available_memory`]).
pub fn check_run(dir: &Path, config: &RunConfig, tokenizer: &KerasTokenizer) -> Result<()> {
    check_run_with_memory(dir, config, tokenizer, textrnn_models::available_memory())
}

/// [`check_run`] against `available` bytes of memory (`None`: not checked).
pub fn check_run_with_memory(
    dir: &Path,
    config: &RunConfig,
    tokenizer: &KerasTokenizer,
    available: Option<u64>,
) -> Result<()> {
    checked_threshold(dir, config, tokenizer, available).map(|_| ())
}

/// [`check_run`] (with the machine's available memory), returning the `threshold.json` it read
/// and checked, so that [`Run::open`](crate::Run::open) reads that file once.
pub(crate) fn check_run_reading_threshold(
    dir: &Path,
    config: &RunConfig,
    tokenizer: &KerasTokenizer,
) -> Result<Option<SavedThreshold>> {
    checked_threshold(dir, config, tokenizer, textrnn_models::available_memory())
}

/// The checks of [`check_run_with_memory`]; `threshold.json` (when present) as read, in the
/// layout of the run's kind (per-label for a multi-label run, else one threshold).
fn checked_threshold(
    dir: &Path,
    config: &RunConfig,
    tokenizer: &KerasTokenizer,
    available: Option<u64>,
) -> Result<Option<SavedThreshold>> {
    check_files(dir)?;
    let spec = &config.recipe().model;
    let maxlen = config.maxlen();

    // The configured sizes, counted without overflow or refused (an absurd maxlen or size).
    let config_error = |e: textrnn_models::Error| run_error(dir, format!("{CONFIG}: {e}"));
    let estimate = spec.memory_estimate(maxlen, 1).map_err(config_error)?;

    // The weights file declares exactly the configured parameters and holds all their data,
    // so an edited input_dim or layer size is named as such, before the memory comparison.
    spec.check_weights(maxlen, &dir.join(MODEL))
        .map_err(|e| run_error(dir, format!("{MODEL} does not match {CONFIG}: {e}")))?;

    // One example must fit in memory (an edited maxlen that parameters do not reveal).
    let what = format!("predicting with maxlen {maxlen} ({CONFIG})");
    if let Some(warning) =
        textrnn_models::check_memory(estimate.inference_bytes(), available, &what)
            .map_err(config_error)?
    {
        tracing::warn!("{warning}");
    }

    // `classes` names every output of the (now verified) output layer.
    let n_classes = spec.output()?.n_classes();
    let classes = config.classes();
    if classes.len() != n_classes {
        return Err(run_error(
            dir,
            format!(
                "{CONFIG} lists {} classes [{}] but the output layer of {MODEL} predicts {n_classes}",
                classes.len(),
                classes.join(", ")
            ),
        ));
    }

    check_tokenizer(dir, config, tokenizer)?;

    let Some(path) = regular_file(dir, THRESHOLD)? else {
        return Ok(None);
    };
    Ok(Some(if config.multi_label() {
        SavedThreshold::Labels(read_label_thresholds(&path, classes)?)
    } else {
        SavedThreshold::Binary(read_threshold(&path)?)
    }))
}

/// The tokenizer produces exactly the ids the embedding was trained for: `vocab_size` equal to
/// its `input_dim` (more would index past the table, fewer means another corpus), with the
/// recipe's tokenizer settings.
fn check_tokenizer(dir: &Path, config: &RunConfig, tokenizer: &KerasTokenizer) -> Result<()> {
    let Some(LayerSpec::Embedding(embedding)) = config.recipe().model.layers.first() else {
        return Err(run_error(
            dir,
            format!("{CONFIG}: the model has no embedding"),
        ));
    };
    let input_dim = embedding.input_dim.unwrap_or_default();
    let vocab = tokenizer.vocab_size();
    if vocab > input_dim {
        return Err(run_error(
            dir,
            format!(
                "{TOKENIZER} is not this run's: it produces token ids up to {} but the embedding of {MODEL} has {input_dim} rows (input_dim in {CONFIG})",
                vocab - 1
            ),
        ));
    }
    if vocab < input_dim {
        return Err(run_error(
            dir,
            format!(
                "{TOKENIZER} is not this run's: its vocabulary has {vocab} ids but the run was trained with {input_dim} (input_dim in {CONFIG})"
            ),
        ));
    }
    if *tokenizer.config() != config.recipe().text.tokenizer_config() {
        return Err(run_error(
            dir,
            format!(
                "{TOKENIZER} is not this run's: its settings (num_words, oov_token, lower, filters) differ from the text section of {CONFIG}"
            ),
        ));
    }
    Ok(())
}

/// Reads `threshold.json` and checks it: a regular file, valid JSON, the threshold and every
/// other number in it finite and in [0, 1]. Errors name the file and the field.
pub fn read_threshold(path: &Path) -> Result<ThresholdChoice> {
    let (dir, name) = split(path);
    if regular_file(&dir, &name)?.is_none() {
        return Err(run_error(&dir, format!("{name} is missing")));
    }
    let choice: ThresholdChoice = read_json(path)?;
    check_choice(&dir, &name, "", &choice)?;
    Ok(choice)
}

/// Reads a multi-label run's `threshold.json` (one threshold per label, see
/// [`LabelThresholds`]) and checks it: one entry per class of the run, in order and named as
/// the run names them, every number in [0, 1]. Errors name the file and the label.
pub fn read_label_thresholds(path: &Path, classes: &[String]) -> Result<LabelThresholds> {
    let (dir, name) = split(path);
    if regular_file(&dir, &name)?.is_none() {
        return Err(run_error(&dir, format!("{name} is missing")));
    }
    let thresholds: LabelThresholds = read_json(path)?;
    let names: Vec<&str> = thresholds.labels.iter().map(|l| l.label.as_str()).collect();
    if names != classes.iter().map(String::as_str).collect::<Vec<_>>() {
        return Err(run_error(
            &dir,
            format!(
                "{name}: the labels [{}] are not the run's [{}] (a threshold per label, in order)",
                names.join(", "),
                classes.join(", ")
            ),
        ));
    }
    for l in &thresholds.labels {
        check_choice(&dir, &name, &format!("label `{}`: ", l.label), &l.choice)?;
    }
    Ok(thresholds)
}

/// Every number of a threshold choice finite and in [0, 1]; `prefix` names the label.
fn check_choice(dir: &Path, name: &str, prefix: &str, choice: &ThresholdChoice) -> Result<()> {
    let bound = match choice.objective {
        Objective::MaxF1 => None,
        Objective::MinPrecision(b) | Objective::MinRecall(b) => Some(b),
    };
    for (field, value) in [
        ("threshold", Some(choice.threshold)),
        ("precision", Some(choice.precision)),
        ("recall", Some(choice.recall)),
        ("f1", Some(choice.f1)),
        ("accuracy", Some(choice.accuracy)),
        ("objective.value", bound),
    ] {
        if let Some(v) = value {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(run_error(
                    dir,
                    format!("{name}: {prefix}{field} {v} is not a probability in [0, 1]"),
                ));
            }
        }
    }
    Ok(())
}

/// Reads `test_predictions.json` and checks it against the run: `n_classes` and the class
/// names are the run's, there are `labels × n_classes` probabilities, each finite and in
/// [0, 1], each row summing to 1 (within 1e-3), every label a class index. Errors name the file.
pub fn read_test_predictions(
    path: &Path,
    class_names: &[String],
    n_classes: usize,
) -> Result<Predictions> {
    let (dir, name) = split(path);
    if regular_file(&dir, &name)?.is_none() {
        return Err(run_error(&dir, format!("{name} is missing")));
    }
    let preds: Predictions = read_json(path)?;
    let fail = |reason: String| Err(run_error(&dir, format!("{name}: {reason}")));
    if preds.n_classes != n_classes {
        return fail(format!(
            "n_classes is {} but the model predicts {n_classes}",
            preds.n_classes
        ));
    }
    if preds.class_names != class_names {
        return fail(format!(
            "class names [{}] are not the run's [{}]",
            preds.class_names.join(", "),
            class_names.join(", ")
        ));
    }
    let rows = preds.labels.len();
    if rows.checked_mul(n_classes) != Some(preds.probs.len()) {
        return fail(format!(
            "{} probabilities for {rows} labels of {n_classes} classes (expected {rows} x {n_classes})",
            preds.probs.len()
        ));
    }
    for (row, (probs, label)) in preds
        .probs
        .chunks(n_classes.max(1))
        .zip(&preds.labels)
        .enumerate()
    {
        if let Some((col, p)) = probs
            .iter()
            .enumerate()
            .find(|(_, p)| !(p.is_finite() && (0.0..=1.0).contains(*p)))
        {
            return fail(format!(
                "row {}, class {col}: probability {p} is not in [0, 1]",
                row + 1
            ));
        }
        let sum: f64 = probs.iter().map(|p| f64::from(*p)).sum();
        // Multi-label probabilities are independent per label: no row sum.
        if !preds.multi_label && (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
            return fail(format!(
                "row {}: probabilities sum to {sum}, not 1",
                row + 1
            ));
        }
        if *label as usize >= n_classes {
            return fail(format!(
                "row {}: label {label} is not a class index (0..{n_classes})",
                row + 1
            ));
        }
    }
    Ok(preds)
}

/// Checks that every loaded weight of `model` is finite; an error names
/// `model.safetensors` of `dir`, the tensor and the count of NaN or infinite values.
pub fn check_weights_finite(dir: &Path, model: &TextClassifier) -> Result<()> {
    // Every parameter, frozen ones (`trainable = false`) included.
    for (name, tensor) in model.parameters() {
        let values = tensor.flatten_all()?.to_vec1::<f32>()?;
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Err(run_error(
                dir,
                format!(
                    "{MODEL}: tensor `{}` has {bad} NaN or infinite values of {}; the weights are broken (train the run again)",
                    name,
                    values.len()
                ),
            ));
        }
    }
    Ok(())
}

/// The directory and file name of `path`, for messages.
fn split(path: &Path) -> (PathBuf, String) {
    (
        path.parent().map(Path::to_path_buf).unwrap_or_default(),
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn regular_files_are_told_from_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert_eq!(regular_file(dir, "absent.json").unwrap(), None);
        std::fs::write(dir.join("file.json"), "{}").unwrap();
        assert_eq!(
            regular_file(dir, "file.json").unwrap(),
            Some(dir.join("file.json"))
        );
        std::fs::create_dir(dir.join("sub")).unwrap();
        let err = regular_file(dir, "sub").unwrap_err().to_string();
        assert!(
            err.ends_with("sub is a directory, not a regular file"),
            "{err}"
        );
        #[cfg(unix)]
        {
            // A link to a regular file is that file; a dangling link or one to a device is not.
            std::os::unix::fs::symlink(dir.join("file.json"), dir.join("link.json")).unwrap();
            assert!(regular_file(dir, "link.json").unwrap().is_some());
            std::os::unix::fs::symlink(dir.join("gone"), dir.join("dangling.json")).unwrap();
            let err = regular_file(dir, "dangling.json").unwrap_err().to_string();
            assert!(
                err.ends_with("dangling.json is a dangling symbolic link, not a regular file"),
                "{err}"
            );
            std::os::unix::fs::symlink("/dev/zero", dir.join("zero.json")).unwrap();
            let err = regular_file(dir, "zero.json").unwrap_err().to_string();
            assert!(
                err.ends_with("zero.json is a device, not a regular file"),
                "{err}"
            );
        }
        // The required files are named when missing.
        let err = check_files(dir).unwrap_err().to_string();
        assert!(err.ends_with("config.json is missing"), "{err}");
    }
}

//! `textrnn export`: a trained run for use outside textrnn.
//!
//! Format `onnx` writes three files into one directory (default `RUN_DIR/export/`), each
//! atomically ([`textrnn_fs::write`]):
//! - `model.onnx` (or `--out FILE`): the model, token ids in, probabilities out
//!   ([`textrnn_models::onnx`]: input `input_ids` int64 `(batch, maxlen)`, output
//!   `probabilities` float32 `(batch, C)`, the numbers of [`Run::predict`]; a binary run has
//!   `C = 2`, `[1 − p, p]`), with the class names, `maxlen`, padding and decision threshold in its
//!   `metadata_props`;
//! - `tokenizer.json`: cleaning, tokenizer and padding for Hugging Face `tokenizers`
//!   ([`textrnn_text::KerasTokenizer::export_hf`]); with the README's snippet it gives the ids
//!   the model expects;
//! - `cleaning.json`: the cleaning steps as data, including those `tokenizers` cannot express
//!   ([`ExportSummary::unexpressed`]), which another implementation must apply itself.
//!
//! Everything is computed and every path checked before the first file is written: an unknown
//! format, an `--out` in a missing directory, or an export directory that is the run directory
//! itself (its `tokenizer.json` would be overwritten) is an error and nothing is written.
//!
//! ```no_run
//! use textrnn::{export, ExportOptions, Run};
//! let run = Run::open(std::path::Path::new("runs/imdb-bigru"))?;
//! let summary = export(&run, &ExportOptions::default())?;
//! println!("wrote {}", summary.model.display());
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::str::FromStr;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use serde::Serialize;
use textrnn_models::onnx::{self, OnnxOptions, PaddingSide};
use textrnn_models::TextClassifier;
use textrnn_text::{EncodingSpec, Padding};

use crate::run::{MODEL, TOKENIZER};
use crate::{Error, Result, Run};

/// File names written beside the model.
const CLEANING: &str = "cleaning.json";
/// The default export directory inside the run, and the default model file name.
const EXPORT_DIR: &str = "export";
const MODEL_FILE: &str = "model.onnx";

/// What `export` can write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// ONNX (opset [`onnx::OPSET`]) with a `tokenizer.json` and `cleaning.json` beside it.
    #[default]
    Onnx,
}

impl FromStr for ExportFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "onnx" => Ok(ExportFormat::Onnx),
            other => Err(Error::invalid(
                "--format",
                format!("unknown export format `{other}`; supported: onnx"),
            )),
        }
    }
}

/// Options of [`export`].
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// The format.
    pub format: ExportFormat,
    /// The model file; default `RUN_DIR/export/model.onnx`. The tokenizer and cleaning files go
    /// into the same directory, which must exist.
    pub out: Option<PathBuf>,
}

/// What [`export`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    /// The format written.
    pub format: ExportFormat,
    /// The model file.
    pub model: PathBuf,
    /// Its size in bytes.
    pub model_bytes: usize,
    /// The ONNX opset of the default domain.
    pub opset: i64,
    /// The graph input: name, element type and shape (`batch` is dynamic).
    pub input: String,
    /// The graph output: name, element type and shape.
    pub output: String,
    /// Class names, one per output column.
    pub classes: Vec<String>,
    /// The `tokenizer.json` for Hugging Face `tokenizers`.
    pub tokenizer: PathBuf,
    /// The cleaning steps as data.
    pub cleaning: PathBuf,
    /// Cleaning steps `tokenizer.json` cannot express (it skips them; `cleaning.json` defines
    /// them): texts they change get other ids from the file than from textrnn unless the caller
    /// applies them first.
    pub unexpressed: Vec<String>,
}

/// Exports the run `run` as `opts` says (see the module docs).
pub fn export(run: &Run, opts: &ExportOptions) -> Result<ExportSummary> {
    let ExportFormat::Onnx = opts.format;
    let model_path = output_path(run, opts.out.as_deref())?;
    let dir = model_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let tokenizer_path = dir.join(TOKENIZER);
    let cleaning_path = dir.join(CLEANING);

    let config = run.config();
    let recipe = config.recipe();
    let maxlen = config.maxlen();
    let device = Device::Cpu;
    // The weights by name, from the run's own file (Run holds the built layers only).
    let (_, vars) = TextClassifier::load(&recipe.model, maxlen, run.dir().join(MODEL), &device)?;
    let vb = VarBuilder::from_varmap(&vars, DType::F32, &device);
    let classes = run.class_names().to_vec();
    let threshold = run.decision_threshold(None)?;
    let mut metadata = vec![
        ("classes".to_string(), json(&classes)?),
        ("maxlen".to_string(), maxlen.to_string()),
        ("padding".to_string(), name(&recipe.text.padding)?),
        ("truncating".to_string(), name(&recipe.text.truncating)?),
        ("recipe".to_string(), recipe.name.clone()),
    ];
    if let Some(t) = threshold {
        metadata.push(("threshold".to_string(), t.value.to_string()));
    }
    // A calibrated run's probabilities are activation(logits / T), in the graph too.
    let temperature = run.calibration().map(|c| c.temperature);
    if let Some(t) = temperature {
        metadata.push(("calibration_temperature".to_string(), t.to_string()));
    }
    let onnx_opts = OnnxOptions {
        padding: match recipe.text.padding {
            Padding::Pre => PaddingSide::Pre,
            Padding::Post => PaddingSide::Post,
        },
        doc: format!(
            "textrnn run {} (recipe {}): token ids `{}` int64 (batch, {maxlen}), as the \
             tokenizer.json beside this file gives them, to class probabilities `{}` float32 \
             (batch, {}) in the order of the `classes` metadata",
            run.dir().display(),
            recipe.name,
            onnx::INPUT,
            onnx::OUTPUT,
            classes.len()
        ),
        metadata,
        temperature,
    };
    let bytes = onnx::export(&recipe.model, maxlen, &vb, &onnx_opts)?;
    let hf = run.tokenizer().export_hf(
        &recipe.text.pipeline()?,
        &EncodingSpec {
            maxlen,
            padding: recipe.text.padding,
            truncating: recipe.text.truncating,
        },
    )?;

    textrnn_fs::write(&model_path, &bytes)?;
    textrnn_fs::write(&tokenizer_path, hf.tokenizer_json.as_bytes())?;
    textrnn_fs::write(&cleaning_path, hf.cleaning_json.as_bytes())?;
    tracing::info!(model = %model_path.display(), bytes = bytes.len(), "exported ONNX model");
    Ok(ExportSummary {
        format: opts.format,
        model: model_path,
        model_bytes: bytes.len(),
        opset: onnx::OPSET,
        input: format!("{} int64 [batch, {maxlen}]", onnx::INPUT),
        output: format!("{} float32 [batch, {}]", onnx::OUTPUT, classes.len()),
        classes,
        tokenizer: tokenizer_path,
        cleaning: cleaning_path,
        unexpressed: hf
            .unexpressed
            .iter()
            .map(|s| s.name().to_string())
            .collect(),
    })
}

/// The model file: `out`, checked, or `RUN_DIR/export/model.onnx` (its directory created).
fn output_path(run: &Run, out: Option<&Path>) -> Result<PathBuf> {
    let Some(out) = out else {
        let dir = run.dir().join(EXPORT_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        return Ok(dir.join(MODEL_FILE));
    };
    if out.is_dir() {
        return Err(Error::invalid(
            "--out",
            format!(
                "{} is a directory; give the model's file name, e.g. {}",
                out.display(),
                out.join(MODEL_FILE).display()
            ),
        ));
    }
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.is_empty() {
        return Err(Error::invalid(
            "--out",
            format!("{} has no file name", out.display()),
        ));
    }
    if name == TOKENIZER || name == CLEANING {
        return Err(Error::invalid(
            "--out",
            format!("{name} is the name of a file export writes beside the model; name the model e.g. {MODEL_FILE}"),
        ));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Error::invalid(
            "--out",
            format!(
                "the directory {} does not exist (create it first)",
                parent.display()
            ),
        ));
    }
    let same_dir = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_dir(&parent, run.dir()) {
        return Err(Error::invalid(
            "--out",
            format!(
                "{} is the run directory, whose {TOKENIZER} export would overwrite; write into another directory (default {})",
                parent.display(),
                run.dir().join(EXPORT_DIR).display()
            ),
        ));
    }
    Ok(out.to_path_buf())
}

/// `value` as compact JSON (metadata values).
fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::invalid("metadata", e.to_string()))
}

/// A unit enum's serde name (`"pre"`), unquoted.
fn name<T: Serialize>(value: &T) -> Result<String> {
    Ok(json(value)?.trim_matches('"').to_string())
}

//! Helpers shared by the root package's interop tests (`onnx_parity`, `tokenizer_parity`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python of the interop tests (`TEXTRNN_BENCH_PYTHON`, default `python3`) when it imports
/// `modules` (`"onnxruntime, numpy"`), else why the test is skipped.
pub fn python_with(modules: &str) -> Result<String, String> {
    let python = std::env::var("TEXTRNN_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .map_err(|e| format!("cannot run {python}: {e} (set TEXTRNN_BENCH_PYTHON)"))?;
    if out.status.success() {
        Ok(python)
    } else {
        Err(format!(
            "{python} cannot import {modules} (set TEXTRNN_BENCH_PYTHON): {}",
            // The exception, not the whole traceback.
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
        ))
    }
}

/// `../shared/datasets` beside the checkout (it may be absent).
pub fn shared_datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets")
}

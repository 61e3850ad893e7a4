//! Helpers shared by the binary's end-to-end tests: run `textrnn`, check its exit status.
#![allow(dead_code)] // each test file uses its own subset

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs the binary with `args` (logs at `warn`), feeding `stdin` when given.
pub fn textrnn(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("textrnn starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("textrnn finishes")
}

/// Runs the binary in `cwd` with extra environment variables (logs at `info`, no
/// `TEXTRNN_DATA_DIR` from the caller's environment).
pub fn textrnn_in(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_textrnn"));
    cmd.args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "info")
        .env_remove("TEXTRNN_DATA_DIR")
        .env_remove("TEXTRNN_SUBNORMALS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("textrnn runs")
}

/// The standard output of a successful run (fails the test with stderr otherwise).
pub fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The standard error of a failed run (fails the test on success or on a panic).
pub fn err(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !stderr.contains("panicked"),
        "panic instead of an error: {stderr}"
    );
    stderr
}

/// A path as `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Writes a Parquet file of string columns (`rows` in column order).
pub fn write_parquet(path: &Path, columns: &[&str], rows: &[Vec<&str>]) {
    let columns: Vec<textrnn::data::table_writer::Column> = columns
        .iter()
        .map(|c| textrnn::data::table_writer::Column::str(*c))
        .collect();
    textrnn::data::table_writer::write_table::<_, textrnn::data::Error>(path, &columns, |w| {
        rows.iter().try_for_each(|r| {
            let cells: Vec<textrnn::data::table_writer::Cell> = r
                .iter()
                .map(|v| textrnn::data::table_writer::Cell::Str(v))
                .collect();
            w.write_row(&cells)
        })
    })
    .expect("parquet input");
}

//! `cargo xtask experiments`: every tutorial recipe end to end, and a results table beside the
//! tutorials' published numbers.
//!
//! Continues past a failed recipe, marks it failed in the table and exits non-zero at the end.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use textrnn::{DataOptions, Limits, Recipe, TrainOptions, BUILTIN_RECIPES};

/// Options of `cargo xtask experiments`.
pub struct Options {
    pub only: Vec<String>,
    pub quick: bool,
    pub data_dir: Option<PathBuf>,
    pub out: PathBuf,
    pub seed: Option<u64>,
    pub epochs: Option<usize>,
}

/// One row of the results table.
#[derive(Debug, Serialize)]
struct Row {
    recipe: String,
    status: String,
    train_size: usize,
    validation_size: usize,
    test_size: usize,
    parameters: usize,
    epochs_run: usize,
    train_seconds: f64,
    samples_per_second: f64,
    test_accuracy: Option<f64>,
    test_auc: Option<f64>,
    published_accuracy: Option<f64>,
    difference: Option<f64>,
    error: Option<String>,
}

const QUICK_TRAIN: usize = 2000;
const QUICK_TEST: usize = 1000;

pub fn run(opts: Options) -> Result<()> {
    let names: Vec<&str> = BUILTIN_RECIPES.iter().map(|(n, _)| *n).collect();
    for o in &opts.only {
        if !names.contains(&o.as_str()) {
            bail!("unknown recipe {o:?}; known: {}", names.join(", "));
        }
    }
    let data_dir = opts.data_dir.clone().or_else(|| {
        let shared = Path::new("../shared/datasets");
        shared.is_dir().then(|| shared.to_path_buf())
    });
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;
    let mut rows = Vec::new();
    let started = Instant::now();
    for name in names
        .iter()
        .filter(|n| opts.only.is_empty() || opts.only.iter().any(|o| o == *n))
    {
        tracing::info!(recipe = name, "experiment");
        let row = run_one(name, &opts, data_dir.as_deref());
        if let Some(err) = &row.error {
            tracing::error!(recipe = name, "failed: {err}");
        }
        rows.push(row);
        write_results(
            &opts,
            &rows,
            data_dir.as_deref(),
            started.elapsed().as_secs_f64(),
        )?;
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.recipe.as_str())
        .collect();
    println!(
        "{}",
        std::fs::read_to_string(opts.out.join("results.md")).unwrap_or_default()
    );
    if !failed.is_empty() {
        bail!("{} recipe(s) failed: {}", failed.len(), failed.join(", "));
    }
    Ok(())
}

fn run_one(name: &str, opts: &Options, data_dir: Option<&Path>) -> Row {
    let mut row = Row {
        recipe: name.to_string(),
        status: "failed".into(),
        train_size: 0,
        validation_size: 0,
        test_size: 0,
        parameters: 0,
        epochs_run: 0,
        train_seconds: 0.0,
        samples_per_second: 0.0,
        test_accuracy: None,
        test_auc: None,
        published_accuracy: None,
        difference: None,
        error: None,
    };
    let result = (|| -> Result<()> {
        let mut recipe = Recipe::builtin(name)?;
        row.published_accuracy = recipe.published.as_ref().and_then(|p| p.accuracy);
        if let Some(seed) = opts.seed {
            recipe.seed = seed;
        }
        if let Some(epochs) = opts.epochs {
            recipe.train.epochs = epochs;
        }
        if opts.quick {
            recipe.train.epochs = 1;
        }
        let dir = opts.out.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        let train_opts = TrainOptions {
            data: DataOptions {
                data_dir: data_dir.map(Path::to_path_buf),
                progress: true,
            },
            out: Some(dir),
            limits: Limits {
                limit_train: opts.quick.then_some(QUICK_TRAIN),
                limit_test: opts.quick.then_some(QUICK_TEST),
            },
            ..TrainOptions::default()
        };
        let outcome = textrnn::train_run(&recipe, &train_opts)?;
        row.train_size = outcome.sizes.0;
        row.validation_size = outcome.sizes.1;
        row.test_size = outcome.sizes.2;
        row.parameters = outcome.parameters;
        row.epochs_run = outcome.epochs_run;
        row.train_seconds = outcome.train_seconds;
        row.samples_per_second =
            (outcome.sizes.0 * outcome.epochs_run) as f64 / outcome.train_seconds.max(1e-9);
        if let Some(t) = &outcome.test {
            row.test_accuracy = Some(t.accuracy);
            row.test_auc = t.auc;
            row.difference = row.published_accuracy.map(|p| t.accuracy - p);
        }
        row.status = "ok".into();
        Ok(())
    })();
    if let Err(e) = result {
        row.error = Some(format!("{e:#}"));
    }
    row
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{:.2}%", 100.0 * x))
}

fn write_results(
    opts: &Options,
    rows: &[Row],
    data_dir: Option<&Path>,
    seconds: f64,
) -> Result<()> {
    let mut md = String::new();
    let _ = writeln!(md, "# textrnn experiment results\n");
    let _ = writeln!(
        md,
        "Mode: {}. Data: {}. Machine: {} CPU threads. Total wall time {:.0} s.\n",
        if opts.quick {
            "quick (1 epoch, at most 2,000 train / 1,000 test examples)"
        } else {
            "full"
        },
        data_dir.map_or_else(
            || "cache / TEXTRNN_DATA_DIR / download".to_string(),
            |d| d.display().to_string()
        ),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        seconds
    );
    let _ = writeln!(
        md,
        "| recipe | status | train / val / test | params | epochs | train s | samples/s | test acc | test AUC | published | diff |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} / {} / {} | {} | {} | {:.1} | {:.0} | {} | {} | {} | {} |",
            r.recipe,
            r.status,
            r.train_size,
            r.validation_size,
            r.test_size,
            r.parameters,
            r.epochs_run,
            r.train_seconds,
            r.samples_per_second,
            pct(r.test_accuracy),
            r.test_auc.map_or_else(|| "-".into(), |a| format!("{a:.4}")),
            pct(r.published_accuracy),
            r.difference
                .map_or_else(|| "-".into(), |d| format!("{:+.2} pts", 100.0 * d)),
        );
    }
    for r in rows.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(
            md,
            "\n**{}** failed: {}",
            r.recipe,
            r.error.as_deref().unwrap_or("")
        );
    }
    textrnn::fs::write(&opts.out.join("results.md"), md.as_bytes())?;
    textrnn::fs::write(
        &opts.out.join("results.json"),
        serde_json::to_string_pretty(rows)?.as_bytes(),
    )?;
    Ok(())
}

//! `cargo xtask experiments`: every tutorial recipe end to end, and a results table beside the
//! tutorials' published numbers.
//!
//! Continues past a failed recipe, marks it failed in the table and exits non-zero at the end.
//!
//! `--seeds N` trains each recipe N times (seeds S, S+1, ..., S = `--seed` or 1; run
//! directories `OUT/<recipe>/seed-<s>`) and adds a table of the test accuracy and AUC across
//! seeds: mean, sample standard deviation (n - 1 in the denominator; 0 for one run), min and max
//! over the runs that finished.

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
    pub seeds: Option<u64>,
    pub epochs: Option<usize>,
}

/// Test metrics of one recipe across seeds (the runs that finished).
#[derive(Debug, Serialize)]
struct SeedSummary {
    recipe: String,
    runs: usize,
    failed: usize,
    accuracy: Option<Spread>,
    auc: Option<Spread>,
}

/// Mean, sample standard deviation, min and max of some values.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
struct Spread {
    mean: f64,
    std: f64,
    min: f64,
    max: f64,
}

impl Spread {
    /// `None` for no values; the standard deviation has n - 1 in the denominator (0 for one).
    fn of(values: &[f64]) -> Option<Spread> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Spread {
            mean,
            std: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// One row of the results table.
#[derive(Debug, Serialize)]
struct Row {
    recipe: String,
    /// The seed the recipe ran with (its own unless --seed/--seeds).
    seed: u64,
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
    // `None`: each recipe once with its own seed (or --seed).
    let seeds: Option<Vec<u64>> = opts.seeds.map(|n| {
        let first = opts.seed.unwrap_or(1);
        (0..n).map(|i| first.saturating_add(i)).collect()
    });
    for name in names
        .iter()
        .filter(|n| opts.only.is_empty() || opts.only.iter().any(|o| o == *n))
    {
        let runs: Vec<Option<u64>> = match &seeds {
            Some(s) => s.iter().copied().map(Some).collect(),
            None => vec![opts.seed],
        };
        for seed in runs {
            tracing::info!(recipe = name, seed, "experiment");
            let dir = match seed.filter(|_| seeds.is_some()) {
                Some(s) => opts.out.join(name).join(format!("seed-{s}")),
                None => opts.out.join(name),
            };
            let row = run_one(name, seed, &dir, &opts, data_dir.as_deref());
            if let Some(err) = &row.error {
                tracing::error!(recipe = name, seed, "failed: {err}");
            }
            rows.push(row);
            write_results(
                &opts,
                &rows,
                data_dir.as_deref(),
                started.elapsed().as_secs_f64(),
            )?;
        }
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

fn run_one(
    name: &str,
    seed: Option<u64>,
    dir: &Path,
    opts: &Options,
    data_dir: Option<&Path>,
) -> Row {
    let mut row = Row {
        recipe: name.to_string(),
        seed: seed.unwrap_or_default(),
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
        if let Some(seed) = seed {
            recipe.seed = seed;
        }
        row.seed = recipe.seed;
        if let Some(epochs) = opts.epochs {
            recipe.train.epochs = epochs;
        }
        if opts.quick {
            recipe.train.epochs = 1;
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        let train_opts = TrainOptions {
            data: DataOptions {
                data_dir: data_dir.map(Path::to_path_buf),
                progress: true,
            },
            out: Some(dir.to_path_buf()),
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
        "| recipe | seed | status | train / val / test | params | epochs | train s | samples/s | test acc | test AUC | published | diff |"
    );
    let _ = writeln!(
        md,
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} / {} / {} | {} | {} | {:.1} | {:.0} | {} | {} | {} | {} |",
            r.recipe,
            r.seed,
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
    let summaries = opts.seeds.map(|_| summarise(rows));
    if let Some(summaries) = &summaries {
        let _ = writeln!(
            md,
            "\nAcross seeds (mean ± sample standard deviation [min, max] of the runs that finished):\n"
        );
        let _ = writeln!(md, "| recipe | runs | failed | test acc | test AUC |");
        let _ = writeln!(md, "|---|---:|---:|---|---|");
        for s in summaries {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                s.recipe,
                s.runs,
                s.failed,
                spread_pct(s.accuracy),
                s.auc.map_or_else(
                    || "-".into(),
                    |a| format!("{:.4} ± {:.4} [{:.4}, {:.4}]", a.mean, a.std, a.min, a.max)
                ),
            );
        }
    }
    for r in rows.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(
            md,
            "\n**{}** (seed {}) failed: {}",
            r.recipe,
            r.seed,
            r.error.as_deref().unwrap_or("")
        );
    }
    textrnn::fs::write(&opts.out.join("results.md"), md.as_bytes())?;
    let json = serde_json::json!({ "runs": rows, "across_seeds": summaries });
    textrnn::fs::write(
        &opts.out.join("results.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    Ok(())
}

fn spread_pct(s: Option<Spread>) -> String {
    s.map_or_else(
        || "-".into(),
        |a| {
            format!(
                "{:.2}% ± {:.2} [{:.2}%, {:.2}%]",
                100.0 * a.mean,
                100.0 * a.std,
                100.0 * a.min,
                100.0 * a.max
            )
        },
    )
}

/// One summary per recipe, in the order the recipes ran.
fn summarise(rows: &[Row]) -> Vec<SeedSummary> {
    let mut out: Vec<SeedSummary> = Vec::new();
    for recipe in rows.iter().map(|r| r.recipe.as_str()) {
        if out.iter().any(|s| s.recipe == recipe) {
            continue;
        }
        let mine: Vec<&Row> = rows.iter().filter(|r| r.recipe == recipe).collect();
        let values = |f: fn(&Row) -> Option<f64>| -> Vec<f64> {
            mine.iter()
                .filter(|r| r.error.is_none())
                .filter_map(|r| f(r))
                .collect()
        };
        out.push(SeedSummary {
            recipe: recipe.to_string(),
            runs: mine.len(),
            failed: mine.iter().filter(|r| r.error.is_some()).count(),
            accuracy: Spread::of(&values(|r| r.test_accuracy)),
            auc: Spread::of(&values(|r| r.test_auc)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Spread;

    #[test]
    fn spread_of_known_values() {
        // mean 0.8; deviations -0.02, 0, 0.02; sample variance (0.0004 + 0 + 0.0004) / 2 = 0.0004.
        let Some(s) = Spread::of(&[0.78, 0.80, 0.82]) else {
            panic!("three values have a spread");
        };
        assert!((s.mean - 0.8).abs() < 1e-12);
        assert!((s.std - 0.02).abs() < 1e-12);
        assert_eq!((s.min, s.max), (0.78, 0.82));
        assert_eq!(
            Spread::of(&[0.5]),
            Some(Spread {
                mean: 0.5,
                std: 0.0,
                min: 0.5,
                max: 0.5
            })
        );
        assert_eq!(Spread::of(&[]), None);
    }
}

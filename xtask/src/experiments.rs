//! `cargo xtask experiments`: every tutorial recipe end to end, and a results table beside the
//! tutorials' published numbers.
//!
//! Continues past a failed recipe, marks it failed in the table and exits non-zero at the end.
//!
//! `--seeds N` trains each recipe N times (seeds S, S+1, ..., S = `--seed` or 1; run
//! directories `OUT/<recipe>/seed-<s>`) and adds a table of the test accuracy and AUC across
//! seeds: mean, sample standard deviation (n - 1 in the denominator; 0 for one run), min and max
//! over the runs that finished.
//!
//! `--vs-keras` also trains the Keras twin of each recipe and seed on the very splits textrnn
//! trained on ([`textrnn::prepare_data`], written to `OUT/<recipe>/seed-<s>-keras/`) with
//! `xtask/keras_anchor.py` (run by `$TEXTRNN_BENCH_PYTHON`, as `xtask bench --vs-keras` does),
//! and puts both side by side: per seed, across seeds, and against issue #16's targets
//! (textrnn's mean test accuracy at least Keras' mean minus 0.5 point; its standard deviation
//! at most 1.5 times Keras'), with the standard error of the difference of means beside the
//! first so that a miss by seed noise reads as one. Without a Python that imports keras,
//! tensorflow and safetensors: one note before anything trains, textrnn only.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use textrnn::train::EncodedSplit;
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
    /// Also train the Keras twin on the same splits (`keras_anchor.py`).
    pub vs_keras: bool,
}

/// Issue #16's targets: textrnn's mean test accuracy may trail Keras' by at most this much...
const MEAN_TOLERANCE: f64 = 0.005;
/// ...and its standard deviation may be at most this many times Keras'.
const STD_FACTOR: f64 = 1.5;

/// Test metrics of one recipe across seeds (the runs that finished).
#[derive(Debug, Serialize)]
struct SeedSummary {
    recipe: String,
    runs: usize,
    failed: usize,
    accuracy: Option<Spread>,
    auc: Option<Spread>,
    /// Keras runs that finished (with `--vs-keras`).
    keras_runs: usize,
    keras_accuracy: Option<Spread>,
    keras_auc: Option<Spread>,
    /// textrnn against Keras on test accuracy, when both have runs.
    targets: Option<Targets>,
}

/// textrnn's test accuracy across seeds against Keras' (issue #16's two targets).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
struct Targets {
    /// textrnn's mean minus Keras' mean, in accuracy points (percent).
    mean_difference_pts: f64,
    /// `mean_difference_pts >= -0.5`.
    mean_ok: bool,
    /// The standard error of that difference (Welch: `sqrt(s1²/n1 + s2²/n2)`), in points;
    /// `None` unless both sides have two runs or more. Seed noise alone moves the difference
    /// by about this much, so a miss or a pass within two of it says little.
    standard_error_pts: Option<f64>,
    /// textrnn's standard deviation over Keras' (`None` when Keras' is 0).
    std_ratio: Option<f64>,
    /// textrnn's standard deviation at most 1.5 times Keras'.
    std_ok: bool,
}

impl Targets {
    fn of(textrnn: &Spread, keras: &Spread) -> Targets {
        Targets {
            mean_difference_pts: 100.0 * (textrnn.mean - keras.mean),
            // A hair of slack so that a difference of exactly 0.5 point passes despite rounding.
            mean_ok: textrnn.mean >= keras.mean - MEAN_TOLERANCE - 1e-12,
            standard_error_pts: (textrnn.n > 1 && keras.n > 1).then(|| {
                let var_of_mean = |s: &Spread| s.std * s.std / s.n as f64;
                100.0 * (var_of_mean(textrnn) + var_of_mean(keras)).sqrt()
            }),
            std_ratio: (keras.std > 0.0).then(|| textrnn.std / keras.std),
            std_ok: textrnn.std <= STD_FACTOR * keras.std + 1e-12,
        }
    }
}

/// What `keras_anchor.py` writes (`results.json`), as kept in a row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct KerasSide {
    test_accuracy: Option<f64>,
    test_auc: Option<f64>,
    epochs_run: usize,
    train_seconds: f64,
}

/// Mean, sample standard deviation, min and max of some values.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
struct Spread {
    /// Number of values.
    n: usize,
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
            n,
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
    /// The Keras twin's run on the same splits and seed (`--vs-keras`).
    #[serde(skip_serializing_if = "Option::is_none")]
    keras: Option<KerasSide>,
    /// Why the Keras run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    keras_error: Option<String>,
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
    let keras = opts.vs_keras
        && crate::bench::python_has(
            "keras_anchor.py",
            crate::bench::KERAS_MODULES,
            "pip install keras tensorflow-cpu safetensors, or set TEXTRNN_BENCH_PYTHON; textrnn \
             columns only",
        );
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
            let (mut row, trained_on) = run_one(name, seed, &dir, &opts, data_dir.as_deref());
            if let Some(err) = &row.error {
                tracing::error!(recipe = name, seed, "failed: {err}");
            } else if let Some(data) = trained_on.filter(|_| keras) {
                match run_keras(&keras_dir(&dir), &data) {
                    Ok(side) => row.keras = Some(side),
                    Err(e) => {
                        tracing::error!(recipe = name, seed, "Keras side failed: {e:#}");
                        row.keras_error = Some(format!("{e:#}"));
                    }
                }
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
) -> (Row, Option<textrnn::PreparedData>) {
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
        keras: None,
        keras_error: None,
    };
    let result = (|| -> Result<textrnn::PreparedData> {
        let recipe = recipe_for(name, seed, opts)?;
        row.published_accuracy = recipe.published.as_ref().and_then(|p| p.accuracy);
        row.seed = recipe.seed;
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        let train_opts = train_options(dir, opts, data_dir);
        let (outcome, data) = textrnn::train_run_with_data(&recipe, &train_opts)?;
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
        Ok(data)
    })();
    match result {
        Ok(data) => (row, Some(data)),
        Err(e) => {
            row.error = Some(format!("{e:#}"));
            (row, None)
        }
    }
}

/// The built-in recipe `name` with the experiment's seed and epochs.
fn recipe_for(name: &str, seed: Option<u64>, opts: &Options) -> Result<Recipe> {
    let mut recipe = Recipe::builtin(name)?;
    if let Some(seed) = seed {
        recipe.seed = seed;
    }
    if let Some(epochs) = opts.epochs {
        recipe.train.epochs = epochs;
    }
    if opts.quick {
        recipe.train.epochs = 1;
    }
    Ok(recipe)
}

/// Where the data is, the run directory and the `--quick` limits.
fn train_options(dir: &Path, opts: &Options, data_dir: Option<&Path>) -> TrainOptions {
    TrainOptions {
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
    }
}

/// The Keras side's directory beside a run directory: `<run>-keras`.
fn keras_dir(run_dir: &Path) -> PathBuf {
    let mut name = run_dir.file_name().unwrap_or_default().to_os_string();
    name.push("-keras");
    run_dir.with_file_name(name)
}

/// Trains the Keras twin on `data`, the splits textrnn trained on (its recipe and seed), in
/// `dir`.
fn run_keras(dir: &Path, data: &textrnn::PreparedData) -> Result<KerasSide> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    let recipe = data.config.recipe();
    tracing::info!(recipe = %recipe.name, seed = recipe.seed, dir = %dir.display(), "Keras anchor");
    keras_anchor(dir, data)
}

/// Writes `data` into `dir`, runs `keras_anchor.py` on it and reads its results.
fn keras_anchor(dir: &Path, data: &textrnn::PreparedData) -> Result<KerasSide> {
    write_anchor_inputs(dir, data)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("keras_anchor.py");
    let status = std::process::Command::new(crate::bench::python())
        .arg(&script)
        .arg(dir)
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!("{} {} failed ({status})", script.display(), dir.display());
    }
    // The splits can be rebuilt from the recipe and seed; keep only what Keras reported.
    let splits = dir.join(SPLITS_FILE);
    std::fs::remove_file(&splits).with_context(|| format!("removing {}", splits.display()))?;
    let results = dir.join("results.json");
    let text = std::fs::read_to_string(&results)
        .with_context(|| format!("reading {}", results.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", results.display()))
}

const SPLITS_FILE: &str = "splits.safetensors";

/// Writes `anchor.json` (layers, maxlen, training settings, seed) and `splits.safetensors`
/// (token ids and labels of every split, i64) for `keras_anchor.py`.
fn write_anchor_inputs(dir: &Path, data: &textrnn::PreparedData) -> Result<()> {
    let recipe = data.config.recipe();
    let train = &recipe.train;
    let anchor = serde_json::json!({
        "recipe": recipe.name,
        "seed": recipe.seed,
        "maxlen": data.maxlen(),
        "layers": data.layers(),
        "classes": data.config.classes(),
        "epochs": train.epochs,
        "batch_size": train.batch_size,
        "shuffle": train.shuffle,
        "optimizer": train.optimizer,
        "early_stopping": train.early_stopping,
    });
    textrnn::fs::write(
        &dir.join("anchor.json"),
        serde_json::to_string_pretty(&anchor)?.as_bytes(),
    )?;
    let mut tensors = HashMap::new();
    let splits = [
        ("train", Some(&data.train)),
        ("validation", data.validation.as_ref()),
        ("test", data.test.as_ref()),
    ];
    for (name, split) in splits {
        if let Some(split) = split {
            split_tensors(name, split, &mut tensors)?;
        }
    }
    textrnn::fs::write_with(&dir.join(SPLITS_FILE), |tmp| -> Result<()> {
        candle_core::safetensors::save(&tensors, tmp)
            .with_context(|| format!("writing {}", tmp.display()))
    })
}

/// `<name>.tokens` (N, T) and `<name>.labels` (N) as i64, plus `<name>.weights` (N) and
/// `<name>.targets` (N, L) as f32 when the split has them.
fn split_tensors(
    name: &str,
    split: &EncodedSplit,
    out: &mut HashMap<String, Tensor>,
) -> Result<()> {
    let n = split.len();
    let cpu = &Device::Cpu;
    let tokens: Vec<i64> = split.tokens.iter().map(|&t| i64::from(t)).collect();
    let labels: Vec<i64> = split.labels.iter().map(|&l| i64::from(l)).collect();
    out.insert(
        format!("{name}.tokens"),
        Tensor::from_vec(tokens, (n, split.seq_len), cpu)?,
    );
    out.insert(format!("{name}.labels"), Tensor::from_vec(labels, n, cpu)?);
    if let Some(w) = &split.weights {
        out.insert(
            format!("{name}.weights"),
            Tensor::from_vec(w.clone(), n, cpu)?,
        );
    }
    if let (Some(t), Some(width)) = (&split.targets, split.n_targets()) {
        out.insert(
            format!("{name}.targets"),
            Tensor::from_vec(t.clone(), (n, width), cpu)?,
        );
    }
    Ok(())
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
            auc4(r.test_auc),
            pct(r.published_accuracy),
            r.difference
                .map_or_else(|| "-".into(), |d| format!("{:+.2} pts", 100.0 * d)),
        );
    }
    if opts.vs_keras {
        md.push_str(&per_seed_keras_table(rows));
    }
    let summaries = opts.seeds.map(|_| summarise(rows));
    if let Some(summaries) = &summaries {
        md.push_str(&across_seeds_table(summaries, opts.vs_keras));
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
    for r in rows.iter().filter(|r| r.keras_error.is_some()) {
        let _ = writeln!(
            md,
            "\n**{}** (seed {}): the Keras side failed: {}",
            r.recipe,
            r.seed,
            r.keras_error.as_deref().unwrap_or("")
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

/// textrnn and Keras per seed, on the same splits.
fn per_seed_keras_table(rows: &[Row]) -> String {
    let mut md = String::from(
        "\ntextrnn and Keras (`keras_anchor.py`) on the same splits, per seed:\n\n\
         | recipe | seed | textrnn acc | Keras acc | diff | textrnn AUC | Keras AUC | epochs (textrnn / Keras) | train s (textrnn / Keras) |\n\
         |---|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    for r in rows {
        let k = r.keras.as_ref();
        let k_acc = k.and_then(|k| k.test_accuracy);
        let diff = r.test_accuracy.zip(k_acc).map(|(a, b)| a - b);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {:.1} / {} |",
            r.recipe,
            r.seed,
            pct(r.test_accuracy),
            pct(k_acc),
            diff.map_or_else(|| "-".into(), |d| format!("{:+.2} pts", 100.0 * d)),
            auc4(r.test_auc),
            auc4(k.and_then(|k| k.test_auc)),
            r.epochs_run,
            k.map_or_else(|| "-".into(), |k| k.epochs_run.to_string()),
            r.train_seconds,
            k.map_or_else(|| "-".into(), |k| format!("{:.1}", k.train_seconds)),
        );
    }
    md
}

/// The across-seeds table; with Keras, both sides and the two targets per recipe.
fn across_seeds_table(summaries: &[SeedSummary], vs_keras: bool) -> String {
    let mut md = String::from(
        "\nAcross seeds (mean ± sample standard deviation [min, max] of the runs that finished):\n\n",
    );
    if !vs_keras {
        md.push_str("| recipe | runs | failed | test acc | test AUC |\n|---|---:|---:|---|---|\n");
        for s in summaries {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                s.recipe,
                s.runs,
                s.failed,
                spread_pct(s.accuracy),
                spread_auc(s.auc),
            );
        }
        return md;
    }
    md.push_str(
        "| recipe | runs (textrnn / Keras) | textrnn test acc | Keras test acc | textrnn AUC | Keras AUC | mean ≥ Keras − 0.5 pt | std ≤ 1.5 × Keras |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for s in summaries {
        let (mean, std) = match s.targets {
            Some(t) => (
                format!(
                    "{} ({:+.2} pts{})",
                    pass_fail(t.mean_ok),
                    t.mean_difference_pts,
                    t.standard_error_pts
                        .map_or_else(String::new, |se| format!(", s.e. {se:.2}"))
                ),
                format!(
                    "{} ({})",
                    pass_fail(t.std_ok),
                    t.std_ratio
                        .map_or_else(|| "Keras std 0".into(), |r| format!("{r:.2}×"))
                ),
            ),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            md,
            "| {} | {} / {} | {} | {} | {} | {} | {} | {} |",
            s.recipe,
            s.runs - s.failed,
            s.keras_runs,
            spread_pct(s.accuracy),
            spread_pct(s.keras_accuracy),
            spread_auc(s.auc),
            spread_auc(s.keras_auc),
            mean,
            std,
        );
    }
    if summaries
        .iter()
        .any(|s| s.targets.is_some_and(|t| t.standard_error_pts.is_some()))
    {
        md.push_str(
            "\ns.e.: the standard error of textrnn's mean minus Keras' (Welch); seed noise alone \
             moves the difference by about this much, so a pass or a miss within two of it says \
             little.\n",
        );
    }
    md
}

fn pass_fail(ok: bool) -> &'static str {
    if ok {
        "pass"
    } else {
        "FAIL"
    }
}

fn auc4(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |a| format!("{a:.4}"))
}

fn spread_auc(s: Option<Spread>) -> String {
    s.map_or_else(
        || "-".into(),
        |a| format!("{:.4} ± {:.4} [{:.4}, {:.4}]", a.mean, a.std, a.min, a.max),
    )
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
        let keras = |f: fn(&KerasSide) -> Option<f64>| -> Vec<f64> {
            mine.iter()
                .filter(|r| r.error.is_none())
                .filter_map(|r| r.keras.as_ref().and_then(f))
                .collect()
        };
        let accuracy = Spread::of(&values(|r| r.test_accuracy));
        let keras_accuracy = Spread::of(&keras(|k| k.test_accuracy));
        out.push(SeedSummary {
            recipe: recipe.to_string(),
            runs: mine.len(),
            failed: mine.iter().filter(|r| r.error.is_some()).count(),
            accuracy,
            auc: Spread::of(&values(|r| r.test_auc)),
            keras_runs: mine.iter().filter(|r| r.keras.is_some()).count(),
            keras_accuracy,
            keras_auc: Spread::of(&keras(|k| k.test_auc)),
            targets: accuracy
                .zip(keras_accuracy)
                .map(|(t, k)| Targets::of(&t, &k)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
                n: 1,
                mean: 0.5,
                std: 0.0,
                min: 0.5,
                max: 0.5
            })
        );
        assert_eq!(Spread::of(&[]), None);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod keras_tests {
    use super::*;

    /// Rows of one recipe with these textrnn and Keras test accuracies (a `None` textrnn accuracy
    /// is a failed run).
    fn test_rows(recipe: &str, runs: &[(Option<f64>, Option<f64>)]) -> Vec<Row> {
        runs.iter()
            .enumerate()
            .map(|(i, &(ours, keras))| Row {
                recipe: recipe.into(),
                seed: 1 + i as u64,
                status: if ours.is_some() { "ok" } else { "failed" }.into(),
                train_size: 0,
                validation_size: 0,
                test_size: 0,
                parameters: 0,
                epochs_run: 5,
                train_seconds: 1.0,
                samples_per_second: 0.0,
                test_accuracy: ours,
                test_auc: None,
                published_accuracy: None,
                difference: None,
                error: ours.is_none().then(|| "boom".into()),
                keras: keras.map(|a| KerasSide {
                    test_accuracy: Some(a),
                    test_auc: None,
                    epochs_run: 5,
                    train_seconds: 2.0,
                }),
                keras_error: None,
            })
            .collect()
    }

    fn spread(values: &[f64]) -> Spread {
        Spread::of(values).unwrap()
    }

    #[test]
    fn targets_against_keras() {
        // textrnn 0.82 ± 0.02 against Keras 0.83 ± 0.01: 1 point behind, twice the spread.
        let keras = spread(&[0.82, 0.83, 0.84]);
        let t = Targets::of(&spread(&[0.80, 0.82, 0.84]), &keras);
        assert!((t.mean_difference_pts + 1.0).abs() < 1e-9);
        assert!((t.std_ratio.unwrap() - 2.0).abs() < 1e-9);
        // sqrt(2²/3 + 1²/3) points.
        assert!((t.standard_error_pts.unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-9);
        assert!(!t.mean_ok && !t.std_ok);
        // 0.828 ± 0.002: 0.2 point behind, a fifth of the spread.
        let t = Targets::of(&spread(&[0.826, 0.828, 0.830]), &keras);
        assert!((t.mean_difference_pts + 0.2).abs() < 1e-9);
        assert!((t.std_ratio.unwrap() - 0.2).abs() < 1e-9);
        assert!(t.mean_ok && t.std_ok);
        // Exactly 0.5 point behind passes; 0.51 fails. Keras' std 0: only 0 passes.
        let t = Targets::of(&spread(&[0.825]), &spread(&[0.83]));
        assert!(t.mean_ok && t.std_ok);
        assert_eq!((t.std_ratio, t.standard_error_pts), (None, None));
        let t = Targets::of(&spread(&[0.8249, 0.8249]), &spread(&[0.83]));
        assert!(!t.mean_ok && t.std_ok);
        // 1.5 times Keras' std passes, a little more fails.
        let keras = spread(&[0.80, 0.82]); // std 0.02 / sqrt(2)
        assert!(Targets::of(&spread(&[0.80, 0.83]), &keras).std_ok);
        assert!(!Targets::of(&spread(&[0.80, 0.8301]), &keras).std_ok);
    }

    #[test]
    fn side_by_side_summary() {
        let mut rows = test_rows(
            "agnews",
            &[
                (Some(0.80), Some(0.82)),
                (Some(0.82), Some(0.83)),
                (Some(0.84), Some(0.84)),
                (None, None),
            ],
        );
        rows.extend(test_rows("tweets", &[(Some(0.79), None)]));
        let summaries = summarise(&rows);
        assert_eq!(summaries.len(), 2);
        let s = &summaries[0];
        assert_eq!((s.runs, s.failed, s.keras_runs), (4, 1, 3));
        assert!((s.accuracy.unwrap().mean - 0.82).abs() < 1e-12);
        assert!((s.keras_accuracy.unwrap().std - 0.01).abs() < 1e-12);
        assert!(!s.targets.unwrap().mean_ok);
        assert_eq!(summaries[1].keras_accuracy, None);
        assert_eq!(summaries[1].targets, None);

        let table = across_seeds_table(&summaries, true);
        assert!(table.contains("\ns.e.: the standard error of textrnn's mean minus Keras'"));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[5],
            "| agnews | 3 / 3 | 82.00% ± 2.00 [80.00%, 84.00%] | 83.00% ± 1.00 [82.00%, 84.00%] | - | - | FAIL (-1.00 pts, s.e. 1.29) | FAIL (2.00×) |"
        );
        assert_eq!(
            lines[6],
            "| tweets | 1 / 0 | 79.00% ± 0.00 [79.00%, 79.00%] | - | - | - | - | - |"
        );
        let per_seed = per_seed_keras_table(&rows);
        assert!(per_seed.lines().any(
            |l| l == "| agnews | 1 | 80.00% | 82.00% | -2.00 pts | - | - | 5 / 5 | 1.0 / 2.0 |"
        ));
        assert!(per_seed
            .lines()
            .any(|l| l == "| tweets | 1 | 79.00% | - | - | - | - | 5 / - | 1.0 / - |"));
    }

    #[test]
    fn keras_side_dir() {
        assert_eq!(
            keras_dir(Path::new("out/agnews/seed-3")),
            Path::new("out/agnews/seed-3-keras")
        );
    }

    /// Runs `cmd` and fails the test with its stderr unless it succeeds.
    fn succeeds(cmd: &mut std::process::Command) {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The Keras anchor end to end on a tiny synthetic recipe, its AUC on hand-computed cases,
    /// and `keras_init.py`'s initial weights for its model; skipped without a Python that
    /// imports keras.
    #[test]
    fn keras_anchor_on_tiny_recipe() {
        let py = crate::bench::python();
        let has_keras = std::process::Command::new(&py)
            .args(["-c", "import keras, safetensors, numpy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_keras {
            eprintln!("skipped: `{py}` cannot import keras, safetensors and numpy");
            return;
        }
        let check = r#"
import sys; sys.path.insert(0, sys.argv[1])
import numpy as np
from keras_anchor import roc_auc, test_metrics
assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
assert roc_auc([0.5, 0.5, 0.2], [1, 0, 0]) == 0.75
assert roc_auc([0.3, 0.4], [1, 1]) is None
probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]])
acc, auc = test_metrics("softmax", probs, np.array([0, 1, 2, 1]))
# class 0: pos 0.7 over negs .2 .1 .5 -> 1; class 1: pos .5 .4 over .2 .3 -> 1; class 2: 1
assert (acc, auc) == (0.75, 1.0), (acc, auc)
# the training rows: every row once an epoch, batches of 8 (the last partial), a new order
# every epoch even under a global seed (Keras' own shuffle repeats one permutation then)
import keras; keras.utils.set_random_seed(1)
from keras_anchor import reshuffled
ds = reshuffled((np.arange(20, dtype="int32").reshape(20, 1), np.zeros(20, "int32")), None, 8, True, 1)
epochs = [[[int(v) for v in b[0].numpy().ravel()] for b in ds] for _ in range(2)]
assert [len(b) for b in epochs[0]] == [8, 8, 4], epochs
assert sorted(sum(epochs[0], [])) == list(range(20)) and epochs[0] != epochs[1], epochs
"#;
        succeeds(std::process::Command::new(&py).args(["-c", check, env!("CARGO_MANIFEST_DIR")]));

        let tmp = tempfile::tempdir().unwrap();
        let mut recipe = textrnn::synthetic::tiny_recipe(tmp.path(), "tiny", 3).unwrap();
        recipe.train.epochs = 2;
        let opts = TrainOptions {
            data: DataOptions {
                progress: false,
                ..DataOptions::default()
            },
            ..TrainOptions::default()
        };
        let data = textrnn::prepare_data(&recipe, &opts).unwrap();
        let dir = tmp.path().join("keras");
        let side = keras_anchor(&dir, &data).unwrap();
        assert_eq!(side.epochs_run, 2);
        let acc = side.test_accuracy.unwrap();
        // 100 test rows: the accuracy is a whole number of percent.
        assert!((0.0..=1.0).contains(&acc) && ((acc * 100.0).round() - acc * 100.0).abs() < 1e-9);
        assert!(side.test_auc.is_some());
        assert!(!dir.join(SPLITS_FILE).exists());
        let anchor: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("anchor.json")).unwrap())
                .unwrap();
        assert_eq!(anchor["maxlen"], 16);
        assert_eq!(anchor["seed"], 3);
        assert_eq!(anchor["layers"][0]["input_dim"], data.vocab_size);
        assert_eq!(anchor["optimizer"]["name"], "adam");

        // keras_init.py: the twin's own seeded initial weights, under textrnn's keys, load into
        // textrnn's model (what `parity --init` starts from); the same seed gives the same
        // file whatever was written before it, another seed other weights.
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("keras_init.py");
        let init = |out: &Path, seeds: &[&str]| {
            succeeds(
                std::process::Command::new(&py)
                    .arg(&script)
                    .arg(out)
                    .arg(&dir)
                    .args(seeds),
            );
        };
        let (a, b) = (tmp.path().join("init-a"), tmp.path().join("init-b"));
        init(&a, &[]);
        init(&b, &["4", "3"]);
        let three = std::fs::read(a.join("init-seed-3.safetensors")).unwrap();
        assert_eq!(
            three,
            std::fs::read(b.join("init-seed-3.safetensors")).unwrap()
        );
        assert_ne!(
            three,
            std::fs::read(b.join("init-seed-4.safetensors")).unwrap()
        );
        let spec = &data.config.recipe().model;
        let (_, varmap) = textrnn::models::TextClassifier::load(
            spec,
            data.maxlen(),
            a.join("init-seed-3.safetensors"),
            &candle_core::Device::Cpu,
        )
        .unwrap();
        assert_eq!(
            varmap.all_vars().len(),
            spec.param_specs(data.maxlen()).unwrap().len()
        );
    }
}

//! `textrnn export --format onnx` against onnxruntime: for the architecture of every built-in
//! recipe (real `maxlen`, layer sizes and vocabulary from real texts, one short epoch), the
//! exported model's probabilities on 200 real texts must be within 1e-5 of `Run::predict`.
//! Two more architectures cover masking (`mask_zero` with post- and pre-padding, a
//! bidirectional GRU returning sequences under a stacked LSTM), a multi-label one (Dense(4,
//! sigmoid) on generated texts, every one of the `[N, 4]` probabilities compared) and calibrated
//! runs (temperature scaling before the final activation).
//!
//! Texts: the embedded IMDB sample for the IMDB recipes; AG News and the airline tweets from
//! `../shared/datasets` when present, else IMDB sample texts under 4 / 3 stand-in labels.
//! Needs a Python with `onnxruntime` and `numpy` (`TEXTRNN_BENCH_PYTHON`, default `python3`);
//! skips with a message without one. Run with `-- --nocapture` for the table:
//!
//! ```text
//! TEXTRNN_BENCH_PYTHON=/work/venv/bin/python cargo test -p textrnn --test onnx_parity -- --nocapture
//! ```

use std::path::Path;
use std::process::Command;

use textrnn::data::DataConfig;
mod common;

use textrnn::{ExportOptions, Limits, Recipe, Run, SplitConfig, TrainOptions, BUILTIN_RECIPES};

/// The largest difference allowed between onnxruntime and `Run::predict`.
const TOLERANCE: f64 = 1e-5;
/// Texts compared per architecture.
const TEXTS: usize = 200;
/// Training examples of the one short epoch.
const TRAIN: usize = 256;

/// IMDB sample texts under stand-in labels `i mod classes` (`c0`, `c1`, ...), written as CSV
/// files, each text cut to `words` words: the fallback corpus of the AG News and tweets
/// architectures.
fn fallback_csv(dir: &Path, classes: usize, words: usize) -> DataConfig {
    let sample = textrnn::data::imdb_sample::load_imdb_sample().expect("embedded IMDB sample");
    let rows = |texts: &[String], n: usize| -> Vec<(String, String)> {
        texts
            .iter()
            .take(n)
            .enumerate()
            .map(|(i, t)| {
                let text: Vec<&str> = t.split_whitespace().take(words).collect();
                (text.join(" "), format!("c{}", i % classes))
            })
            .collect()
    };
    let (train, test) = (dir.join("train.csv"), dir.join("test.csv"));
    textrnn::synthetic::write_csv(&train, &rows(&sample.train.texts, TRAIN)).expect("train.csv");
    textrnn::synthetic::write_csv(
        &test,
        &rows(&sample.test.expect("sample test split").texts, TEXTS),
    )
    .expect("test.csv");
    DataConfig::Csv(textrnn::data::UserFiles {
        train,
        test: Some(test),
        ..Default::default()
    })
}

/// The recipe's architecture on a small real corpus, one epoch, no early stopping.
fn small(mut recipe: Recipe, dir: &Path) -> (Recipe, &'static str) {
    recipe.train.epochs = 1;
    recipe.train.early_stopping = None;
    let ag = common::shared_datasets().join("ag_news_csv");
    let tweets = common::shared_datasets().join("airline_tweets/Tweets.csv");
    let source = if recipe.name.starts_with("agnews") {
        if ag.is_dir() {
            recipe.data = DataConfig::AgNews {
                data_dir: Some(common::shared_datasets()),
            };
            "AG News"
        } else {
            recipe.data = fallback_csv(dir, 4, 60);
            recipe.split = SplitConfig::None;
            "IMDB sample, 4 stand-in labels"
        }
    } else if recipe.name.starts_with("tweets") {
        if tweets.is_file() {
            recipe.data = DataConfig::Tweets {
                path: Some(tweets),
                hub: None,
            };
            "airline tweets"
        } else {
            recipe.data = fallback_csv(dir, 3, 30);
            recipe.split = SplitConfig::None;
            "IMDB sample (30 words), 3 stand-in labels"
        }
    } else {
        recipe.data = DataConfig::ImdbSample;
        "IMDB sample"
    };
    (recipe, source)
}

/// Masked architectures beyond the built-in recipes.
fn masked_recipe(name: &str, padding: &str) -> Recipe {
    let toml = format!(
        r#"
name = "{name}"
seed = 3
[data]
corpus = "imdb_sample"
[text]
num_words = 2000
maxlen = 80
padding = "{padding}"
truncating = "{padding}"
normalize = "imdb"
[model]
layers = [
  {{ type = "embedding", output_dim = 16, mask_zero = true }},
  {{ type = "bidirectional", layer = {{ type = "gru", units = 8, return_sequences = true }} }},
  {{ type = "dense", units = 8, activation = "tanh" }},
  {{ type = "lstm", units = 6 }},
  {{ type = "dense", units = 1, activation = "sigmoid" }},
]
[train]
epochs = 1
batch_size = 64
"#
    );
    Recipe::from_toml(&toml, name).expect("masked recipe parses")
}

/// A multi-label architecture: generated texts carrying 1-3 of 4 labels
/// ([`textrnn::synthetic::multi_label_corpus`], a CSV label column separated by `,`), a masked
/// embedding and a GRU ending in Dense(4, sigmoid): one independent probability per label.
fn multi_label_recipe(dir: &Path) -> Recipe {
    let (train, test) = (dir.join("train.csv"), dir.join("test.csv"));
    let corpus = textrnn::synthetic::multi_label_corpus;
    textrnn::synthetic::write_multi_label_csv(&train, &corpus(TRAIN, 21)).expect("train.csv");
    textrnn::synthetic::write_multi_label_csv(&test, &corpus(TEXTS, 22)).expect("test.csv");
    let toml = format!(
        r#"
name = "multi-label"
seed = 3
[data]
corpus = "csv"
train = {train:?}
test = {test:?}
label_sep = ","
[split]
kind = "none"
[text]
num_words = 100
maxlen = 16
padding = "pre"
[model]
layers = [
  {{ type = "embedding", output_dim = 16, mask_zero = true }},
  {{ type = "gru", units = 12 }},
  {{ type = "dense", units = 4, activation = "sigmoid" }},
]
[train]
epochs = 2
batch_size = 32
optimizer = {{ name = "adam", learning_rate = 0.02 }}
"#
    );
    Recipe::from_toml(&toml, "multi-label.toml").expect("multi-label recipe parses")
}

/// Trains `recipe` briefly (calibrated at `temperature` when given), exports it and compares
/// onnxruntime with `Run::predict` on the run's first 200 test texts; the largest absolute
/// difference.
fn max_difference(
    python: &str,
    recipe: &Recipe,
    dir: &Path,
    temperature: Option<f64>,
) -> (f64, usize, String) {
    let out = dir.join("run");
    let opts = TrainOptions {
        out: Some(out.clone()),
        limits: Limits {
            limit_train: Some(TRAIN),
            limit_test: Some(TEXTS),
        },
        ..TrainOptions::default()
    };
    textrnn::train_run(recipe, &opts).expect("training succeeds");
    if let Some(t) = temperature {
        // A calibration.json as `calibrate` writes it (the scores do not matter here).
        let scores = textrnn::CalibrationScores {
            n: 1,
            nll_before: 0.0,
            nll_after: 0.0,
            ece_before: 0.0,
            ece_after: 0.0,
        };
        let calibration = textrnn::Calibration {
            method: "temperature".into(),
            temperature: t,
            fitted_on: "validation".into(),
            n: 1,
            ece_kind: textrnn::eval::ReliabilityKind::TopLabel,
            ece_bins: 15,
            validation: scores,
            test: None,
        };
        let json = serde_json::to_string(&calibration).expect("calibration JSON");
        std::fs::write(out.join("calibration.json"), json).expect("calibration.json");
    }
    let run = Run::open(&out).expect("run opens");
    assert_eq!(run.temperature(), temperature.unwrap_or(1.0));
    let test =
        textrnn::data::stored::load_split(&out.join("data/test.jsonl.gz"), run.class_names())
            .expect("stored test split");
    let texts: Vec<String> = test.texts.into_iter().take(TEXTS).collect();
    assert!(texts.len() >= 100, "only {} test texts", texts.len());
    let expected = run.predict(&texts, 64, false).expect("predict");

    let summary = textrnn::export(&run, &ExportOptions::default()).expect("export");
    let text = &run.config().recipe().text;
    let cleaned = text.pipeline().expect("pipeline").apply_all(&texts);
    let maxlen = run.config().maxlen();
    let ids = text
        .encode(run.tokenizer(), maxlen, &cleaned)
        .expect("encode");
    let ids_path = dir.join("ids.json");
    let spec = serde_json::json!({"rows": texts.len(), "cols": maxlen, "ids": ids});
    std::fs::write(&ids_path, spec.to_string()).expect("ids.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/onnx_check.py");
    let result = Command::new(python)
        .arg(&script)
        .arg(&summary.model)
        .arg(&ids_path)
        .output()
        .expect("python runs");
    assert!(
        result.status.success(),
        "{}: onnx_check.py failed: {}",
        recipe.name,
        String::from_utf8_lossy(&result.stderr)
    );
    let got: serde_json::Value =
        serde_json::from_slice(&result.stdout).expect("JSON from onnx_check.py");
    let probs: Vec<f64> = serde_json::from_value(got["probs"].clone()).expect("probs");
    let shape: Vec<usize> = serde_json::from_value(got["shape"].clone()).expect("shape");
    assert_eq!(shape, [texts.len(), expected.n_classes], "{}", recipe.name);
    assert_eq!(probs.len(), expected.probs.len());
    let diff = probs
        .iter()
        .zip(&expected.probs)
        .map(|(a, b)| (a - f64::from(*b)).abs())
        .fold(0.0, f64::max);
    // How far the outputs are from uniform (1/2 for a multi-label run's independent
    // probabilities): a check that the comparison is not trivial.
    let (uniform, shown) = if expected.multi_label {
        (0.5, "1/2")
    } else {
        (1.0 / expected.n_classes as f64, "1/C")
    };
    let spread = probs
        .iter()
        .map(|p| (p - uniform).abs())
        .fold(0.0, f64::max);
    let versions = format!(
        "max |p - {shown}| {spread:.3}; onnxruntime {}, opset {}",
        got["onnxruntime"], got["opset"]
    );
    (diff, maxlen, versions)
}

#[test]
fn every_recipe_architecture_matches_onnxruntime() {
    let python = match common::python_with("onnxruntime, numpy") {
        Ok(python) => python,
        Err(why) => {
            eprintln!("SKIPPED onnx parity: {why}");
            return;
        }
    };
    let mut cases: Vec<(Recipe, &str)> = Vec::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    for (i, (name, _)) in BUILTIN_RECIPES.iter().enumerate() {
        let dir = tmp.path().join(format!("{i}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let recipe = Recipe::builtin(name).expect("builtin recipe");
        cases.push(small(recipe, &dir));
    }
    cases.push((masked_recipe("masked-post", "post"), "IMDB sample"));
    cases.push((masked_recipe("masked-pre", "pre"), "IMDB sample"));
    let mut failures = Vec::new();
    println!("| architecture | texts | maxlen | max abs difference |");
    println!("| --- | --- | --- | --- |");
    for (i, (recipe, source)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("{i}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let (diff, maxlen, versions) = max_difference(&python, recipe, &dir, None);
        println!(
            "| {} | {TEXTS} {source} | {maxlen} | {diff:.2e} | ({versions})",
            recipe.name
        );
        if diff.is_nan() || diff > TOLERANCE {
            failures.push(format!("{}: {diff:e}", recipe.name));
        }
    }
    assert!(
        failures.is_empty(),
        "onnxruntime differs from Run::predict by more than {TOLERANCE:e}: {failures:?}"
    );
}

#[test]
fn a_calibrated_run_matches_onnxruntime() {
    let python = match common::python_with("onnxruntime, numpy") {
        Ok(python) => python,
        Err(why) => {
            eprintln!("SKIPPED calibrated onnx parity: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let recipe = masked_recipe("calibrated", "pre");
    // One epoch leaves the probabilities near 1/2; T = 0.1 spreads them (logits x 10), so the
    // comparison sees the scaling.
    let (diff, maxlen, versions) = max_difference(&python, &recipe, tmp.path(), Some(0.1));
    println!("| calibrated (T = 0.1) | {TEXTS} IMDB sample | {maxlen} | {diff:.2e} | ({versions})");
    assert!(
        diff <= TOLERANCE,
        "onnxruntime differs from the calibrated Run::predict by {diff:e}"
    );
}

#[test]
fn a_multi_label_run_matches_onnxruntime() {
    let python = match common::python_with("onnxruntime, numpy") {
        Ok(python) => python,
        Err(why) => {
            eprintln!("SKIPPED multi-label onnx parity: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    // Uncalibrated, then calibrated at T = 0.25 (logits x 4, through the same Sigmoid).
    for temperature in [None, Some(0.25)] {
        let dir = tmp.path().join(format!("{temperature:?}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let recipe = multi_label_recipe(&dir);
        let (diff, maxlen, versions) = max_difference(&python, &recipe, &dir, temperature);
        let what = temperature.map_or("multi-label, 4 labels".to_string(), |t| {
            format!("multi-label, 4 labels, calibrated (T = {t})")
        });
        println!("| {what} | {TEXTS} generated | {maxlen} | {diff:.2e} | ({versions})");
        assert!(
            diff <= TOLERANCE,
            "onnxruntime differs from the multi-label Run::predict ({what}) by {diff:e}"
        );
    }
}

//! The `textrnn` binary end to end: train on a generated corpus, then evaluate, predict
//! (arguments, --file, stdin, --json), summary, tune-threshold, plot, explain and report; and
//! bad input gets one clear error.
//!
//! One binary run is trained once for the whole file ([`shared_run`]); tests that change a run
//! (threshold.json, plots) work on a copy ([`copy_run`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use textrnn::synthetic;

mod common;
use common::{err, ok, textrnn};

fn write_recipe(dir: &Path) -> String {
    let train = dir.join("train.csv");
    let test = dir.join("test.csv");
    synthetic::write_csv(&train, &synthetic::keyword_corpus(400, 11)).expect("train.csv");
    synthetic::write_csv(&test, &synthetic::keyword_corpus(200, 12)).expect("test.csv");
    write_recipe_for(dir, &train, &test, RANDOM_SPLIT, 1, "sigmoid", 8)
}

const RANDOM_SPLIT: &str = "kind = \"random\"\nvalidation = 0.15";

/// A recipe over `train`/`test` CSV files (`split`: the body of its `[split]` table): Embedding(16) -> LSTM(16) -> Dense(units, activation).
fn write_recipe_for(
    dir: &Path,
    train: &Path,
    test: &Path,
    split: &str,
    units: usize,
    activation: &str,
    epochs: usize,
) -> String {
    let recipe = dir.join("recipe.toml");
    std::fs::write(
        &recipe,
        format!(
            r#"name = "cli-tiny"
seed = 3
[data]
corpus = "csv"
train = {train:?}
test = {test:?}
text_col = "text"
label_col = "label"
[split]
{split}
[text]
num_words = 100
maxlen = 16
[model]
layers = [
  {{ type = "embedding", output_dim = 16 }},
  {{ type = "lstm", units = 16 }},
  {{ type = "dense", units = {units}, activation = "{activation}" }},
]
[train]
epochs = {epochs}
batch_size = 32
optimizer = {{ name = "adam", learning_rate = 0.01 }}
"#
        ),
    )
    .expect("recipe");
    recipe.display().to_string()
}

/// The binary run shared by the tests of this file, trained once: its directory and the
/// output of `train --json`. It lives under Cargo's target tmp directory and is replaced on
/// each test run; tests must not change it (use [`copy_run`]).
fn shared_run() -> &'static (PathBuf, serde_json::Value) {
    static RUN: OnceLock<(PathBuf, serde_json::Value)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-shared-run");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("shared dir");
        let recipe = write_recipe(&dir);
        let run = dir.join("run");
        let out = ok(&textrnn(
            &[
                "-q",
                "train",
                "--recipe",
                &recipe,
                "--out",
                &run.display().to_string(),
                "--json",
            ],
            None,
        ));
        let v: serde_json::Value = serde_json::from_str(&out).expect("train --json is JSON");
        (run, v)
    })
}

/// A copy of the shared run in `tmp` (its files and stored splits, not its plots).
fn copy_run(tmp: &Path) -> PathBuf {
    let (run, _) = shared_run();
    let to = tmp.join("run");
    std::fs::create_dir_all(to.join("plots")).expect("copy dir");
    for sub in ["", "data"] {
        std::fs::create_dir_all(to.join(sub)).expect("copy dir");
        for entry in std::fs::read_dir(run.join(sub)).expect("read run") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, to.join(sub).join(path.file_name().expect("name")))
                    .expect("copy");
            }
        }
    }
    to
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn train_evaluate_predict_summary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (run, v) = shared_run();
    let run_s = run.display().to_string();
    let acc = v["test"]["accuracy"].as_f64().expect("test accuracy");
    assert!(acc >= 0.95, "test accuracy {acc}");

    // evaluate prints the same numbers as the end of train, and metrics.json holds them
    let out = ok(&textrnn(&["-q", "evaluate", &run_s, "--json"], None));
    let e: serde_json::Value = serde_json::from_str(&out).expect("evaluate --json is JSON");
    assert_eq!(e["accuracy"], v["test"]["accuracy"]);
    assert_eq!(e["loss"], v["test"]["loss"]);
    // evaluate adds the calibration section (uncalibrated here), which the training record
    // leaves out; everything else is identical.
    let mut e = e;
    let calibration = e
        .as_object_mut()
        .and_then(|m| m.remove("calibration"))
        .expect("evaluate --json has a calibration section");
    assert!(calibration["temperature"].is_null(), "{calibration}");
    assert!(
        calibration["uncalibrated"]["ece"].is_number(),
        "{calibration}"
    );
    assert_eq!(
        e, v["test"],
        "evaluate --json differs from the end of train --json"
    );
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("metrics.json")).expect("metrics.json"),
    )
    .expect("metrics.json is JSON");
    assert_eq!(saved, e);

    // --json fields
    assert_eq!(e["n"], 200);
    assert!(e["auc"].as_f64().expect("auc") > 0.95, "{e}");
    assert_eq!(e["threshold"]["value"], 0.5);
    assert_eq!(e["threshold"]["source"], "default");
    assert_eq!(e["class_names"], serde_json::json!(["neg", "pos"]));
    let counts = &e["confusion_matrix"]["counts"];
    let total: u64 = (0..2)
        .flat_map(|t| (0..2).map(move |p| (t, p)))
        .map(|(t, p)| counts[t][p].as_u64().expect("count"))
        .sum();
    assert_eq!(total, 200);
    let report = &e["classification_report"];
    assert_eq!(report["classes"][1]["name"], "pos");
    for key in ["precision", "recall", "f1", "support"] {
        assert!(report["classes"][0][key].is_number(), "{key}: {report}");
        assert!(report["macro_avg"][key].is_number(), "{key}: {report}");
        assert!(report["weighted_avg"][key].is_number(), "{key}: {report}");
    }
    assert_eq!(report["accuracy"], e["accuracy"]);

    // the table: metrics, confusion matrix with class names, classification report
    let table = ok(&textrnn(&["evaluate", &run_s], None));
    for needle in [
        "accuracy",
        "ROC AUC",
        "loss",
        "Confusion matrix",
        "true \\ pred",
        "Classification report",
        "precision",
        "recall",
        "f1-score",
        "support",
        "macro avg",
        "weighted avg",
        "neg",
        "pos",
        "0.5000 (default)",
    ] {
        assert!(table.contains(needle), "`{needle}` missing from:\n{table}");
    }

    // predict: arguments, file and stdin agree
    let texts = ["a superb and brilliant film", "dreadful boring plot"];
    let by_args = ok(&textrnn(
        &["-q", "predict", &run_s, texts[0], texts[1], "--json"],
        None,
    ));
    let file = tmp.path().join("texts.txt");
    std::fs::write(&file, texts.join("\n")).expect("texts file");
    let by_file = ok(&textrnn(
        &[
            "-q",
            "predict",
            &run_s,
            "--file",
            &file.display().to_string(),
            "--json",
        ],
        None,
    ));
    let by_stdin = ok(&textrnn(
        &["-q", "predict", &run_s, "--json"],
        Some(&texts.join("\n")),
    ));
    assert_eq!(by_args, by_file);
    assert_eq!(by_args, by_stdin);
    let rows: Vec<serde_json::Value> = by_args
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(rows[0]["label"], "pos");
    assert_eq!(rows[1]["label"], "neg");

    let table = ok(&textrnn(&["predict", &run_s, texts[0]], None));
    assert!(table.contains("pos"), "{table}");

    let summary = ok(&textrnn(&["summary", &run_s], None));
    assert!(summary.contains("Total params"), "{summary}");
}

#[test]
fn summary_of_default_recipe_matches_keras() {
    let out = ok(&textrnn(
        &["summary", "--recipe", "imdb-bigru", "--json"],
        None,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).expect("summary --json");
    assert_eq!(v["total_params"], 1_362_817);
}

#[test]
fn bad_input_gets_one_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let recipe = write_recipe(tmp.path());
    let e = err(&textrnn(
        &["train", "--recipe", &recipe, "--max-len", "0"],
        None,
    ));
    assert!(e.contains("max-len"), "{e}");
    let e = err(&textrnn(
        &["train", "--recipe", &recipe, "--vocab-size", "2"],
        None,
    ));
    assert!(e.contains("vocab-size"), "{e}");
    let e = err(&textrnn(
        &["train", "--recipe", &recipe, "--batch-size", "0"],
        None,
    ));
    assert!(e.contains("batch-size"), "{e}");
    let e = err(&textrnn(
        &["evaluate", &tmp.path().join("nope").display().to_string()],
        None,
    ));
    assert!(e.contains("nope"), "{e}");
    let e = err(&textrnn(&["train", "--recipe", "no-such-recipe"], None));
    assert!(e.contains("no-such-recipe"), "{e}");
    // A CSV with a ragged row names the file and line.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "text,label\n\"good film\",pos\n\"bad\",neg,extra\n").expect("bad csv");
    let r = tmp.path().join("bad.toml");
    std::fs::write(
        &r,
        format!(
            "name = \"bad\"\n[data]\ncorpus = \"csv\"\ntrain = {:?}\ntext_col = \"text\"\nlabel_col = \"label\"\n[model]\nlayers = [{{ type = \"embedding\", output_dim = 4 }}, {{ type = \"lstm\", units = 4 }}, {{ type = \"dense\", units = 1, activation = \"sigmoid\" }}]\n",
            bad
        ),
    )
    .expect("bad recipe");
    let e = err(&textrnn(
        &["train", "--recipe", &r.display().to_string()],
        None,
    ));
    assert!(e.contains("bad.csv") && e.contains('3'), "{e}");
}

#[test]
fn tune_threshold_is_saved_and_used_by_predict_and_evaluate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = copy_run(tmp.path());
    let run_s = run.display().to_string();

    let out = ok(&textrnn(
        &[
            "-q",
            "tune-threshold",
            &run_s,
            "--min-recall",
            "0.9",
            "--json",
        ],
        None,
    ));
    let choice: serde_json::Value = serde_json::from_str(&out).expect("tune-threshold --json");
    assert_eq!(choice["objective"]["type"], "min_recall");
    assert!(
        choice["recall"].as_f64().expect("recall") >= 0.9,
        "{choice}"
    );
    for key in ["precision", "f1", "accuracy"] {
        assert!(choice[key].is_number(), "{key}: {choice}");
    }
    let t = choice["threshold"].as_f64().expect("threshold");
    assert!((0.0..=1.0).contains(&t), "{t}");
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("threshold.json")).expect("threshold.json written"),
    )
    .expect("threshold.json is JSON");
    assert_eq!(saved["threshold"], choice["threshold"]);

    // predict and evaluate use it, and say so
    let shown = format!("{t:.4}");
    let rows = ok(&textrnn(
        &["-q", "predict", &run_s, "a superb film", "--json"],
        None,
    ));
    let row: serde_json::Value = serde_json::from_str(rows.trim()).expect("predict --json");
    assert_eq!(row["threshold"], choice["threshold"]);
    assert_eq!(row["threshold_source"], "file");
    let table = ok(&textrnn(&["-q", "predict", &run_s, "a superb film"], None));
    assert!(
        table.contains("threshold.json") && table.contains(&shown),
        "{table}"
    );
    let e = ok(&textrnn(&["-q", "evaluate", &run_s, "--json"], None));
    let e: serde_json::Value = serde_json::from_str(&e).expect("evaluate --json");
    assert_eq!(e["threshold"]["value"], choice["threshold"]);
    assert_eq!(e["threshold"]["source"], "file");
    let table = ok(&textrnn(&["-q", "evaluate", &run_s], None));
    assert!(
        table.contains("threshold.json") && table.contains(&shown),
        "{table}"
    );

    // an explicit --threshold wins; out of range is an error
    let e = ok(&textrnn(
        &["-q", "evaluate", &run_s, "--threshold", "0.25", "--json"],
        None,
    ));
    let e: serde_json::Value = serde_json::from_str(&e).expect("evaluate --json");
    assert_eq!(e["threshold"]["value"], 0.25);
    assert_eq!(e["threshold"]["source"], "explicit");
    let msg = err(&textrnn(&["evaluate", &run_s, "--threshold", "1.5"], None));
    assert!(msg.contains("--threshold"), "{msg}");
    let msg = err(&textrnn(
        &["tune-threshold", &run_s, "--min-precision", "2"],
        None,
    ));
    assert!(msg.contains('2') && msg.contains("[0, 1]"), "{msg}");
}

#[test]
fn plot_regenerates_the_figures() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (shared, _) = shared_run();
    for name in ["history", "confusion", "roc", "pr"] {
        for ext in ["png", "svg"] {
            let p = shared.join("plots").join(format!("{name}.{ext}"));
            assert!(p.is_file(), "train did not write {}", p.display());
        }
    }
    let run = copy_run(tmp.path()); // a copy without plots/
    let run_s = run.display().to_string();
    let out = ok(&textrnn(&["-q", "plot", &run_s], None));
    for name in ["history", "confusion", "roc", "pr"] {
        let png = run.join("plots").join(format!("{name}.png"));
        assert!(is_png(&png), "{} is not a PNG", png.display());
        assert!(out.contains(&format!("{name}.png")), "{out}");
        let svg = std::fs::read_to_string(run.join("plots").join(format!("{name}.svg")))
            .expect("svg written");
        assert!(svg.contains("<svg"), "{name}.svg");
    }
    std::fs::remove_file(run.join("history.json")).expect("remove history");
    let msg = err(&textrnn(&["plot", &run_s], None));
    assert!(msg.contains("history.json"), "{msg}");
}

#[test]
fn explain_finds_the_cue_word() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (run, _) = shared_run();
    let run_s = run.display().to_string();
    let text = "the plot was superb and the actor";
    let out = ok(&textrnn(
        &[
            "-q",
            "explain",
            &run_s,
            text,
            "--json",
            "--num-samples",
            "2000",
        ],
        None,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).expect("explain --json");
    assert_eq!(v["label"], "pos");
    assert_eq!(v["words"][0]["word"], "superb", "{v}");
    assert!(
        v["words"][0]["weight"].as_f64().expect("weight") > 0.0,
        "{v}"
    );

    // the table, an explicit label (by name and by index), and the HTML page
    let html = tmp.path().join("why.html");
    let table = ok(&textrnn(
        &[
            "-q",
            "explain",
            &run_s,
            text,
            "--label",
            "neg",
            "--top",
            "3",
            "--num-samples",
            "1000",
            "--html",
            &html.display().to_string(),
        ],
        None,
    ));
    assert!(
        table.contains("superb") && table.contains("`neg`"),
        "{table}"
    );
    let page = std::fs::read_to_string(&html).expect("--html written");
    assert!(page.contains("<mark") && page.contains("superb"), "{page}");
    assert!(!page.contains("http"), "external resource in the page");
    let out = ok(&textrnn(
        &[
            "-q",
            "explain",
            &run_s,
            text,
            "--label",
            "0",
            "--json",
            "--num-samples",
            "500",
        ],
        None,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).expect("explain --json");
    assert_eq!(v["label"], "neg");

    // errors
    let msg = err(&textrnn(&["explain", &run_s, "  "], None));
    assert!(msg.contains("empty"), "{msg}");
    let msg = err(&textrnn(&["explain", &run_s, "qwerty zxcvb"], None));
    assert!(msg.contains("vocabulary"), "{msg}");
    let msg = err(&textrnn(
        &["explain", &run_s, text, "--label", "maybe"],
        None,
    ));
    assert!(msg.contains("maybe") && msg.contains("neg, pos"), "{msg}");
    let msg = err(&textrnn(&["explain", &run_s, text, "--label", "2"], None));
    assert!(msg.contains("`2`"), "{msg}");
}

/// Runs headless Chromium on `html` and returns the screenshot, or `None` when it is absent.
fn screenshot(html: &Path, out_dir: &Path) -> Option<PathBuf> {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        println!("skipping the browser check: /usr/bin/chromium is not installed");
        return None;
    }
    std::fs::create_dir_all(out_dir).expect("artifact dir");
    let shot = out_dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().expect("profile dir");
    let log = |name: &str| std::fs::File::create(out_dir.join(name)).expect("log file");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,3000",
            &format!("file://{}", html.display()),
        ])
        .stdin(Stdio::null())
        .stdout(log("chromium.stdout"))
        .stderr(log("chromium.stderr"))
        .spawn()
        .expect("chromium starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(_) => break,
            None if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within 60 s");
            }
            None => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
    Some(shot)
}

#[test]
fn report_is_one_self_contained_page() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = copy_run(tmp.path());
    let run_s = run.display().to_string();
    // A strict threshold so that the tiny, near-perfect model gets some examples wrong.
    std::fs::write(
        run.join("threshold.json"),
        r#"{"threshold": 0.9995, "precision": 1.0, "recall": 0.5, "f1": 0.67, "accuracy": 0.75, "objective": {"type": "max_f1"}}"#,
    )
    .expect("threshold.json");
    let out = ok(&textrnn(&["-q", "report", &run_s, "--examples", "4"], None));
    let path = run.join("report.html");
    assert!(out.contains("report.html"), "{out}");
    let html = std::fs::read_to_string(&path).expect("report.html written");
    assert!(html.contains("data:image/png;base64,"), "no embedded image");
    assert!(
        !html.contains("http"),
        "the report refers to an external resource"
    );
    for needle in [
        "Classification report",
        "Confusion matrix",
        "ROC",
        "Training history",
        "Explained examples",
        "Total params",
        "[model]",
        "badge ok",
        "badge bad",
        "<mark",
    ] {
        assert!(html.contains(needle), "`{needle}` missing from the report");
    }
    assert_eq!(html.matches("class=\"example\"").count(), 4);

    // --out, and a look in a real browser when there is one
    let out_file = tmp.path().join("elsewhere.html");
    ok(&textrnn(
        &[
            "-q",
            "report",
            &run_s,
            "--out",
            &out_file.display().to_string(),
            "--examples",
            "2",
        ],
        None,
    ));
    assert!(out_file.is_file());
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artifacts")
        .join("cli-report");
    if let Some(shot) = screenshot(&path, &artifacts) {
        assert!(is_png(&shot), "no screenshot at {}", shot.display());
        std::fs::copy(&path, artifacts.join("report.html")).expect("keep the report");
    }
}

#[test]
fn multi_class_and_no_validation_runs_get_clear_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // three topics, each recognised by its cue words
    let cues = [
        ("sports", ["goal", "match", "team"]),
        ("tech", ["chip", "software", "robot"]),
        ("food", ["pasta", "soup", "bread"]),
    ];
    let filler = ["the", "a", "new", "today", "about", "with", "big", "news"];
    let rows = |n: usize, offset: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let (label, words) = cues[i % 3];
                let text = format!(
                    "{} {} {} {}",
                    filler[(i + offset) % filler.len()],
                    words[(i / 3 + offset) % 3],
                    filler[(i * 7 + 3) % filler.len()],
                    filler[(i * 5 + offset) % filler.len()]
                );
                (text, label.to_string())
            })
            .collect()
    };
    let train = tmp.path().join("train3.csv");
    let test = tmp.path().join("test3.csv");
    synthetic::write_csv(&train, &rows(150, 0)).expect("train3.csv");
    synthetic::write_csv(&test, &rows(60, 1)).expect("test3.csv");
    let recipe = write_recipe_for(tmp.path(), &train, &test, RANDOM_SPLIT, 3, "softmax", 3);
    let run = tmp.path().join("run3");
    let run_s = run.display().to_string();
    ok(&textrnn(
        &["-q", "train", "--recipe", &recipe, "--out", &run_s],
        None,
    ));

    let table = ok(&textrnn(&["-q", "evaluate", &run_s], None));
    for needle in ["sports", "tech", "food", "macro avg", "Confusion matrix"] {
        assert!(table.contains(needle), "`{needle}` missing:\n{table}");
    }
    assert!(!table.contains("Decision threshold"), "{table}");
    let e: serde_json::Value =
        serde_json::from_str(&ok(&textrnn(&["-q", "evaluate", &run_s, "--json"], None)))
            .expect("evaluate --json");
    assert_eq!(
        e["confusion_matrix"]["counts"][2].as_array().map(Vec::len),
        Some(3)
    );
    assert!(e["threshold"].is_null(), "{e}");
    for name in ["roc", "pr"] {
        assert!(
            is_png(&run.join("plots").join(format!("{name}.png"))),
            "{name}"
        );
    }

    let msg = err(&textrnn(&["tune-threshold", &run_s], None));
    assert!(msg.contains("binary") && msg.contains("3 classes"), "{msg}");
    let msg = err(&textrnn(&["evaluate", &run_s, "--threshold", "0.3"], None));
    assert!(msg.contains("binary"), "{msg}");

    // a binary run trained without a validation split
    let dir = tmp.path().join("noval");
    std::fs::create_dir_all(&dir).expect("dir");
    let train = dir.join("train.csv");
    let test = dir.join("test.csv");
    synthetic::write_csv(&train, &synthetic::keyword_corpus(100, 5)).expect("train.csv");
    synthetic::write_csv(&test, &synthetic::keyword_corpus(40, 6)).expect("test.csv");
    let recipe = write_recipe_for(&dir, &train, &test, "kind = \"none\"", 1, "sigmoid", 1);
    let run = dir.join("run");
    let run_s = run.display().to_string();
    ok(&textrnn(
        &["-q", "train", "--recipe", &recipe, "--out", &run_s],
        None,
    ));
    let msg = err(&textrnn(&["tune-threshold", &run_s], None));
    assert!(msg.contains("no validation split"), "{msg}");
    let msg = err(&textrnn(&["calibrate", &run_s], None));
    assert!(
        msg.contains(&run_s)
            && msg.contains("no validation split")
            && msg.contains("retrain with a validation split"),
        "{msg}"
    );
    assert!(!run.join("calibration.json").exists());
}

#[test]
fn calibrate_prints_and_saves_the_temperature_and_evaluate_shows_ece_before_and_after() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let train = tmp.path().join("train.csv");
    let test = tmp.path().join("test.csv");
    synthetic::write_csv(&train, &synthetic::keyword_corpus(400, 21)).expect("train.csv");
    synthetic::write_csv(&test, &synthetic::keyword_corpus(100, 22)).expect("test.csv");
    // One epoch of a 2-class softmax: not yet separating the validation split perfectly, so
    // the temperature has a finite optimum.
    let recipe = write_recipe_for(tmp.path(), &train, &test, RANDOM_SPLIT, 2, "softmax", 1);
    let run = tmp.path().join("run");
    let run_s = run.display().to_string();
    ok(&textrnn(
        &["-q", "train", "--recipe", &recipe, "--out", &run_s],
        None,
    ));
    let table = ok(&textrnn(&["-q", "evaluate", &run_s], None));
    assert!(
        table.contains("Calibration (ECE: 15 bins, top-label confidence")
            && table.contains("The run is not calibrated"),
        "{table}"
    );

    let out = ok(&textrnn(&["-q", "calibrate", &run_s, "--json"], None));
    let c: serde_json::Value = serde_json::from_str(&out).expect("calibrate --json");
    let cal = &c["calibration"];
    assert_eq!(cal["method"], "temperature");
    assert_eq!(cal["fitted_on"], "validation");
    assert_eq!(cal["n"], 60);
    assert_eq!(cal["ece_kind"], "top_label");
    assert_eq!(cal["ece_bins"], 15);
    let t = cal["temperature"].as_f64().expect("temperature");
    assert!(t > 0.0 && t.is_finite(), "{t}");
    for split in ["validation", "test"] {
        for key in ["n", "nll_before", "nll_after", "ece_before", "ece_after"] {
            assert!(cal[split][key].is_number(), "{split}.{key}: {c}");
        }
    }
    assert_eq!(cal["test"]["n"], 100);
    assert!(cal["validation"]["nll_after"].as_f64() <= cal["validation"]["nll_before"].as_f64());
    assert_eq!(c["path"], serde_json::json!(run.join("calibration.json")));
    assert!(c["warning"].is_null(), "{c}");
    assert!(is_png(&run.join("plots/reliability.png")));
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("calibration.json")).expect("calibration.json"),
    )
    .expect("calibration.json is JSON");
    assert_eq!(&saved, cal);

    let table = ok(&textrnn(&["-q", "calibrate", &run_s], None));
    for needle in [
        "Temperature scaling: T = ",
        "validation",
        "test",
        "NLL before",
        "ECE after",
    ] {
        assert!(table.contains(needle), "`{needle}` missing:\n{table}");
    }
    let e: serde_json::Value =
        serde_json::from_str(&ok(&textrnn(&["-q", "evaluate", &run_s, "--json"], None)))
            .expect("evaluate --json");
    assert_eq!(e["calibration"]["temperature"], cal["temperature"]);
    assert_eq!(
        e["calibration"]["uncalibrated"]["ece"],
        cal["test"]["ece_before"]
    );
    assert_eq!(
        e["calibration"]["calibrated"]["ece"],
        cal["test"]["ece_after"]
    );
    assert_eq!(
        e["calibration"]["calibrated"]["reliability"]["bins"]
            .as_array()
            .map(Vec::len),
        Some(15)
    );
    let table = ok(&textrnn(&["-q", "evaluate", &run_s], None));
    assert!(
        table.contains("uncalibrated") && table.contains(&format!("calibrated (T = {t:.4})")),
        "{table}"
    );
}

//! The `textrnn` binary end to end: train on a generated corpus, then evaluate, predict
//! (arguments, --file, stdin, --json) and summary; and bad input gets one clear error.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use textrnn::synthetic;

fn textrnn(args: &[&str], stdin: Option<&str>) -> Output {
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

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn err(out: &Output) -> String {
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

fn write_recipe(dir: &Path) -> String {
    let train = dir.join("train.csv");
    let test = dir.join("test.csv");
    synthetic::write_csv(&train, &synthetic::keyword_corpus(400, 11)).expect("train.csv");
    synthetic::write_csv(&test, &synthetic::keyword_corpus(200, 12)).expect("test.csv");
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
kind = "random"
validation = 0.15
[text]
num_words = 100
maxlen = 16
[model]
layers = [
  {{ type = "embedding", output_dim = 16 }},
  {{ type = "lstm", units = 16 }},
  {{ type = "dense", units = 1, activation = "sigmoid" }},
]
[train]
epochs = 8
batch_size = 32
optimizer = {{ name = "adam", learning_rate = 0.01 }}
"#
        ),
    )
    .expect("recipe");
    recipe.display().to_string()
}

#[test]
fn train_evaluate_predict_summary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let recipe = write_recipe(tmp.path());
    let run = tmp.path().join("run");
    let run_s = run.display().to_string();

    let out = ok(&textrnn(
        &[
            "-q", "train", "--recipe", &recipe, "--out", &run_s, "--json",
        ],
        None,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).expect("train --json is JSON");
    let acc = v["test"]["accuracy"].as_f64().expect("test accuracy");
    assert!(acc >= 0.95, "test accuracy {acc}");

    // evaluate prints the same numbers as the end of train
    let out = ok(&textrnn(&["-q", "evaluate", &run_s, "--json"], None));
    let e: serde_json::Value = serde_json::from_str(&out).expect("evaluate --json is JSON");
    assert_eq!(e["accuracy"], v["test"]["accuracy"]);
    assert_eq!(e["loss"], v["test"]["loss"]);

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

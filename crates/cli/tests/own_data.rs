//! Training on the user's own files in one command (`train --train FILE`), runs that stand on
//! their own (evaluate, tune-threshold, plot and report with the data files deleted),
//! `evaluate --file`, bad data refused before training, and the embedded IMDB sample when the
//! corpus can be neither found nor downloaded.

use std::path::Path;
use std::process::{Command, Output};

use textrnn::synthetic;

mod common;
use common::{err, ok, textrnn_in, write_parquet};

/// A small model and training setup; its data section is replaced by `--train`.
const TINY: &str = r#"name = "tiny"
seed = 5
[text]
num_words = 100
maxlen = 16
[model]
layers = [
  { type = "embedding", output_dim = 16 },
  { type = "lstm", units = 16 },
  { type = "dense", units = 1, activation = "sigmoid" },
]
[train]
epochs = 2
batch_size = 32
optimizer = { name = "adam", learning_rate = 0.01 }
"#;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("JSON output")
}

fn write_tsv(path: &Path, rows: &[(String, String)]) {
    let mut s = String::from("id\tsentence\tsentiment\n");
    for (i, (t, l)) in rows.iter().enumerate() {
        s.push_str(&format!("r{i}\t{t}\t{l}\n"));
    }
    std::fs::write(path, s).expect("tsv");
}

fn write_jsonl(path: &Path, rows: &[(String, String)]) {
    let mut s = String::new();
    for (t, l) in rows {
        s.push_str(&serde_json::json!({"review": t, "stars": l}).to_string());
        s.push('\n');
    }
    std::fs::write(path, s).expect("jsonl");
}

#[test]
fn one_command_on_a_csv_then_the_run_stands_on_its_own() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::write(dir.join("tiny.toml"), TINY).expect("recipe");
    let train = dir.join("reviews.csv");
    synthetic::write_csv(&train, &synthetic::keyword_corpus(400, 21)).expect("csv");

    let out = textrnn_in(
        &[
            "train",
            "--train",
            "reviews.csv",
            "--recipe",
            "tiny.toml",
            "--out",
            "run",
            "--json",
        ],
        dir,
        &[],
    );
    let stdout = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("held out a stratified 10% of the training rows as the test split (40 rows)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("held out a stratified 15% of the rest as the validation split (54 rows)"),
        "{stderr}"
    );
    let v = json(&stdout);
    assert_eq!(v["train_size"], 306);
    assert_eq!(v["validation_size"], 54);
    assert_eq!(v["test_size"], 40);
    let accuracy = v["test"]["accuracy"].as_f64().expect("accuracy");

    // config.json: the data file absolute, with its fingerprint.
    let run = dir.join("run");
    let config = json(&std::fs::read_to_string(run.join("config.json")).expect("config"));
    let abs = std::fs::canonicalize(&train).expect("canonical");
    assert_eq!(config["data"]["corpus"], "files");
    assert_eq!(
        Path::new(config["data"]["train"].as_str().expect("train path")),
        abs
    );
    let fp = &config["data_files"][0];
    assert_eq!(fp["rows"], 400);
    assert_eq!(fp["bytes"], std::fs::metadata(&train).expect("meta").len());
    assert_eq!(fp["sha256"].as_str().expect("sha").len(), 64);
    assert!(run.join("data/test.jsonl.gz").is_file());
    assert!(run.join("data/validation.jsonl.gz").is_file());

    // The data file changes: evaluate says so, and still uses the stored split.
    let offline = [("TEXTRNN_OFFLINE", "1")];
    let run_s = run.display().to_string();
    let mut grown = std::fs::read_to_string(&train).expect("read");
    grown.push_str("\"one more wonderful film\",pos\n");
    std::fs::write(&train, grown).expect("grow");
    let out = textrnn_in(&["evaluate", &run_s, "--json"], dir, &offline);
    let e = json(&ok(&out));
    assert_eq!(e["accuracy"].as_f64(), Some(accuracy));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reviews.csv has changed since this run was trained"),
        "{stderr}"
    );

    // The data is gone, and there is no network: the run still evaluates, tunes, plots, reports.
    std::fs::remove_file(&train).expect("delete data");
    let e = json(&ok(&textrnn_in(
        &["evaluate", &run_s, "--json"],
        dir,
        &offline,
    )));
    assert_eq!(e["n"], 40);
    assert_eq!(e["accuracy"].as_f64(), Some(accuracy));
    ok(&textrnn_in(
        &["-q", "tune-threshold", &run_s],
        dir,
        &offline,
    ));
    ok(&textrnn_in(&["-q", "plot", &run_s], dir, &offline));
    ok(&textrnn_in(
        &["-q", "report", &run_s, "--examples", "0"],
        dir,
        &offline,
    ));
    assert!(run.join("report.html").is_file());
}

#[test]
fn tsv_and_jsonl_with_named_columns_and_given_splits() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::write(dir.join("tiny.toml"), TINY).expect("recipe");
    write_tsv(&dir.join("train.tsv"), &synthetic::keyword_corpus(300, 1));
    write_tsv(&dir.join("val.tsv"), &synthetic::keyword_corpus(60, 2));
    write_tsv(&dir.join("test.tsv"), &synthetic::keyword_corpus(50, 3));
    let v = json(&ok(&textrnn_in(
        &[
            "-q",
            "train",
            "--train",
            "train.tsv",
            "--validation",
            "val.tsv",
            "--test",
            "test.tsv",
            "--text-col",
            "sentence",
            "--label-col",
            "sentiment",
            "--recipe",
            "tiny.toml",
            "--out",
            "tsv-run",
            "--json",
        ],
        dir,
        &[],
    )));
    assert_eq!(
        (&v["train_size"], &v["validation_size"], &v["test_size"]),
        (&300.into(), &60.into(), &50.into())
    );

    write_jsonl(&dir.join("train.jsonl"), &synthetic::keyword_corpus(300, 4));
    write_jsonl(&dir.join("test.jsonl"), &synthetic::keyword_corpus(50, 5));
    let v = json(&ok(&textrnn_in(
        &[
            "-q",
            "train",
            "--train",
            "train.jsonl",
            "--test",
            "test.jsonl",
            "--text-col",
            "review",
            "--label-col",
            "stars",
            "--recipe",
            "tiny.toml",
            "--out",
            "jsonl-run",
            "--json",
        ],
        dir,
        &[],
    )));
    assert_eq!(v["test_size"], 50);
    // 15% of 150 rows per class is 22.5: largest remainders, ties to the training part.
    assert_eq!(v["validation_size"], 44);

    // Parquet, with an integer-like label column kept as written.
    let rows: Vec<(String, String)> = synthetic::keyword_corpus(200, 7);
    let table: Vec<Vec<&str>> = rows
        .iter()
        .map(|(t, l)| vec![t.as_str(), if l == "pos" { "01" } else { "1" }])
        .collect();
    write_parquet(&dir.join("train.parquet"), &["text", "label"], &table);
    let v = json(&ok(&textrnn_in(
        &[
            "-q",
            "train",
            "--train",
            "train.parquet",
            "--recipe",
            "tiny.toml",
            "--out",
            "parquet-run",
            "--json",
        ],
        dir,
        &[],
    )));
    assert_eq!(v["test_size"], 20);
    let config =
        json(&std::fs::read_to_string(dir.join("parquet-run/config.json")).expect("config"));
    assert_eq!(config["classes"], serde_json::json!(["01", "1"]));

    // evaluate --file on another labelled file, same output shape as the test split's.
    write_jsonl(&dir.join("more.jsonl"), &synthetic::keyword_corpus(30, 6));
    let e = json(&ok(&textrnn_in(
        &[
            "-q",
            "evaluate",
            "jsonl-run",
            "--file",
            "more.jsonl",
            "--text-col",
            "review",
            "--label-col",
            "stars",
            "--json",
        ],
        dir,
        &[],
    )));
    assert_eq!(e["n"], 30);
    assert!(e["data"].as_str().expect("data").contains("more.jsonl"));

    // Labels the run does not know are one error that names them.
    std::fs::write(
        dir.join("odd.jsonl"),
        "{\"review\": \"a wonderful film\", \"stars\": \"pos\"}\n{\"review\": \"meh\", \"stars\": \"meh\"}\n{\"review\": \"so so\", \"stars\": \"ok\"}\n",
    )
    .expect("odd");
    let e = err(&textrnn_in(
        &[
            "-q",
            "evaluate",
            "jsonl-run",
            "--file",
            "odd.jsonl",
            "--text-col",
            "review",
            "--label-col",
            "stars",
        ],
        dir,
        &[],
    ));
    assert!(e.contains("\"meh\"") && e.contains("\"ok\""), "{e}");
}

#[test]
fn bad_data_is_refused_before_training() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::write(dir.join("tiny.toml"), TINY).expect("recipe");
    let train = |args: &[&str]| {
        let mut all = vec!["-q", "train", "--recipe", "tiny.toml", "--out", "never"];
        all.extend_from_slice(args);
        let e = err(&textrnn_in(&all, dir, &[]));
        assert!(!dir.join("never").exists(), "a run directory was made: {e}");
        e
    };
    std::fs::write(dir.join("header.csv"), "text,label\n").expect("f");
    let e = train(&["--train", "header.csv"]);
    assert!(e.contains("header.csv") && e.contains("no records"), "{e}");

    std::fs::write(dir.join("one.csv"), "text,label\ngood,pos\nfine,pos\n").expect("f");
    let e = train(&["--train", "one.csv"]);
    assert!(e.contains("one.csv") && e.contains("only one class"), "{e}");

    synthetic::write_csv(&dir.join("ok.csv"), &synthetic::keyword_corpus(100, 9)).expect("f");
    std::fs::write(dir.join("t.csv"), "text,label\ngood,pos\nodd,meh\n").expect("f");
    let e = train(&["--train", "ok.csv", "--test", "t.csv"]);
    assert!(e.contains("\"meh\"") && e.contains("t.csv"), "{e}");

    let e = err(&textrnn_in(
        &["-q", "train", "--recipe", "ok.csv"],
        dir,
        &[],
    ));
    assert!(e.contains("--train ok.csv"), "{e}");
}

#[test]
fn with_no_corpus_and_no_network_the_main_job_trains_on_the_embedded_sample() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let cache = dir.join("cache").display().to_string();
    let hf = dir.join("hf").display().to_string();
    let env = [
        ("TEXTRNN_OFFLINE", "1"),
        ("HF_HUB_OFFLINE", "1"),
        ("TEXTRNN_CACHE", cache.as_str()),
        ("HF_HOME", hf.as_str()),
    ];
    let out = textrnn_in(
        &[
            "train",
            "--epochs",
            "1",
            "--limit",
            "200",
            "--max-len",
            "40",
            "--vocab-size",
            "500",
            "--out",
            "run",
            "--json",
        ],
        dir,
        &env,
    );
    let v = json(&ok(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("embedded sample"), "{stderr}");
    assert!(
        v["test"]["data"]
            .as_str()
            .expect("data")
            .starts_with("SAMPLE"),
        "{v}"
    );
    let run = dir.join("run");
    let config = json(&std::fs::read_to_string(run.join("config.json")).expect("config"));
    assert_eq!(config["data"]["corpus"], "imdb_sample");
    let metrics = json(&std::fs::read_to_string(run.join("metrics.json")).expect("metrics"));
    assert!(metrics["data"]
        .as_str()
        .expect("data")
        .starts_with("SAMPLE"));
    // Evaluating it needs nothing either, and still says "sample".
    let table = ok(&textrnn_in(&["-q", "evaluate", "run"], dir, &env));
    assert!(table.contains("SAMPLE"), "{table}");
}

/// The model weights of a run, as bytes.
fn weights(run: &Path) -> Vec<u8> {
    std::fs::read(run.join("model.safetensors")).expect("model.safetensors")
}

fn status(run: &Path) -> serde_json::Value {
    json(&std::fs::read_to_string(run.join("run.json")).expect("run.json"))
}

/// Starts a training of `epochs` epochs into `out`, waits until its first checkpoint exists,
/// sends `signal`, and returns the finished process' output.
#[cfg(unix)]
fn interrupted_training(dir: &Path, out: &str, signal: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args([
            "-q",
            "train",
            "--train",
            "big.csv",
            "--recipe",
            "long.toml",
            "--out",
            out,
        ])
        .current_dir(dir)
        .env_remove("TEXTRNN_DATA_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("train starts");
    let checkpoint = dir.join(out).join("checkpoint.safetensors");
    let started = std::time::Instant::now();
    while !checkpoint.is_file() {
        assert!(
            started.elapsed().as_secs() < 120,
            "no checkpoint after 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let _ = child.stdin.take();
    child.wait_with_output().expect("train ends")
}

#[cfg(unix)]
#[test]
fn an_interrupted_or_killed_run_resumes_to_the_same_weights() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::write(
        dir.join("long.toml"),
        TINY.replace("epochs = 2", "epochs = 25"),
    )
    .expect("recipe");
    synthetic::write_csv(&dir.join("big.csv"), &synthetic::keyword_corpus(1500, 31)).expect("csv");

    ok(&textrnn_in(
        &[
            "-q",
            "train",
            "--train",
            "big.csv",
            "--recipe",
            "long.toml",
            "--out",
            "straight",
        ],
        dir,
        &[],
    ));
    let expected = weights(&dir.join("straight"));
    assert_eq!(status(&dir.join("straight"))["state"], "complete");
    assert!(!dir.join("straight/checkpoint.safetensors").exists());

    for (signal, out) in [("-INT", "int"), ("-TERM", "term"), ("-KILL", "killed")] {
        let run = dir.join(out);
        let result = interrupted_training(dir, out, signal);
        let state = status(&run);
        if signal == "-KILL" {
            assert_eq!(state["state"], "training", "{state}");
        } else {
            assert_eq!(result.status.code(), Some(130), "{signal}: {result:?}");
            assert_eq!(state["state"], "interrupted", "{state}");
            let stderr = String::from_utf8_lossy(&result.stderr);
            assert!(stderr.contains("textrnn train --resume"), "{stderr}");
        }
        // An unfinished run is refused by the commands that read runs, with the way out.
        let e = err(&textrnn_in(&["-q", "evaluate", out], dir, &[]));
        assert!(
            e.contains("--resume") && e.contains("--allow-incomplete"),
            "{e}"
        );
        // ... and so is a plain training into its directory.
        let e = err(&textrnn_in(
            &[
                "-q",
                "train",
                "--train",
                "big.csv",
                "--recipe",
                "long.toml",
                "--out",
                out,
            ],
            dir,
            &[],
        ));
        assert!(e.contains("--resume"), "{e}");

        ok(&textrnn_in(&["-q", "train", "--resume", out], dir, &[]));
        assert_eq!(status(&run)["state"], "complete");
        assert!(
            weights(&run) == expected,
            "{signal}: resumed weights differ from the uninterrupted run's"
        );
        ok(&textrnn_in(&["-q", "evaluate", out], dir, &[]));
    }
}

#[test]
fn the_subnormal_mode_is_read_from_the_environment_and_recorded_in_the_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    synthetic::write_csv(&dir.join("d.csv"), &synthetic::keyword_corpus(200, 43)).expect("csv");
    std::fs::write(dir.join("tiny.toml"), TINY).expect("recipe");
    let train = |out: &str, env: &[(&str, &str)]| {
        let args = [
            "-q",
            "train",
            "--train",
            "d.csv",
            "--recipe",
            "tiny.toml",
            "--out",
            out,
        ];
        textrnn_in(&args, dir, env)
    };
    // The binary flushes by default, as TensorFlow does; `keep` is IEEE gradual underflow.
    ok(&train("flushed", &[]));
    assert_eq!(status(&dir.join("flushed"))["subnormals"], "flush");
    ok(&train("kept", &[("TEXTRNN_SUBNORMALS", "keep")]));
    assert_eq!(status(&dir.join("kept"))["subnormals"], "keep");
    // Any other value is refused before anything is written.
    let e = err(&train("bad", &[("TEXTRNN_SUBNORMALS", "fast")]));
    assert!(
        e.contains("TEXTRNN_SUBNORMALS") && e.contains("`fast`") && e.contains("`keep`"),
        "{e}"
    );
    assert!(!dir.join("bad").exists());
}

#[test]
fn run_directories_are_exclusive_and_names_stay_under_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    synthetic::write_csv(&dir.join("d.csv"), &synthetic::keyword_corpus(200, 41)).expect("csv");
    for (name, why) in [
        ("/tmp/x", "path separator"),
        ("../../x", "path separator"),
        ("", "is empty"),
    ] {
        std::fs::write(
            dir.join("named.toml"),
            TINY.replace("name = \"tiny\"", &format!("name = {name:?}")),
        )
        .expect("recipe");
        let e = err(&textrnn_in(
            &["-q", "train", "--recipe", "named.toml"],
            dir,
            &[],
        ));
        assert!(e.contains(why), "{name:?}: {e}");
    }
    assert!(!dir.join("runs").exists());

    // A user's own folder is never written into.
    std::fs::write(dir.join("tiny.toml"), TINY).expect("recipe");
    std::fs::create_dir(dir.join("mine")).expect("mine");
    std::fs::write(dir.join("mine/metrics.json"), "{\"mine\": true}").expect("mine");
    let e = err(&textrnn_in(
        &[
            "-q",
            "train",
            "--train",
            "d.csv",
            "--recipe",
            "tiny.toml",
            "--out",
            "mine",
        ],
        dir,
        &[],
    ));
    assert!(e.contains("not empty (metrics.json)"), "{e}");
    assert_eq!(
        std::fs::read_to_string(dir.join("mine/metrics.json")).expect("read"),
        "{\"mine\": true}"
    );

    // Two trainings of one recipe at once get two directories.
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_textrnn"))
            .args(["-q", "train", "--train", "d.csv", "--recipe", "tiny.toml"])
            .current_dir(dir)
            .env_remove("TEXTRNN_DATA_DIR")
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().expect("a"), b.join().expect("b"))
    });
    ok(&a.expect("a runs"));
    ok(&b.expect("b runs"));
    assert!(dir.join("runs/d").is_dir() && dir.join("runs/d-2").is_dir());
    // Two trainings into one --out: exactly one succeeds, and the run is whole.
    let spawn_out = || {
        Command::new(env!("CARGO_BIN_EXE_textrnn"))
            .args([
                "-q",
                "train",
                "--train",
                "d.csv",
                "--recipe",
                "tiny.toml",
                "--out",
                "same",
            ])
            .current_dir(dir)
            .env_remove("TEXTRNN_DATA_DIR")
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn_out);
        let b = s.spawn(spawn_out);
        (a.join().expect("a"), b.join().expect("b"))
    });
    let (a, b) = (a.expect("a runs"), b.expect("b runs"));
    assert!(
        a.status.success() != b.status.success(),
        "exactly one must win: {a:?} {b:?}"
    );
    let loser = if a.status.success() { &b } else { &a };
    let stderr = String::from_utf8_lossy(&loser.stderr);
    assert!(
        stderr.contains("another textrnn process") || stderr.contains("already holds"),
        "{stderr}"
    );
    ok(&textrnn_in(&["-q", "evaluate", "same"], dir, &[]));
}

#[test]
fn a_diverging_training_is_warned_about_and_not_kept() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::write(dir.join("tiny.toml"), TINY).expect("recipe");
    synthetic::write_csv(&dir.join("d.csv"), &synthetic::keyword_corpus(300, 51)).expect("csv");
    let out = textrnn_in(
        &[
            "train",
            "--train",
            "d.csv",
            "--recipe",
            "tiny.toml",
            "--lr",
            "1e6",
            "--out",
            "run",
        ],
        dir,
        &[],
    );
    let e = err(&out);
    assert!(
        e.contains("every epoch diverged") && e.contains("--lr"),
        "{e}"
    );
    let run = dir.join("run");
    assert!(!run.join("model.safetensors").exists());
    assert_eq!(status(&run)["state"], "failed");
    let history = json(&std::fs::read_to_string(run.join("history.json")).expect("history"));
    assert_eq!(
        history["warnings"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );
}

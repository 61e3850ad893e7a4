//! `textrnn check` end to end on files the tests write: planted train/test leakage and
//! conflicting duplicates (exact counts, `--strict`), labels that differ only by case, empty
//! texts, a non-UTF-8 row, token-length percentiles and OOV rates on a hand-computable file,
//! the `--json` shape and the tables; multi-label files (documents per label, a separator that
//! never occurs, a row with no label).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn textrnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("TEXTRNN_DATA_DIR")
        .output()
        .expect("textrnn runs")
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn check_json(args: &[&str]) -> Value {
    let mut all = vec!["check", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&stdout_of(&textrnn(&all))).expect("check --json prints JSON")
}

/// Writes a CSV file with a `text,label` header; texts are quoted (`"` doubled).
fn write_csv(dir: &Path, name: &str, rows: &[(&str, &str)]) -> PathBuf {
    let mut body = String::from("text,label\n");
    for (text, label) in rows {
        body.push_str(&format!("\"{}\",{label}\n", text.replace('"', "\"\"")));
    }
    let path = dir.join(name);
    std::fs::write(&path, body).expect("write csv");
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// `--train A --validation B --test C`.
fn split_args(paths: &[PathBuf; 3]) -> Vec<&str> {
    let [train, validation, test] = paths;
    vec![
        "--train",
        s(train),
        "--validation",
        s(validation),
        "--test",
        s(test),
    ]
}

fn warning_kinds(r: &Value) -> Vec<&str> {
    r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect()
}

/// Train, validation and test files with planted leakage and duplicates:
/// - train rows 3 and 4 are the same text after normalisation with labels pos / neg;
/// - train rows 5 and 7 are the same text, both pos;
/// - validation row 1 is train row 2 (same label);
/// - test row 2 is train row 8 (same label), test row 3 is train row 6 with another label.
fn planted(dir: &Path) -> [PathBuf; 3] {
    let train = write_csv(
        dir,
        "train.csv",
        &[
            ("A wonderful film, truly moving", "pos"),
            ("Dull and far too long", "neg"),
            ("The plot was thin", "pos"),
            ("the plot was   thin.", "neg"),
            ("Great acting and a great score", "pos"),
            ("I want my two hours back", "neg"),
            ("Great acting and a great score", "pos"),
            ("Loved every minute", "pos"),
        ],
    );
    let validation = write_csv(
        dir,
        "validation.csv",
        &[
            ("dull and far too LONG!", "neg"),
            ("A new review nobody wrote before", "pos"),
        ],
    );
    let test = write_csv(
        dir,
        "test.csv",
        &[
            ("Something completely different", "neg"),
            ("LOVED every minute!!", "pos"),
            ("I want my two hours back", "pos"),
            ("Another fresh text", "neg"),
        ],
    );
    [train, validation, test]
}

#[test]
fn planted_leakage_and_conflicting_duplicates_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let paths = planted(dir.path());
    let files = split_args(&paths);
    let r = check_json(&files);
    assert_eq!(r["classes"], json!(["neg", "pos"]));
    let train_split = &r["splits"][0];
    assert_eq!(train_split["split"], "train");
    assert_eq!(train_split["rows"], 8);
    // (distinct texts, rows in their groups, rows repeating an earlier one)
    let counts = |d: &Value| [&d["texts"], &d["rows"], &d["extra_rows"]].map(|v| v.as_u64());
    let duplicates = &train_split["duplicates"];
    assert_eq!(counts(duplicates), [Some(2), Some(4), Some(2)]);
    assert_eq!(duplicates["examples"][1]["count"], 2);
    let conflicting = &train_split["conflicting_duplicates"];
    assert_eq!(counts(conflicting), [Some(1), Some(2), Some(1)]);
    assert_eq!(
        conflicting["examples"],
        json!([{"text": "The plot was thin", "count": 2, "rows": [
            {"id": "3", "label": "pos"}, {"id": "4", "label": "neg"}]}])
    );
    assert_eq!(r["splits"][1]["conflicting_duplicates"]["texts"], 0);
    assert_eq!(r["splits"][2]["conflicting_duplicates"]["texts"], 0);

    assert_eq!(
        r["overlaps"],
        json!([
            {"split": "validation", "rows": 1, "share": 0.5, "texts": 1, "conflicting": 0,
             "examples": [{"text": "dull and far too LONG!", "row": {"id": "1", "label": "neg"},
                           "train": [{"id": "2", "label": "neg"}]}]},
            {"split": "test", "rows": 2, "share": 0.5, "texts": 2, "conflicting": 1,
             "examples": [
                {"text": "LOVED every minute!!", "row": {"id": "2", "label": "pos"},
                 "train": [{"id": "8", "label": "pos"}]},
                {"text": "I want my two hours back", "row": {"id": "3", "label": "pos"},
                 "train": [{"id": "6", "label": "neg"}]}]}
        ])
    );
    assert_eq!(
        warning_kinds(&r),
        ["conflicting_duplicates", "leakage", "leakage"]
    );

    // The tables say the same; without --strict the command succeeds.
    let mut args = vec!["check"];
    args.extend_from_slice(&files);
    let table = stdout_of(&textrnn(&args));
    for line in [
        "- train: 1 texts occur with different labels (2 rows), e.g. id 3 (pos) and id 4 (neg)",
        "- train/validation overlap: 1 of 2 validation rows (50.0%) have a text that is also in train, e.g. validation id 1 = train id 2 (neg)",
        "- train/test overlap: 2 of 4 test rows (50.0%) have a text that is also in train (1 with another label there), e.g. test id 2 = train id 8 (pos)",
    ] {
        assert!(table.lines().any(|l| l == line), "{line:?} not in\n{table}");
    }
    assert!(
        table.contains("test id 2 = train id 8: LOVED every minute!!"),
        "{table}"
    );

    // --strict fails, naming the three problems.
    args.push("--strict");
    let out = textrnn(&args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--strict: 3 problem(s)"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn strict_passes_on_clean_data() {
    let dir = tempfile::tempdir().unwrap();
    let train = write_csv(
        dir.path(),
        "train.csv",
        &[
            ("good", "pos"),
            ("bad", "neg"),
            ("fine", "pos"),
            ("poor", "neg"),
        ],
    );
    let test = write_csv(
        dir.path(),
        "test.csv",
        &[("great", "pos"), ("awful", "neg")],
    );
    let validation = write_csv(dir.path(), "val.csv", &[("nice", "pos"), ("dire", "neg")]);
    let paths = [train, validation, test];
    let mut args = vec!["check", "--strict"];
    args.extend(split_args(&paths));
    let table = stdout_of(&textrnn(&args));
    assert!(table.contains("No problems found."), "{table}");
}

#[test]
fn label_variants_empty_texts_and_a_non_utf8_row() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let mut body =
        b"text,label\ngood movie,pos\nbad movie,neg\n\"\",Pos\nnice movie,Pos\n".to_vec();
    body.extend_from_slice(b"awful \xff movie,neg\nfine,pos\n");
    std::fs::write(&train, body).unwrap();
    let validation = write_csv(dir.path(), "val.csv", &[("okay movie", "neg")]);
    let test = write_csv(dir.path(), "test.csv", &[("great movie", "pos")]);
    let r = check_json(&split_args(&[train, validation, test]));
    // Labels are kept as written: "Pos" and "pos" are two classes, reported as variants.
    assert_eq!(r["classes"], json!(["Pos", "neg", "pos"]));
    assert_eq!(
        r["label_variants"],
        json!([{"labels": ["Pos", "pos"], "counts": [2, 3]}])
    );
    assert_eq!(
        r["splits"][0]["empty_texts"],
        json!({"count": 1, "ids": ["3"]})
    );
    assert_eq!(r["splits"][1]["empty_texts"]["count"], 0);
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["split"], "train");
    assert_eq!(files[0]["format"], "csv");
    assert_eq!(files[0]["rows"], 6);
    assert_eq!(
        files[0]["non_utf8"],
        json!({"count": 1, "examples": [{"id": "5", "line": 6}]})
    );
    assert_eq!(files[2]["non_utf8"]["count"], 0);
    assert_eq!(
        warning_kinds(&r),
        ["label_variants", "empty_texts", "not_utf8"]
    );
    assert_eq!(
        r["warnings"][0]["message"],
        "labels that differ only by case or surrounding whitespace are separate classes: \"Pos\" (2 rows), \"pos\" (3 rows)"
    );
    assert_eq!(
        r["warnings"][1]["message"],
        "train: 1 empty texts, e.g. ids 3"
    );
    let not_utf8 = r["warnings"][2]["message"].as_str().unwrap();
    assert!(
        not_utf8.ends_with(
            "train.csv: 1 rows were not valid UTF-8 (bad bytes replaced), first at line 6 (id 5)"
        ),
        "{not_utf8}"
    );
}

const WORDS: [&str; 10] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
];

/// A recipe with the given `[text]` settings (its data is replaced by --train).
fn recipe(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let body = format!(
        "name = \"{name}\"\n[data]\ncorpus = \"imdb\"\n[text]\n{text}\n[model]\nlayers = []\n"
    );
    std::fs::write(&path, body).unwrap();
    path
}

/// Train row i (1..=10) holds the first i words: lengths 1..=10, word counts 10..=1, so
/// `alpha` gets index 1 ... `kappa` index 10.
fn length_files(dir: &Path) -> [PathBuf; 3] {
    let texts: Vec<String> = (1..=10).map(|i| WORDS[..i].join(" ")).collect();
    let rows: Vec<(&str, &str)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), if i % 2 == 0 { "a" } else { "b" }))
        .collect();
    [
        write_csv(dir, "train.csv", &rows),
        write_csv(dir, "val.csv", &[("alpha omega", "a")]),
        write_csv(
            dir,
            "test.csv",
            &[("alpha beta mu nu", "b"), ("kappa", "a")],
        ),
    ]
}

#[test]
fn token_lengths_and_oov_on_a_hand_computable_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = length_files(dir.path());
    let files = split_args(&paths);
    let all_words = recipe(dir.path(), "all", "maxlen = 8");
    let mut args = vec!["--recipe", s(&all_words)];
    args.extend_from_slice(&files);
    let r = check_json(&args);

    // The JSON shape.
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&r),
        [
            "classes",
            "files",
            "label_variants",
            "overlaps",
            "recipe",
            "source",
            "splits",
            "tokenizer",
            "warnings"
        ]
    );
    assert_eq!(
        keys(&r["splits"][0]),
        [
            "classes",
            "conflicting_duplicates",
            "duplicates",
            "empty_texts",
            "lengths",
            "no_words",
            "oov",
            "rows",
            "split"
        ]
    );
    assert_eq!(
        r["splits"][0]["classes"],
        json!([{"class": "a", "count": 5, "share": 0.5}, {"class": "b", "count": 5, "share": 0.5}])
    );
    assert_eq!(
        r["tokenizer"],
        json!({"fit_on": "train", "words": 10, "num_words": null, "maxlen": 8, "maxlen_from_data": false})
    );
    // Lengths 1..=10: nearest-rank p50 = 5th, p90 = 9th, p95 and p99 = 10th; 9 and 10 > 8.
    assert_eq!(
        r["splits"][0]["lengths"],
        json!({"p50": 5, "p90": 9, "p95": 10, "p99": 10, "max": 10, "mean": 5.5,
               "truncated": 2, "truncated_share": 0.2})
    );
    assert_eq!(
        r["splits"][0]["oov"],
        json!({"tokens": 55, "oov_tokens": 0, "rate": 0.0})
    );
    // Unknown words are dropped (no oov_token): "alpha omega" is 1 id long.
    assert_eq!(r["splits"][1]["lengths"]["max"], 1);
    assert_eq!(
        r["splits"][1]["oov"],
        json!({"tokens": 2, "oov_tokens": 1, "rate": 0.5})
    );
    assert_eq!(
        r["splits"][2]["lengths"],
        json!({"p50": 1, "p90": 2, "p95": 2, "p99": 2, "max": 2, "mean": 1.5,
               "truncated": 0, "truncated_share": 0.0})
    );
    assert_eq!(
        r["splits"][2]["oov"],
        json!({"tokens": 5, "oov_tokens": 2, "rate": 0.4})
    );
    assert_eq!(
        r["warnings"],
        json!([{"kind": "truncation",
                "message": "train: 2 of 10 texts (20.0%) are longer than maxlen 8 tokens and get cut"}])
    );

    // num_words = 3 keeps ids 1 and 2 (alpha, beta): the rest is out of vocabulary.
    let small = recipe(dir.path(), "small", "num_words = 3");
    let mut args = vec!["--recipe", s(&small)];
    args.extend_from_slice(&files);
    let r = check_json(&args);
    assert_eq!(
        r["tokenizer"]["maxlen"], 3,
        "longest train text (2 ids) + 1"
    );
    assert_eq!(r["tokenizer"]["maxlen_from_data"], true);
    assert_eq!(r["splits"][0]["lengths"]["p50"], 2);
    assert_eq!(r["splits"][0]["lengths"]["max"], 2);
    assert_eq!(r["splits"][0]["oov"]["oov_tokens"], 36);
    assert_eq!(
        r["splits"][2]["oov"],
        json!({"tokens": 5, "oov_tokens": 3, "rate": 0.6})
    );
}

#[test]
fn without_test_and_validation_files_the_training_hold_outs_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<(String, &str)> = (0..40)
        .map(|i| {
            (
                format!("review number {i}"),
                if i % 2 == 0 { "pos" } else { "neg" },
            )
        })
        .collect();
    let rows: Vec<(&str, &str)> = rows.iter().map(|(t, l)| (t.as_str(), *l)).collect();
    let train = write_csv(dir.path(), "train.csv", &rows);
    let r = check_json(&["--train", s(&train)]);
    let splits: Vec<(&str, u64)> = r["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["split"].as_str().unwrap(), s["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        splits.iter().map(|s| s.0).collect::<Vec<_>>(),
        ["train", "validation", "test"]
    );
    assert_eq!(splits.iter().map(|s| s.1).sum::<u64>(), 40);
    assert_eq!(splits[2].1, 4, "a stratified 10% test split");
    assert_eq!(r["files"].as_array().unwrap().len(), 1);
    assert_eq!(r["overlaps"][1]["rows"], 0);
}

/// The `(class, count)` rows of each split of a `check --json` report.
fn class_counts(r: &Value) -> Vec<(String, Vec<(String, u64)>)> {
    r["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let counts = s["classes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let class = c["class"].as_str().unwrap().to_string();
                    (class, c["count"].as_u64().unwrap())
                })
                .collect();
            (s["split"].as_str().unwrap().to_string(), counts)
        })
        .collect()
}

#[test]
fn multi_label_files_count_documents_per_label_and_bad_cells_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Label cells are quoted: their separator is the CSV delimiter. "politics,music" has no
    // space (each label is trimmed either way).
    let train = write_csv(
        d,
        "train.csv",
        &[
            ("goal in the match", "sports"),
            ("the vote and the goal", "\"sports, politics\""),
            ("a new genome study", "science"),
            ("senate vote on physics funding", "\"politics, science\""),
            ("guitar album of the league", "\"music, sports\""),
            ("election concert", "\"politics,music\""),
        ],
    );
    let validation = write_csv(
        d,
        "validation.csv",
        &[
            ("atom and album", "\"science, music\""),
            ("match report", "sports"),
        ],
    );
    let test = write_csv(
        d,
        "test.csv",
        &[
            ("genome vote", "\"science, politics\""),
            ("album review", "music"),
            ("league table", "sports"),
        ],
    );
    let paths = [train.clone(), validation, test];
    let mut args = split_args(&paths);
    args.extend(["--label-sep", ","]);
    let r = check_json(&args);
    assert_eq!(
        r["classes"],
        json!(["music", "politics", "science", "sports"])
    );
    // Documents carrying each label (a document with two labels counts under both):
    // train: music rows 5 and 6, politics rows 2, 4 and 6, science rows 3 and 4, sports rows
    // 1, 2 and 5 (10 labels on 6 rows); validation: science + music, sports; test: science +
    // politics, music, sports.
    let counts = |c: [u64; 4]| -> Vec<(String, u64)> {
        ["music", "politics", "science", "sports"]
            .iter()
            .zip(c)
            .map(|(l, n)| (l.to_string(), n))
            .collect()
    };
    assert_eq!(
        class_counts(&r),
        [
            ("train".to_string(), counts([2, 3, 2, 3])),
            ("validation".to_string(), counts([1, 0, 1, 1])),
            ("test".to_string(), counts([1, 1, 1, 1])),
        ]
    );
    let rows: Vec<u64> = r["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [6, 2, 3]);
    // The share is per document: 3 of the 6 train documents carry politics.
    assert_eq!(r["splits"][0]["classes"][1]["share"], 0.5);
    assert_eq!(r["splits"][1]["classes"][1]["share"], 0.0);

    // A separator that never occurs in the training file's label column: the file, its rows.
    let single = write_csv(d, "single.csv", &[("goal", "sports"), ("vote", "politics")]);
    let out = textrnn(&["check", "--train", s(&single), "--label-sep", ";"]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains(&format!(
            "{}: the label separator \";\" never occurs in column \"label\" (2 rows); it is almost certainly the wrong separator (for a single-label file, leave it out)",
            single.display()
        )),
        "{e}"
    );

    // A row whose label cell holds only separators and spaces: file and line (line 3: the
    // header is line 1).
    let empty = write_csv(
        d,
        "empty.csv",
        &[("goal", "\"sports, politics\""), ("vote", "\" , \"")],
    );
    let out = textrnn(&["check", "--train", s(&empty), "--label-sep", ","]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains(&format!(
            "{}:3: no label in column \"label\" (a multi-label row needs at least one)",
            empty.display()
        )),
        "{e}"
    );
}

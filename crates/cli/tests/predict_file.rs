//! `textrnn predict RUN --file FILE`: one result per input row, in input order, for CSV, TSV,
//! JSON Lines, Parquet and plain-text files (blank and duplicate rows included, a header is not
//! a text), `--id-col` passed through, `--output` CSV / JSON Lines / Parquet read back exactly,
//! and one clear error before any work for a bad `--output` extension or a missing column.
//!
//! One run is trained once for the whole file ([`shared_run`]). The 1,000,000-row benchmark input
//! of docs/benchmarks.md is written by the ignored test [`write_million_row_csv`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde_json::Value;
use textrnn::synthetic;

mod common;
use common::{err, ok, s, textrnn, write_parquet};

/// The run shared by this file's tests ([`synthetic::tiny_recipe`]: Embedding(16) -> LSTM(16) ->
/// sigmoid on 400 keyword texts), trained once; tests must not change it.
fn shared_run() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("predict-file-run");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("run dir");
        let recipe = dir.join("recipe.toml");
        let tiny = synthetic::tiny_recipe(&dir, "predict-tiny", 11).expect("tiny recipe");
        std::fs::write(&recipe, tiny.to_toml().expect("recipe toml")).expect("recipe");
        let run = dir.join("run");
        ok(&textrnn(
            &["-q", "train", "--recipe", s(&recipe), "--out", s(&run)],
            None,
        ));
        run
    })
}

/// Inputs with blank rows (empty and whitespace-only) and duplicates.
const TEXTS: [&str; 6] = [
    "a superb and brilliant film",
    "",
    "dreadful boring plot",
    "   ",
    "a superb and brilliant film",
    "dreadful boring plot",
];

/// What `predict --json` must say of [`TEXTS`], row by row: label and status.
const EXPECTED: [(Option<&str>, &str); 6] = [
    (Some("pos"), "ok"),
    (None, "empty text"),
    (Some("neg"), "ok"),
    (None, "empty text"),
    (Some("pos"), "ok"),
    (Some("neg"), "ok"),
];

fn predict_json(args: &[&str], stdin: Option<&str>) -> Vec<Value> {
    let run = shared_run();
    let mut all = vec!["-q", "predict", s(run), "--json"];
    all.extend_from_slice(args);
    ok(&textrnn(&all, stdin))
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// Checks one result per text of [`TEXTS`], in order, with row numbers as ids.
fn assert_aligned(rows: &[Value], what: &str) {
    assert_eq!(rows.len(), TEXTS.len(), "{what}: {rows:?}");
    for (i, ((row, text), (label, status))) in rows.iter().zip(TEXTS).zip(EXPECTED).enumerate() {
        assert_eq!(row["id"], (i + 1).to_string(), "{what} row {i}");
        assert_eq!(row["text"], text, "{what} row {i}");
        assert_eq!(row["label"], serde_json::json!(label), "{what} row {i}");
        assert_eq!(row["status"], status, "{what} row {i}");
        assert_eq!(row["probabilities"].is_null(), label.is_none(), "{what}");
    }
    // Duplicates get the same probabilities.
    assert_eq!(rows[0]["probabilities"], rows[4]["probabilities"]);
    assert_eq!(rows[2]["probabilities"], rows[5]["probabilities"]);
}

#[test]
fn one_result_per_row_in_order_for_every_format() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let quoted: Vec<String> = TEXTS.iter().map(|t| format!("\"{t}\"")).collect();

    // CSV with a second column; the header is not a text.
    let csv = dir.join("in.csv");
    let mut body = String::from("text,note\n");
    for (i, t) in quoted.iter().enumerate() {
        body.push_str(&format!("{t},n{i}\n"));
    }
    std::fs::write(&csv, body).expect("csv");
    // TSV with CRLF line ends, the text column second.
    let tsv = dir.join("in.tsv");
    let body: String = TEXTS.iter().map(|t| format!("x\t{t}\r\n")).collect();
    std::fs::write(&tsv, format!("note\ttext\r\n{body}")).expect("tsv");
    // JSON Lines.
    let jsonl = dir.join("in.jsonl");
    let body: String = TEXTS
        .iter()
        .map(|t| format!("{}\n", serde_json::json!({"text": t, "n": 1})))
        .collect();
    std::fs::write(&jsonl, body).expect("jsonl");
    // Parquet.
    let parquet = dir.join("in.parquet");
    let rows: Vec<Vec<&str>> = TEXTS.iter().map(|t| vec!["x", *t]).collect();
    write_parquet(&parquet, &["note", "text"], &rows);
    // Plain text: every line is an input, blank ones too.
    let txt = dir.join("in.txt");
    std::fs::write(&txt, TEXTS.join("\n") + "\n").expect("txt");

    let by_csv = predict_json(&["--file", s(&csv)], None);
    assert_aligned(&by_csv, "csv");
    for path in [&tsv, &jsonl, &parquet, &txt] {
        assert_eq!(
            predict_json(&["--file", s(path)], None),
            by_csv,
            "{}",
            path.display()
        );
    }
    // Arguments and standard input (blank lines included) give the same rows.
    assert_eq!(predict_json(&TEXTS, None), by_csv);
    assert_eq!(predict_json(&[], Some(&TEXTS.join("\n"))), by_csv);

    // The table shows every row with its id; empty texts say so.
    let run = shared_run();
    let table = ok(&textrnn(
        &["-q", "predict", s(run), "--file", s(&txt)],
        None,
    ));
    assert_eq!(table.matches("(empty text)").count(), 2, "{table}");
    assert_eq!(table.matches("superb and brilliant").count(), 2, "{table}");
    assert!(table.contains(" id "), "{table}");

    // A one-column CSV: the header line `text` is not predicted.
    let one = dir.join("one.csv");
    std::fs::write(&one, "text\nboring\n").expect("one.csv");
    let rows = predict_json(&["--file", s(&one)], None);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["text"], "boring");
}

#[test]
fn id_col_is_passed_through() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let csv = tmp.path().join("ids.csv");
    std::fs::write(
        &csv,
        "review_id,body\nr-7,dreadful plot\nr-3,\n007,superb film\n",
    )
    .expect("csv");
    let rows = predict_json(
        &[
            "--file",
            s(&csv),
            "--text-col",
            "body",
            "--id-col",
            "review_id",
        ],
        None,
    );
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["r-7", "r-3", "007"]);
    let statuses: Vec<&str> = rows
        .iter()
        .map(|r| r["status"].as_str().expect("s"))
        .collect();
    assert_eq!(statuses, ["ok", "empty text", "ok"]);

    let jsonl = tmp.path().join("ids.jsonl");
    std::fs::write(
        &jsonl,
        "{\"key\": 12345678901234567890123, \"text\": \"boring\"}\n",
    )
    .expect("jsonl");
    let rows = predict_json(&["--file", s(&jsonl), "--id-col", "key"], None);
    assert_eq!(rows[0]["id"], "12345678901234567890123");
}

/// The probability text of `v` (a JSON number written from an f32) as the f32 it came from.
fn f32_of(v: &Value) -> f32 {
    v.as_f64().expect("probability") as f32
}

#[test]
fn output_files_read_back_exactly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let input = dir.join("in.txt");
    std::fs::write(&input, TEXTS.join("\n")).expect("txt");
    let expected = predict_json(&["--file", s(&input)], None);
    let run = shared_run();
    let predict_to = |out: &Path, more: &[&str]| {
        let mut args = vec![
            "-q",
            "predict",
            s(run),
            "--file",
            s(&input),
            "--output",
            s(out),
        ];
        args.extend_from_slice(more);
        ok(&textrnn(&args, None))
    };

    // CSV: id,label,prob_<class>...,status; nulls are empty fields, floats exact f32 text.
    let out = dir.join("out.csv");
    let summary = predict_to(&out, &[]);
    assert!(
        summary.starts_with("Predicted 6 rows (2 empty texts) in ")
            && summary
                .trim_end()
                .ends_with(&format!("rows/s); wrote {}", out.display())),
        "{summary}"
    );
    let mut want = String::from("id,label,prob_neg,prob_pos,status\n");
    for r in &expected {
        let p = &r["probabilities"];
        let (label, neg, pos) = match r["label"].as_str() {
            Some(l) => (
                l.to_string(),
                f32_of(&p["neg"]).to_string(),
                f32_of(&p["pos"]).to_string(),
            ),
            None => Default::default(),
        };
        want.push_str(&format!(
            "{},{label},{neg},{pos},{}\n",
            r["id"].as_str().expect("id"),
            r["status"].as_str().expect("status")
        ));
    }
    assert_eq!(std::fs::read_to_string(&out).expect("out.csv"), want);

    // JSON Lines: the same columns as keys.
    let out = dir.join("out.jsonl");
    predict_to(&out, &[]);
    let lines: Vec<Value> = std::fs::read_to_string(&out)
        .expect("out.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), expected.len());
    for (got, r) in lines.iter().zip(&expected) {
        let keys: Vec<&str> = got
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["id", "label", "prob_neg", "prob_pos", "status"]);
        assert_eq!(got["id"], r["id"]);
        assert_eq!(got["label"], r["label"]);
        assert_eq!(got["status"], r["status"]);
        for class in ["neg", "pos"] {
            let p = &r["probabilities"][class];
            let g = &got[format!("prob_{class}").as_str()];
            assert_eq!(g.is_null(), p.is_null());
            if !p.is_null() {
                assert_eq!(f32_of(g), f32_of(p));
            }
        }
    }

    // Parquet: strings and FLOAT columns, nulls for empty texts.
    let out = dir.join("out.parquet");
    predict_to(&out, &[]);
    let reader = SerializedFileReader::new(File::open(&out).expect("out.parquet")).expect("reader");
    let got: Vec<Vec<Field>> = reader
        .get_row_iter(None)
        .expect("rows")
        .map(|r| {
            r.expect("row")
                .get_column_iter()
                .map(|(_, f)| f.clone())
                .collect()
        })
        .collect();
    let want: Vec<Vec<Field>> = expected
        .iter()
        .map(|r| {
            let str_or_null = |v: &Value| v.as_str().map_or(Field::Null, |s| Field::Str(s.into()));
            let prob = |c: &str| {
                let p = &r["probabilities"][c];
                if p.is_null() {
                    Field::Null
                } else {
                    Field::Float(f32_of(p))
                }
            };
            vec![
                str_or_null(&r["id"]),
                str_or_null(&r["label"]),
                prob("neg"),
                prob("pos"),
                str_or_null(&r["status"]),
            ]
        })
        .collect();
    assert_eq!(got, want);

    // --json: the summary as one object.
    let out = dir.join("again.jsonl");
    let v: Value = serde_json::from_str(&predict_to(&out, &["--json"])).expect("summary JSON");
    assert_eq!(v["rows"], 6);
    assert_eq!(v["empty"], 2);
    assert_eq!(v["output"], s(&out));
}

#[test]
fn bad_output_or_missing_column_fail_before_any_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let csv = dir.join("in.csv");
    std::fs::write(&csv, "text\nboring\n").expect("csv");
    // The run directory does not even exist: both are refused before the model is loaded.
    let no_run = dir.join("no-run");
    let fails = |out: &Path, more: &[&str]| {
        let mut args = vec!["predict", s(&no_run), "--file", s(&csv), "--output", s(out)];
        args.extend_from_slice(more);
        err(&textrnn(&args, None)).trim_end().to_string()
    };
    let out = dir.join("out.xlsx");
    assert_eq!(
        fails(&out, &[]),
        format!(
            "error: {}: unknown output format: the file name must end in .csv, .jsonl, .ndjson, .parquet",
            out.display()
        )
    );
    // The text column is checked when the file is opened.
    assert_eq!(
        fails(&dir.join("out.csv"), &["--text-col", "review"]),
        format!(
            "error: {}:1: missing column \"review\" (found: text)",
            csv.display()
        )
    );
    assert_eq!(
        std::fs::read_dir(dir).expect("dir").count(),
        1,
        "only the input is left"
    );
}

/// Writes the benchmark input of docs/benchmarks.md: `BIG_CSV` (default
/// `target/tmp/big.csv`), 1,000,000 short synthetic reviews with an `id` column.
/// `cargo test -p cli --test predict_file -- --ignored write_million_row_csv`
#[test]
#[ignore = "writes a 1,000,000-row benchmark input (about 62 MB)"]
fn write_million_row_csv() {
    let path = std::env::var_os("BIG_CSV").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("big.csv"),
        PathBuf::from,
    );
    let mut out = BufWriter::new(File::create(&path).expect("big.csv"));
    writeln!(out, "id,text").expect("header");
    let mut id = 0;
    for seed in 0..100 {
        for (text, _) in synthetic::keyword_corpus(10_000, seed) {
            id += 1;
            writeln!(out, "{id},{text}").expect("row");
        }
    }
    out.flush().expect("flush");
    assert_eq!(id, 1_000_000);
}

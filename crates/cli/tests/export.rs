//! `textrnn export`: the files it writes, its JSON summary, and the bad inputs refused before
//! anything is written (unknown format, --out in a missing directory, the run directory).
//! The numbers against onnxruntime are checked in the root's `tests/onnx_parity.rs`.

mod common;

use std::path::Path;

use common::{err, ok, s, textrnn};
use textrnn::synthetic;

/// Trains a one-epoch masked LSTM on a generated corpus into `dir/run` (binary CLI).
fn train(dir: &Path) -> std::path::PathBuf {
    let train = dir.join("train.csv");
    synthetic::write_csv(&train, &synthetic::keyword_corpus(120, 5)).expect("train.csv");
    let recipe = dir.join("recipe.toml");
    std::fs::write(
        &recipe,
        format!(
            r#"name = "export-tiny"
seed = 3
[data]
corpus = "csv"
train = {train:?}
[text]
num_words = 100
maxlen = 12
padding = "post"
[model]
layers = [
  {{ type = "embedding", output_dim = 8, mask_zero = true }},
  {{ type = "lstm", units = 4 }},
  {{ type = "dense", units = 1, activation = "sigmoid" }},
]
[train]
epochs = 1
batch_size = 32
"#
        ),
    )
    .expect("recipe");
    let run = dir.join("run");
    ok(&textrnn(
        &["--quiet", "train", "--recipe", s(&recipe), "--out", s(&run)],
        None,
    ));
    run
}

#[test]
fn export_writes_model_tokenizer_and_cleaning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = train(tmp.path());

    // Refused before anything is written.
    let e = err(&textrnn(&["export", s(&run), "--format", "tflite"], None));
    assert!(
        e.contains("unknown export format `tflite`; supported: onnx"),
        "{e}"
    );
    let missing = tmp.path().join("no-such-dir/model.onnx");
    let e = err(&textrnn(&["export", s(&run), "--out", s(&missing)], None));
    assert!(e.contains("does not exist"), "{e}");
    assert!(e.contains("no-such-dir"), "{e}");
    let inside = run.join("model.onnx");
    let e = err(&textrnn(&["export", s(&run), "--out", s(&inside)], None));
    assert!(e.contains("is the run directory"), "{e}");
    assert!(!inside.exists());
    assert!(!run.join("export").exists(), "a refused export wrote files");

    // Default place, JSON summary.
    let out = ok(&textrnn(&["export", s(&run), "--json"], None));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("export --json is JSON");
    let dir = run.join("export");
    assert_eq!(v["format"], "onnx");
    assert_eq!(v["model"], s(&dir.join("model.onnx")));
    assert_eq!(v["tokenizer"], s(&dir.join("tokenizer.json")));
    assert_eq!(v["cleaning"], s(&dir.join("cleaning.json")));
    assert_eq!(v["opset"], 17);
    assert_eq!(v["input"], "input_ids int64 [batch, 12]");
    assert_eq!(v["output"], "probabilities float32 [batch, 2]");
    assert_eq!(v["classes"], serde_json::json!(["neg", "pos"]));
    assert_eq!(v["unexpressed"], serde_json::json!([]));
    let bytes = std::fs::read(dir.join("model.onnx")).expect("model.onnx");
    assert_eq!(v["model_bytes"], bytes.len());
    for file in ["tokenizer.json", "cleaning.json"] {
        let text = std::fs::read_to_string(dir.join(file)).expect(file);
        serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
    }

    // --out elsewhere: the other two files go beside it; text output names all three.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).expect("dir");
    let out = ok(&textrnn(
        &["export", s(&run), "--out", s(&other.join("m.onnx"))],
        None,
    ));
    assert!(out.contains("ONNX opset 17"), "{out}");
    assert!(
        out.contains("tokenizer.json expresses every cleaning step"),
        "{out}"
    );
    for file in ["m.onnx", "tokenizer.json", "cleaning.json"] {
        assert!(other.join(file).is_file(), "{file} missing");
    }
    assert_eq!(
        std::fs::read(other.join("m.onnx")).expect("m.onnx"),
        bytes,
        "the export is deterministic"
    );
}

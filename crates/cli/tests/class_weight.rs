//! `train --class-weight` and `--weight-col`: parsed with clear errors, applied over the recipe,
//! logged and recorded in the run's `config.json`.

use std::path::Path;

use textrnn::synthetic;

mod common;
use common::{err, ok, s, textrnn_in};

/// [`synthetic::tiny_recipe`] as a recipe file `tiny.json` in `dir`, one epoch; its data
/// section is replaced by `--train`.
fn write_tiny(dir: &Path) {
    let mut recipe = synthetic::tiny_recipe(dir, "tiny", 5).expect("recipe");
    recipe.train.epochs = 1;
    let json = serde_json::to_string(&recipe).expect("json");
    std::fs::write(dir.join("tiny.json"), json).expect("recipe file");
}

/// The keyword corpus with a weight column `w` (2 on every 5th row, else 1).
fn write_weighted(path: &Path, n: usize) {
    let mut out = String::from("text,label,w\n");
    for (i, (text, label)) in synthetic::keyword_corpus(n, 4).iter().enumerate() {
        let w = if i % 5 == 0 { 2 } else { 1 };
        out.push_str(&format!("{text},{label},{w}\n"));
    }
    std::fs::write(path, out).expect("csv");
}

#[test]
fn class_weight_and_weight_col_reach_the_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write_tiny(dir);
    let train = dir.join("reviews.csv");
    write_weighted(&train, 200);
    let out = dir.join("run");
    let args = [
        "train",
        "--recipe",
        "tiny.json",
        "--train",
        s(&train),
        "--class-weight",
        "pos=3",
        "--weight-col",
        "w",
        "--out",
        s(&out),
    ];
    let run = textrnn_in(&args, dir, &[]);
    ok(&run);
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(
        log.contains("class weights: neg=1.0000, pos=3.0000"),
        "{log}"
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).expect("config"))
            .expect("json");
    assert_eq!(
        config["train"]["class_weight"],
        serde_json::json!({ "neg": 1.0, "pos": 3.0 })
    );
    assert_eq!(config["data"]["weight_col"], "w");
}

#[test]
fn bad_flags_get_one_clear_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write_tiny(dir);
    let train = dir.join("reviews.csv");
    write_weighted(&train, 40);
    let train_with = |extra: &[&str]| {
        let mut args = vec!["train", "--recipe", "tiny.json", "--train", s(&train)];
        args.extend_from_slice(extra);
        err(&textrnn_in(&args, dir, &[]))
    };
    let e = train_with(&["--class-weight", "pos=lots"]);
    assert!(
        e.contains("invalid value 'pos=lots' for '--class-weight")
            && e.contains("the weight of `pos`, `lots`, is not a number"),
        "{e}"
    );
    let e = train_with(&["--class-weight", "neutral=2"]);
    assert!(
        e.contains("class `neutral` is not in the data; its classes are: neg, pos"),
        "{e}"
    );
    let e = train_with(&["--weight-col", "weight"]);
    assert!(
        e.contains(&format!(
            "{}:1: missing column \"weight\" (found: text, label, w)",
            train.display()
        )),
        "{e}"
    );
    // `check` reads the weight column too
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "text,label,w\ngood film,pos,1\nbad film,neg,-2\n").expect("csv");
    let e = err(&textrnn_in(
        &["check", "--train", s(&bad), "--weight-col", "w"],
        dir,
        &[],
    ));
    assert!(
        e.contains(&format!(
            "{}:3: column \"w\": sample weight \"-2\" is negative (weights must be >= 0)",
            bad.display()
        )),
        "{e}"
    );
    // ... a weight that is not a number, and a column of zeros (which training refuses too,
    // though each weight alone is fine)
    for (body, message) in [
        (
            "text,label,w\ngood film,pos,1\nbad film,neg,heavy\n",
            format!(
                "{}:3: column \"w\": sample weight \"heavy\" is not a number",
                bad.display()
            ),
        ),
        (
            "text,label,w\ngood film,pos,0\nbad film,neg,0.0\n",
            format!(
                "{}: every sample weight in column \"w\" is 0 (2 rows); at least one must be positive",
                bad.display()
            ),
        ),
    ] {
        std::fs::write(&bad, body).expect("csv");
        let e = err(&textrnn_in(
            &["check", "--train", s(&bad), "--weight-col", "w"],
            dir,
            &[],
        ));
        assert!(e.contains(&message), "{e}");
    }
    // --weight-col belongs to --train files
    let e = err(&textrnn_in(
        &["train", "--recipe", "tiny.json", "--weight-col", "w"],
        dir,
        &[],
    ));
    assert!(e.contains("--train <FILE>"), "{e}");
}

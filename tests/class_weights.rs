//! Class and sample weights end to end: on a skewed corpus whose minority class is never the
//! likelier one, `class_weight = "balanced"` raises the minority class' test recall above the
//! unweighted run's (same seed); the resolved weights land in `config.json`; a weight column is
//! read, and bad weights are refused before training.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use textrnn::train::ClassWeight;
use textrnn::{synthetic, Recipe, SplitConfig, TrainOptions};

/// `n` rows, 10% `pos`: a third of the texts carry a cue word of group A and are `pos` with
/// probability 0.3 (so `neg` stays the likelier label everywhere), the rest carry a group B cue
/// and are all `neg`. An unweighted model predicts `neg` for everything; balanced weights
/// (`pos` 5, `neg` 0.56) make `pos` the weighted majority of group A.
fn skewed_rows(n: usize, seed: u64) -> Vec<(String, &'static str, f32)> {
    const A: &[&str] = &["lorem", "ipsum", "dolor"];
    const B: &[&str] = &["alpha", "beta", "gamma", "delta"];
    const FILLER: &[&str] = &["the", "a", "of", "and", "it", "was", "this", "that"];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let group_a = i % 3 == 0;
            // exactly 3 in 10 of group A are positive: rows 0, 3, 6 of every 30
            let pos = group_a && (i % 30) < 9;
            let cues = if group_a { A } else { B };
            let mut words: Vec<&str> = (0..rng.random_range(3..=6))
                .map(|_| FILLER[rng.random_range(0..FILLER.len())])
                .collect();
            let at = rng.random_range(0..=words.len());
            words.insert(at, cues[rng.random_range(0..cues.len())]);
            // a sample weight per row: 1, except every 7th row weighs 2
            let w = if i % 7 == 0 { 2.0 } else { 1.0 };
            (words.join(" "), if pos { "pos" } else { "neg" }, w)
        })
        .collect()
}

fn write_csv(path: &Path, rows: &[(String, &str, f32)]) {
    let mut s = String::from("text,label,w\n");
    for (t, l, w) in rows {
        s.push_str(&format!("{t},{l},{w}\n"));
    }
    std::fs::write(path, s).unwrap();
}

/// [`synthetic::tiny_recipe`] (Embedding(16) -> LSTM(16) -> Dense(1, sigmoid)) on the skewed
/// corpus: 600 training rows (no validation split, so "balanced" counts all of them), 300 test
/// rows.
fn recipe(dir: &Path) -> Recipe {
    let mut recipe = synthetic::tiny_recipe(dir, "skewed", 3).unwrap();
    let train = dir.join("skewed-train.csv");
    let test = dir.join("skewed-test.csv");
    write_csv(&train, &skewed_rows(600, 1));
    write_csv(&test, &skewed_rows(300, 2));
    let files = recipe.data.user_files_mut().unwrap();
    files.train = train;
    files.test = Some(test);
    recipe.split = SplitConfig::None;
    recipe.train.verbose = 0;
    recipe
}

/// Trains `recipe` into `dir/name`; returns the test recall of `pos` and the saved config.
fn train(recipe: &Recipe, dir: &Path, name: &str) -> (f64, serde_json::Value) {
    let out = dir.join(name);
    let opts = TrainOptions {
        out: Some(out.clone()),
        ..TrainOptions::default()
    };
    let outcome = textrnn::train_run(recipe, &opts).unwrap();
    let report = outcome.test.unwrap().classification_report.unwrap();
    let pos = report.classes.iter().position(|c| c.name == "pos").unwrap();
    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    (
        report.classes[pos].recall,
        serde_json::from_str(&config).unwrap(),
    )
}

#[test]
fn balanced_class_weights_raise_minority_recall() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = recipe(tmp.path());
    let (recall_plain, config) = train(&plain, tmp.path(), "plain");
    assert!(config["train"].get("class_weight").is_none(), "{config}");

    let mut balanced = plain.clone();
    balanced.train.class_weight = Some(ClassWeight::Balanced);
    let (recall_balanced, config) = train(&balanced, tmp.path(), "balanced");
    // 600 rows, 60 pos: 600 / (2·540) and 600 / (2·60)
    let neg = f64::from((600.0f64 / 1080.0) as f32);
    assert_eq!(
        config["train"]["class_weight"],
        serde_json::json!({ "neg": neg, "pos": 5.0 })
    );
    eprintln!("test recall of pos: unweighted {recall_plain:.3}, balanced {recall_balanced:.3}");
    // the unweighted model never predicts the minority class; the weighted one finds it
    assert!(recall_plain < 0.2, "unweighted recall {recall_plain}");
    assert!(
        recall_balanced > recall_plain + 0.5,
        "balanced {recall_balanced} vs unweighted {recall_plain}"
    );

    // sample weights from a column, with the class weights; recorded in the config's data
    let mut weighted = balanced.clone();
    if let Some(files) = weighted.data.user_files_mut() {
        files.weight_col = Some("w".into());
    }
    let (_, config) = train(&weighted, tmp.path(), "weighted");
    assert_eq!(config["data"]["weight_col"], "w");
    assert_eq!(config["train"]["class_weight"]["pos"], 5.0);
}

#[test]
fn bad_weights_are_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let base = recipe(tmp.path());
    let run = |r: &Recipe, name: &str| {
        let out = tmp.path().join(name);
        let opts = TrainOptions {
            out: Some(out.clone()),
            ..TrainOptions::default()
        };
        let e = textrnn::train_run(r, &opts).unwrap_err().to_string();
        assert!(!out.exists(), "{name}: a run directory was created");
        e
    };

    let mut r = base.clone();
    r.train.class_weight = Some(ClassWeight::Manual(vec![("neutral".into(), 2.0)]));
    assert_eq!(
        run(&r, "unknown"),
        "invalid training config `class_weight`: class `neutral` is not in the data; its classes are: neg, pos"
    );

    let mut r = base.clone();
    r.train.class_weight = Some(ClassWeight::Manual(vec![("pos".into(), -1.0)]));
    assert_eq!(
        run(&r, "negative"),
        "invalid training config `class_weight`: the weight of `pos` is negative (-1); weights must be >= 0"
    );

    let mut r = base.clone();
    r.train.class_weight = Some(ClassWeight::Manual(vec![
        ("pos".into(), 0.0),
        ("neg".into(), 0.0),
    ]));
    assert_eq!(
        run(&r, "zero"),
        "invalid training config `class_weight`: every class weight is 0: nothing would be learned"
    );

    // a bad value in the weight column: file, line and column
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "text,label,w\nalpha x,neg,1\nlorem y,pos,heavy\n").unwrap();
    let mut r = base.clone();
    if let Some(files) = r.data.user_files_mut() {
        files.train = bad.clone();
        files.weight_col = Some("w".into());
    }
    assert_eq!(
        run(&r, "column"),
        format!(
            "{}:3: column \"w\": sample weight \"heavy\" is not a number",
            bad.display()
        )
    );
}

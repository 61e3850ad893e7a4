//! Tokenizer parity: the `tokenizer.json` that `KerasTokenizer::export_hf` writes, used through
//! the README's Python snippet (`textrnn_text::PYTHON_SNIPPET`) with Python `tokenizers`, gives
//! exactly the padded rows textrnn feeds the model (`Pipeline::apply`, then
//! `TextRecipe::encode`), text for text.
//!
//! Needs a Python with `tokenizers` (`TEXTRNN_BENCH_PYTHON`, default `python3`); skips with a
//! message without one. Cases, for each distinct `[text]` section of the built-in recipes:
//! - always: the embedded IMDB sample's 2,500 test reviews (IMDB recipes);
//! - with `../shared/datasets`: every IMDB test review (25,000), every AG News test text
//!   (7,600), and every airline tweet (14,640; the tweets preset has steps the normalizer cannot
//!   express, so only the tweets those steps leave unchanged must match: the counts are
//!   printed).
//!
//! ```text
//! TEXTRNN_BENCH_PYTHON=/work/venv/bin/python cargo test -p textrnn --test tokenizer_parity -- --nocapture
//! ```
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use textrnn::data::{DataConfig, LoadOptions};
use textrnn::text::{EncodingSpec, KerasTokenizer, Pipeline, Step, PYTHON_SNIPPET};
use textrnn::{FitOn, Recipe, TextRecipe, BUILTIN_RECIPES};

mod common;

/// The Python to use, when it has `tokenizers`.
fn python() -> Option<String> {
    common::python_with("tokenizers")
        .map_err(|why| eprintln!("skipping tokenizer parity: {why}"))
        .ok()
}

fn shared_datasets() -> Option<PathBuf> {
    let dir = common::shared_datasets();
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping the full-corpus parity cases: {} is absent",
            dir.display()
        );
        None
    }
}

/// The built-in recipes of `corpus` (`"imdb"`, `"agnews"`, `"tweets"`), one per distinct
/// `[text]` section.
fn recipes(prefix: &str) -> Vec<Recipe> {
    let mut seen: Vec<TextRecipe> = Vec::new();
    let mut out = Vec::new();
    for (name, _) in BUILTIN_RECIPES
        .iter()
        .filter(|(n, _)| n.starts_with(prefix))
    {
        let recipe = Recipe::builtin(name).unwrap();
        if !seen.contains(&recipe.text) {
            seen.push(recipe.text.clone());
            out.push(recipe);
        }
    }
    assert!(!out.is_empty(), "no built-in {prefix} recipe");
    out
}

/// What the Python side found.
struct Parity {
    total: usize,
    matching: usize,
    mismatched: Vec<usize>,
}

/// Fits `recipe`'s tokenizer on `fit` (raw texts), exports it, and has Python encode `texts`
/// (raw) with the snippet; compares with textrnn's rows.
fn parity(python: &str, label: &str, recipe: &Recipe, fit: &[String], texts: &[String]) -> Parity {
    let text = &recipe.text;
    let pipeline = text.pipeline().unwrap();
    let tokenizer = KerasTokenizer::fit(&text.tokenizer_config(), pipeline.apply_all(fit)).unwrap();
    // As training does: the recipe's maxlen, else the longest fitted sequence + 1.
    let maxlen = text.maxlen.unwrap_or_else(|| {
        let seqs = tokenizer.texts_to_sequences(&pipeline.apply_all(fit));
        seqs.iter().map(Vec::len).max().unwrap_or(0) + 1
    });
    let rows = text
        .encode(&tokenizer, maxlen, &pipeline.apply_all(texts))
        .unwrap();
    let spec = EncodingSpec {
        maxlen,
        padding: text.padding,
        truncating: text.truncating,
    };
    let export = tokenizer.export_hf(&pipeline, &spec).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let snippet = dir.path().join("snippet.py");
    let file = dir.path().join("tokenizer.json");
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(&snippet, PYTHON_SNIPPET).unwrap();
    std::fs::write(&file, &export.tokenizer_json).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&cases).unwrap());
    for (text, row) in texts.iter().zip(rows.chunks(maxlen)) {
        let line = serde_json::json!({"text": text, "ids": row});
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
    drop(out);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/tokenizer_parity.py");
    let output = Command::new(python)
        .arg(&script)
        .args([&snippet, &file, &cases])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let parity = Parity {
        total: report["total"].as_u64().unwrap() as usize,
        matching: report["matching"].as_u64().unwrap() as usize,
        mismatched: report["mismatched"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect(),
    };
    assert_eq!(parity.total, texts.len());
    eprintln!(
        "tokenizer parity {label} ({}, maxlen {maxlen}, unexpressed {:?}): {} / {} rows match",
        recipe.name,
        export
            .unexpressed
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>(),
        parity.matching,
        parity.total
    );
    parity
}

/// Asserts that every row matched, showing the first mismatches.
fn assert_all_match(parity: &Parity, texts: &[String], label: &str) {
    let shown: Vec<&str> = parity
        .mismatched
        .iter()
        .take(3)
        .map(|&i| texts[i].as_str())
        .collect();
    assert_eq!(
        parity.matching, parity.total,
        "{label}: rows differ, e.g. for {shown:?}"
    );
}

fn load(config: &DataConfig, shared: &Path) -> textrnn::data::Corpus {
    let opts = LoadOptions::from_env().with_data_dir(shared);
    textrnn::data::load(config, &opts).unwrap()
}

/// The tokenizer's fitting texts for `recipe` (train, plus test for `train_and_test`).
fn fit_texts(recipe: &Recipe, train: &[String], test: &[String]) -> Vec<String> {
    let mut fit = train.to_vec();
    if recipe.text.fit_on == FitOn::TrainAndTest {
        fit.extend_from_slice(test);
    }
    fit
}

#[test]
fn imdb_sample_parity() {
    let Some(python) = python() else { return };
    let corpus = textrnn::data::load(&DataConfig::ImdbSample, &LoadOptions::from_env()).unwrap();
    let test = corpus.test.unwrap().texts;
    for recipe in recipes("imdb") {
        let fit = fit_texts(&recipe, &corpus.train.texts, &test);
        let result = parity(&python, "imdb sample", &recipe, &fit, &test);
        assert_eq!(result.total, 2500);
        assert_all_match(&result, &test, "imdb sample");
    }
}

#[test]
fn imdb_and_ag_news_parity() {
    let Some(python) = python() else { return };
    let Some(shared) = shared_datasets() else {
        return;
    };
    for (prefix, config, total) in [
        ("imdb", DataConfig::Imdb { data_dir: None }, 25_000),
        ("agnews", DataConfig::AgNews { data_dir: None }, 7_600),
    ] {
        let corpus = load(&config, &shared);
        let test = corpus.test.unwrap().texts;
        for recipe in recipes(prefix) {
            let fit = fit_texts(&recipe, &corpus.train.texts, &test);
            let result = parity(&python, prefix, &recipe, &fit, &test);
            assert_eq!(result.total, total);
            assert_all_match(&result, &test, prefix);
        }
    }
}

/// The tweets preset: every tweet that the unexpressed steps leave unchanged must match; the
/// others are counted.
#[test]
fn tweets_parity() {
    let Some(python) = python() else { return };
    let Some(shared) = shared_datasets() else {
        return;
    };
    let corpus = load(
        &DataConfig::Tweets {
            path: None,
            hub: None,
        },
        &shared,
    );
    let tweets = corpus.train.texts;
    for recipe in recipes("tweets") {
        let full = recipe.text.pipeline().unwrap();
        let skipped = [
            Step::HtmlEntities,
            Step::EmoticonsToWords,
            Step::ExpandContractions,
        ];
        let expressed = Pipeline::from_steps(
            full.steps()
                .iter()
                .copied()
                .filter(|s| !skipped.contains(s)),
        )
        .unwrap();
        let unaffected: Vec<bool> = tweets
            .iter()
            .map(|t| expressed.apply(t) == full.apply(t))
            .collect();
        for step in skipped {
            let without =
                Pipeline::from_steps(full.steps().iter().copied().filter(|&s| s != step)).unwrap();
            let changed = tweets
                .iter()
                .filter(|t| without.apply(t) != full.apply(t))
                .count();
            eprintln!("tweets: {step} changes the cleaned text of {changed} tweets");
        }
        let result = parity(&python, "tweets", &recipe, &tweets, &tweets);
        let must_match = unaffected.iter().filter(|&&u| u).count();
        let broken: Vec<&str> = result
            .mismatched
            .iter()
            .filter(|&&i| unaffected[i])
            .map(|&i| tweets[i].as_str())
            .collect();
        eprintln!(
            "tweets: {} / {} rows match; {must_match} tweets are unchanged by the unexpressed steps, {} of them mismatch",
            result.matching,
            result.total,
            broken.len()
        );
        assert!(
            broken.is_empty(),
            "tweets the normalizer should reproduce: {broken:?}"
        );
        assert_eq!(result.total, 14_640);
    }
}

//! AG News: CSV parsing and errors, directory layouts, the Hub cache, the optional real files.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use textrnn_data::ag_news::{read_ag_news_csv, read_ag_news_dir};
use textrnn_data::{load, DataConfig, LoadOptions};

const TRAIN: &str = "\"3\",\"Wall St. Bears Claw Back\",\"Reuters - Short-sellers, Wall Street's dwindling\\band.\"\n\
\"4\",\"Title, with comma\",\"Quote \"\"inside\"\" here\"\n\
\"1\",\"World\",\"multi\nline\"\n\
\"2\",\"Sport\",\"#36; fee\"\n";

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn parses_quoted_csv_and_joins_title_and_description() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "train.csv", TRAIN);
    let ds = read_ag_news_csv(&p).unwrap();
    assert_eq!(ds.labels, vec![2, 3, 0, 1]);
    assert_eq!(ds.class_names, ["World", "Sports", "Business", "Sci/Tech"]);
    assert_eq!(
        ds.texts[0],
        "Wall St. Bears Claw Back Reuters - Short-sellers, Wall Street's dwindling\\band."
    );
    assert_eq!(ds.texts[1], "Title, with comma Quote \"inside\" here");
    assert_eq!(ds.texts[2], "World multi\nline");
    assert_eq!(ds.class_counts(), vec![1, 1, 1, 1]);
}

#[test]
fn class_outside_1_to_4_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "train.csv",
        "\"1\",\"a\",\"b\"\n\"5\",\"c\",\"d\"\n",
    );
    let e = read_ag_news_csv(&p).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:2: label \"5\" is not one of [\"1\", \"2\", \"3\", \"4\"]",
            p.display()
        )
    );
}

#[test]
fn too_few_fields_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "test.csv",
        "\"1\",\"a\",\"b\"\n\"2\",\"only title\"\n",
    );
    let e = read_ag_news_csv(&p).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:2: expected 3 fields (class, title, description), found 2 field(s)",
            p.display()
        )
    );
}

#[test]
fn finds_ag_news_csv_dir_files_directly_or_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write(&data.join("ag_news_csv"), "train.csv", TRAIN);
    write(&data.join("ag_news_csv"), "test.csv", "\"4\",\"t\",\"d\"\n");
    let opts = LoadOptions::isolated(tmp.path().join("cache"));
    let c = load(
        &DataConfig::AgNews {
            data_dir: Some(data.clone()),
        },
        &opts,
    )
    .unwrap();
    assert_eq!(c.train.len(), 4);
    assert_eq!(c.test.unwrap().labels, vec![3]);

    let flat = tmp.path().join("flat");
    write(&flat, "train.csv", TRAIN);
    let c = read_ag_news_dir(&flat).unwrap();
    assert!(c.test.is_none());

    write(
        &tmp.path().join("cache/ag_news/ag_news_csv"),
        "train.csv",
        TRAIN,
    );
    let c = load(&DataConfig::AgNews { data_dir: None }, &opts).unwrap();
    assert!(c.source.contains("cache"), "{}", c.source);
}

#[test]
fn hub_cache_copy_and_offline_error() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = LoadOptions::isolated(tmp.path().join("cache"));
    let e = load(&DataConfig::AgNews { data_dir: None }, &opts)
        .unwrap_err()
        .to_string();
    for needle in [
        "--data-dir",
        "TEXTRNN_DATA_DIR",
        "fancyzhx/ag_news",
        "ag_news_csv",
        "offline",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }
    let snap = fake_hf_snapshot(opts.hub.cache_dir.as_deref().unwrap(), "fancyzhx/ag_news");
    write_parquet(
        &snap.join("data/train-00000-of-00001.parquet"),
        "text",
        &["w", "s", "b", "t"],
        "label",
        Labels::Int(&[0, 1, 2, 3]),
    );
    write_parquet(
        &snap.join("data/test-00000-of-00001.parquet"),
        "text",
        &["x"],
        "label",
        Labels::Int(&[2]),
    );
    let c = load(&DataConfig::AgNews { data_dir: None }, &opts).unwrap();
    assert_eq!(c.train.labels, vec![0, 1, 2, 3]);
    assert_eq!(c.source, "hf://datasets/fancyzhx/ag_news");
}

#[test]
fn real_ag_news() {
    let Some(dir) = shared("ag_news_csv") else {
        return;
    };
    let t = std::time::Instant::now();
    let c = read_ag_news_dir(&dir).unwrap();
    println!(
        "read {} in {:.2} s",
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(c.train.len(), 20_000);
    assert_eq!(c.train.class_counts(), vec![5_000; 4]);
    let test = c.test.unwrap();
    assert_eq!(test.len(), 7_600);
    assert_eq!(test.class_counts(), vec![1_900; 4]);
}

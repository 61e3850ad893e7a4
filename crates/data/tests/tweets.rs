//! Airline tweets: header handling, errors, lookup order, a Hub snapshot, the optional real file.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use textrnn_data::tweets::read_tweets_csv;
use textrnn_data::{load, stratified_split, DataConfig, LoadOptions, TWEETS_FRACTIONS};

const CSV: &str = "tweet_id,airline_sentiment,airline,text\n\
1,neutral,Virgin America,@VirginAmerica What @dhepburn said.\n\
2,positive,Virgin America,\"@VirginAmerica plus you've added commercials, tacky.\"\n\
3,negative,United,\"@united two\nlines\"\n\
4,negative,United,@united late again\n";

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn reads_text_and_sentiment_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "Tweets.csv", CSV);
    let ds = read_tweets_csv(&p).unwrap();
    assert_eq!(ds.class_names, ["negative", "neutral", "positive"]);
    assert_eq!(ds.labels, vec![1, 2, 0, 0]);
    assert_eq!(
        ds.texts[1],
        "@VirginAmerica plus you've added commercials, tacky."
    );
    assert_eq!(ds.texts[2], "@united two\nlines");
}

#[test]
fn missing_column_and_unknown_sentiment_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "a.csv",
        "tweet_id,sentiment,text\n1,neutral,hi\n",
    );
    let e = read_tweets_csv(&p).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:1: missing column \"airline_sentiment\" (found: tweet_id, sentiment, text)",
            p.display()
        )
    );
    let p = write(
        tmp.path(),
        "b.csv",
        "airline_sentiment,text\nneutral,a\n\"negative\",\"b\nc\"\nangry,d\n",
    );
    let e = read_tweets_csv(&p).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:5: label \"angry\" is not one of [\"negative\", \"neutral\", \"positive\"]",
            p.display()
        )
    );
    let p = write(tmp.path(), "c.csv", "airline_sentiment,text\nneutral\n");
    let e = read_tweets_csv(&p).unwrap_err().to_string();
    assert_eq!(
        e,
        format!("{}:2: ragged row: expected 2 fields, found 1", p.display())
    );
}

#[test]
fn finds_path_data_dir_or_cache_and_explains_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = LoadOptions::isolated(tmp.path().join("cache"));
    let file = write(&tmp.path().join("x"), "Tweets.csv", CSV);
    let c = load(
        &DataConfig::Tweets {
            path: Some(file.clone()),
            hub: None,
        },
        &opts,
    )
    .unwrap();
    assert_eq!(c.train.len(), 4);
    assert!(c.test.is_none());

    write(&tmp.path().join("d/airline_tweets"), "Tweets.csv", CSV);
    let o = opts.clone().with_data_dir(tmp.path().join("d"));
    assert_eq!(
        load(
            &DataConfig::Tweets {
                path: None,
                hub: None
            },
            &o
        )
        .unwrap()
        .train
        .len(),
        4
    );

    let e = load(
        &DataConfig::Tweets {
            path: None,
            hub: None,
        },
        &opts,
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "kaggle.com",
        "--data-dir",
        "TEXTRNN_DATA_DIR",
        "hub =",
        "airline_tweets",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }

    write(&tmp.path().join("cache/airline_tweets"), "Tweets.csv", CSV);
    assert_eq!(
        load(
            &DataConfig::Tweets {
                path: None,
                hub: None
            },
            &opts
        )
        .unwrap()
        .train
        .len(),
        4
    );
}

#[test]
fn hub_dataset_from_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = LoadOptions::isolated(tmp.path().join("cache"));
    let snap = fake_hf_snapshot(opts.hub.cache_dir.as_deref().unwrap(), "someone/airline");
    write_parquet(
        &snap.join("data/train-00000.parquet"),
        "text",
        &["ok", "bad", "fine"],
        "airline_sentiment",
        Labels::Str(&["neutral", "negative", "positive"]),
    );
    write(
        &snap.join("data"),
        "test.csv",
        "airline_sentiment,text\nnegative,late\n",
    );
    let cfg = DataConfig::Tweets {
        path: None,
        hub: Some("someone/airline".into()),
    };
    let c = load(&cfg, &opts).unwrap();
    assert_eq!(c.train.labels, vec![1, 0, 2]);
    assert_eq!(c.test.unwrap().texts, ["late"]);
    assert_eq!(c.source, "hf://datasets/someone/airline");

    let bad = DataConfig::Tweets {
        path: None,
        hub: Some("not-an-id".into()),
    };
    let e = load(&bad, &opts).unwrap_err().to_string();
    assert!(e.contains("owner/name"), "{e}");
}

#[test]
fn real_tweets() {
    let Some(p) = shared("airline_tweets/Tweets.csv") else {
        return;
    };
    let t = std::time::Instant::now();
    let ds = read_tweets_csv(&p).unwrap();
    println!("read {} in {:.2} s", p.display(), t.elapsed().as_secs_f64());
    assert_eq!(ds.len(), 14_640);
    assert_eq!(ds.class_counts(), vec![9_178, 3_099, 2_363]);
    let parts = stratified_split(&ds, &TWEETS_FRACTIONS, 42).unwrap();
    // per class largest remainder: 9178 -> 7342/918/918, 3099 -> 2479/310/310, 2363 -> 1891/236/236
    assert_eq!(parts[0].class_counts(), vec![7_342, 2_479, 1_891]);
    assert_eq!(parts[1].class_counts(), vec![918, 310, 236]);
    assert_eq!(parts[2].class_counts(), vec![918, 310, 236]);
}

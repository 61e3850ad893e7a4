//! IMDB: generated tarballs, extracted directories, a fake Hub cache, and the optional real tarball.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use textrnn_data::imdb::{read_imdb_dir, read_imdb_tar_gz, read_imdb_tarball};
use textrnn_data::{load, split_fraction, DataConfig, Error, LoadOptions};

fn expected_train() -> Vec<&'static str> {
    // sorted by (label, numeric id): neg 0, 2, 10; pos 1, 10
    vec![
        "train neg zero",
        "train neg two",
        "train neg ten",
        "train pos one<br />line",
        "train pos ten",
    ]
}

#[test]
fn reads_tarball_stream_in_sorted_order_skipping_other_members() {
    let bytes = tar_gz(&small_imdb_members());
    let c = read_imdb_tar_gz(bytes.as_slice(), "mem.tar.gz").unwrap();
    assert_eq!(c.train.texts, expected_train());
    assert_eq!(c.train.labels, vec![0, 0, 0, 1, 1]);
    assert_eq!(c.train.class_names, ["neg", "pos"]);
    let test = c.test.unwrap();
    assert_eq!(
        test.texts,
        [
            "test neg one",
            "test neg five",
            "test pos zero",
            "test pos three"
        ]
    );
    assert_eq!(test.labels, vec![0, 0, 1, 1]);
    assert!(c.validation.is_none());
    assert_eq!(c.source, "mem.tar.gz");
}

#[test]
fn member_order_does_not_change_the_corpus() {
    let mut members = small_imdb_members();
    let a = read_imdb_tar_gz(tar_gz(&members).as_slice(), "a").unwrap();
    members.reverse();
    let b = read_imdb_tar_gz(tar_gz(&members).as_slice(), "b").unwrap();
    assert_eq!(a.train, b.train);
    assert_eq!(a.test, b.test);
    // and so a seed gives the same split
    assert_eq!(
        split_fraction(&a.train, 0.4, 9).unwrap(),
        split_fraction(&b.train, 0.4, 9).unwrap()
    );
}

#[test]
fn extracted_directory_matches_tarball() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &small_imdb_members());
    let from_dir = read_imdb_dir(dir.path()).unwrap();
    let from_inner = read_imdb_dir(&dir.path().join("aclImdb")).unwrap();
    let from_tar = read_imdb_tar_gz(tar_gz(&small_imdb_members()).as_slice(), "t").unwrap();
    assert_eq!(from_dir.train, from_tar.train);
    assert_eq!(from_dir.test, from_tar.test);
    assert_eq!(from_inner.train, from_tar.train);
}

#[test]
fn missing_parts_are_named() {
    let members: Vec<_> = small_imdb_members()
        .into_iter()
        .filter(|(p, _)| !p.starts_with("aclImdb/test/neg") && !p.starts_with("aclImdb/train/pos"))
        .collect();
    let e = read_imdb_tar_gz(tar_gz(&members).as_slice(), "x.tar.gz").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.tar.gz: not a complete IMDB corpus, missing aclImdb/train/pos/*.txt, aclImdb/test/neg/*.txt"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("train/pos")).unwrap();
    let e = read_imdb_dir(dir.path()).unwrap_err();
    assert!(
        matches!(&e, Error::IncompleteCorpus { missing, .. } if missing.len() == 4),
        "{e}"
    );
}

#[test]
fn invalid_utf8_is_decoded_lossily_and_empty_reviews_are_kept() {
    let mut members = small_imdb_members();
    members.push((
        "aclImdb/train/pos/20_8.txt".into(),
        b"caf\xe9 good".to_vec(),
    ));
    members.push(("aclImdb/train/neg/30_1.txt".into(), b"  \n".to_vec()));
    let c = read_imdb_tar_gz(tar_gz(&members).as_slice(), "t").unwrap();
    assert_eq!(c.train.len(), 7);
    assert!(c.train.texts.contains(&"caf\u{fffd} good".to_string()));
    assert!(c.train.texts.contains(&"  \n".to_string()));
}

#[test]
fn not_a_gzip_file_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("aclImdb_v1.tar.gz");
    std::fs::write(&p, b"not gzip at all").unwrap();
    let e = read_imdb_tarball(&p).unwrap_err();
    assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
}

#[test]
fn load_prefers_data_dir_then_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("aclImdb_v1_labeled.tar.gz"),
        tar_gz(&small_imdb_members()),
    )
    .unwrap();
    let opts = LoadOptions::isolated(tmp.path().join("cache"));

    // through the config's data_dir
    let cfg = DataConfig::Imdb {
        data_dir: Some(data.clone()),
    };
    let c = load(&cfg, &opts).unwrap();
    assert_eq!(c.train.len(), 5);
    assert!(
        c.source.ends_with("aclImdb_v1_labeled.tar.gz"),
        "{}",
        c.source
    );

    // --data-dir overrides the config; an extracted tree works too
    let other = tmp.path().join("other");
    write_tree(&other, &small_imdb_members()[..12]);
    let c = load(&cfg, &opts.clone().with_data_dir(&other)).unwrap();
    assert!(c.source.ends_with("aclImdb"), "{}", c.source);

    // TEXTRNN_DATA_DIR-style fallback
    let mut env_opts = opts.clone();
    env_opts.env_data_dir = Some(data.clone());
    assert_eq!(
        load(&DataConfig::Imdb { data_dir: None }, &env_opts)
            .unwrap()
            .train
            .len(),
        5
    );
}

#[test]
fn offline_without_data_names_every_way_to_supply_it() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = LoadOptions::isolated(tmp.path().join("cache"));
    let e = load(
        &DataConfig::Imdb {
            data_dir: Some(tmp.path().join("nowhere")),
        },
        &opts,
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "--data-dir",
        "TEXTRNN_DATA_DIR",
        "data_dir",
        &tmp.path().join("cache").join("imdb").display().to_string(),
        "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
        "stanfordnlp/imdb",
        "HF_HOME",
        "nowhere",
        "offline",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }
}

#[test]
fn reuses_a_copy_in_the_hugging_face_cache_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = LoadOptions::isolated(tmp.path().join("cache"));
    let snap = fake_hf_snapshot(opts.hub.cache_dir.as_deref().unwrap(), "stanfordnlp/imdb");
    write_parquet(
        &snap.join("plain_text/train-00000-of-00001.parquet"),
        "text",
        &["a bad film", "a good film", "meh"],
        "label",
        Labels::Int(&[0, 1, 0]),
    );
    write_parquet(
        &snap.join("plain_text/test-00000-of-00001.parquet"),
        "text",
        &["great", "awful"],
        "label",
        Labels::Int(&[1, 0]),
    );
    let c = load(&DataConfig::Imdb { data_dir: None }, &opts).unwrap();
    assert_eq!(c.source, "hf://datasets/stanfordnlp/imdb");
    assert_eq!(c.train.texts, ["a bad film", "a good film", "meh"]);
    assert_eq!(c.train.labels, vec![0, 1, 0]);
    assert_eq!(c.test.unwrap().labels, vec![1, 0]);

    // a label outside 0/1 is reported with the file
    write_parquet(
        &snap.join("plain_text/test-00000-of-00001.parquet"),
        "text",
        &["x"],
        "label",
        Labels::Int(&[2]),
    );
    let e = textrnn_data::imdb::read_imdb_hub(&opts, true)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test-00000-of-00001.parquet") && e.contains("label 2"),
        "{e}"
    );
}

#[test]
fn real_imdb_tarball() {
    let Some(path) = shared("aclImdb_v1_labeled.tar.gz") else {
        return;
    };
    let t = std::time::Instant::now();
    let c = read_imdb_tarball(&path).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!("read {} in {secs:.2} s", path.display());
    assert_eq!(c.train.len(), 25_000);
    assert_eq!(c.train.class_counts(), vec![12_500, 12_500]);
    let test = c.test.unwrap();
    assert_eq!(test.len(), 25_000);
    assert_eq!(test.class_counts(), vec![12_500, 12_500]);
    // sorted: labels are a block of 0s then 1s
    assert!(c.train.labels[..12_500].iter().all(|&l| l == 0));
    let (tr, val) = split_fraction(&c.train, 0.15, 42).unwrap();
    assert_eq!((tr.len(), val.len()), (21_250, 3_750));
}

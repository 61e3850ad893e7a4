//! The embedded IMDB sample: its counts, balance, ids and manifest entry, and (when the original
//! archive is in ../shared/datasets) that every sampled review is the archive's review of that id.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sha2::{Digest, Sha256};
use textrnn_data::download::hex;
use textrnn_data::imdb_sample::{
    decode_sample, draw_sample, encode_sample, load_imdb_sample, SAMPLE_GZ, SAMPLE_SEED,
    SAMPLE_SOURCE,
};
use textrnn_data::{imdb, manifest};

#[test]
fn embedded_sample_is_balanced_with_unique_ids() {
    let c = load_imdb_sample().unwrap();
    assert_eq!(c.source, SAMPLE_SOURCE);
    assert_eq!(
        c.source,
        "embedded IMDB sample (2500 train / 2500 test reviews, datasets/imdb.toml)"
    );
    assert!(c.validation.is_none());
    assert!(c.files.is_empty());
    let test = c.test.as_ref().unwrap();
    assert_eq!((c.train.len(), test.len()), (2500, 2500));
    assert_eq!(c.train.class_counts(), vec![1250, 1250]);
    assert_eq!(test.class_counts(), vec![1250, 1250]);
    assert_eq!(c.class_names(), imdb::IMDB_CLASS_NAMES);
    assert_eq!(test.class_names, imdb::IMDB_CLASS_NAMES);

    let mut ids = HashSet::new();
    for (split, ds) in [("train", &c.train), ("test", test)] {
        assert_eq!(ds.ids.len(), ds.len());
        for i in 0..ds.len() {
            assert!(!ds.texts[i].trim().is_empty(), "{split} {}", ds.ids[i]);
            // `<split>/<label>/<id>_<rating>.txt`, the label directory agreeing with the label.
            let id = &ds.ids[i];
            let parts: Vec<&str> = id.split('/').collect();
            assert_eq!(parts.len(), 3, "{id}");
            assert_eq!(parts[0], split);
            assert_eq!(parts[1], ds.class_names[ds.labels[i] as usize]);
            assert!(parts[2].ends_with(".txt"), "{id}");
            assert!(ids.insert(id.clone()), "duplicate id {id}");
        }
    }
    assert_eq!(ids.len(), 5000);
}

#[test]
fn manifest_describes_the_embedded_file() {
    let m = manifest::imdb().unwrap();
    let s = m.sample.unwrap();
    assert_eq!(s.file, "imdb-sample.jsonl.gz");
    assert_eq!((s.train, s.test, s.per_class), (2500, 2500, 1250));
    assert_eq!(s.seed, SAMPLE_SEED);
    assert_eq!(s.bytes, SAMPLE_GZ.len() as u64);
    assert_eq!(s.sha256, hex(&Sha256::digest(SAMPLE_GZ)));
}

#[test]
fn embedded_bytes_are_what_the_encoder_writes() {
    // Same records, same bytes: the file is reproducible from its content.
    let records = decode_sample(SAMPLE_GZ, "embedded").unwrap();
    assert_eq!(encode_sample(&records).unwrap(), SAMPLE_GZ);
}

/// Reads the 30 MB labelled archive (under a second) when it is there; skips otherwise.
#[test]
fn sample_matches_the_original_archive() {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
        .join(imdb::IMDB_TARBALLS[1]);
    if !archive.is_file() {
        eprintln!("skipped: {} not found", archive.display());
        return;
    }
    let full = imdb::read_imdb_tarball(&archive).unwrap();
    let mut by_id = HashMap::new();
    for (split, ds) in [
        ("train", &full.train),
        ("test", full.test.as_ref().unwrap()),
    ] {
        for i in 0..ds.len() {
            by_id.insert(
                format!("{split}/{}", ds.ids[i]),
                (ds.labels[i], &ds.texts[i]),
            );
        }
    }
    let sample = load_imdb_sample().unwrap();
    for ds in [&sample.train, sample.test.as_ref().unwrap()] {
        for i in 0..ds.len() {
            let (label, text) = by_id[&ds.ids[i]];
            assert_eq!(label, ds.labels[i], "{}", ds.ids[i]);
            assert_eq!(text, &ds.texts[i], "{}", ds.ids[i]);
        }
    }
    // The draw is reproducible: the same corpus and seed give the embedded records (and so,
    // by `embedded_bytes_are_what_the_encoder_writes`, the embedded bytes).
    let records = draw_sample(&full, 2500, 2500, SAMPLE_SEED).unwrap();
    assert!(records == decode_sample(SAMPLE_GZ, "embedded").unwrap());
}

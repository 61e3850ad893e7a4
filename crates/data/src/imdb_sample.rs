//! A small fixed sample of IMDB bundled in the binary, so the main job can be tried on a machine
//! with neither the corpus nor a network: 2,500 training and 2,500 test reviews, 1,250 `neg` and
//! 1,250 `pos` in each split, drawn from the original splits.
//!
//! The file `datasets/imdb-sample.jsonl.gz` ([`SAMPLE_GZ`], about 2.5 MB) is gzip-compressed
//! JSON Lines, one object per review in the full loader's order (split, label, numeric id):
//! `{"split": "train"|"test", "label": "neg"|"pos", "id": "...", "text": "..."}`, where `id`
//! names the review in the original corpus (the loader's id for it, see [`draw_sample`]).
//!
//! It was made by `cargo xtask imdb-sample` (`xtask/src/sample.rs`): [`crate::imdb::load_imdb`]
//! reads the original archive, [`draw_sample`] draws the reviews with seed [`SAMPLE_SEED`] and
//! [`encode_sample`] writes them (gzip level 9, header without time or file name, so the same
//! inputs give the same bytes). The command, the seed, the source archive's sha256 and the
//! sample's own sha256 and size are recorded in the `[sample]` section of `datasets/imdb.toml`;
//! the licence is the corpus's.
//!
//! ```
//! let corpus = textrnn_data::imdb_sample::load_imdb_sample()?;
//! assert_eq!((corpus.train.len(), corpus.test.as_ref().map_or(0, |t| t.len())), (2500, 2500));
//! assert_eq!(corpus.train.class_counts(), vec![1250, 1250]);
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dataset::{Corpus, Dataset};
use crate::error::{Error, Result};
use crate::imdb::IMDB_CLASS_NAMES;

/// The sample file, compiled in.
pub const SAMPLE_GZ: &[u8] = include_bytes!("../../../datasets/imdb-sample.jsonl.gz");
/// Where [`SAMPLE_GZ`] lives in the repository (named in error messages).
pub const SAMPLE_FILE: &str = "datasets/imdb-sample.jsonl.gz";
/// [`Corpus::source`] of [`load_imdb_sample`]: runs trained on it say "sample".
pub const SAMPLE_SOURCE: &str =
    "embedded IMDB sample (2500 train / 2500 test reviews, datasets/imdb.toml)";
/// Training reviews in the sample.
pub const SAMPLE_TRAIN: usize = 2500;
/// Test reviews in the sample.
pub const SAMPLE_TEST: usize = 2500;
/// Seed the sample was drawn with.
pub const SAMPLE_SEED: u64 = 20261130;
/// Most bytes a sample may decompress to (the bundled one is about 6.5 MB): reading stops with
/// an error beyond it instead of allocating without bound.
pub const MAX_SAMPLE_BYTES: u64 = 64 << 20;

/// The corpus splits a sample is drawn from, in the order they are drawn and written.
pub const SAMPLE_SPLITS: [&str; 2] = ["train", "test"];

/// One review of a sample: one line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleRecord {
    /// `train` or `test`: the original split.
    pub split: String,
    /// `neg` or `pos`.
    pub label: String,
    /// The review's id in the original corpus.
    pub id: String,
    /// The review.
    pub text: String,
}

/// Draws a balanced sample from a corpus with IMDB's classes: per split (`train` with `n_train`,
/// `test` with `n_test` reviews) and per class, `n / 2` reviews. One `ChaCha8Rng` seeded with
/// `seed` shuffles the indices of each group (train/neg, train/pos, test/neg, test/pos, in that
/// order, each in the corpus's own order); the group's first `n / 2` shuffled indices are taken
/// and sorted back into the corpus's order. `id` is `<split>/<the dataset's id>`: for the
/// original archive the review's path under `aclImdb/`, e.g. `train/pos/123_8.txt`.
pub fn draw_sample(
    corpus: &Corpus,
    n_train: usize,
    n_test: usize,
    seed: u64,
) -> Result<Vec<SampleRecord>> {
    let test = corpus.test.as_ref().ok_or_else(|| {
        Error::Dataset(format!("{}: the corpus has no test split", corpus.source))
    })?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut records = Vec::with_capacity(n_train.saturating_add(n_test).min(1 << 20));
    for (split, (ds, n)) in SAMPLE_SPLITS
        .iter()
        .zip([(&corpus.train, n_train), (test, n_test)])
    {
        if ds.class_names != IMDB_CLASS_NAMES {
            return Err(Error::Dataset(format!(
                "{}: classes {:?}, expected {IMDB_CLASS_NAMES:?}",
                corpus.source, ds.class_names
            )));
        }
        if n % 2 != 0 {
            return Err(Error::Split(format!(
                "{split}: {n} reviews cannot be split evenly between 2 classes"
            )));
        }
        for (label, name) in IMDB_CLASS_NAMES.iter().enumerate() {
            let group: Vec<usize> = (0..ds.len())
                .filter(|&i| ds.labels[i] as usize == label)
                .collect();
            if group.len() < n / 2 {
                return Err(Error::Split(format!(
                    "{split}/{name}: {} reviews, fewer than the {} asked for",
                    group.len(),
                    n / 2
                )));
            }
            let mut order: Vec<usize> = (0..group.len()).collect();
            order.shuffle(&mut rng);
            let mut chosen: Vec<usize> = order[..n / 2].iter().map(|&k| group[k]).collect();
            chosen.sort_unstable();
            records.extend(chosen.into_iter().map(|i| SampleRecord {
                split: split.to_string(),
                label: name.to_string(),
                id: format!("{split}/{}", ds.ids[i]),
                text: ds.texts[i].clone(),
            }));
        }
    }
    Ok(records)
}

/// The sample file's bytes: JSON Lines, gzip level 9, header without time or file name.
pub fn encode_sample(records: &[SampleRecord]) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::io(SAMPLE_FILE, e);
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    for (i, r) in records.iter().enumerate() {
        let line = serde_json::to_string(r).map_err(|e| Error::Json {
            path: SAMPLE_FILE.into(),
            line: i as u64 + 1,
            message: e.to_string(),
        })?;
        gz.write_all(line.as_bytes()).map_err(io)?;
        gz.write_all(b"\n").map_err(io)?;
    }
    gz.finish().map_err(io)
}

/// Parses sample bytes ([`encode_sample`]'s format); `name` is the file named in errors, each
/// with its 1-based line. Reads at most [`MAX_SAMPLE_BYTES`] decompressed bytes.
pub fn decode_sample(gz: &[u8], name: &str) -> Result<Vec<SampleRecord>> {
    let mut raw = Vec::new();
    GzDecoder::new(gz)
        .take(MAX_SAMPLE_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Error::io(name, e))?;
    if raw.len() as u64 > MAX_SAMPLE_BYTES {
        return Err(Error::Dataset(format!(
            "{name}: decompresses to more than {MAX_SAMPLE_BYTES} bytes"
        )));
    }
    let mut records = Vec::new();
    for (i, line) in raw.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let line_no = i as u64 + 1;
        let r: SampleRecord = serde_json::from_slice(line).map_err(|e| Error::Json {
            path: name.into(),
            line: line_no,
            message: e.to_string(),
        })?;
        if !SAMPLE_SPLITS.contains(&r.split.as_str()) {
            return Err(Error::Json {
                path: name.into(),
                line: line_no,
                message: format!("split {:?} is not one of {SAMPLE_SPLITS:?}", r.split),
            });
        }
        if !IMDB_CLASS_NAMES.contains(&r.label.as_str()) {
            return Err(Error::InvalidLabel {
                path: name.into(),
                line: line_no,
                value: r.label,
                allowed: IMDB_CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
            });
        }
        records.push(r);
    }
    Ok(records)
}

/// Turns sample records into a corpus (train and test splits, IMDB's classes, ids kept) with
/// the given `source`.
pub fn sample_corpus(records: Vec<SampleRecord>, source: &str) -> Result<Corpus> {
    let names: Vec<String> = IMDB_CLASS_NAMES.iter().map(|s| s.to_string()).collect();
    let mut parts: [(Vec<String>, Vec<u32>, Vec<String>); 2] = Default::default();
    for r in records {
        let (Some(split), Some(label)) = (
            SAMPLE_SPLITS.iter().position(|s| *s == r.split),
            IMDB_CLASS_NAMES.iter().position(|l| *l == r.label),
        ) else {
            return Err(Error::Dataset(format!(
                "{source}: review {} has split {:?} and label {:?}",
                r.id, r.split, r.label
            )));
        };
        parts[split].0.push(r.text);
        parts[split].1.push(label as u32);
        parts[split].2.push(r.id);
    }
    let [train, test] =
        parts.map(|(texts, labels, ids)| Dataset::new(texts, labels, names.clone())?.with_ids(ids));
    Ok(Corpus {
        train: train?,
        test: Some(test?),
        validation: None,
        source: source.to_string(),
        files: Vec::new(),
    })
}

/// Reads a sample file written by `cargo xtask imdb-sample`.
pub fn read_sample_file(path: &Path) -> Result<Corpus> {
    let gz = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    sample_corpus(decode_sample(&gz, &name)?, &name)
}

/// The embedded sample as a corpus: train and test splits, classes `["neg", "pos"]`, the
/// reviews' original ids, source [`SAMPLE_SOURCE`].
pub fn load_imdb_sample() -> Result<Corpus> {
    sample_corpus(decode_sample(SAMPLE_GZ, SAMPLE_FILE)?, SAMPLE_SOURCE)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn corpus() -> Corpus {
        let names: Vec<String> = IMDB_CLASS_NAMES.iter().map(|s| s.to_string()).collect();
        let ds = |prefix: &str| {
            Dataset::new(
                (0..20).map(|i| format!("{prefix}{i}")).collect(),
                (0..20).map(|i| u32::from(i >= 10)).collect(),
                names.clone(),
            )
            .unwrap()
        };
        Corpus {
            train: ds("tr"),
            test: Some(ds("te")),
            validation: None,
            source: "mem".into(),
            files: Vec::new(),
        }
    }

    #[test]
    fn draw_is_balanced_ordered_and_seeded() {
        let c = corpus();
        let a = draw_sample(&c, 6, 4, 7).unwrap();
        let splits: Vec<(&str, &str)> = a
            .iter()
            .map(|r| (r.split.as_str(), r.label.as_str()))
            .collect();
        let expect: Vec<(&str, &str)> = [("train", "neg"); 3]
            .into_iter()
            .chain([("train", "pos"); 3])
            .chain([("test", "neg"); 2])
            .chain([("test", "pos"); 2])
            .collect();
        assert_eq!(splits, expect);
        // Ids are `<split>/<1-based row>` here; sorted back into the corpus's order per group.
        let rows: Vec<usize> = a
            .iter()
            .map(|r| {
                let (split, row) = r.id.split_once('/').unwrap();
                assert_eq!(split, r.split);
                let row: usize = row.parse().unwrap();
                let prefix = if r.split == "train" { "tr" } else { "te" };
                assert_eq!(r.text, format!("{prefix}{}", row - 1));
                row
            })
            .collect();
        for (w, k) in rows.windows(2).zip(splits.windows(2)) {
            if k[0] == k[1] {
                assert!(w[0] < w[1], "{rows:?}");
            }
        }
        assert_eq!(draw_sample(&c, 6, 4, 7).unwrap(), a);
        assert_ne!(draw_sample(&c, 6, 4, 8).unwrap(), a);
        assert!(draw_sample(&c, 5, 4, 7).is_err());
        assert!(draw_sample(&c, 22, 4, 7).is_err());
    }

    #[test]
    fn encode_decode_round_trip_and_deterministic_bytes() {
        let records = draw_sample(&corpus(), 4, 2, 1).unwrap();
        let bytes = encode_sample(&records).unwrap();
        assert_eq!(encode_sample(&records).unwrap(), bytes);
        // gzip header: magic, deflate, no flags (no file name), mtime 0.
        assert_eq!(&bytes[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        assert_eq!(decode_sample(&bytes, "s.gz").unwrap(), records);
        let c = sample_corpus(records, "s").unwrap();
        assert_eq!(c.train.class_counts(), vec![2, 2]);
        assert_eq!(c.test.unwrap().class_counts(), vec![1, 1]);
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let gz = |text: &str| {
            let mut e = GzEncoder::new(Vec::new(), Compression::fast());
            e.write_all(text.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let ok = r#"{"split":"train","label":"neg","id":"1","text":"a"}"#;
        let e = decode_sample(&gz(&format!("{ok}\n{{\"split\":1}}\n")), "s.gz").unwrap_err();
        assert!(
            e.to_string().starts_with("s.gz:2: invalid JSON line:"),
            "{e}"
        );
        let bad = ok.replace("neg", "meh");
        let e = decode_sample(&gz(&format!("{ok}\n\n{bad}\n")), "s.gz").unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.gz:3: label \"meh\" is not one of [\"neg\", \"pos\"]"
        );
        let bad = ok.replace("train", "dev");
        let e = decode_sample(&gz(&bad), "s.gz").unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.gz:1: invalid JSON line: split \"dev\" is not one of [\"train\", \"test\"]"
        );
        assert!(decode_sample(b"not gzip", "s.gz").is_err());
    }
}

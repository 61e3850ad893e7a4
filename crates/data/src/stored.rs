//! A run's stored split: gzip-compressed JSON Lines, one `{"id", "text", "label"}` object per
//! document (the label as its class name; a multi-label document's as the list of its class
//! names, read back as multi-label data), so a run directory can be evaluated without its
//! corpus. Written atomically through `textrnn_fs::write_with`, streamed through the encoder.
//!
//! ```no_run
//! use textrnn_data::{load_split, save_split, Dataset};
//! let ds = Dataset::new(vec!["good".into()], vec![1], vec!["neg".into(), "pos".into()])?;
//! save_split("run/test.jsonl.gz".as_ref(), &ds)?;
//! assert_eq!(load_split("run/test.jsonl.gz".as_ref(), &ds.class_names)?, ds);
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::labels::{to_dataset, RawRecord, RawSplit};
use crate::table::{json_label_list, TableReader, TableSpec};

/// One stored document.
#[derive(Serialize)]
struct Stored<'a> {
    id: &'a str,
    text: &'a str,
    label: StoredLabel<'a>,
}

/// A stored label: the class name, or a multi-label document's list of class names.
#[derive(Serialize)]
#[serde(untagged)]
enum StoredLabel<'a> {
    One(&'a str),
    Set(Vec<&'a str>),
}

/// Writes `ds` to `path` as gzip-compressed JSON Lines (atomically).
pub fn save_split(path: &Path, ds: &Dataset) -> Result<()> {
    textrnn_fs::write_with(path, |tmp| -> Result<()> {
        let file = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        let mut out = GzEncoder::new(BufWriter::new(file), Compression::default());
        let io = |e: std::io::Error| Error::io(path, e);
        let name = |label: u32| {
            ds.class_names
                .get(label as usize)
                .map(String::as_str)
                .ok_or_else(|| Error::Dataset(format!("label {label} out of range")))
        };
        for (i, (id, text)) in ds.ids.iter().zip(&ds.texts).enumerate() {
            let label = match &ds.label_sets {
                Some(sets) => {
                    StoredLabel::Set(sets[i].iter().map(|&l| name(l)).collect::<Result<_>>()?)
                }
                None => StoredLabel::One(name(ds.labels[i])?),
            };
            serde_json::to_writer(&mut out, &Stored { id, text, label }).map_err(|e| {
                Error::Json {
                    path: path.to_path_buf(),
                    line: 0,
                    message: e.to_string(),
                }
            })?;
            out.write_all(b"\n").map_err(io)?;
        }
        out.finish().map_err(io)?.flush().map_err(io)?;
        Ok(())
    })
}

/// Reads a split written by [`save_split`]; every label must be one of `class_names`.
pub fn load_split(path: &Path, class_names: &[String]) -> Result<Dataset> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let spec = TableSpec {
        label_col: Some("label".into()),
        id_col: Some("id".into()),
        ..TableSpec::default()
    };
    let mut records = Vec::new();
    // A stored split decompresses to far less than a corpus archive may; the cap keeps a
    // tampered file (a gzip bomb of valid rows) from growing memory without bound.
    let capped = crate::corpus_dir::CountingReader {
        inner: GzDecoder::new(BufReader::new(file)),
        count: std::rc::Rc::new(std::cell::Cell::new(0)),
        limit: crate::options::DEFAULT_MAX_ARCHIVE_BYTES,
    };
    let reader = BufReader::new(capped);
    match TableReader::jsonl_from(path, Box::new(reader), &spec) {
        Ok(rows) => {
            for row in rows {
                let row = row?;
                let label = row.label.unwrap_or_default();
                // A multi-label document's list (a class name that merely looks like one
                // stays a class name).
                let labels = json_label_list(&label).filter(|_| !class_names.contains(&label));
                records.push(RawRecord {
                    id: row.id,
                    text: row.text,
                    label,
                    labels,
                    line: row.line,
                });
            }
        }
        // An empty split was stored: nothing to read back.
        Err(Error::NoRecords { .. }) => {}
        Err(e) => return Err(e),
    }
    let split = RawSplit {
        path: path.to_path_buf(),
        records,
    };
    to_dataset(split, class_names)
}

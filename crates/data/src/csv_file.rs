//! Reading `(text, label)` records from a CSV or TSV file with a header row.
//!
//! Columns are found by header name. Errors carry the file and the 1-based line the csv crate
//! reports: a missing column ([`Error::MissingColumn`], line 1), a ragged row
//! ([`Error::RaggedRow`]), an empty text or label ([`Error::EmptyField`]).
//! TSV files are read without quote processing (a `"` inside a TSV field is literal text), as
//! TSV exports usually do not quote.
//!
//! ```no_run
//! use textrnn_data::csv_file::read_records;
//! let split = read_records("reviews.tsv".as_ref(), b'\t', "sentence", "label")?;
//! println!("{} records", split.records.len());
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::path::Path;

use crate::error::{Error, Result};
use crate::labels::{RawRecord, RawSplit};

/// Index of `column` in `headers`, or [`Error::MissingColumn`].
pub fn column_index(path: &Path, headers: &csv::StringRecord, column: &str) -> Result<usize> {
    headers
        .iter()
        .position(|h| h.trim() == column)
        .ok_or_else(|| Error::MissingColumn {
            path: path.to_path_buf(),
            line: 1,
            column: column.to_string(),
            available: headers.iter().collect::<Vec<_>>().join(", "),
        })
}

/// A csv reader over `path` with a header row and the given delimiter.
pub fn reader(path: &Path, delimiter: u8) -> Result<csv::Reader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .quoting(delimiter != b'\t')
        .from_reader(file))
}

/// Reads every record's `text_col` and `label_col` (labels trimmed, texts kept as written).
pub fn read_records(
    path: &Path,
    delimiter: u8,
    text_col: &str,
    label_col: &str,
) -> Result<RawSplit> {
    let mut rdr = reader(path, delimiter)?;
    let headers = rdr.headers().map_err(|e| Error::csv(path, e))?.clone();
    let ti = column_index(path, &headers, text_col)?;
    let li = column_index(path, &headers, label_col)?;
    let mut records = Vec::new();
    let mut row = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(Error::csv(path, e)),
        }
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        let field = |i: usize, col: &str| -> Result<String> {
            match row.get(i) {
                Some(v) if !v.trim().is_empty() => Ok(v.to_string()),
                _ => Err(Error::EmptyField {
                    path: path.to_path_buf(),
                    line,
                    column: col.to_string(),
                }),
            }
        };
        let text = field(ti, text_col)?;
        let label = field(li, label_col)?.trim().to_string();
        records.push(RawRecord { text, label, line });
    }
    Ok(RawSplit {
        path: path.to_path_buf(),
        records,
    })
}

//! CSV helpers for fixed-layout corpora (the airline tweets): a reader with a header row and
//! column lookup by name. User files go through [`crate::table::TableReader`].
//!
//! Tab-delimited files are read without quote processing (a `"` inside a TSV field is literal
//! text), as TSV exports usually do not quote.
//!
//! ```no_run
//! use textrnn_data::csv_file::{column_index, reader};
//! let path = std::path::Path::new("Tweets.csv");
//! let mut rdr = reader(path, b',')?;
//! let headers = rdr.headers().map_err(|e| textrnn_data::Error::csv(path, e))?.clone();
//! println!("text is column {}", column_index(path, &headers, "text")?);
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::path::Path;

use crate::error::{Error, Result};

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

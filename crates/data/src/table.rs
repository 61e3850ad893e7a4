//! One streaming reader for every user file format: [`TableReader`] yields a [`Row`] (row number,
//! line, id, text, optional label) per record of a CSV, TSV, JSON Lines, parquet or plain-text
//! file, in file order, with bounded memory.
//!
//! Format ([`FileFormat::detect`]): the explicit [`TableSpec::format`], else the extension:
//! `.csv` (delimiter sniffed from the first lines: tab, comma, semicolon or pipe, the one that
//! splits the header into the most fields consistently with the next lines), `.tsv` (tab, no
//! quote processing: a `"` is literal text, as TSV exports usually do not quote; any
//! tab-delimited file is read that way), `.jsonl` / `.ndjson`, `.parquet`. A `.txt` file or one
//! with another or no extension is a delimited table when its sniffed header has the text column;
//! otherwise, when no label is asked for, it is plain text with one input per line (every line,
//! blank ones too, is a row; the final newline does not make an extra row), and when a label is
//! asked for it is an [`Error::UnknownFormat`].
//!
//! Values are returned exactly as written (no trimming); an empty text is returned as `""`, an
//! empty label is an [`Error::EmptyField`]. Ids are the id column's value when
//! [`TableSpec::id_col`] is set, else the 1-based data row (header excluded). A UTF-8 byte order
//! mark at the start of a CSV, TSV, JSONL or text file is skipped.
//!
//! Errors name the file and the 1-based line where the record starts (CRLF files too; for
//! parquet the row): an empty or header-only file ([`Error::NoRecords`], when opening), a
//! duplicated header column ([`Error::DuplicateColumn`]) or JSON key ([`Error::Json`]), a line
//! over [`MAX_LINE_BYTES`] ([`Error::LineTooLong`], refused without reading it all), bytes that
//! are not UTF-8 ([`Error::NotUtf8`], unless [`Utf8Policy::Replace`]), a missing column
//! ([`Error::MissingColumn`], listing the available ones), a ragged row ([`Error::RaggedRow`]).
//! JSONL: blank lines are skipped (and counted), the text must be a JSON string, a label or id
//! may be a string, a number (kept as written: `12345678901234567890123` stays those digits) or
//! a boolean; a label may also be a list of strings (a multi-label row, returned as its compact
//! JSON text `["a","b"]`, see [`json_label_list`]). The iterator stops
//! after the first error.
//!
//! A sample-weight column ([`TableSpec::weight_col`]) is read as a number (CSV/TSV text, a JSON
//! number or numeric string, a parquet float or integer); anything but a finite number `>= 0` is
//! an [`Error::BadWeight`] naming the file, line and column.
//!
//! ```no_run
//! use textrnn_data::table::{TableReader, TableSpec};
//! let spec = TableSpec { label_col: Some("label".into()), ..TableSpec::default() };
//! let reader = TableReader::open("reviews.csv".as_ref(), &spec)?;
//! println!("{:?} with columns {:?}", reader.format(), reader.columns());
//! for row in reader {
//!     let row = row?;
//!     println!("{} (line {}): {:?} -> {:?}", row.id, row.line, row.text, row.label);
//! }
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::cell::Cell;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::Field;
use parquet::schema::types::Type;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::parquet_file::perr;

/// The longest line (with its newline) any reader accepts: 10 MiB.
pub const MAX_LINE_BYTES: usize = 10 * 1024 * 1024;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Lines read to sniff a delimiter (header included).
const SNIFF_LINES: usize = 20;

/// Delimiters tried by the sniffer, in order of preference on ties.
const SNIFF_DELIMITERS: [u8; 4] = [b'\t', b',', b';', b'|'];

/// A user file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Delimited values with a header row (delimiter given or sniffed), csv quoting rules.
    Csv,
    /// Tab-separated values with a header row, no quote processing.
    Tsv,
    /// JSON Lines: one object per line.
    Jsonl,
    /// Apache Parquet.
    Parquet,
    /// Plain text, one input per line, no header.
    Txt,
}

impl FileFormat {
    /// Every format, for messages and command-line parsing.
    pub const ALL: [FileFormat; 5] = [
        FileFormat::Csv,
        FileFormat::Tsv,
        FileFormat::Jsonl,
        FileFormat::Parquet,
        FileFormat::Txt,
    ];

    /// The lowercase name (`csv`, `tsv`, `jsonl`, `parquet`, `txt`).
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Tsv => "tsv",
            FileFormat::Jsonl => "jsonl",
            FileFormat::Parquet => "parquet",
            FileFormat::Txt => "txt",
        }
    }

    /// The format an extension names for sure (`.txt` and others need a look inside: `None`).
    pub fn from_extension(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(FileFormat::Csv),
            "tsv" => Some(FileFormat::Tsv),
            "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
            "parquet" => Some(FileFormat::Parquet),
            _ => None,
        }
    }

    /// The format `path` is read with under `spec` (see the module docs); may read the first lines.
    pub fn detect(path: &Path, spec: &TableSpec) -> Result<FileFormat> {
        Ok(resolve(path, spec)?.0)
    }
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FileFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        FileFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown format {s:?}; use csv, tsv, jsonl, parquet or txt"))
    }
}

/// What to do with bytes that are not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Utf8Policy {
    /// Refuse them: [`Error::NotUtf8`] with the line.
    #[default]
    Error,
    /// Replace them with U+FFFD and mark the row ([`Row::replaced_utf8`]).
    Replace,
}

/// How to read a user file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// Explicit format (`--format`); detected from the file when `None`.
    pub format: Option<FileFormat>,
    /// Text column / field (default `text`).
    pub text_col: String,
    /// Label column / field; `None` when predicting (no label read).
    pub label_col: Option<String>,
    /// Id column / field; `None`: the 1-based data row is the id.
    pub id_col: Option<String>,
    /// Delimiter for delimited files; sniffed (or tab for `.tsv`) when `None`.
    pub delimiter: Option<u8>,
    /// Bytes that are not UTF-8.
    pub utf8: Utf8Policy,
    /// Sample-weight column / field (`--weight-col`): a finite number `>= 0` per row
    /// ([`Row::weight`]); `None`: no weight read.
    pub weight_col: Option<String>,
    /// Multi-label files: the separator between the labels of one label cell (`--label-sep`);
    /// the reader returns the cell as written, [`crate::load_user_files`] splits it.
    pub label_sep: Option<String>,
}

impl Default for TableSpec {
    fn default() -> Self {
        Self {
            format: None,
            text_col: "text".into(),
            label_col: None,
            id_col: None,
            delimiter: None,
            utf8: Utf8Policy::Error,
            weight_col: None,
            label_sep: None,
        }
    }
}

/// One record of a user file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based data row (header excluded; blank JSONL lines not counted).
    pub row: u64,
    /// 1-based line where the record starts (the row for parquet).
    pub line: u64,
    /// The id column's value, else the row number.
    pub id: String,
    /// The text as written (may be empty).
    pub text: String,
    /// The label exactly as written, when a label column was asked for.
    pub label: Option<String>,
    /// True when bytes that were not UTF-8 were replaced ([`Utf8Policy::Replace`]).
    pub replaced_utf8: bool,
    /// The sample weight, when [`TableSpec::weight_col`] is set (checked: finite, `>= 0`).
    pub weight: Option<f32>,
}

/// Streaming reader over a user file; an iterator of [`Row`]s (see the module docs).
pub struct TableReader {
    path: PathBuf,
    format: FileFormat,
    delimiter: Option<u8>,
    columns: Vec<String>,
    spec: TableSpec,
    inner: Inner,
    rows: u64,
    peeked: Option<Row>,
    done: bool,
}

enum Inner {
    Delimited(Box<DelimitedState>),
    Lines { lines: LineReader, jsonl: bool },
    Parquet(RowIter<'static>),
}

struct DelimitedState {
    reader: csv::Reader<LineLimit<File>>,
    record: csv::ByteRecord,
    text: usize,
    label: Option<usize>,
    id: Option<usize>,
    /// The weight column's index, when one is asked for.
    weight: Option<usize>,
    /// Byte offset where the next record starts, for [`LineLimit`]'s record bound.
    record_start: Rc<Cell<u64>>,
    lines: LineFinder,
}

impl TableReader {
    /// Opens `path`, detects its format, reads the header and the first record (so an empty or
    /// header-only file is an [`Error::NoRecords`] here).
    pub fn open(path: &Path, spec: &TableSpec) -> Result<Self> {
        let (format, delimiter) = resolve(path, spec)?;
        if format == FileFormat::Txt && (spec.label_col.is_some() || spec.id_col.is_some()) {
            return Err(Error::Config {
                field: "format".into(),
                message: format!(
                    "{}: a plain text file has no label or id column",
                    path.display()
                ),
            });
        }
        let (inner, columns) = match format {
            FileFormat::Csv | FileFormat::Tsv => {
                let delimiter = delimiter.unwrap_or(b',');
                let (state, columns) = open_delimited(path, spec, delimiter)?;
                (Inner::Delimited(Box::new(state)), columns)
            }
            FileFormat::Jsonl | FileFormat::Txt => {
                let file = File::open(path).map_err(|e| Error::io(path, e))?;
                let lines = LineReader::new(path, Box::new(BufReader::new(file)));
                let jsonl = format == FileFormat::Jsonl;
                (Inner::Lines { lines, jsonl }, Vec::new())
            }
            FileFormat::Parquet => {
                let (iter, columns) = open_parquet(path, spec)?;
                (Inner::Parquet(iter), columns)
            }
        };
        Self::start(path, spec, format, delimiter, inner, columns)
    }

    /// A plain-text reader (one input per line, ids the line numbers) over an already opened
    /// stream such as standard input; `origin` names it in messages. An empty stream is
    /// [`Error::NoRecords`].
    pub fn lines_from(origin: &Path, reader: Box<dyn BufRead>) -> Result<Self> {
        let inner = Inner::Lines {
            lines: LineReader::new(origin, reader),
            jsonl: false,
        };
        Self::start(
            origin,
            &TableSpec::default(),
            FileFormat::Txt,
            None,
            inner,
            Vec::new(),
        )
    }

    /// A JSONL reader over an already opened stream (a decompressed stored split); `path` is
    /// for messages.
    pub(crate) fn jsonl_from(
        path: &Path,
        reader: Box<dyn BufRead>,
        spec: &TableSpec,
    ) -> Result<Self> {
        let inner = Inner::Lines {
            lines: LineReader::new(path, reader),
            jsonl: true,
        };
        Self::start(path, spec, FileFormat::Jsonl, None, inner, Vec::new())
    }

    fn start(
        path: &Path,
        spec: &TableSpec,
        format: FileFormat,
        delimiter: Option<u8>,
        inner: Inner,
        columns: Vec<String>,
    ) -> Result<Self> {
        let mut reader = Self {
            path: path.to_path_buf(),
            format,
            delimiter,
            columns,
            spec: spec.clone(),
            inner,
            rows: 0,
            peeked: None,
            done: false,
        };
        match reader.read_next()? {
            Some(first) => reader.peeked = Some(first),
            None => {
                let empty = std::fs::metadata(path).is_ok_and(|m| m.len() == 0);
                let reason = match format {
                    _ if empty => "the file is empty",
                    FileFormat::Csv | FileFormat::Tsv => "only a header line",
                    FileFormat::Jsonl => "only blank lines",
                    FileFormat::Parquet => "0 rows",
                    FileFormat::Txt => "the file is empty",
                };
                return Err(Error::NoRecords {
                    path: path.to_path_buf(),
                    reason: reason.into(),
                });
            }
        }
        Ok(reader)
    }

    /// The format the file is read with.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// The delimiter of a CSV/TSV file.
    pub fn delimiter(&self) -> Option<u8> {
        self.delimiter
    }

    /// The header's columns (CSV/TSV), the schema's (parquet) or the first object's keys (JSONL);
    /// empty for plain text.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_next(&mut self) -> Result<Option<Row>> {
        let row = self.rows + 1;
        let out = match &mut self.inner {
            Inner::Delimited(state) => next_delimited(&self.path, &self.spec, state, row)?,
            Inner::Lines { lines, jsonl } => {
                let Some((line, bytes)) = lines.next_line(*jsonl)? else {
                    return Ok(None);
                };
                let (text, replaced) = decode(&self.path, line, bytes, self.spec.utf8)?;
                if *jsonl {
                    let first = self.columns.is_empty();
                    let (row, keys) =
                        parse_json_row(&self.path, &self.spec, (line, row), &text, first)?;
                    if let Some(keys) = keys {
                        self.columns = keys;
                    }
                    Some(Row {
                        replaced_utf8: replaced,
                        ..row
                    })
                } else {
                    Some(Row {
                        row,
                        line,
                        id: row.to_string(),
                        text,
                        label: None,
                        replaced_utf8: replaced,
                        weight: None,
                    })
                }
            }
            Inner::Parquet(iter) => match iter.next() {
                None => None,
                Some(r) => {
                    let r = r.map_err(|e| row_error(&self.path, row, e))?;
                    Some(parquet_row(&self.path, &self.spec, row, &r)?)
                }
            },
        };
        if let Some(r) = &out {
            self.rows = r.row;
            if let Some(label) = &r.label {
                if label.trim().is_empty() {
                    return Err(Error::EmptyField {
                        path: self.path.clone(),
                        line: r.line,
                        column: self.spec.label_col.clone().unwrap_or_default(),
                    });
                }
            }
        }
        Ok(out)
    }
}

impl Iterator for TableReader {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        if let Some(row) = self.peeked.take() {
            return Some(Ok(row));
        }
        if self.done {
            return None;
        }
        match self.read_next() {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// `(format, delimiter)` for `path` under `spec` (see the module docs).
fn resolve(path: &Path, spec: &TableSpec) -> Result<(FileFormat, Option<u8>)> {
    let is_tsv = FileFormat::from_extension(path) == Some(FileFormat::Tsv);
    let delimited = |delimiter: u8| {
        let format = if delimiter == b'\t' {
            FileFormat::Tsv
        } else {
            FileFormat::Csv
        };
        (format, Some(delimiter))
    };
    match spec.format.or_else(|| FileFormat::from_extension(path)) {
        Some(FileFormat::Tsv) => Ok(delimited(spec.delimiter.unwrap_or(b'\t'))),
        Some(FileFormat::Csv) => match spec.delimiter {
            Some(d) => Ok(delimited(d)),
            None if is_tsv => Ok(delimited(b'\t')),
            None => Ok(delimited(sniff(path, None)?.0)),
        },
        Some(other) => Ok((other, None)),
        None => {
            let (delimiter, header) = sniff(path, spec.delimiter)?;
            let has = |col: &str| header.iter().any(|h| h.trim() == col);
            let is_table = has(&spec.text_col) && spec.label_col.as_deref().is_none_or(has);
            match &spec.label_col {
                _ if is_table => Ok(delimited(delimiter)),
                None => Ok((FileFormat::Txt, None)),
                Some(label) => Err(Error::UnknownFormat {
                    path: path.to_path_buf(),
                    reason: format!(
                        "no .csv/.tsv/.jsonl/.parquet extension and the first line has no columns {:?} and {label:?}",
                        spec.text_col
                    ),
                }),
            }
        }
    }
}

/// Sniffs the delimiter from the first lines (only `given` when set): `(delimiter, header fields
/// with it)`.
fn sniff(path: &Path, given: Option<u8>) -> Result<(u8, Vec<String>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut lines = LineReader::new(path, Box::new(BufReader::new(file)));
    let mut sample = Vec::new();
    let mut complete = true;
    for _ in 0..SNIFF_LINES {
        match lines.next_line(false)? {
            Some((_, bytes)) => {
                sample.extend_from_slice(&bytes);
                sample.push(b'\n');
            }
            None => break,
        }
    }
    if lines.next_line(false)?.is_some() {
        complete = false;
    }
    let mut best: Option<(u8, Vec<String>, bool)> = None;
    let candidates = given.map_or(SNIFF_DELIMITERS.to_vec(), |d| vec![d]);
    for delimiter in candidates {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .quoting(delimiter != b'\t')
            .from_reader(sample.as_slice());
        let records: Vec<csv::ByteRecord> = rdr.byte_records().filter_map(|r| r.ok()).collect();
        let Some((header, rest)) = records.split_first() else {
            continue;
        };
        // The last sampled record may be cut short when the file goes on.
        let checked = if complete {
            rest
        } else {
            &rest[..rest.len().saturating_sub(1)]
        };
        let consistent = checked.iter().all(|r| r.len() == header.len());
        let fields: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let better = match &best {
            None => true,
            Some((_, b, b_consistent)) => (consistent, fields.len()) > (*b_consistent, b.len()),
        };
        if better && (fields.len() > 1 || given.is_some()) {
            best = Some((delimiter, fields, consistent));
        }
    }
    Ok(match best {
        Some((d, fields, _)) => (d, fields),
        None => {
            let first = sample.split(|&b| b == b'\n').next().unwrap_or_default();
            (
                given.unwrap_or(b','),
                vec![String::from_utf8_lossy(first).into_owned()],
            )
        }
    })
}

/// Decodes `bytes` as UTF-8 under `policy`: `(text, replaced)`.
fn decode(path: &Path, line: u64, bytes: Vec<u8>, policy: Utf8Policy) -> Result<(String, bool)> {
    match String::from_utf8(bytes) {
        Ok(s) => Ok((s, false)),
        Err(e) => match policy {
            Utf8Policy::Error => Err(Error::NotUtf8 {
                path: path.to_path_buf(),
                line,
            }),
            Utf8Policy::Replace => Ok((String::from_utf8_lossy(e.as_bytes()).into_owned(), true)),
        },
    }
}

/// Index of `column` among `columns`, or [`Error::MissingColumn`] at `line`.
fn find_column(path: &Path, line: u64, columns: &[String], column: &str) -> Result<usize> {
    columns
        .iter()
        .position(|c| c == column)
        .ok_or_else(|| Error::MissingColumn {
            path: path.to_path_buf(),
            line,
            column: column.to_string(),
            available: columns.join(", "),
        })
}

/// A sample weight as written in `spec.weight_col` at `line`: a finite number `>= 0`, else
/// [`Error::BadWeight`] (an empty cell is "not a number").
fn parse_weight(path: &Path, line: u64, spec: &TableSpec, value: &str) -> Result<f32> {
    let bad = |reason: &str| Error::BadWeight {
        path: path.to_path_buf(),
        line,
        column: spec.weight_col.clone().unwrap_or_default(),
        value: value.chars().take(40).collect(),
        reason: reason.into(),
    };
    let w: f64 = value.trim().parse().map_err(|_| bad("is not a number"))?;
    if !w.is_finite() || !(w as f32).is_finite() {
        return Err(bad("is not finite"));
    }
    if w < 0.0 {
        return Err(bad("is negative (weights must be >= 0)"));
    }
    Ok(w as f32)
}

/// `[text, label, id]` column indices of `spec` among `columns`; also refuses duplicated names.
fn column_indices(
    path: &Path,
    line: u64,
    columns: &[String],
    spec: &TableSpec,
) -> Result<(usize, Option<usize>, Option<usize>)> {
    let mut seen = HashSet::new();
    for c in columns {
        if !seen.insert(c.as_str()) {
            return Err(Error::DuplicateColumn {
                path: path.to_path_buf(),
                line,
                column: c.clone(),
            });
        }
    }
    let text = find_column(path, line, columns, &spec.text_col)?;
    let label = spec
        .label_col
        .as_deref()
        .map(|c| find_column(path, line, columns, c))
        .transpose()?;
    let id = spec
        .id_col
        .as_deref()
        .map(|c| find_column(path, line, columns, c))
        .transpose()?;
    Ok((text, label, id))
}

fn open_delimited(
    path: &Path,
    spec: &TableSpec,
    delimiter: u8,
) -> Result<(DelimitedState, Vec<String>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let record_start = Rc::new(Cell::new(0));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .quoting(delimiter != b'\t')
        .from_reader(LineLimit::new(file, Rc::clone(&record_start)));
    let mut lines = LineFinder::open(path)?;
    let header = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(csv_error(path, e, &mut lines)),
    };
    let line = match header.position() {
        Some(p) => lines.line(p)?,
        None => 1,
    };
    let mut columns = Vec::with_capacity(header.len());
    for field in header.iter() {
        // Header names are matched trimmed (`text ` finds `text`); nothing else is trimmed.
        let (name, _) = decode(path, line, field.to_vec(), spec.utf8)?;
        columns.push(name.trim().to_string());
    }
    // An empty file has no header; `start` then reports it as empty.
    let (text, label, id) = if header.is_empty() {
        columns.clear();
        (0, None, None)
    } else {
        column_indices(path, line, &columns, spec)?
    };
    let weight = match &spec.weight_col {
        Some(c) if !header.is_empty() => Some(find_column(path, line, &columns, c)?),
        _ => None,
    };
    record_start.set(reader.position().byte());
    let state = DelimitedState {
        reader,
        record: csv::ByteRecord::new(),
        text,
        label,
        id,
        weight,
        record_start,
        lines,
    };
    Ok((state, columns))
}

fn next_delimited(
    path: &Path,
    spec: &TableSpec,
    state: &mut DelimitedState,
    row: u64,
) -> Result<Option<Row>> {
    match state.reader.read_byte_record(&mut state.record) {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        Err(e) => return Err(csv_error(path, e, &mut state.lines)),
    }
    state.record_start.set(state.reader.position().byte());
    let line = match state.record.position() {
        Some(p) => state.lines.line(p)?,
        None => 0,
    };
    let mut replaced = false;
    let mut field = |i: usize| -> Result<String> {
        let bytes = state.record.get(i).unwrap_or_default().to_vec();
        let (s, r) = decode(path, line, bytes, spec.utf8)?;
        replaced |= r;
        Ok(s)
    };
    let text = field(state.text)?;
    let label = state.label.map(&mut field).transpose()?;
    let id = match state.id {
        Some(i) => field(i)?,
        None => row.to_string(),
    };
    let weight = match state.weight {
        Some(i) => Some(parse_weight(path, line, spec, &field(i)?)?),
        None => None,
    };
    Ok(Some(Row {
        row,
        line,
        id,
        text,
        label,
        replaced_utf8: replaced,
        weight,
    }))
}

/// A csv error, unwrapping [`LineLimit`]'s "line too long" and correcting the line (see
/// [`LineFinder`]).
fn csv_error(path: &Path, err: csv::Error, lines: &mut LineFinder) -> Error {
    let position = match err.kind() {
        csv::ErrorKind::Io(io) => {
            if let Some(TooLong(line)) = io.get_ref().and_then(|e| e.downcast_ref::<TooLong>()) {
                return Error::LineTooLong {
                    path: path.to_path_buf(),
                    line: *line,
                    limit: MAX_LINE_BYTES,
                };
            }
            None
        }
        csv::ErrorKind::UnequalLengths { pos, .. } => pos.clone(),
        _ => err.position().cloned(),
    };
    let fixed = position.map(|p| lines.line(&p));
    let mut error = Error::csv(path, err);
    if let (Some(Ok(fixed)), Error::RaggedRow { line, .. } | Error::Csv { line, .. }) =
        (fixed, &mut error)
    {
        *line = fixed;
    }
    error
}

/// The csv crate places a record right after the previous record's terminator, which in a CRLF
/// file is before the `\n`, and before any blank lines; its line is then too small. This second,
/// forward-only reader over the same file skips those `\r`/`\n` bytes to find the line where
/// the record's text starts.
struct LineFinder {
    path: PathBuf,
    reader: BufReader<File>,
    /// Offset in the csv reader's stream (after a BOM).
    pos: u64,
}

impl LineFinder {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = BufReader::new(file);
        if reader
            .fill_buf()
            .map_err(|e| Error::io(path, e))?
            .starts_with(BOM)
        {
            reader.consume(BOM.len());
        }
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            pos: 0,
        })
    }

    /// The 1-based line where the record the csv reader places at `at` starts.
    fn line(&mut self, at: &csv::Position) -> Result<u64> {
        let path = self.path.clone();
        let io = |e| Error::io(path.clone(), e);
        if at.byte() < self.pos {
            return Ok(at.line());
        }
        let gap = at.byte() - self.pos;
        std::io::copy(&mut (&mut self.reader).take(gap), &mut std::io::sink()).map_err(io)?;
        self.pos = at.byte();
        let mut newlines = 0;
        loop {
            let buf = self.reader.fill_buf().map_err(io)?;
            let blank = buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            newlines += buf[..blank].iter().filter(|&&b| b == b'\n').count() as u64;
            let more = blank == buf.len() && !buf.is_empty();
            self.reader.consume(blank);
            self.pos += blank as u64;
            if !more {
                break;
            }
        }
        Ok(at.line() + newlines)
    }
}

/// Raised by [`LineLimit`]: the 1-based line that is too long.
#[derive(Debug)]
struct TooLong(u64);

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} longer than {MAX_LINE_BYTES} bytes", self.0)
    }
}

impl std::error::Error for TooLong {}

/// A reader that skips a leading UTF-8 BOM and fails (with [`TooLong`]) as soon as a line, or a
/// record spanning lines, grows past [`MAX_LINE_BYTES`], so the csv reader never buffers more.
struct LineLimit<R> {
    inner: R,
    line: u64,
    line_len: usize,
    passed: u64,
    /// Byte offset (after the BOM) where the record being parsed starts, and its line.
    record_start: Rc<Cell<u64>>,
    started: bool,
}

impl<R: Read> LineLimit<R> {
    fn new(inner: R, record_start: Rc<Cell<u64>>) -> Self {
        Self {
            inner,
            line: 1,
            line_len: 0,
            passed: 0,
            record_start,
            started: false,
        }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = self.inner.read(buf)?;
        if !self.started && n > 0 {
            self.started = true;
            // Read enough to tell whether the stream starts with a BOM.
            while n < BOM.len().min(buf.len()) && BOM.starts_with(&buf[..n]) {
                let more = self.inner.read(&mut buf[n..])?;
                if more == 0 {
                    break;
                }
                n += more;
            }
            if buf[..n].starts_with(BOM) {
                buf.copy_within(BOM.len()..n, 0);
                n -= BOM.len();
            }
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                self.line += 1;
                self.line_len = 0;
            } else {
                self.line_len += 1;
                if self.line_len > MAX_LINE_BYTES {
                    return Err(std::io::Error::other(TooLong(self.line)));
                }
            }
        }
        self.passed += n as u64;
        // A quoted field spanning lines: bound the record too (plus the csv reader's read-ahead).
        let in_record = self.passed.saturating_sub(self.record_start.get());
        if in_record > (MAX_LINE_BYTES + (1 << 16)) as u64 {
            return Err(std::io::Error::other(TooLong(self.line)));
        }
        Ok(n)
    }
}

/// Reads lines with a bounded buffer: a line over [`MAX_LINE_BYTES`] is refused unread.
pub(crate) struct LineReader {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    line: u64,
}

impl LineReader {
    pub(crate) fn new(path: &Path, reader: Box<dyn BufRead>) -> Self {
        Self {
            path: path.to_path_buf(),
            reader,
            line: 0,
        }
    }

    /// The next line without its `\n` / `\r\n` (a BOM on line 1 is dropped): `(line number,
    /// bytes)`. With `skip_blank`, lines of only whitespace are skipped (still counted).
    pub(crate) fn next_line(&mut self, skip_blank: bool) -> Result<Option<(u64, Vec<u8>)>> {
        loop {
            let mut buf = Vec::new();
            let limit = MAX_LINE_BYTES as u64 + 1;
            let n = (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut buf)
                .map_err(|e| Error::io(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if n > MAX_LINE_BYTES {
                return Err(Error::LineTooLong {
                    path: self.path.clone(),
                    line: self.line,
                    limit: MAX_LINE_BYTES,
                });
            }
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            if self.line == 1 && buf.starts_with(BOM) {
                buf.drain(..BOM.len());
            }
            if skip_blank && buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((self.line, buf)));
        }
    }
}

/// A JSON object's entries in order, their values unparsed, and the first repeated key.
struct RawObject<'a> {
    entries: Vec<(String, &'a RawValue)>,
    duplicate: Option<String>,
}

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObject<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, &'de RawValue)> = Vec::new();
                let mut seen = HashSet::new();
                let mut duplicate = None;
                while let Some(key) = map.next_key::<String>()? {
                    let value: &'de RawValue = map.next_value()?;
                    if !seen.insert(key.clone()) && duplicate.is_none() {
                        duplicate = Some(key.clone());
                    }
                    entries.push((key, value));
                }
                Ok(RawObject { entries, duplicate })
            }
        }
        d.deserialize_map(V)
    }
}

/// A JSON scalar as text: a string's content, a number's digits as written, `true`/`false`.
fn json_scalar(raw: &RawValue) -> std::result::Result<String, &'static str> {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text).map_err(|_| "a bad string"),
        Some(b'[') => Err("a list"),
        Some(b'{') => Err("an object"),
        Some(b'n') => Err("null"),
        Some(_) => Ok(text.to_string()),
        None => Err("nothing"),
    }
}

/// A JSON label: a scalar as [`json_scalar`] gives it, or a list of strings (a multi-label
/// row) as its compact JSON text (`["a","b"]`), which [`json_label_list`] reads back.
fn json_label(raw: &RawValue) -> std::result::Result<String, &'static str> {
    if !raw.get().trim_start().starts_with('[') {
        return json_scalar(raw);
    }
    let list: Vec<String> = serde_json::from_str(raw.get())
        .map_err(|_| "a list holding something other than strings")?;
    serde_json::to_string(&list).map_err(|_| "a bad list")
}

/// The labels of a JSONL list label as [`TableReader`] returns it (`["a","b"]`); `None` for a
/// scalar label.
pub fn json_label_list(label: &str) -> Option<Vec<String>> {
    if !label.starts_with('[') {
        return None;
    }
    serde_json::from_str(label).ok()
}

/// A JSON value's kind, for messages (never the value itself: it may be megabytes).
fn json_kind(raw: &RawValue) -> &'static str {
    match raw.get().trim().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'[') => "a list",
        Some(b'{') => "an object",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// Parses one JSONL line into a [`Row`] (with `replaced_utf8` false) and, when `want_keys`, the
/// object's keys.
fn parse_json_row(
    path: &Path,
    spec: &TableSpec,
    (line, row): (u64, u64),
    text: &str,
    want_keys: bool,
) -> Result<(Row, Option<Vec<String>>)> {
    let json_err = |message: String| Error::Json {
        path: path.to_path_buf(),
        line,
        message,
    };
    if !text.trim_start().starts_with('{') {
        return Err(json_err("expected a JSON object".into()));
    }
    let obj: RawObject = serde_json::from_str(text).map_err(|e| json_err(e.to_string()))?;
    if let Some(key) = obj.duplicate {
        return Err(json_err(format!("duplicated key {key:?}")));
    }
    let keys = || -> Vec<String> { obj.entries.iter().map(|(k, _)| k.clone()).collect() };
    let get = |col: &str| -> Result<&RawValue> {
        obj.entries
            .iter()
            .find(|(k, _)| k == col)
            .map(|(_, v)| *v)
            .ok_or_else(|| Error::MissingColumn {
                path: path.to_path_buf(),
                line,
                column: col.to_string(),
                available: keys().join(", "),
            })
    };
    let text_raw = get(&spec.text_col)?;
    let text = serde_json::from_str::<String>(text_raw.get()).map_err(|_| {
        json_err(format!(
            "field {:?} must be a string, found {}",
            spec.text_col,
            json_kind(text_raw)
        ))
    })?;
    let scalar = |col: &str| -> Result<String> {
        json_scalar(get(col)?).map_err(|found| {
            json_err(format!(
                "field {col:?} must be a string, number or boolean, found {found}"
            ))
        })
    };
    let label = match spec.label_col.as_deref() {
        Some(col) => Some(json_label(get(col)?).map_err(|found| {
            json_err(format!(
                "field {col:?} must be a string, number, boolean or a list of strings, found {found}"
            ))
        })?),
        None => None,
    };
    let id = match &spec.id_col {
        Some(col) => scalar(col)?,
        None => row.to_string(),
    };
    // A weight may be written as a JSON number or as a string holding one.
    let weight = match &spec.weight_col {
        Some(col) => {
            let raw = get(col)?;
            let value = json_scalar(raw).unwrap_or_else(|_| raw.get().trim().to_string());
            Some(parse_weight(path, line, spec, &value)?)
        }
        None => None,
    };
    let row = Row {
        row,
        line,
        id,
        text,
        label,
        replaced_utf8: false,
        weight,
    };
    Ok((row, want_keys.then(keys)))
}

/// An [`Error::Parquet`] about row `row` of `path`.
fn row_error(path: &Path, row: u64, message: impl std::fmt::Display) -> Error {
    perr(path, format!("row {row}: {message}"))
}

fn open_parquet(path: &Path, spec: &TableSpec) -> Result<(RowIter<'static>, Vec<String>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| perr(path, e))?;
    let schema = reader.metadata().file_metadata().schema().clone();
    let fields = schema.get_fields();
    let columns: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
    let (text, label, id) = column_indices(path, 0, &columns, spec)?;
    let weight = spec
        .weight_col
        .as_deref()
        .map(|c| find_column(path, 0, &columns, c))
        .transpose()?;
    let mut wanted: Vec<usize> = [Some(text), label, id, weight]
        .into_iter()
        .flatten()
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let projection = Type::group_type_builder(schema.name())
        .with_fields(wanted.iter().map(|&i| fields[i].clone()).collect())
        .build()
        .map_err(|e| perr(path, e))?;
    // Reads row group by row group.
    let iter = RowIter::from_file_into(Box::new(reader))
        .project(Some(projection))
        .map_err(|e| perr(path, e))?;
    Ok((iter, columns))
}

/// A parquet value as text: strings as stored, integers and booleans in decimal / `true`.
fn parquet_scalar(field: &Field) -> Option<String> {
    Some(match field {
        Field::Str(s) => s.clone(),
        Field::Null => String::new(),
        Field::Bool(v) => v.to_string(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        _ => return None,
    })
}

fn parquet_row(path: &Path, spec: &TableSpec, row: u64, r: &parquet::record::Row) -> Result<Row> {
    let get = |col: &str| -> Result<&Field> {
        r.get_column_iter()
            .find(|(name, _)| name.as_str() == col)
            .map(|(_, f)| f)
            .ok_or_else(|| row_error(path, row, format!("no column {col:?}")))
    };
    let scalar = |col: &str| -> Result<String> {
        let field = get(col)?;
        parquet_scalar(field).ok_or_else(|| {
            row_error(
                path,
                row,
                format!("column {col:?} must be a string or an integer, found {field}"),
            )
        })
    };
    let text = match get(&spec.text_col)? {
        Field::Str(s) => s.clone(),
        Field::Null => String::new(),
        other => {
            return Err(row_error(
                path,
                row,
                format!("column {:?} must be a string, found {other}", spec.text_col),
            ))
        }
    };
    let label = spec.label_col.as_deref().map(scalar).transpose()?;
    let id = match &spec.id_col {
        Some(c) => scalar(c)?,
        None => row.to_string(),
    };
    let weight = match &spec.weight_col {
        Some(c) => {
            let value = match get(c)? {
                Field::Float(v) => v.to_string(),
                Field::Double(v) => v.to_string(),
                other => parquet_scalar(other).unwrap_or_else(|| other.to_string()),
            };
            Some(parse_weight(path, row, spec, &value)?)
        }
        None => None,
    };
    Ok(Row {
        row,
        line: row,
        id,
        text,
        label,
        replaced_utf8: false,
        weight,
    })
}

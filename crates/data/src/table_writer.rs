//! Writing result tables (string and float columns) as CSV, JSON Lines or Parquet, streamed and
//! atomic.
//!
//! The format comes from the output file's extension ([`OutputFormat::from_path`]: `.csv`,
//! `.jsonl`/`.ndjson`, `.parquet`). [`write_table`] writes the whole table into a temporary file
//! through [`textrnn_fs::write_with`], so the output appears only once it is complete: an error
//! (or an interrupted process) never leaves a partial file under the target name. Memory stays
//! bounded whatever the number of rows: CSV and JSON Lines rows go straight to a buffered file;
//! Parquet rows are buffered per row group of [`PARQUET_ROW_GROUP_ROWS`] rows.
//!
//! Every column is nullable ([`Cell::Null`]): an empty CSV field, a JSON `null`, a Parquet null.
//! Floats are written with the shortest text that reads back as the same value (CSV, JSON) or
//! as `FLOAT`/`DOUBLE` (Parquet), so a round trip is exact.
//!
//! ```
//! use textrnn_data::table_writer::{write_table, Cell, Column};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("out.csv");
//! let columns = [Column::str("id"), Column::f32("prob")];
//! write_table::<_, textrnn_data::Error>(&path, &columns, |w| {
//!     w.write_row(&[Cell::Str("1"), Cell::F32(0.25)])?;
//!     w.write_row(&[Cell::Str("2"), Cell::Null])
//! })?;
//! assert_eq!(std::fs::read_to_string(&path).unwrap(), "id,prob\n1,0.25\n2,\n");
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, DoubleType, FloatType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::types::Type;

use crate::error::{Error, Result};

/// Rows per Parquet row group: the most rows held in memory while writing Parquet.
pub const PARQUET_ROW_GROUP_ROWS: usize = 65_536;

/// The extensions [`OutputFormat::from_path`] accepts, as listed in its error.
pub const OUTPUT_EXTENSIONS: &str = ".csv, .jsonl, .ndjson, .parquet";

/// Buffer size of the CSV and JSON Lines file writers.
const WRITE_BUFFER_BYTES: usize = 1 << 16;

/// A table file format that [`write_table`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Comma-separated values with a header line (RFC 4180 quoting).
    Csv,
    /// One JSON object per line, keys in column order.
    Jsonl,
    /// Apache Parquet, snappy-compressed, one row group per [`PARQUET_ROW_GROUP_ROWS`] rows.
    Parquet,
}

impl OutputFormat {
    /// The format named by `path`'s extension (case-insensitive); any other extension is an
    /// [`Error::UnsupportedOutput`] naming the file and the supported extensions.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("csv") => Ok(OutputFormat::Csv),
            Some("jsonl" | "ndjson") => Ok(OutputFormat::Jsonl),
            Some("parquet") => Ok(OutputFormat::Parquet),
            _ => Err(Error::UnsupportedOutput {
                path: path.to_path_buf(),
                supported: OUTPUT_EXTENSIONS.to_string(),
            }),
        }
    }
}

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// UTF-8 text (Parquet `BYTE_ARRAY` with the `String` logical type).
    Str,
    /// 32-bit float (Parquet `FLOAT`).
    F32,
    /// 64-bit float (Parquet `DOUBLE`).
    F64,
}

/// A named, typed, nullable column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header / key / field name.
    pub name: String,
    /// The type of its values.
    pub kind: ColumnKind,
}

impl Column {
    /// A column named `name` of values of `kind`.
    pub fn new(name: impl Into<String>, kind: ColumnKind) -> Self {
        Column {
            name: name.into(),
            kind,
        }
    }

    /// A text column.
    pub fn str(name: impl Into<String>) -> Self {
        Column::new(name, ColumnKind::Str)
    }

    /// A 32-bit float column.
    pub fn f32(name: impl Into<String>) -> Self {
        Column::new(name, ColumnKind::F32)
    }

    /// A 64-bit float column.
    pub fn f64(name: impl Into<String>) -> Self {
        Column::new(name, ColumnKind::F64)
    }
}

/// One value of a row; its variant must match its column's [`ColumnKind`] (or be `Null`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// A value of a [`ColumnKind::Str`] column.
    Str(&'a str),
    /// A value of a [`ColumnKind::F32`] column.
    F32(f32),
    /// A value of a [`ColumnKind::F64`] column.
    F64(f64),
    /// No value (any column).
    Null,
}

impl Cell<'_> {
    fn fits(&self, kind: ColumnKind) -> bool {
        matches!(
            (self, kind),
            (Cell::Null, _)
                | (Cell::Str(_), ColumnKind::Str)
                | (Cell::F32(_), ColumnKind::F32)
                | (Cell::F64(_), ColumnKind::F64)
        )
    }
}

/// Writes a table to `path` atomically: checks the format ([`OutputFormat::from_path`]) before
/// creating anything, lets `fill` write the rows through the [`TableWriter`], then finishes the
/// file and moves it into place. When `fill` or finishing fails, no file appears at `path` (an
/// existing one is left as it was). Returns what `fill` returns.
pub fn write_table<T, E>(
    path: &Path,
    columns: &[Column],
    fill: impl FnOnce(&mut TableWriter) -> std::result::Result<T, E>,
) -> std::result::Result<T, E>
where
    E: From<Error> + From<textrnn_fs::Error>,
{
    let format = OutputFormat::from_path(path)?;
    textrnn_fs::write_with(path, |tmp: &Path| {
        let mut writer = TableWriter::create(path, tmp, format, columns)?;
        let value = fill(&mut writer)?;
        writer.finish()?;
        Ok(value)
    })
}

/// Streams rows into the temporary file of a [`write_table`] call.
pub struct TableWriter {
    /// The target path, named in errors (the rows go to a temporary file beside it).
    path: PathBuf,
    columns: Vec<Column>,
    rows: u64,
    sink: Sink,
}

enum Sink {
    Csv(Box<csv::Writer<BufWriter<File>>>),
    Jsonl {
        out: BufWriter<File>,
        /// Each column name encoded as a JSON string, followed by `:`.
        keys: Vec<String>,
    },
    Parquet(Box<ParquetSink>),
}

/// The Parquet writer and the current row group's values, column by column.
struct ParquetSink {
    writer: SerializedFileWriter<BufWriter<File>>,
    buffers: Vec<ColumnBuffer>,
    buffered: usize,
}

/// One column's values of the current row group: one definition level per row (1: a value,
/// 0: null) and the non-null values.
struct ColumnBuffer {
    defs: Vec<i16>,
    values: Values,
}

/// The non-null values of a [`ColumnBuffer`], by column kind.
enum Values {
    Str(Vec<ByteArray>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl TableWriter {
    fn create(target: &Path, tmp: &Path, format: OutputFormat, columns: &[Column]) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| Error::io(target, e))?;
        let out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
        let sink = match format {
            OutputFormat::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(out);
                w.write_record(columns.iter().map(|c| c.name.as_bytes()))
                    .map_err(|e| Error::csv(target, e))?;
                Sink::Csv(Box::new(w))
            }
            OutputFormat::Jsonl => Sink::Jsonl {
                out,
                keys: columns
                    .iter()
                    .map(|c| serde_json::Value::from(c.name.as_str()).to_string() + ":")
                    .collect(),
            },
            OutputFormat::Parquet => {
                Sink::Parquet(Box::new(ParquetSink::new(target, out, columns)?))
            }
        };
        Ok(TableWriter {
            path: target.to_path_buf(),
            columns: columns.to_vec(),
            rows: 0,
            sink,
        })
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Number of rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends one row: one cell per column, each of its column's kind or `Null`. A row of the
    /// wrong width or type is an [`Error::OutputRow`] naming the file and the 1-based row.
    pub fn write_row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        let row = self.rows + 1;
        if cells.len() != self.columns.len() {
            return Err(self.row_error(
                row,
                format!("{} values for {} columns", cells.len(), self.columns.len()),
            ));
        }
        if let Some((cell, col)) = cells
            .iter()
            .zip(&self.columns)
            .find(|(cell, col)| !cell.fits(col.kind))
        {
            return Err(self.row_error(
                row,
                format!(
                    "value {cell:?} does not fit column {:?} ({:?})",
                    col.name, col.kind
                ),
            ));
        }
        let path = &self.path;
        match &mut self.sink {
            Sink::Csv(w) => write_csv_row(w, cells).map_err(|e| Error::csv(path, e))?,
            Sink::Jsonl { out, keys } => {
                write_json_row(out, keys, cells).map_err(|e| Error::io(path, e))?
            }
            Sink::Parquet(p) => p.push(path, cells)?,
        }
        self.rows = row;
        Ok(())
    }

    fn row_error(&self, row: u64, message: String) -> Error {
        Error::OutputRow {
            path: self.path.clone(),
            row,
            message,
        }
    }

    /// Flushes the last rows (and the Parquet footer) into the temporary file.
    fn finish(self) -> Result<()> {
        let path = &self.path;
        match self.sink {
            Sink::Csv(w) => {
                let out = w
                    .into_inner()
                    .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
                finish_file(path, out)
            }
            Sink::Jsonl { out, .. } => finish_file(path, out),
            Sink::Parquet(p) => p.close(path),
        }
    }
}

/// Flushes a buffered file, reporting its last write error.
fn finish_file(path: &Path, out: BufWriter<File>) -> Result<()> {
    out.into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?
        .flush()
        .map_err(|e| Error::io(path, e))
}

fn write_csv_row(w: &mut csv::Writer<BufWriter<File>>, cells: &[Cell<'_>]) -> csv::Result<()> {
    let mut number = String::new();
    for cell in cells {
        number.clear();
        match cell {
            Cell::Str(s) => w.write_field(s)?,
            Cell::Null => w.write_field("")?,
            // `Display` of a float is the shortest text that parses back to the same value.
            Cell::F32(v) => {
                number.push_str(&v.to_string());
                w.write_field(&number)?
            }
            Cell::F64(v) => {
                number.push_str(&v.to_string());
                w.write_field(&number)?
            }
        }
    }
    w.write_record(None::<&[u8]>)
}

fn write_json_row(
    out: &mut impl Write,
    keys: &[String],
    cells: &[Cell<'_>],
) -> std::io::Result<()> {
    out.write_all(b"{")?;
    for (i, (key, cell)) in keys.iter().zip(cells).enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(key.as_bytes())?;
        // serde_json writes the shortest round-trip text of a finite float, `null` otherwise.
        match cell {
            Cell::Str(s) => serde_json::to_writer(&mut *out, s)?,
            Cell::F32(v) => serde_json::to_writer(&mut *out, v)?,
            Cell::F64(v) => serde_json::to_writer(&mut *out, v)?,
            Cell::Null => out.write_all(b"null")?,
        }
    }
    out.write_all(b"}\n")
}

/// Appends a non-null value; returns its definition level, 1.
fn push_value<T>(values: &mut Vec<T>, value: T) -> i16 {
    values.push(value);
    1
}

/// Writes one column chunk (values and definition levels) and empties `values`.
fn write_column<T: DataType>(
    column: &mut SerializedColumnWriter<'_>,
    values: &mut Vec<T::T>,
    defs: &[i16],
) -> parquet::errors::Result<()> {
    column.typed::<T>().write_batch(values, Some(defs), None)?;
    values.clear();
    Ok(())
}

fn parquet_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl ParquetSink {
    fn new(path: &Path, out: BufWriter<File>, columns: &[Column]) -> Result<Self> {
        let fields = columns
            .iter()
            .map(|c| {
                let (physical, logical) = match c.kind {
                    ColumnKind::Str => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
                    ColumnKind::F32 => (PhysicalType::FLOAT, None),
                    ColumnKind::F64 => (PhysicalType::DOUBLE, None),
                };
                Type::primitive_type_builder(&c.name, physical)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(logical)
                    .build()
                    .map(Arc::new)
                    .map_err(|e| parquet_error(path, e))
            })
            .collect::<Result<Vec<_>>>()?;
        let schema = Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map_err(|e| parquet_error(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))
            .map_err(|e| parquet_error(path, e))?;
        let buffers = columns
            .iter()
            .map(|c| ColumnBuffer {
                defs: Vec::new(),
                values: match c.kind {
                    ColumnKind::Str => Values::Str(Vec::new()),
                    ColumnKind::F32 => Values::F32(Vec::new()),
                    ColumnKind::F64 => Values::F64(Vec::new()),
                },
            })
            .collect();
        Ok(ParquetSink {
            writer,
            buffers,
            buffered: 0,
        })
    }

    /// Buffers one (checked) row; writes a row group when [`PARQUET_ROW_GROUP_ROWS`] are buffered.
    fn push(&mut self, path: &Path, cells: &[Cell<'_>]) -> Result<()> {
        for (buffer, cell) in self.buffers.iter_mut().zip(cells) {
            // The definition level: 1 for a value, 0 for a null (kinds were checked by `write_row`).
            let level = match (&mut buffer.values, *cell) {
                (Values::Str(values), Cell::Str(s)) => push_value(values, ByteArray::from(s)),
                (Values::F32(values), Cell::F32(v)) => push_value(values, v),
                (Values::F64(values), Cell::F64(v)) => push_value(values, v),
                _ => 0,
            };
            buffer.defs.push(level);
        }
        self.buffered += 1;
        if self.buffered >= PARQUET_ROW_GROUP_ROWS {
            self.flush_row_group(path)?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group and empties the buffers.
    fn flush_row_group(&mut self, path: &Path) -> Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let err = |e: parquet::errors::ParquetError| parquet_error(path, e);
        let mut group = self.writer.next_row_group().map_err(err)?;
        for buffer in &mut self.buffers {
            let Some(mut column) = group.next_column().map_err(err)? else {
                return Err(parquet_error(path, "fewer columns than in the schema"));
            };
            let defs = &buffer.defs;
            match &mut buffer.values {
                Values::Str(values) => write_column::<ByteArrayType>(&mut column, values, defs),
                Values::F32(values) => write_column::<FloatType>(&mut column, values, defs),
                Values::F64(values) => write_column::<DoubleType>(&mut column, values, defs),
            }
            .map_err(err)?;
            buffer.defs.clear();
            column.close().map_err(err)?;
        }
        group.close().map_err(err)?;
        self.buffered = 0;
        Ok(())
    }

    fn close(mut self, path: &Path) -> Result<()> {
        self.flush_row_group(path)?;
        let out = self
            .writer
            .into_inner()
            .map_err(|e| parquet_error(path, e))?;
        finish_file(path, out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::{Field, RowAccessor};

    fn columns() -> Vec<Column> {
        vec![
            Column::str("id"),
            Column::str("label"),
            Column::f32("prob \"pos\""),
            Column::f64("score"),
        ]
    }

    /// Three rows, one with nulls, one with a comma, quote and newline in its text.
    fn fill(w: &mut TableWriter) -> Result<()> {
        w.write_row(&[
            Cell::Str("1"),
            Cell::Str("pos"),
            Cell::F32(0.1),
            Cell::F64(1e-7),
        ])?;
        w.write_row(&[Cell::Str("2"), Cell::Null, Cell::Null, Cell::Null])?;
        w.write_row(&[
            Cell::Str("a,\"b\"\nc"),
            Cell::Str("nég"),
            Cell::F32(1.0),
            Cell::F64(0.333_333_333_333_333_3),
        ])
    }

    fn write(path: &Path) {
        write_table::<_, Error>(path, &columns(), fill).unwrap();
    }

    #[test]
    fn csv_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.CSV");
        write(&path);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "id,label,\"prob \"\"pos\"\"\",score\n\
             1,pos,0.1,0.0000001\n\
             2,,,\n\
             \"a,\"\"b\"\"\nc\",nég,1,0.3333333333333333\n"
        );
    }

    #[test]
    fn jsonl_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        write(&path);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"id\":\"1\",\"label\":\"pos\",\"prob \\\"pos\\\"\":0.1,\"score\":1e-7}\n\
             {\"id\":\"2\",\"label\":null,\"prob \\\"pos\\\"\":null,\"score\":null}\n\
             {\"id\":\"a,\\\"b\\\"\\nc\",\"label\":\"nég\",\"prob \\\"pos\\\"\":1.0,\"score\":0.3333333333333333}\n"
        );
    }

    #[test]
    fn parquet_round_trip_in_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.parquet");
        write(&path);
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let rows: Vec<Vec<Field>> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| {
                r.unwrap()
                    .get_column_iter()
                    .map(|(_, f)| f.clone())
                    .collect()
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                vec![
                    Field::Str("1".into()),
                    Field::Str("pos".into()),
                    Field::Float(0.1),
                    Field::Double(1e-7)
                ],
                vec![
                    Field::Str("2".into()),
                    Field::Null,
                    Field::Null,
                    Field::Null
                ],
                vec![
                    Field::Str("a,\"b\"\nc".into()),
                    Field::Str("nég".into()),
                    Field::Float(1.0),
                    Field::Double(0.333_333_333_333_333_3)
                ],
            ]
        );

        // More rows than one row group: several groups, every row kept in order.
        let big = dir.path().join("big.parquet");
        let n = PARQUET_ROW_GROUP_ROWS + 10;
        write_table::<_, Error>(&big, &[Column::str("id")], |w| {
            (0..n).try_for_each(|i| w.write_row(&[Cell::Str(&i.to_string())]))
        })
        .unwrap();
        let reader = SerializedFileReader::new(File::open(&big).unwrap()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 2);
        let ids: Vec<String> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap().get_string(0).unwrap().clone())
            .collect();
        assert_eq!(ids.len(), n);
        assert_eq!(ids[n - 1], (n - 1).to_string());
    }

    #[test]
    fn bad_extension_is_one_clear_error_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.xlsx");
        let e = write_table::<_, Error>(&path, &columns(), fill).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: unknown output format: the file name must end in .csv, .jsonl, .ndjson, .parquet",
                path.display()
            )
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_error_leaves_no_output() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["out.csv", "out.jsonl", "out.parquet"] {
            let path = dir.path().join(name);
            let e = write_table::<(), Error>(&path, &columns(), |w| {
                fill(w)?;
                w.write_row(&[Cell::F32(1.0), Cell::Null, Cell::Null, Cell::Null])
            })
            .unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{}: row 4: value F32(1.0) does not fit column \"id\" (Str)",
                    path.display()
                )
            );
            let e = write_table::<(), Error>(&path, &columns(), |w| w.write_row(&[Cell::Null]))
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("{}: row 1: 1 values for 4 columns", path.display())
            );
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

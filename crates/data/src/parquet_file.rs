//! Reading a text column and a label column from a parquet file (the Hugging Face Hub format).
//!
//! Only the two requested columns are decoded (projection). A label is an integer
//! ([`RawLabel::Int`], e.g. `stanfordnlp/imdb`'s 0/1) or a string ([`RawLabel::Str`]).
//!
//! ```no_run
//! use textrnn_data::parquet_file::{read_text_label, RawLabel};
//! let rows = read_text_label("train-00000-of-00001.parquet".as_ref(), "text", "label")?;
//! if let Some((text, RawLabel::Int(label))) = rows.first() {
//!     println!("{label}: {text}");
//! }
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;

use crate::error::{Error, Result};

/// A label value as stored in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawLabel {
    /// Integer class id (any integer physical type).
    Int(i64),
    /// String class name.
    Str(String),
}

impl std::fmt::Display for RawLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawLabel::Int(i) => write!(f, "{i}"),
            RawLabel::Str(s) => write!(f, "{s}"),
        }
    }
}

/// An [`Error::Parquet`] about `path`.
pub(crate) fn perr(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Parquet {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Reads `(text, label)` for every row of `path`, in file order.
pub fn read_text_label(
    path: &Path,
    text_col: &str,
    label_col: &str,
) -> Result<Vec<(String, RawLabel)>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| perr(path, e))?;
    let schema = reader.metadata().file_metadata().schema();
    let fields = schema.get_fields();
    let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
    let mut projected = Vec::with_capacity(2);
    for col in [text_col, label_col] {
        let field =
            fields
                .iter()
                .find(|f| f.name() == col)
                .ok_or_else(|| Error::MissingColumn {
                    path: path.to_path_buf(),
                    line: 0,
                    column: col.to_string(),
                    available: names.join(", "),
                })?;
        projected.push(Arc::clone(field));
    }
    let projection = Type::group_type_builder(schema.name())
        .with_fields(projected)
        .build()
        .map_err(|e| perr(path, e))?;
    let n_rows = usize::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0);
    let mut out = Vec::with_capacity(n_rows);
    let rows = reader
        .get_row_iter(Some(projection))
        .map_err(|e| perr(path, e))?;
    for (i, row) in rows.enumerate() {
        let row = row.map_err(|e| perr(path, format!("row {i}: {e}")))?;
        let mut text = None;
        let mut label = None;
        for (name, field) in row.get_column_iter() {
            if name == text_col {
                text = Some(match field {
                    Field::Str(s) => s.clone(),
                    Field::Null => String::new(),
                    other => {
                        return Err(perr(
                            path,
                            format!("row {i}: column {text_col:?} is not a string: {other}"),
                        ))
                    }
                });
            } else if name == label_col {
                label = Some(match field {
                    Field::Str(s) => RawLabel::Str(s.clone()),
                    Field::Byte(v) => RawLabel::Int(i64::from(*v)),
                    Field::Short(v) => RawLabel::Int(i64::from(*v)),
                    Field::Int(v) => RawLabel::Int(i64::from(*v)),
                    Field::Long(v) => RawLabel::Int(*v),
                    Field::UByte(v) => RawLabel::Int(i64::from(*v)),
                    Field::UShort(v) => RawLabel::Int(i64::from(*v)),
                    Field::UInt(v) => RawLabel::Int(i64::from(*v)),
                    Field::Bool(v) => RawLabel::Int(i64::from(*v)),
                    other => {
                        return Err(perr(
                            path,
                            format!("row {i}: unsupported label value in {label_col:?}: {other}"),
                        ))
                    }
                });
            }
        }
        match (text, label) {
            (Some(t), Some(l)) => out.push((t, l)),
            _ => return Err(perr(path, format!("row {i}: missing text or label"))),
        }
    }
    Ok(out)
}

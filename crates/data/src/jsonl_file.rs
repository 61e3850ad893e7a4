//! Reading `(text, label)` records from a JSON Lines file (one JSON object per line).
//!
//! The text field must be a string; the label may be a string, a number or a boolean (used as
//! written: `1` becomes `"1"`). Blank lines are skipped. Errors name the file and the 1-based
//! line: invalid JSON or a non-object ([`Error::Json`]), a missing field
//! ([`Error::MissingColumn`]), an empty text or label ([`Error::EmptyField`]).
//!
//! ```no_run
//! // {"text": "great film", "label": "pos"}
//! let split = textrnn_data::jsonl_file::read_records("train.jsonl".as_ref(), "text", "label")?;
//! # Ok::<(), textrnn_data::Error>(())
//! ```

use std::io::BufRead;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::labels::{RawRecord, RawSplit};

/// Reads every line's `text_col` and `label_col`.
pub fn read_records(path: &Path, text_col: &str, label_col: &str) -> Result<RawSplit> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = std::io::BufReader::new(file);
    let mut records = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let json_err = |message: String| Error::Json {
            path: path.to_path_buf(),
            line: line_no,
            message,
        };
        let value: Value = serde_json::from_str(&line).map_err(|e| json_err(e.to_string()))?;
        let Value::Object(obj) = value else {
            return Err(json_err("expected a JSON object".into()));
        };
        let get = |col: &str| -> Result<&Value> {
            obj.get(col).ok_or_else(|| Error::MissingColumn {
                path: path.to_path_buf(),
                line: line_no,
                column: col.to_string(),
                available: obj.keys().cloned().collect::<Vec<_>>().join(", "),
            })
        };
        let empty = |col: &str| Error::EmptyField {
            path: path.to_path_buf(),
            line: line_no,
            column: col.to_string(),
        };
        let text = match get(text_col)? {
            Value::String(s) if s.trim().is_empty() => return Err(empty(text_col)),
            Value::String(s) => s.clone(),
            other => {
                return Err(json_err(format!(
                    "field {text_col:?} must be a string, found {other}"
                )))
            }
        };
        let label = match get(label_col)? {
            Value::String(s) if s.trim().is_empty() => return Err(empty(label_col)),
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(json_err(format!(
                    "field {label_col:?} must be a string, number or boolean, found {other}"
                )))
            }
        };
        records.push(RawRecord {
            text,
            label,
            line: line_no,
        });
    }
    Ok(RawSplit {
        path: path.to_path_buf(),
        records,
    })
}

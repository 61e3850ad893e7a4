//! Per-epoch record of training and validation loss and metrics (Keras' `History`).
//!
//! Saved as CSV (Keras `CSVLogger` layout: `epoch` 0-based, then one column per key) and as
//! JSON (Keras `history.history` layout: `{"epoch": [...], "loss": [...], "val_loss": [...]}`,
//! `NaN` written as `null`). Both `save_*` functions write atomically.
//!
//! ```
//! use textrnn_train::{History, Logs};
//! let mut h = History::new();
//! h.push(0, [("loss".to_string(), 0.5), ("val_loss".to_string(), 0.6)].into_iter().collect());
//! h.push(1, [("loss".to_string(), 0.25), ("val_loss".to_string(), 0.5)].into_iter().collect());
//! assert_eq!(h.series("loss"), Some(vec![0.5, 0.25]));
//! assert_eq!(h.to_csv().unwrap(), "epoch,loss,val_loss\n0,0.5,0.6\n1,0.25,0.5\n");
//! ```

use std::path::Path;

use super::callback::Logs;
use crate::error::{Error, Result};

/// The key of the warnings list in [`History::to_json`].
pub const WARNINGS_KEY: &str = "warnings";

/// One epoch's logs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochRecord {
    /// Epoch (0-based).
    pub epoch: usize,
    /// `loss`, metrics, `val_*` values.
    pub logs: Logs,
    /// Warnings about this epoch (divergence), in the order raised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Every epoch's logs, in order: what [`fit`](crate::fit) returns and what
/// [`Callback::on_train_end`](super::Callback::on_train_end) receives. `fit` records it itself
/// (it is the loop's result, not side work), so it is not a callback.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    records: Vec<EpochRecord>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the logs of `epoch`.
    pub fn push(&mut self, epoch: usize, logs: Logs) {
        self.push_record(EpochRecord {
            epoch,
            logs,
            warnings: Vec::new(),
        });
    }

    /// Appends a whole record (logs and warnings).
    pub fn push_record(&mut self, record: EpochRecord) {
        self.records.push(record);
    }

    /// Every warning as `(epoch, message)`, in epoch order.
    pub fn warnings(&self) -> impl Iterator<Item = (usize, &str)> {
        self.records
            .iter()
            .flat_map(|r| r.warnings.iter().map(move |w| (r.epoch, w.as_str())))
    }

    /// The recorded epochs.
    pub fn records(&self) -> &[EpochRecord] {
        &self.records
    }

    /// Number of recorded epochs.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when no epoch is recorded.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every key that appears, in first-seen order.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for r in &self.records {
            for k in r.logs.keys() {
                if !keys.iter().any(|x| x == k) {
                    keys.push(k.to_string());
                }
            }
        }
        keys
    }

    /// The values of `key` per epoch (`NaN` where an epoch lacks it); `None` if never logged.
    pub fn series(&self, key: &str) -> Option<Vec<f64>> {
        if !self.records.iter().any(|r| r.logs.get(key).is_some()) {
            return None;
        }
        Some(
            self.records
                .iter()
                .map(|r| r.logs.get(key).unwrap_or(f64::NAN))
                .collect(),
        )
    }

    /// The last epoch's logs.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.records.last()
    }

    /// CSV text: header `epoch,<keys>`, one row per epoch, empty cells for missing values.
    pub fn to_csv(&self) -> Result<String> {
        let keys = self.keys();
        let ser = |e: csv::Error| Error::Serialize {
            what: "history csv".into(),
            reason: e.to_string(),
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["epoch".to_string()];
        header.extend(keys.iter().cloned());
        w.write_record(&header).map_err(ser)?;
        for r in &self.records {
            let mut row = vec![r.epoch.to_string()];
            row.extend(
                keys.iter()
                    .map(|k| r.logs.get(k).map(|v| v.to_string()).unwrap_or_default()),
            );
            w.write_record(&row).map_err(ser)?;
        }
        let bytes = w.into_inner().map_err(|e| Error::Serialize {
            what: "history csv".into(),
            reason: e.to_string(),
        })?;
        String::from_utf8(bytes).map_err(|e| Error::Serialize {
            what: "history csv".into(),
            reason: e.to_string(),
        })
    }

    /// JSON text in Keras' `history.history` layout plus an `epoch` list (keys sorted), and,
    /// only when there are any, `"warnings": [{"epoch": e, "message": "..."}, ...]` (a list of
    /// objects, not of numbers: readers of the per-epoch series skip the `warnings` key).
    pub fn to_json(&self) -> Result<String> {
        let mut map = serde_json::Map::new();
        map.insert(
            "epoch".into(),
            serde_json::Value::from(self.records.iter().map(|r| r.epoch).collect::<Vec<_>>()),
        );
        for k in self.keys() {
            let values: Vec<serde_json::Value> = self
                .records
                .iter()
                .map(|r| {
                    r.logs
                        .get(&k)
                        .map(serde_json::Value::from)
                        .unwrap_or(serde_json::Value::Null)
                })
                .collect();
            map.insert(k, serde_json::Value::Array(values));
        }
        let warnings: Vec<serde_json::Value> = self
            .warnings()
            .map(|(epoch, message)| serde_json::json!({"epoch": epoch, "message": message}))
            .collect();
        if !warnings.is_empty() {
            map.insert(WARNINGS_KEY.into(), serde_json::Value::Array(warnings));
        }
        serde_json::to_string_pretty(&serde_json::Value::Object(map)).map_err(|e| {
            Error::Serialize {
                what: "history json".into(),
                reason: e.to_string(),
            }
        })
    }

    /// Writes [`History::to_csv`] to `path` atomically.
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        Ok(textrnn_fs::write(path.as_ref(), self.to_csv()?.as_bytes())?)
    }

    /// Writes [`History::to_json`] to `path` atomically.
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<()> {
        Ok(textrnn_fs::write(
            path.as_ref(),
            self.to_json()?.as_bytes(),
        )?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn logs(pairs: &[(&str, f64)]) -> Logs {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn csv_and_json_layouts() {
        let mut h = History::new();
        h.push(0, logs(&[("loss", 0.5), ("accuracy", 0.75)]));
        h.push(
            1,
            logs(&[("loss", 0.25), ("accuracy", f64::NAN), ("val_loss", 0.4)]),
        );
        assert_eq!(h.keys(), vec!["loss", "accuracy", "val_loss"]);
        assert_eq!(
            h.to_csv().unwrap(),
            "epoch,loss,accuracy,val_loss\n0,0.5,0.75,\n1,0.25,NaN,0.4\n"
        );
        let v: serde_json::Value = serde_json::from_str(&h.to_json().unwrap()).unwrap();
        assert_eq!(v["epoch"], serde_json::json!([0, 1]));
        assert_eq!(v["accuracy"], serde_json::json!([0.75, null]));
        assert_eq!(v["val_loss"], serde_json::json!([null, 0.4]));
        assert_eq!(h.series("val_loss").unwrap()[1], 0.4);
        assert!(h.series("auc").is_none());
        assert!(v.get("warnings").is_none());
        h.push_record(EpochRecord {
            epoch: 2,
            logs: logs(&[("loss", 9.0)]),
            warnings: vec!["diverging".into()],
        });
        assert_eq!(h.warnings().collect::<Vec<_>>(), vec![(2, "diverging")]);
        let v: serde_json::Value = serde_json::from_str(&h.to_json().unwrap()).unwrap();
        assert_eq!(
            v["warnings"],
            serde_json::json!([{"epoch": 2, "message": "diverging"}])
        );
        // the CSV keeps its columns
        assert!(h
            .to_csv()
            .unwrap()
            .starts_with("epoch,loss,accuracy,val_loss\n"));
    }

    #[test]
    fn saves_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::new();
        h.push(0, logs(&[("loss", 1.0)]));
        let csv = dir.path().join("sub/history.csv");
        let json = dir.path().join("history.json");
        h.save_csv(&csv).unwrap();
        h.save_json(&json).unwrap();
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), "epoch,loss\n0,1\n");
        assert!(std::fs::read_to_string(&json).unwrap().contains("\"loss\""));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }
}

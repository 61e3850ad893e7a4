//! A monitored quantity and what counts as an improvement of it (shared by
//! [`EarlyStopping`](super::EarlyStopping) and [`BestCheckpoint`](super::BestCheckpoint)).
//!
//! Keras' rule: with `min_delta ≥ 0`,
//!
//! ```text
//! min mode: improved ⇔ current + min_delta < best        max mode: improved ⇔ current - min_delta > best
//! ```
//!
//! `auto` picks `min` for losses and `max` for `accuracy`/`auc`-like names (a `val_` prefix is
//! ignored), and refuses names it cannot classify.
//!
//! ```
//! use textrnn_train::{Monitor, MonitorMode};
//! let m = Monitor::new("val_auc", MonitorMode::Auto, 0.01).unwrap();
//! assert!(m.is_improvement(0.90, None));
//! assert!(m.is_improvement(0.92, Some(0.90)));
//! assert!(!m.is_improvement(0.905, Some(0.90))); // within min_delta
//! ```

use crate::error::{Error, Result};

/// Direction of improvement of a monitored quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonitorMode {
    /// Infer from the name (loss → min; accuracy, auc, precision, recall, f1 → max).
    #[default]
    Auto,
    /// Smaller is better.
    Min,
    /// Larger is better.
    Max,
}

/// A log key, its direction and the minimum change that counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    key: String,
    maximize: bool,
    min_delta: f64,
}

impl Monitor {
    /// Resolves `auto` mode; `min_delta` is taken in absolute value (Keras).
    pub fn new(key: &str, mode: MonitorMode, min_delta: f64) -> Result<Self> {
        if !min_delta.is_finite() {
            return Err(Error::config(
                "min_delta",
                format!("must be finite, got {min_delta}"),
            ));
        }
        let maximize = match mode {
            MonitorMode::Min => false,
            MonitorMode::Max => true,
            MonitorMode::Auto => {
                let base = key.strip_prefix("val_").unwrap_or(key);
                if base == "loss" || base.ends_with("loss") || base.ends_with("crossentropy") {
                    false
                } else if ["acc", "accuracy", "auc", "precision", "recall", "f1"]
                    .iter()
                    .any(|m| base == *m || base.ends_with(&format!("_{m}")))
                {
                    true
                } else {
                    return Err(Error::config(
                        "monitor",
                        format!("cannot tell whether `{key}` should be minimized or maximized; set mode = \"min\" or \"max\""),
                    ));
                }
            }
        };
        Ok(Self {
            key: key.to_string(),
            maximize,
            min_delta: min_delta.abs(),
        })
    }

    /// The monitored log key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// True when larger values are better.
    pub fn maximize(&self) -> bool {
        self.maximize
    }

    /// Whether `current` improves on `reference` (`None` — nothing seen yet — always does).
    /// A `NaN` current never improves.
    pub fn is_improvement(&self, current: f64, reference: Option<f64>) -> bool {
        let Some(reference) = reference else {
            return !current.is_nan();
        };
        if self.maximize {
            current - self.min_delta > reference
        } else {
            current + self.min_delta < reference
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn auto_mode_from_names() {
        assert!(!Monitor::new("val_loss", MonitorMode::Auto, 0.0)
            .unwrap()
            .maximize());
        assert!(!Monitor::new("loss", MonitorMode::Auto, 0.0)
            .unwrap()
            .maximize());
        assert!(Monitor::new("val_accuracy", MonitorMode::Auto, 0.0)
            .unwrap()
            .maximize());
        assert!(Monitor::new("auc", MonitorMode::Auto, 0.0)
            .unwrap()
            .maximize());
        assert!(Monitor::new("val_thing", MonitorMode::Auto, 0.0).is_err());
        assert!(Monitor::new("val_thing", MonitorMode::Min, 0.0).is_ok());
    }

    #[test]
    fn min_delta_is_absolute_and_directional() {
        let m = Monitor::new("val_loss", MonitorMode::Auto, -0.1).unwrap();
        assert!(m.is_improvement(0.5, Some(0.7)));
        assert!(!m.is_improvement(0.65, Some(0.7)));
        assert!(!m.is_improvement(f64::NAN, Some(0.7)));
        assert!(!m.is_improvement(f64::NAN, None));
    }
}

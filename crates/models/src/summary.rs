//! Keras-style model summaries: one row per layer with its output shape and parameter count.
//!
//! Counts come from [`ModelSpec::param_specs`] (the same declarations that initialise and load
//! weights), so they equal Keras' `model.summary()`: e.g. Embedding(10000, 128) →
//! Bidirectional(GRU(64)) → Dense(64, relu) → Dropout(0.3) → Dense(1, sigmoid) at length 200 has
//! 1,280,000 + 74,496 + 8,256 + 0 + 65 = 1,362,817 parameters. Every parameter is trainable
//! except those of a frozen layer (an embedding with `trainable = false`), counted as
//! non-trainable, as Keras does.
//!
//! ```
//! use textrnn_models::ModelSpec;
//! let spec: ModelSpec = serde_json::from_str(r#"{"name": "lstm", "layers": [
//!   {"type": "embedding", "input_dim": 5000, "output_dim": 32},
//!   {"type": "lstm", "units": 100},
//!   {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#)?;
//! let summary = spec.summary(500)?;
//! assert_eq!(summary.total_params, 160_000 + 53_200 + 101);
//! assert!(summary.to_string().contains("lstm (LSTM)"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::spec::ModelSpec;

/// One summary row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerSummary {
    /// Layer name (the weights-key prefix), e.g. `dense_1`.
    pub name: String,
    /// Keras class name, e.g. `Bidirectional`.
    pub class_name: String,
    /// Output shape without the batch axis, e.g. `[200, 128]`.
    pub output_shape: Vec<usize>,
    /// Number of parameters.
    pub params: usize,
}

/// A model summary; `Display` renders the Keras table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Model name.
    pub name: String,
    /// Input length `T`.
    pub seq_len: usize,
    /// One row per layer.
    pub layers: Vec<LayerSummary>,
    /// Sum of all parameters.
    pub total_params: usize,
    /// Trainable parameters.
    pub trainable_params: usize,
    /// Non-trainable parameters (those of frozen layers).
    pub non_trainable_params: usize,
}

impl ModelSpec {
    /// The summary for inputs of `seq_len` tokens (validates the spec). Sizes too large to
    /// count or to hold (see [`crate::MAX_TENSOR_ELEMENTS`]) are an error, never wrapped counts.
    pub fn summary(&self, seq_len: usize) -> Result<Summary> {
        let plans = self.plan(seq_len)?;
        let frozen = checked_sum(
            plans
                .iter()
                .filter(|p| !p.trainable)
                .flat_map(|p| &p.params)
                .map(|p| p.numel()),
        )?;
        let layers = plans
            .into_iter()
            .map(|plan| {
                Ok(LayerSummary {
                    class_name: plan.class_name.to_string(),
                    output_shape: plan.output.dims(),
                    // Planning bounded every tensor, so `numel` is exact.
                    params: checked_sum(plan.params.iter().map(|p| p.numel()))?,
                    name: plan.name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let total = checked_sum(layers.iter().map(|l| l.params))?;
        Ok(Summary {
            name: self.name.clone(),
            seq_len,
            layers,
            total_params: total,
            trainable_params: total - frozen,
            non_trainable_params: frozen,
        })
    }
}

/// The sum of parameter `counts`, an error instead of a wrapped sum.
fn checked_sum(counts: impl IntoIterator<Item = usize>) -> Result<usize> {
    counts
        .into_iter()
        .try_fold(0usize, |acc, n| acc.checked_add(n))
        .ok_or_else(|| Error::InvalidSpec {
            layer: "model".into(),
            reason: "the parameter count overflows a 64-bit count; reduce the sizes".into(),
        })
}

/// `1362817` → `"1,362,817"`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn keras_shape(dims: &[usize]) -> String {
    let mut s = String::from("(None");
    for d in dims {
        s.push_str(&format!(", {d}"));
    }
    s.push(')');
    s
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<(String, String, String)> = self
            .layers
            .iter()
            .map(|l| {
                (
                    format!("{} ({})", l.name, l.class_name),
                    keras_shape(&l.output_shape),
                    thousands(l.params),
                )
            })
            .collect();
        let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(28);
        let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(20);
        let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max(10);
        let width = w0 + w1 + w2 + 5;
        writeln!(f, "Model: \"{}\"", self.name)?;
        writeln!(f, "{}", "_".repeat(width))?;
        writeln!(
            f,
            " {:<w0$}  {:<w1$}  {:>w2$}",
            "Layer (type)", "Output Shape", "Param #"
        )?;
        writeln!(f, "{}", "=".repeat(width))?;
        for (i, (a, b, c)) in rows.iter().enumerate() {
            writeln!(f, " {a:<w0$}  {b:<w1$}  {c:>w2$}")?;
            if i + 1 < rows.len() {
                writeln!(f, "{}", "_".repeat(width))?;
            }
        }
        writeln!(f, "{}", "=".repeat(width))?;
        writeln!(f, "Total params: {}", thousands(self.total_params))?;
        writeln!(f, "Trainable params: {}", thousands(self.trainable_params))?;
        writeln!(
            f,
            "Non-trainable params: {}",
            thousands(self.non_trainable_params)
        )?;
        write!(f, "{}", "_".repeat(width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_362_817), "1,362,817");
    }
}

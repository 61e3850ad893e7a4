//! [`TrainConfig`]: the serde form of a training run (Keras `compile` + `fit` arguments).
//!
//! ```toml
//! [train]
//! epochs = 10
//! batch_size = 32
//! optimizer = { name = "adam", learning_rate = 1e-3 }
//! metrics = ["accuracy", "auc"]     # omitted: accuracy, plus auc for a sigmoid model
//! verbose = 1
//! early_stopping = { monitor = "val_auc", patience = 2, restore_best_weights = true }
//! class_weight = "balanced"         # or { negative = 1.0, positive = 3.0 }; omitted: all 1
//! embedding_gradients = "sparse"    # Keras-on-TensorFlow's embedding update; omitted: "dense"
//! ```
//!
//! ```
//! use textrnn_train::TrainConfig;
//! let cfg: TrainConfig = serde_json::from_str(r#"{"epochs": 3}"#).unwrap();
//! assert_eq!((cfg.epochs, cfg.batch_size, cfg.shuffle), (3, 32, true));
//! assert!(serde_json::from_str::<TrainConfig>(r#"{"epoch": 3}"#).is_err());
//! ```

use textrnn_models::Output;

use crate::callbacks::{EarlyStoppingConfig, Monitor};
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::metrics::{Accuracy, Auc, Metric};
use crate::optim::OptimizerConfig;
use crate::weights::ClassWeight;

/// How to train.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Passes over the training data (default 10).
    pub epochs: usize,
    /// Examples per gradient step (default 32); also the evaluation batch size.
    pub batch_size: usize,
    /// Optimizer and hyper-parameters (default Adam with Keras defaults).
    pub optimizer: OptimizerConfig,
    /// Loss; `None` (default) picks it from the model output ([`Loss::for_output`]).
    pub loss: Option<Loss>,
    /// Reshuffle the training examples every epoch (default true).
    pub shuffle: bool,
    /// Early stopping, off by default.
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// Metric names (`accuracy`, `auc`); `None` (default): `accuracy`, plus `auc` for a
    /// sigmoid output.
    pub metrics: Option<Vec<String>>,
    /// 0 silent, 1 progress bar (a line per epoch when not on a terminal), 2 a line per epoch.
    pub verbose: u8,
    /// Keras `class_weight`: `"balanced"` or `{ class = weight, ... }`; `None` (default): every
    /// class weighs 1. Resolved against the training split by [`ClassWeight::resolve`] and
    /// handed to [`crate::fit`] as the split's per-example weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_weight: Option<ClassWeight>,
    /// How the optimizer's second moment sees an embedding table's gradient
    /// ([`EmbeddingGradients`]); default `"dense"`.
    #[serde(skip_serializing_if = "EmbeddingGradients::is_dense")]
    pub embedding_gradients: EmbeddingGradients,
}

/// How an embedding table's gradient reaches the optimizer (`[train] embedding_gradients`).
///
/// Keras on the TensorFlow backend (what the Keras tutorials run) hands Adam and RMSprop an
/// embedding's gradient as `IndexedSlices`, one slice per token occurrence, and squares the
/// slices before summing them: a row's second moment gets the sum of its occurrences' squared
/// gradients. Keras on JAX or PyTorch, and PyTorch itself, square the row's summed gradient.
/// On AG News with RMSprop the two differ by about 2 points of test accuracy (docs/results.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddingGradients {
    /// The textbook update: `g²` of the table's summed gradient (Keras on JAX or PyTorch).
    #[default]
    Dense,
    /// As Keras on TensorFlow: `Σ g_k²` over the occurrences `k` of a row in the batch
    /// ([`crate::SquaredGrads::sparse`]). Training runs the embedding unfolded (the fused
    /// lookup-and-projection keeps no per-occurrence rows), which costs time when the vocabulary
    /// is smaller than a batch's tokens. A frozen table has nothing to update, and a
    /// [`Classifier`](textrnn_models::Classifier) that records no lookups
    /// (`forward_recording`'s default) trains as with `Dense`.
    Sparse,
}

impl EmbeddingGradients {
    /// True for the default, [`EmbeddingGradients::Dense`].
    pub fn is_dense(&self) -> bool {
        *self == EmbeddingGradients::Dense
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            optimizer: OptimizerConfig::default(),
            loss: None,
            shuffle: true,
            early_stopping: None,
            metrics: None,
            verbose: 1,
            class_weight: None,
            embedding_gradients: EmbeddingGradients::Dense,
        }
    }
}

impl TrainConfig {
    /// Checks values that do not depend on the model or data.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::config("epochs", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        self.optimizer.validate()?;
        if let Some(names) = &self.metrics {
            for name in names {
                metric_by_name(name)?;
            }
        }
        if let Some(es) = &self.early_stopping {
            Monitor::new(&es.monitor, es.mode, es.min_delta)?;
        }
        if let Some(cw) = &self.class_weight {
            cw.validate()?;
        }
        Ok(())
    }

    /// The metric names used for a model with this `output`.
    pub fn metric_names(&self, output: Output) -> Vec<String> {
        match &self.metrics {
            Some(names) => names.iter().map(|n| canonical(n).to_string()).collect(),
            None => match output {
                // Multi-label: binary accuracy and micro AUC over (example, label) pairs.
                Output::Sigmoid | Output::MultiLabel(_) => vec!["accuracy".into(), "auc".into()],
                Output::Softmax(_) => vec!["accuracy".into()],
            },
        }
    }

    /// The loss for a model with this `output`; an explicit loss must fit the output.
    pub fn loss_for(&self, output: Output) -> Result<Loss> {
        let auto = Loss::for_output(output);
        match self.loss {
            None => Ok(auto),
            Some(l) if l == auto => Ok(l),
            Some(l) => Err(Error::config(
                "loss",
                format!(
                    "{} does not fit a {output:?} output (use {})",
                    l.name(),
                    auto.name()
                ),
            )),
        }
    }
}

fn canonical(name: &str) -> &str {
    match name {
        "acc" | "binary_accuracy" | "sparse_categorical_accuracy" => "accuracy",
        other => other,
    }
}

/// A fresh metric for a configured name (`accuracy`/`acc`, `auc`).
pub fn metric_by_name(name: &str) -> Result<Box<dyn Metric>> {
    match canonical(name) {
        "accuracy" => Ok(Box::new(Accuracy::new())),
        "auc" => Ok(Box::new(Auc::new())),
        other => Err(Error::config(
            "metrics",
            format!("unknown metric `{other}` (known: accuracy, auc)"),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn zero_epochs_or_batch_size_are_rejected_by_name() {
        let e = TrainConfig {
            epochs: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("`epochs`"), "{e}");
        let e = TrainConfig {
            batch_size: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("`batch_size`"), "{e}");
        let bad = TrainConfig {
            metrics: Some(vec!["f2".into()]),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn default_metrics_and_loss_follow_the_output() {
        let cfg = TrainConfig::default();
        assert_eq!(cfg.metric_names(Output::Sigmoid), vec!["accuracy", "auc"]);
        assert_eq!(cfg.metric_names(Output::Softmax(4)), vec!["accuracy"]);
        assert_eq!(
            cfg.loss_for(Output::Softmax(4)).unwrap(),
            Loss::SparseCategoricalCrossentropy
        );
        let wrong = TrainConfig {
            loss: Some(Loss::BinaryCrossentropy),
            ..Default::default()
        };
        assert!(wrong.loss_for(Output::Softmax(3)).is_err());
    }

    #[test]
    fn nested_config_parses() {
        let cfg: TrainConfig = serde_json::from_str(
            r#"{"optimizer": {"name": "rmsprop"}, "early_stopping": {"monitor": "val_auc", "patience": 2},
                "metrics": ["acc", "auc"], "loss": "binary_crossentropy", "verbose": 0}"#,
        )
        .unwrap();
        assert_eq!(cfg.optimizer.name(), "rmsprop");
        assert_eq!(cfg.early_stopping.as_ref().unwrap().patience, 2);
        assert_eq!(cfg.metric_names(Output::Sigmoid), vec!["accuracy", "auc"]);
        assert_eq!(cfg.embedding_gradients, EmbeddingGradients::Dense);
    }

    #[test]
    fn embedding_gradients_parse_and_stay_out_of_a_default_config() {
        let cfg: TrainConfig =
            serde_json::from_str(r#"{"embedding_gradients": "sparse"}"#).unwrap();
        assert_eq!(cfg.embedding_gradients, EmbeddingGradients::Sparse);
        assert!(serde_json::to_string(&cfg)
            .unwrap()
            .contains(r#""embedding_gradients":"sparse""#));
        // a default config serialises as before (checkpoint keys of earlier runs still match)
        let json = serde_json::to_string(&TrainConfig::default()).unwrap();
        assert!(!json.contains("embedding_gradients"), "{json}");
        let e = serde_json::from_str::<TrainConfig>(r#"{"embedding_gradients": "indexed"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("indexed") && e.contains("sparse"), "{e}");
    }
}

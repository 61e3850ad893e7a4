//! The serde model spec: a list of Keras-style layers, validated and shape-checked.
//!
//! A spec is the `model` table of a recipe. Layers are tagged by `type` and take the Keras
//! argument names and defaults:
//!
//! | `type`          | fields (default)                                                                  |
//! |-----------------|-----------------------------------------------------------------------------------|
//! | `embedding`     | `input_dim` (tokenizer vocab size), `output_dim`, `mask_zero` (false), `weights` (a vectors file), `trainable` (true) |
//! | `lstm`          | `units`, `dropout` (0), `recurrent_dropout` (0), `return_sequences` (false)        |
//! | `gru`           | as `lstm`, plus `reset_after` (true; only true is supported)                       |
//! | `bidirectional` | `layer` (an `lstm`/`gru` table), `merge_mode` ("concat"; only concat)              |
//! | `conv1d`        | `filters`, `kernel_size`, `strides` (1), `padding` ("valid"), `activation` ("linear") |
//! | `max_pooling1d` | `pool_size` (2), `strides` (= pool_size), `padding` ("valid")                      |
//! | `dense`         | `units`, `activation` ("linear")                                                   |
//! | `dropout`       | `rate`                                                                             |
//!
//! Rules checked by [`ModelSpec::validate`]: the first layer is an `embedding`, the last a
//! `dense` with `sigmoid` (1 unit: binary; n > 1 units: multi-label) or `softmax` (≥ 2 units) activation; recurrent, conv and
//! pooling layers need a sequence `(T, C)` input (so a recurrent layer with
//! `return_sequences = false` cannot feed another one); rates lie in `[0, 1)`; sizes are
//! positive; `input_dim ≥ 2`. Keras `Conv1D`/`MaxPooling1D` do not support masking, so
//! `mask_zero = true` followed by either is rejected. Sizes are counted with checked
//! arithmetic: a parameter, or (once the sequence length is known) one example's activation,
//! of more than [`crate::MAX_TENSOR_ELEMENTS`] values, or a size that overflows, is an error
//! naming the layer, so counts are never wrapped. Shapes per layer (batch omitted):
//!
//! - embedding: `(T)` → `(T, output_dim)`;
//! - lstm / gru: `(T, F)` → `(T, d·u)` with `return_sequences`, else `(d·u)`; `d = 2` when bidirectional;
//! - conv1d: `(T, C)` → `(T', filters)`, `T' = ⌊(T − k)/s⌋ + 1` (valid) or `⌈T/s⌉` (same);
//! - max_pooling1d: `(T, C)` → `(T', C)`, `T' = ⌊(T − p)/s⌋ + 1` (valid) or `⌈T/s⌉` (same);
//! - dense: last axis `F` → `units`; dropout: unchanged.
//!
//! ```
//! use textrnn_models::ModelSpec;
//! let spec: ModelSpec = serde_json::from_str(r#"{
//!   "name": "bigru",
//!   "layers": [
//!     {"type": "embedding", "output_dim": 128},
//!     {"type": "bidirectional", "layer": {"type": "gru", "units": 64}},
//!     {"type": "dense", "units": 64, "activation": "relu"},
//!     {"type": "dropout", "rate": 0.3},
//!     {"type": "dense", "units": 1, "activation": "sigmoid"}
//!   ]}"#)?;
//! let spec = spec.with_vocab_size(10_000);
//! spec.validate()?;
//! assert_eq!(spec.param_specs(200)?.iter().map(|p| p.numel()).sum::<usize>(), 1_362_817);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::init::ParamSpec;
use crate::layers::activation::Activation;
use crate::layers::conv1d::Conv1dSpec;
use crate::layers::dense::DenseSpec;
use crate::layers::dropout::DropoutSpec;
use crate::layers::embedding::EmbeddingSpec;
use crate::layers::max_pooling1d::MaxPooling1dSpec;
use crate::layers::recurrent::{BidirectionalSpec, GruSpec, LstmSpec};
use crate::layers::{FeatureShape, LayerKind, PlanContext, Work};
use crate::memory::MAX_TENSOR_ELEMENTS;
use crate::Output;

/// A model: a name and a stack of layers, first an embedding, last a dense output layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Model name (shown in the summary); a recipe fills in its own name when this is empty.
    #[serde(default)]
    pub name: String,
    /// The layers, input first.
    pub layers: Vec<LayerSpec>,
}

/// One layer of a [`ModelSpec`], tagged by `type`; each variant's spec type lives, with the
/// layer's planning, construction and forward pass, in its own file under `layers/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    /// Token embedding lookup.
    Embedding(EmbeddingSpec),
    /// Unidirectional LSTM.
    Lstm(LstmSpec),
    /// Unidirectional GRU.
    Gru(GruSpec),
    /// A recurrent layer run forward and backward, outputs concatenated.
    Bidirectional(BidirectionalSpec),
    /// 1-D convolution over time.
    Conv1d(Conv1dSpec),
    /// 1-D max pooling over time.
    MaxPooling1d(MaxPooling1dSpec),
    /// Fully connected layer on the last axis.
    Dense(DenseSpec),
    /// Dropout.
    Dropout(DropoutSpec),
}

/// A variant's `type` tag, Keras class name and implementation.
struct Dispatch<'a> {
    kind: &'static str,
    class_name: &'static str,
    layer: &'a dyn LayerKind,
}

impl LayerSpec {
    /// The one place that maps a variant to its layer file.
    fn dispatch(&self) -> Dispatch<'_> {
        let (kind, class_name, layer): (_, _, &dyn LayerKind) = match self {
            LayerSpec::Embedding(s) => ("embedding", "Embedding", s),
            LayerSpec::Lstm(s) => ("lstm", "LSTM", s),
            LayerSpec::Gru(s) => ("gru", "GRU", s),
            LayerSpec::Bidirectional(s) => ("bidirectional", "Bidirectional", s),
            LayerSpec::Conv1d(s) => ("conv1d", "Conv1D", s),
            LayerSpec::MaxPooling1d(s) => ("max_pooling1d", "MaxPooling1D", s),
            LayerSpec::Dense(s) => ("dense", "Dense", s),
            LayerSpec::Dropout(s) => ("dropout", "Dropout", s),
        };
        Dispatch {
            kind,
            class_name,
            layer,
        }
    }

    /// The `type` tag (`"lstm"`, `"max_pooling1d"`, ...), also the base of the layer name.
    pub fn kind(&self) -> &'static str {
        self.dispatch().kind
    }

    /// The layer's implementation (planning and construction).
    pub(crate) fn layer(&self) -> &dyn LayerKind {
        self.dispatch().layer
    }
}

/// One layer after shape inference: its stable name, Keras class, shapes, and declared
/// parameters (full paths, `"{name}.{local}"`).
#[derive(Debug, Clone)]
pub(crate) struct LayerPlan {
    pub(crate) name: String,
    pub(crate) class_name: &'static str,
    pub(crate) input: FeatureShape,
    pub(crate) output: FeatureShape,
    pub(crate) params: Vec<ParamSpec>,
    /// What one training example keeps in this layer (zero when the length is unknown).
    pub(crate) work: Work,
    /// Whether training updates the layer's parameters (`trainable = false` freezes them).
    pub(crate) trainable: bool,
}

impl ModelSpec {
    /// Fills every embedding's unset `input_dim` with the tokenizer's vocabulary size.
    ///
    /// ```
    /// use textrnn_models::{LayerSpec, ModelSpec};
    /// let spec: ModelSpec = serde_json::from_str(r#"{"name": "m", "layers": [
    ///   {"type": "embedding", "output_dim": 8}, {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#)?;
    /// let spec = spec.with_vocab_size(500);
    /// assert!(matches!(&spec.layers[0], LayerSpec::Embedding(e) if e.input_dim == Some(500)));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn with_vocab_size(mut self, vocab_size: usize) -> Self {
        for layer in &mut self.layers {
            if let LayerSpec::Embedding(e) = layer {
                if e.input_dim.is_none() {
                    e.input_dim = Some(vocab_size);
                }
            }
        }
        self
    }

    /// Checks the structural rules (see the module docs) without a sequence length.
    pub fn validate(&self) -> Result<()> {
        self.plan_with(None).map(|_| ())
    }

    /// The output activation of the last (dense) layer.
    pub fn output(&self) -> Result<Output> {
        let last = self.layers.len().saturating_sub(1);
        match self.layers.last() {
            Some(LayerSpec::Dense(d)) => match d.activation {
                // 1 unit: binary; n units: multi-label (one sigmoid per label).
                Activation::Sigmoid if d.units == 1 => Ok(Output::Sigmoid),
                Activation::Sigmoid if d.units > 1 => Ok(Output::MultiLabel(d.units)),
                Activation::Sigmoid => Err(Error::spec(
                    last,
                    "dense",
                    "a sigmoid output layer needs 1 unit (binary) or n > 1 units (multi-label), got 0",
                )),
                Activation::Softmax if d.units >= 2 => Ok(Output::Softmax(d.units)),
                Activation::Softmax => Err(Error::spec(
                    last,
                    "dense",
                    format!(
                        "a softmax output layer needs at least 2 units, got {}",
                        d.units
                    ),
                )),
                other => Err(Error::spec(
                    last,
                    "dense",
                    format!(
                        "the output layer's activation must be sigmoid or softmax, got {}",
                        other.name()
                    ),
                )),
            },
            Some(other) => Err(Error::spec(
                last,
                other.kind(),
                "the last layer must be a dense layer with sigmoid or softmax activation",
            )),
            None => Err(Error::InvalidSpec {
                layer: "model".into(),
                reason: "the model has no layers".into(),
            }),
        }
    }

    /// Every parameter of the model for inputs of `seq_len` tokens, in a stable order:
    /// the single source of truth for initialisation, loading and parameter counts.
    pub fn param_specs(&self, seq_len: usize) -> Result<Vec<ParamSpec>> {
        Ok(self
            .plan(seq_len)?
            .into_iter()
            .flat_map(|p| p.params)
            .collect())
    }

    /// Shape inference and validation for inputs of `seq_len` tokens.
    pub(crate) fn plan(&self, seq_len: usize) -> Result<Vec<LayerPlan>> {
        if seq_len == 0 {
            return Err(Error::InvalidSpec {
                layer: "model".into(),
                reason: "seq_len must be positive".into(),
            });
        }
        self.plan_with(Some(seq_len))
    }

    /// Shape inference; with `seq_len = None` lengths are not checked (a placeholder length is used).
    fn plan_with(&self, seq_len: Option<usize>) -> Result<Vec<LayerPlan>> {
        self.output()?;
        let mut counts: std::collections::HashMap<&'static str, usize> = Default::default();
        let mut shape = FeatureShape::Tokens(seq_len.unwrap_or(usize::MAX / 4));
        let mut masked = false;
        let mut plans = Vec::with_capacity(self.layers.len());
        for (index, layer) in self.layers.iter().enumerate() {
            let Dispatch {
                kind,
                class_name,
                layer: kind_impl,
            } = layer.dispatch();
            let seen = counts.entry(kind).or_insert(0);
            let name = if *seen == 0 {
                kind.to_string()
            } else {
                format!("{kind}_{seen}")
            };
            *seen += 1;
            if index == 0 && !matches!(layer, LayerSpec::Embedding(_)) {
                return Err(Error::spec(
                    index,
                    kind,
                    "the first layer must be an embedding",
                ));
            }
            let planned = kind_impl.plan(&PlanContext {
                index,
                kind,
                input: shape,
                masked,
                check_lengths: seq_len.is_some(),
            })?;
            let params: Vec<ParamSpec> = planned
                .params
                .into_iter()
                .map(|p| ParamSpec {
                    path: format!("{name}.{}", p.path),
                    ..p
                })
                .collect();
            let fail = |reason: String| Error::spec(index, kind, reason);
            for p in &params {
                check_size(p.checked_numel(), || {
                    format!("parameter `{}` of shape {:?}", p.path, p.shape)
                })
                .map_err(fail)?;
            }
            // Activation sizes only mean something once the sequence length is known.
            let work = if seq_len.is_some() {
                let what = || {
                    format!(
                        "one example's activation ({:?} -> {:?})",
                        shape.dims(),
                        planned.output.dims()
                    )
                };
                let work = kind_impl.training_elements(shape, planned.output);
                check_size(work.map(|w| w.largest), what).map_err(fail)?;
                // The total per example is the largest tensor times a few: bounded as well.
                check_size(work.map(|w| w.total), what).map_err(fail)?;
                work.unwrap_or_default()
            } else {
                Work::default()
            };
            plans.push(LayerPlan {
                name,
                class_name,
                input: shape,
                output: planned.output,
                params,
                work,
                trainable: kind_impl.trainable(),
            });
            shape = planned.output;
            masked = planned.masked;
        }
        if let FeatureShape::Seq(..) = shape {
            let last = self.layers.len() - 1;
            return Err(Error::spec(
                last,
                "dense",
                "the output layer receives a sequence (None, T, C): the last recurrent layer needs \
                 return_sequences = false",
            ));
        }
        Ok(plans)
    }
}

/// `Ok` when `elements` (`None`: the product overflowed) is at most
/// [`MAX_TENSOR_ELEMENTS`]; else the reason, naming `what`.
fn check_size(
    elements: Option<usize>,
    what: impl FnOnce() -> String,
) -> std::result::Result<(), String> {
    match elements {
        Some(n) if n <= MAX_TENSOR_ELEMENTS => Ok(()),
        Some(n) => Err(format!(
            "{} has {n} values, more than the {MAX_TENSOR_ELEMENTS} (2^36, 256 GiB as f32) one tensor may hold; reduce the sizes",
            what()
        )),
        None => Err(format!(
            "{} has more values than a 64-bit count holds; reduce the sizes",
            what()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `LayerSpec::kind` (layer names, error messages) is the serde `type` tag of every variant.
    #[test]
    fn kinds_are_the_serde_tags() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let spec: ModelSpec = serde_json::from_str(
            r#"{"layers": [
                {"type": "embedding", "output_dim": 8},
                {"type": "lstm", "units": 4, "return_sequences": true},
                {"type": "gru", "units": 4, "return_sequences": true},
                {"type": "bidirectional", "layer": {"type": "lstm", "units": 4, "return_sequences": true}},
                {"type": "conv1d", "filters": 4, "kernel_size": 2},
                {"type": "max_pooling1d"},
                {"type": "dense", "units": 2},
                {"type": "dropout", "rate": 0.1}]}"#,
        )?;
        let mut kinds = std::collections::BTreeSet::new();
        for layer in &spec.layers {
            let json = serde_json::to_value(layer)?;
            assert_eq!(json["type"], layer.kind());
            kinds.insert(layer.kind());
        }
        assert_eq!(kinds.len(), spec.layers.len(), "a variant is missing");
        Ok(())
    }
}

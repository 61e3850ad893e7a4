//! The serde model spec: a list of Keras-style layers, validated and shape-checked.
//!
//! A spec is the `model` table of a recipe. Layers are tagged by `type` and take the Keras
//! argument names and defaults:
//!
//! | `type`          | fields (default)                                                                  |
//! |-----------------|-----------------------------------------------------------------------------------|
//! | `embedding`     | `input_dim` (tokenizer vocab size), `output_dim`, `mask_zero` (false)               |
//! | `lstm`          | `units`, `dropout` (0), `recurrent_dropout` (0), `return_sequences` (false)        |
//! | `gru`           | as `lstm`, plus `reset_after` (true; only true is supported)                       |
//! | `bidirectional` | `layer` (an `lstm`/`gru` table), `merge_mode` ("concat"; only concat)              |
//! | `conv1d`        | `filters`, `kernel_size`, `strides` (1), `padding` ("valid"), `activation` ("linear") |
//! | `max_pooling1d` | `pool_size` (2), `strides` (= pool_size), `padding` ("valid")                      |
//! | `dense`         | `units`, `activation` ("linear")                                                   |
//! | `dropout`       | `rate`                                                                             |
//!
//! Rules checked by [`ModelSpec::validate`]: the first layer is an `embedding`, the last a
//! `dense` with `sigmoid` (1 unit) or `softmax` (≥ 2 units) activation; recurrent, conv and
//! pooling layers need a sequence `(T, C)` input (so a recurrent layer with
//! `return_sequences = false` cannot feed another one); rates lie in `[0, 1)`; sizes are
//! positive; `input_dim ≥ 2`. Keras `Conv1D`/`MaxPooling1D` do not support masking, so
//! `mask_zero = true` followed by either is rejected. Shapes per layer (batch omitted):
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

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::init::ParamSpec;
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

/// One layer of a [`ModelSpec`], tagged by `type`.
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

/// Keras `Embedding`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSpec {
    /// Rows of the table; `None` means the tokenizer's vocabulary size (see [`ModelSpec::with_vocab_size`]).
    #[serde(default)]
    pub input_dim: Option<usize>,
    /// Embedding width.
    pub output_dim: usize,
    /// Treat token 0 as padding and mask it out of recurrent layers.
    #[serde(default)]
    pub mask_zero: bool,
}

/// Keras `LSTM`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmSpec {
    /// Hidden size `u`.
    pub units: usize,
    /// Dropout rate on the inputs (one mask per sequence).
    #[serde(default)]
    pub dropout: f64,
    /// Dropout rate on the recurrent state (one mask per sequence).
    #[serde(default)]
    pub recurrent_dropout: f64,
    /// Return the whole sequence `(T, u)` rather than the final state `(u)`.
    #[serde(default)]
    pub return_sequences: bool,
}

/// Keras `GRU`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GruSpec {
    /// Hidden size `u`.
    pub units: usize,
    /// Dropout rate on the inputs (one mask per sequence).
    #[serde(default)]
    pub dropout: f64,
    /// Dropout rate on the recurrent state (one mask per sequence).
    #[serde(default)]
    pub recurrent_dropout: f64,
    /// Return the whole sequence `(T, u)` rather than the final state `(u)`.
    #[serde(default)]
    pub return_sequences: bool,
    /// Keras/cuDNN GRU variant (reset gate applied after the recurrent matmul); only `true`.
    #[serde(default = "default_true")]
    pub reset_after: bool,
}

fn default_true() -> bool {
    true
}

/// The recurrent layer wrapped by a [`BidirectionalSpec`], tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecurrentSpec {
    /// An LSTM.
    Lstm(LstmSpec),
    /// A GRU.
    Gru(GruSpec),
}

/// How a bidirectional layer merges its two directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMode {
    /// `[forward, backward]` along the feature axis (the only supported mode).
    #[default]
    Concat,
    /// Elementwise sum (not supported).
    Sum,
    /// Elementwise product (not supported).
    Mul,
    /// Elementwise mean (not supported).
    Ave,
}

/// Keras `Bidirectional`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BidirectionalSpec {
    /// The wrapped recurrent layer.
    pub layer: RecurrentSpec,
    /// Merge of the two directions.
    #[serde(default)]
    pub merge_mode: MergeMode,
}

/// `valid` (no padding) or `same` (TensorFlow-style padding to `⌈T/s⌉` outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// No padding.
    #[default]
    Valid,
    /// Pad so that the output has `⌈T / strides⌉` steps (left gets the smaller half).
    Same,
}

/// Elementwise (or, for softmax, last-axis) activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Identity.
    #[default]
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// Softmax over the last axis.
    Softmax,
}

impl Activation {
    /// Applies the activation.
    pub fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Linear => Ok(x.clone()),
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => candle_nn::ops::sigmoid(x),
            Activation::Softmax => candle_nn::ops::softmax_last_dim(x),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
        }
    }
}

/// Keras `Conv1D` on `(T, C)` inputs (channels last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv1dSpec {
    /// Output channels.
    pub filters: usize,
    /// Kernel width `k`.
    pub kernel_size: usize,
    /// Stride `s`.
    #[serde(default = "default_one")]
    pub strides: usize,
    /// Padding.
    #[serde(default)]
    pub padding: Padding,
    /// Activation (not softmax).
    #[serde(default)]
    pub activation: Activation,
}

fn default_one() -> usize {
    1
}

fn default_two() -> usize {
    2
}

/// Keras `MaxPooling1D` on `(T, C)` inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPooling1dSpec {
    /// Window `p`.
    #[serde(default = "default_two")]
    pub pool_size: usize,
    /// Stride; `None` means `pool_size`.
    #[serde(default)]
    pub strides: Option<usize>,
    /// Padding.
    #[serde(default)]
    pub padding: Padding,
}

impl MaxPooling1dSpec {
    /// The stride actually used.
    pub fn stride(&self) -> usize {
        self.strides.unwrap_or(self.pool_size)
    }
}

/// Keras `Dense`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseSpec {
    /// Output width.
    pub units: usize,
    /// Activation; for the last layer it decides the model [`Output`] and is not applied to logits.
    #[serde(default)]
    pub activation: Activation,
}

/// Keras `Dropout` (elementwise, training only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutSpec {
    /// Probability of zeroing an element, in `[0, 1)`.
    pub rate: f64,
}

impl LayerSpec {
    /// The `type` tag (`"lstm"`, `"max_pooling1d"`, ...), also the base of the layer name.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Embedding(_) => "embedding",
            LayerSpec::Lstm(_) => "lstm",
            LayerSpec::Gru(_) => "gru",
            LayerSpec::Bidirectional(_) => "bidirectional",
            LayerSpec::Conv1d(_) => "conv1d",
            LayerSpec::MaxPooling1d(_) => "max_pooling1d",
            LayerSpec::Dense(_) => "dense",
            LayerSpec::Dropout(_) => "dropout",
        }
    }

    /// The Keras class name shown in summaries (`LSTM`, `Bidirectional`, ...).
    pub(crate) fn class_name(&self) -> &'static str {
        match self {
            LayerSpec::Embedding(_) => "Embedding",
            LayerSpec::Lstm(_) => "LSTM",
            LayerSpec::Gru(_) => "GRU",
            LayerSpec::Bidirectional(_) => "Bidirectional",
            LayerSpec::Conv1d(_) => "Conv1D",
            LayerSpec::MaxPooling1d(_) => "MaxPooling1D",
            LayerSpec::Dense(_) => "Dense",
            LayerSpec::Dropout(_) => "Dropout",
        }
    }
}

impl RecurrentSpec {
    /// Hidden size `u`.
    pub fn units(&self) -> usize {
        match self {
            RecurrentSpec::Lstm(s) => s.units,
            RecurrentSpec::Gru(s) => s.units,
        }
    }

    /// Input dropout rate.
    pub fn dropout(&self) -> f64 {
        match self {
            RecurrentSpec::Lstm(s) => s.dropout,
            RecurrentSpec::Gru(s) => s.dropout,
        }
    }

    /// Recurrent dropout rate.
    pub fn recurrent_dropout(&self) -> f64 {
        match self {
            RecurrentSpec::Lstm(s) => s.recurrent_dropout,
            RecurrentSpec::Gru(s) => s.recurrent_dropout,
        }
    }

    /// Whether the whole sequence is returned.
    pub fn return_sequences(&self) -> bool {
        match self {
            RecurrentSpec::Lstm(s) => s.return_sequences,
            RecurrentSpec::Gru(s) => s.return_sequences,
        }
    }

    /// Number of gates `G` (4 for LSTM, 3 for GRU).
    pub fn gates(&self) -> usize {
        match self {
            RecurrentSpec::Lstm(_) => 4,
            RecurrentSpec::Gru(_) => 3,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            RecurrentSpec::Lstm(_) => "lstm",
            RecurrentSpec::Gru(_) => "gru",
        }
    }

    /// Checks units, rates and `reset_after`.
    pub(crate) fn check(&self, index: usize, kind: &str) -> Result<()> {
        let err = |r: String| Error::spec(index, kind, r);
        if self.units() == 0 {
            return Err(err(format!("{}: units must be positive", self.kind())));
        }
        check_rate(self.dropout(), "dropout").map_err(err)?;
        check_rate(self.recurrent_dropout(), "recurrent_dropout").map_err(err)?;
        if let RecurrentSpec::Gru(g) = self {
            if !g.reset_after {
                return Err(err(
                    "gru: reset_after = false is not supported (only the Keras 2+/cuDNN variant reset_after = true)"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

fn check_rate(rate: f64, field: &str) -> std::result::Result<(), String> {
    if (0.0..1.0).contains(&rate) {
        Ok(())
    } else {
        Err(format!("{field} must lie in [0, 1), got {rate}"))
    }
}

/// The per-example shape flowing between layers (the batch axis omitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeatureShape {
    /// Token ids `(T)`.
    Tokens(usize),
    /// A sequence `(T, C)`.
    Seq(usize, usize),
    /// A vector `(C)`.
    Flat(usize),
}

impl FeatureShape {
    /// Last-axis width.
    pub(crate) fn features(&self) -> usize {
        match self {
            FeatureShape::Tokens(_) => 1,
            FeatureShape::Seq(_, c) | FeatureShape::Flat(c) => *c,
        }
    }

    /// `[None, ...]` dims as a vector, batch excluded.
    pub(crate) fn dims(&self) -> Vec<usize> {
        match self {
            FeatureShape::Tokens(t) => vec![*t],
            FeatureShape::Seq(t, c) => vec![*t, *c],
            FeatureShape::Flat(c) => vec![*c],
        }
    }
}

/// One layer after shape inference: its stable name, shapes, and declared parameters
/// (full paths, `"{name}.{local}"`).
#[derive(Debug, Clone)]
pub(crate) struct LayerPlan {
    pub(crate) name: String,
    pub(crate) input: FeatureShape,
    pub(crate) output: FeatureShape,
    pub(crate) params: Vec<ParamSpec>,
}

/// Output length of a window op (conv or pooling) on `t` steps.
pub(crate) fn window_len(t: usize, window: usize, stride: usize, padding: Padding) -> usize {
    match padding {
        Padding::Valid if t < window => 0,
        Padding::Valid => (t - window) / stride + 1,
        Padding::Same => t.div_ceil(stride),
    }
}

/// Left and right padding of a `same` window op, TensorFlow convention.
pub(crate) fn same_padding(t: usize, window: usize, stride: usize) -> (usize, usize) {
    let out = t.div_ceil(stride);
    let total = ((out.saturating_sub(1)) * stride + window).saturating_sub(t);
    (total / 2, total - total / 2)
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
                Activation::Sigmoid if d.units == 1 => Ok(Output::Sigmoid),
                Activation::Sigmoid => Err(Error::spec(
                    last,
                    "dense",
                    format!(
                        "a sigmoid output layer must have 1 unit (binary), got {}",
                        d.units
                    ),
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
        for (i, layer) in self.layers.iter().enumerate() {
            let kind = layer.kind();
            let err = |r: String| Error::spec(i, kind, r);
            let seen = counts.entry(kind).or_insert(0);
            let name = if *seen == 0 {
                kind.to_string()
            } else {
                format!("{kind}_{seen}")
            };
            *seen += 1;
            let needs_seq = |what: &str| -> Result<(usize, usize)> {
                match shape {
                    FeatureShape::Seq(t, c) => Ok((t, c)),
                    FeatureShape::Flat(c) => Err(err(format!(
                        "{what} needs a sequence input (None, T, C) but receives (None, {c}); \
                         set return_sequences = true on the previous recurrent layer"
                    ))),
                    FeatureShape::Tokens(_) => Err(err(format!(
                        "{what} cannot be the first layer; start with an embedding"
                    ))),
                }
            };
            let (output, params) = match layer {
                LayerSpec::Embedding(e) => {
                    if i != 0 {
                        return Err(err("an embedding can only be the first layer".into()));
                    }
                    let input_dim = e.input_dim.ok_or_else(|| {
                        err("input_dim is not set; fill it with ModelSpec::with_vocab_size".into())
                    })?;
                    if input_dim < 2 {
                        return Err(err(format!(
                            "input_dim must be at least 2 (index 0 is padding), got {input_dim}"
                        )));
                    }
                    if e.output_dim == 0 {
                        return Err(err("output_dim must be positive".into()));
                    }
                    masked = e.mask_zero;
                    let t = match shape {
                        FeatureShape::Tokens(t) => t,
                        _ => 0,
                    };
                    (
                        FeatureShape::Seq(t, e.output_dim),
                        crate::layers::embedding::params(input_dim, e.output_dim),
                    )
                }
                _ if i == 0 => {
                    return Err(err("the first layer must be an embedding".into()));
                }
                LayerSpec::Lstm(_) | LayerSpec::Gru(_) | LayerSpec::Bidirectional(_) => {
                    let (cell, bidirectional) = match layer {
                        LayerSpec::Lstm(s) => (RecurrentSpec::Lstm(s.clone()), false),
                        LayerSpec::Gru(s) => (RecurrentSpec::Gru(s.clone()), false),
                        LayerSpec::Bidirectional(b) => {
                            if b.merge_mode != MergeMode::Concat {
                                return Err(err(format!(
                                    "merge_mode {:?} is not supported; only \"concat\"",
                                    b.merge_mode
                                )));
                            }
                            (b.layer.clone(), true)
                        }
                        _ => unreachable_layer(i, kind)?,
                    };
                    cell.check(i, kind)?;
                    let (t, f) = needs_seq("a recurrent layer")?;
                    let width = cell.units() * if bidirectional { 2 } else { 1 };
                    let out = if cell.return_sequences() {
                        FeatureShape::Seq(t, width)
                    } else {
                        masked = false;
                        FeatureShape::Flat(width)
                    };
                    (
                        out,
                        crate::layers::recurrent::params(f, &cell, bidirectional),
                    )
                }
                LayerSpec::Conv1d(c) => {
                    let (t, f) = needs_seq("conv1d")?;
                    if masked {
                        return Err(err(
                            "conv1d does not support masking (as in Keras): set mask_zero = false on the embedding"
                                .into(),
                        ));
                    }
                    if c.filters == 0 || c.kernel_size == 0 || c.strides == 0 {
                        return Err(err(
                            "filters, kernel_size and strides must be positive".into()
                        ));
                    }
                    if c.activation == Activation::Softmax {
                        return Err(err("conv1d activation cannot be softmax".into()));
                    }
                    let t_out = window_len(t, c.kernel_size, c.strides, c.padding);
                    if seq_len.is_some() && t_out == 0 {
                        return Err(err(format!(
                            "kernel_size {} is longer than the input ({t} steps) with valid padding",
                            c.kernel_size
                        )));
                    }
                    (
                        FeatureShape::Seq(t_out, c.filters),
                        crate::layers::conv1d::params(f, c.filters, c.kernel_size),
                    )
                }
                LayerSpec::MaxPooling1d(p) => {
                    let (t, f) = needs_seq("max_pooling1d")?;
                    if masked {
                        return Err(err(
                            "max_pooling1d does not support masking (as in Keras): set mask_zero = false on the embedding"
                                .into(),
                        ));
                    }
                    if p.pool_size == 0 || p.stride() == 0 {
                        return Err(err("pool_size and strides must be positive".into()));
                    }
                    let t_out = window_len(t, p.pool_size, p.stride(), p.padding);
                    if seq_len.is_some() && t_out == 0 {
                        return Err(err(format!(
                            "pool_size {} is longer than the input ({t} steps) with valid padding",
                            p.pool_size
                        )));
                    }
                    (FeatureShape::Seq(t_out, f), Vec::new())
                }
                LayerSpec::Dense(d) => {
                    if d.units == 0 {
                        return Err(err("units must be positive".into()));
                    }
                    let f = shape.features();
                    let out = match shape {
                        FeatureShape::Seq(t, _) => FeatureShape::Seq(t, d.units),
                        _ => FeatureShape::Flat(d.units),
                    };
                    (out, crate::layers::dense::params(f, d.units))
                }
                LayerSpec::Dropout(d) => {
                    check_rate(d.rate, "rate").map_err(err)?;
                    (shape, Vec::new())
                }
            };
            let params = params
                .into_iter()
                .map(|p| ParamSpec {
                    path: format!("{name}.{}", p.path),
                    ..p
                })
                .collect();
            plans.push(LayerPlan {
                name,
                input: shape,
                output,
                params,
            });
            shape = output;
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

fn unreachable_layer<T>(index: usize, kind: &str) -> Result<T> {
    Err(Error::spec(
        index,
        kind,
        "internal error: unexpected layer kind",
    ))
}

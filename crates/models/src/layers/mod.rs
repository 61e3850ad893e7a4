//! The layers a [`crate::ModelSpec`] is built from, one file each.
//!
//! A layer's file holds everything about it: its serde spec (the fields of its `type` table),
//! shape planning and validation, the declaration of its parameters (Keras names, shapes and
//! initialisers), construction from a `VarBuilder` and the forward pass. The spec type
//! implements [`LayerKind`] (planning and construction), the built layer implements [`Forward`];
//! [`crate::LayerSpec`] dispatches to the spec types in one place. Adding a layer is one new
//! file here plus one variant of that enum (with its row in the dispatch: `type` tag, Keras
//! class name).
//!
//! Parameters are declared once, by the file's `params` function (local names such as
//! `"kernel"`, `"forward.recurrent_kernel"`), and fetched with `vb.get(shape, name)` from those
//! declarations, so initialisation, loading and summaries can never disagree.

pub(crate) mod activation;
pub(crate) mod conv1d;
pub(crate) mod dense;
pub(crate) mod dropout;
pub(crate) mod embedding;
pub(crate) mod max_pooling1d;
pub(crate) mod recurrent;
pub(crate) mod window;

use std::sync::Arc;

use candle_core::Tensor;
use candle_nn::VarBuilder;

use crate::error::{Error, Result};
use crate::init::ParamSpec;
use crate::onnx::OnnxLayer;
use crate::Mode;

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

    /// Values per example (`T`, `T·C` or `C`); `None` when the product overflows `usize`.
    pub(crate) fn elements(&self) -> Option<usize> {
        match self {
            FeatureShape::Tokens(n) | FeatureShape::Flat(n) => Some(*n),
            FeatureShape::Seq(t, c) => t.checked_mul(*c),
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

/// What planning one layer sees: its position in the stack, its input and whether the
/// embedding's padding mask reaches it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanContext {
    /// Index of the layer in the spec.
    pub(crate) index: usize,
    /// The layer's `type` tag (for error messages).
    pub(crate) kind: &'static str,
    /// The input shape (batch omitted).
    pub(crate) input: FeatureShape,
    /// Whether a padding mask reaches this layer.
    pub(crate) masked: bool,
    /// Whether the sequence length is known (so that lengths can be checked); without one,
    /// lengths are placeholders.
    pub(crate) check_lengths: bool,
}

impl PlanContext {
    /// An [`Error::InvalidSpec`] naming this layer.
    pub(crate) fn err(&self, reason: impl Into<String>) -> Error {
        Error::spec(self.index, self.kind, reason)
    }

    /// The input as a sequence `(T, C)`, or an error saying that `what` needs one.
    pub(crate) fn sequence(&self, what: &str) -> Result<(usize, usize)> {
        match self.input {
            FeatureShape::Seq(t, c) => Ok((t, c)),
            FeatureShape::Flat(c) => Err(self.err(format!(
                "{what} needs a sequence input (None, T, C) but receives (None, {c}); \
                 set return_sequences = true on the previous recurrent layer"
            ))),
            FeatureShape::Tokens(_) => Err(self.err(format!(
                "{what} cannot be the first layer; start with an embedding"
            ))),
        }
    }

    /// An error when a padding mask reaches `what`, a layer that (as in Keras) ignores masks.
    pub(crate) fn reject_mask(&self, what: &str) -> Result<()> {
        if self.masked {
            return Err(self.err(format!(
                "{what} does not support masking (as in Keras): set mask_zero = false on the embedding"
            )));
        }
        Ok(())
    }

    /// The plan of a layer that leaves the mask as it is.
    pub(crate) fn planned(&self, output: FeatureShape, params: Vec<ParamSpec>) -> Planned {
        Planned {
            output,
            params,
            masked: self.masked,
        }
    }
}

/// The result of planning one layer.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// Output shape (batch omitted).
    pub(crate) output: FeatureShape,
    /// Declared parameters, local names (the model prefixes the layer name).
    pub(crate) params: Vec<ParamSpec>,
    /// Whether the padding mask reaches the next layer.
    pub(crate) masked: bool,
}

/// What building one layer needs besides its spec.
pub(crate) struct BuildContext<'a> {
    /// The input shape the layer was planned for.
    pub(crate) input: FeatureShape,
    /// Whether this is the model's output layer (whose activation is not applied: the model
    /// returns logits).
    pub(crate) output_layer: bool,
    /// Parameters, already under the layer's name.
    pub(crate) vb: VarBuilder<'a>,
}

/// A layer type: the spec of one `type` table, planned and built. (Its `type` tag and Keras
/// class name are listed beside the variants of [`crate::LayerSpec`].)
pub(crate) trait LayerKind {
    /// Validates the spec against its input and infers the output shape and the parameters.
    fn plan(&self, cx: &PlanContext) -> Result<Planned>;

    /// Builds the layer, fetching its declared parameters from `cx.vb`.
    fn build(&self, cx: BuildContext) -> Result<Arc<dyn Forward>>;

    /// Whether training updates the layer's parameters (Keras `trainable`); a frozen layer's
    /// parameters are left out of [`crate::Classifier::vars`] and counted as non-trainable.
    fn trainable(&self) -> bool {
        true
    }

    /// Emits the layer's ONNX nodes ([`crate::onnx`]): reads `cx.x` (and `cx.lens` while a mask
    /// flows), its parameters from `cx.params` in declaration order, and leaves its output in
    /// `cx.x`; computes what the built layer's [`Forward`] computes in inference.
    fn to_onnx(&self, cx: &mut OnnxLayer) -> Result<()>;

    /// The values one example keeps for the backward pass in this layer (f32 elements, an
    /// estimate), `input` → `output` as planned: the total and the largest single tensor.
    /// `None` when a count overflows `usize`. By default the output alone.
    fn training_elements(&self, input: FeatureShape, output: FeatureShape) -> Option<Work> {
        let _ = input;
        Work::of(&[output.elements()?])
    }
}

/// Per-example values of one layer's training pass ([`LayerKind::training_elements`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Work {
    /// All the layer's activations and intermediates together.
    pub(crate) total: usize,
    /// The largest single one.
    pub(crate) largest: usize,
}

impl Work {
    /// The work of tensors of `sizes` elements; `None` when the sum overflows.
    pub(crate) fn of(sizes: &[usize]) -> Option<Self> {
        Some(Self {
            total: sizes
                .iter()
                .try_fold(0usize, |acc, n| acc.checked_add(*n))?,
            largest: sizes.iter().copied().max().unwrap_or(0),
        })
    }
}

/// What flows between built layers: the activations and the `(B, T)` padding mask (1 = real
/// token) that recurrent layers honour, present from a `mask_zero` embedding until a recurrent
/// layer returns a single state.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    /// Activations; token ids `(B, T)` before the embedding.
    pub(crate) x: Tensor,
    /// The padding mask.
    pub(crate) mask: Option<Tensor>,
}

impl Flow {
    /// `f` applied to the activations, the mask carried over unchanged.
    pub(crate) fn map(
        self,
        f: impl FnOnce(&Tensor) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<Self> {
        Ok(Self {
            x: f(&self.x)?,
            mask: self.mask,
        })
    }
}

/// A built layer: its forward pass.
pub(crate) trait Forward: std::fmt::Debug + Send + Sync {
    /// The layer on `flow` (dropout active when `mode` is training).
    fn forward_flow(&self, flow: Flow, mode: &mut Mode) -> candle_core::Result<Flow>;

    /// This layer as an embedding table whose lookup the next layer may fold into itself.
    fn as_embedding(&self) -> Option<&embedding::Embedding> {
        None
    }

    /// The layer run directly on token `ids` under `embedding` (the lookup folded in), when the
    /// layer supports that and it is cheaper; `None` means: embed first, then [`Forward::forward_flow`].
    fn forward_on_embedding(
        &self,
        _ids: &Tensor,
        _embedding: &embedding::Embedding,
        _mode: &mut Mode,
    ) -> candle_core::Result<Option<Flow>> {
        Ok(None)
    }
}

/// Checks that a dropout rate lies in `[0, 1)`.
pub(crate) fn check_rate(rate: f64, field: &str) -> std::result::Result<(), String> {
    if (0.0..1.0).contains(&rate) {
        Ok(())
    } else {
        Err(format!("{field} must lie in [0, 1), got {rate}"))
    }
}

/// Fetches every declared parameter from `vb`, in declaration order.
pub(crate) fn get_all(params: &[ParamSpec], vb: &VarBuilder) -> Result<Vec<Tensor>> {
    params
        .iter()
        .map(|p| Ok(vb.get(p.shape.as_slice(), &p.path)?))
        .collect()
}

/// Takes the next declared tensor (constructors consume `get_all`'s output in order).
pub(crate) fn next(it: &mut impl Iterator<Item = Tensor>, what: &str) -> Result<Tensor> {
    it.next().ok_or_else(|| crate::Error::InvalidSpec {
        layer: what.to_string(),
        reason: "internal error: parameter declaration missing".into(),
    })
}

//! Token embedding (Keras `Embedding`): `(B, T)` u32 ids → `(B, T, E)`,
//! `out[b, t] = embeddings[ids[b, t]]`.
//!
//! Spec (`type = "embedding"`, always the first layer): `input_dim` (rows; unset means the
//! tokenizer's vocabulary size, filled by [`crate::ModelSpec::with_vocab_size`], at least 2 as
//! id 0 is padding), `output_dim` `E`, `mask_zero` (false). Parameter (Keras): `embeddings`
//! `(input_dim, output_dim)`, uniform(−0.05, 0.05). With `mask_zero`,
//! [`Embedding::compute_mask`] gives the `(B, T)` mask `ids != 0` (1 = real token) in the
//! embedding dtype, which the model passes to recurrent layers.
//!
//! Pretrained vectors: `weights` names a GloVe, word2vec or fastText file (read by
//! `textrnn-text`'s `vectors` module when training starts; a relative path is relative to the
//! recipe file, see [`EmbeddingSpec::rebase`]); the model itself only declares the table, which
//! the trainer overwrites row by row. `trainable = false` (Keras) freezes the table: it is not
//! among [`crate::Classifier::vars`] (no gradient step, no optimizer state), the forward pass
//! reads it detached (no gradient reaches it, folded into a recurrent layer or not), and the
//! summary counts it as non-trainable.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use candle_nn::VarBuilder;
//! let vb = VarBuilder::zeros(DType::F32, &Device::Cpu);
//! let emb = textrnn_models::embedding(10, 4, true, vb)?;
//! let ids = Tensor::new(&[[3u32, 0, 0]], &Device::Cpu)?;
//! assert_eq!(emb.forward(&ids)?.dims(), &[1, 3, 4]);
//! let mask = emb.compute_mask(&ids)?.map(|m| m.to_vec2::<f32>()).transpose()?;
//! assert_eq!(mask, Some(vec![vec![1.0, 0.0, 0.0]]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{Tensor, Var};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::{BuildContext, FeatureShape, Flow, Forward, LayerKind, PlanContext, Planned};
use crate::error::Result;
use crate::init::{Initializer, ParamSpec};
use crate::onnx::proto::tensor_proto::DataType;
use crate::onnx::{int, OnnxLayer, PaddingSide};
use crate::{Lookup, Mode};

/// Keras `Embedding`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSpec {
    /// Rows of the table; `None` means the tokenizer's vocabulary size (see
    /// [`crate::ModelSpec::with_vocab_size`]).
    #[serde(default)]
    pub input_dim: Option<usize>,
    /// Embedding width.
    pub output_dim: usize,
    /// Treat token 0 as padding and mask it out of recurrent layers.
    #[serde(default)]
    pub mask_zero: bool,
    /// A pretrained word-vectors file the table starts from (Keras `weights`, here a path):
    /// GloVe, word2vec text or binary, fastText `.vec`; rows of words it lacks keep the seeded
    /// uniform(-0.05, 0.05) initialisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<PathBuf>,
    /// Whether training updates the table (Keras `trainable`); `false` keeps it as loaded.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trainable: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl EmbeddingSpec {
    /// Makes a relative `weights` path relative to `base` (the recipe file's directory) and
    /// absolute, as data paths are.
    pub fn rebase(&mut self, base: &Path) -> Result<()> {
        if let Some(w) = self.weights.as_mut() {
            let joined = base.join(&*w);
            *w = std::path::absolute(&joined).map_err(|source| crate::Error::Io {
                path: joined.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

impl LayerKind for EmbeddingSpec {
    fn plan(&self, cx: &PlanContext) -> Result<Planned> {
        if cx.index != 0 {
            return Err(cx.err("an embedding can only be the first layer"));
        }
        let input_dim = self.input_dim.ok_or_else(|| {
            cx.err("input_dim is not set; fill it with ModelSpec::with_vocab_size")
        })?;
        if input_dim < 2 {
            return Err(cx.err(format!(
                "input_dim must be at least 2 (index 0 is padding), got {input_dim}"
            )));
        }
        if self.output_dim == 0 {
            return Err(cx.err("output_dim must be positive"));
        }
        let t = match cx.input {
            FeatureShape::Tokens(t) => t,
            _ => 0,
        };
        Ok(Planned {
            output: FeatureShape::Seq(t, self.output_dim),
            params: params(input_dim, self.output_dim),
            masked: self.mask_zero,
        })
    }

    fn build(&self, cx: BuildContext) -> Result<Arc<dyn Forward>> {
        let input_dim = self.input_dim.unwrap_or_default();
        let mut layer = embedding(input_dim, self.output_dim, self.mask_zero, cx.vb)?;
        if !self.trainable {
            // Same storage as the variable (values set later are seen), no gradient.
            layer.embeddings = layer.embeddings.detach();
        }
        Ok(Arc::new(layer))
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    /// `Gather` of the ids' rows. With `mask_zero`, also the real-token counts
    /// `ReduceSum(Cast(ids ≠ 0))` (int32) as `cx.lens`; pre-padded ids are first moved to the
    /// front (time reversed by a `Slice`, then the first `count` steps reversed back by
    /// `ReverseSequence`), so that the recurrent layers' `sequence_lens` count from step 0.
    fn to_onnx(&self, cx: &mut OnnxLayer) -> Result<()> {
        let table = cx.param()?;
        let table = cx.tensor("embeddings", &table)?;
        let mut ids = cx.x.clone();
        if self.mask_zero {
            let real = cx.op(
                "Cast",
                "is_token",
                &[&ids],
                vec![int("to", DataType::Bool as i64)],
            );
            let real = cx.op(
                "Cast",
                "is_token_i32",
                &[&real],
                vec![int("to", DataType::Int32 as i64)],
            );
            let time = cx.ints("time_axis", &[1])?;
            let lens = cx.op(
                "ReduceSum",
                "lengths",
                &[&real, &time],
                vec![int("keepdims", 0)],
            );
            if cx.padding == PaddingSide::Pre {
                let start = cx.ints("last_step", &[-1])?;
                let end = cx.ints("before_first_step", &[i64::MIN])?;
                let step = cx.ints("backwards", &[-1])?;
                let reversed = cx.op(
                    "Slice",
                    "reversed_ids",
                    &[&ids, &start, &end, &time, &step],
                    Vec::new(),
                );
                let lens64 = cx.op(
                    "Cast",
                    "lengths_i64",
                    &[&lens],
                    vec![int("to", DataType::Int64 as i64)],
                );
                ids = cx.op(
                    "ReverseSequence",
                    "post_padded_ids",
                    &[&reversed, &lens64],
                    vec![int("batch_axis", 0), int("time_axis", 1)],
                );
            }
            cx.lens = Some(lens);
        }
        cx.x = cx.op("Gather", "gather", &[&table, &ids], vec![int("axis", 0)]);
        Ok(())
    }
}

/// An embedding table.
#[derive(Debug, Clone)]
pub struct Embedding {
    embeddings: Tensor,
    mask_zero: bool,
}

/// Declared parameters (local names).
pub(crate) fn params(input_dim: usize, output_dim: usize) -> Vec<ParamSpec> {
    vec![ParamSpec::new(
        "embeddings",
        vec![input_dim, output_dim],
        Initializer::Uniform {
            low: -0.05,
            high: 0.05,
        },
    )]
}

/// Builds an embedding of `input_dim` rows of width `output_dim`.
pub fn embedding(
    input_dim: usize,
    output_dim: usize,
    mask_zero: bool,
    vb: VarBuilder,
) -> Result<Embedding> {
    let mut t = super::get_all(&params(input_dim, output_dim), &vb)?.into_iter();
    Ok(Embedding {
        embeddings: super::next(&mut t, "embedding")?,
        mask_zero,
    })
}

impl Embedding {
    /// `(B, T)` ids → `(B, T, E)`; an id ≥ `input_dim` is an error.
    pub fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let e = self.embeddings.dim(1)?;
        self.embeddings
            .embedding(&ids.flatten_all()?)?
            .reshape((b, t, e))
    }

    /// [`Embedding::forward`] with the lookup recorded ([`Lookup`]): the looked-up rows plus a
    /// zero probe, whose gradient after backward is each occurrence's. A frozen table (not a
    /// variable) records nothing.
    pub fn forward_recorded(&self, ids: &Tensor) -> candle_core::Result<(Tensor, Option<Lookup>)> {
        if !self.embeddings.is_variable() {
            return Ok((self.forward(ids)?, None));
        }
        let (b, t) = ids.dims2()?;
        let e = self.embeddings.dim(1)?;
        let ids = ids.flatten_all()?;
        let probe = Var::zeros(
            (b * t, e),
            self.embeddings.dtype(),
            self.embeddings.device(),
        )?;
        let rows = (self.embeddings.embedding(&ids)? + probe.as_tensor())?;
        let lookup = Lookup {
            table: self.embeddings.clone(),
            ids,
            probe,
        };
        Ok((rows.reshape((b, t, e))?, Some(lookup)))
    }

    /// The `(input_dim, output_dim)` table.
    pub fn embeddings(&self) -> &Tensor {
        &self.embeddings
    }

    /// The padding mask `(B, T)` (`ids != 0`, embedding dtype) when `mask_zero`, else `None`.
    pub fn compute_mask(&self, ids: &Tensor) -> candle_core::Result<Option<Tensor>> {
        if !self.mask_zero {
            return Ok(None);
        }
        let zero = Tensor::zeros_like(ids)?;
        Ok(Some(ids.ne(&zero)?.to_dtype(self.embeddings.dtype())?))
    }
}

impl Forward for Embedding {
    /// `flow.x` holds the token ids; the mask (with `mask_zero`) starts here.
    fn forward_flow(&self, flow: Flow, _mode: &mut Mode) -> candle_core::Result<Flow> {
        Ok(Flow {
            mask: self.compute_mask(&flow.x)?,
            x: self.forward(&flow.x)?,
        })
    }

    fn as_embedding(&self) -> Option<&Embedding> {
        Some(self)
    }
}

impl Embedding {
    /// [`Forward::forward_flow`] with the lookup recorded ([`Embedding::forward_recorded`]).
    pub(crate) fn forward_flow_recorded(
        &self,
        flow: Flow,
    ) -> candle_core::Result<(Flow, Option<Lookup>)> {
        let (x, lookup) = self.forward_recorded(&flow.x)?;
        let flow = Flow {
            mask: self.compute_mask(&flow.x)?,
            x,
        };
        Ok((flow, lookup))
    }
}

//! Token embedding: `(B, T)` u32 ids → `(B, T, E)`, `out[b, t] = embeddings[ids[b, t]]`.
//!
//! Parameter (Keras): `embeddings` `(input_dim, output_dim)`, uniform(−0.05, 0.05).
//! With `mask_zero`, [`Embedding::compute_mask`] gives the `(B, T)` mask `ids != 0` (1 = real
//! token) in the embedding dtype, which the model passes to recurrent layers.
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

use candle_core::Tensor;
use candle_nn::VarBuilder;

use crate::error::Result;
use crate::init::{Initializer, ParamSpec};

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

//! One recurrent layer API for every cell (LSTM, GRU), direction (forward, bidirectional
//! concat) and position in a stack.
//!
//! For each direction, with input `x` `(B, T, F)` and `G` gates (LSTM 4: i, f, c, o; GRU 3: z, r, h):
//! 1. training only: `x ← x ⊙ m_in`, `m_in` `(B, 1, F)` a scaled keep mask (`dropout`) fixed
//!    across time;
//! 2. `xproj = x @ kernel + b_in` `(B, T, G·u)` in one matmul for the whole sequence
//!    (LSTM `b_in = bias`; GRU `b_in = bias[0]`), done inside the fused op on the CPU
//!    (`recurrent::{lstm_projected, gru_projected}`), else as `[x, 1] · [kernel; b_in]`;
//! 3. training only: a scaled keep mask `(B, u)` (`recurrent_dropout`) fixed across time;
//! 4. the recurrence `crate::recurrent::{lstm_sequence, gru_sequence}` from zero states, the
//!    backward direction with `reverse = true`, the `(B, T)` padding mask passed through.
//!
//! Inside `crate::recurrent::no_grad` the layer runs on detached input and weights, so the fused
//! ops keep nothing for backward (inference). `Mode::Eval` alone stays differentiable.
//!
//! Directly above an embedding, [`Recurrent::forward_embedded`] replaces steps 1–2: it projects
//! the embedding table once (`(V, F)·(F, G·u)`) and the recurrence reads row `ids[b, t]` of it
//! (`crate::recurrent::{lstm_embedded, gru_embedded}`); under input dropout each sequence's rows
//! are corrected for its dropped features (`crate::recurrent::embedded_dropout_projection`).
//!
//! Output: `return_sequences` → `(B, T, d·u)` (directions concatenated `[forward, backward]`),
//! else `(B, d·u)`: the forward direction's `out[:, T−1]` and the backward's `out[:, 0]` (the
//! final states, masked steps carrying the state). Masks are drawn in order forward input,
//! forward recurrent, backward input, backward recurrent.
//!
//! Parameters (Keras), under `forward.` / `backward.` when bidirectional:
//! LSTM `kernel` `(F, 4u)` glorot-uniform, `recurrent_kernel` `(u, 4u)` orthogonal, `bias` `(4u)`
//! zeros with ones in the forget slice; GRU `kernel` `(F, 3u)`, `recurrent_kernel` `(u, 3u)`,
//! `bias` `(2, 3u)` zeros (row 0 input, row 1 recurrent). Count per direction:
//! LSTM `4u(F + u + 1)`, GRU `3u(F + u + 2)`.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use candle_nn::VarBuilder;
//! use textrnn_models::{GruSpec, Mode, RecurrentSpec};
//! let cell = RecurrentSpec::Gru(GruSpec { units: 5, dropout: 0.0, recurrent_dropout: 0.0, return_sequences: true, reset_after: true });
//! let layer = textrnn_models::recurrent_layer(3, &cell, true, VarBuilder::zeros(DType::F32, &Device::Cpu))?;
//! let x = Tensor::zeros((2, 7, 3), DType::F32, &Device::Cpu)?;
//! assert_eq!(layer.forward_t(&x, None, &mut Mode::Eval)?.dims(), &[2, 7, 10]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::{Arc, Mutex};

use candle_core::Tensor;
use candle_nn::VarBuilder;

use crate::error::Result;
use crate::init::{Initializer, ParamSpec};
use crate::layers::dropout::keep_mask;
use crate::recurrent::kernels::with_slice;
use crate::recurrent::Outputs;
use crate::spec::RecurrentSpec;
use crate::Mode;

/// The cell kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Lstm,
    Gru,
}

/// Weights of one direction (Keras layout).
#[derive(Debug, Clone)]
struct DirectionWeights {
    kernel: Tensor,
    recurrent_kernel: Tensor,
    /// LSTM `(4u)`, GRU `(2, 3u)`.
    bias: Tensor,
    reverse: bool,
}

/// A (possibly bidirectional) LSTM or GRU layer.
#[derive(Debug, Clone)]
pub struct Recurrent {
    cell: Cell,
    units: usize,
    dropout: f64,
    recurrent_dropout: f64,
    return_sequences: bool,
    directions: Vec<DirectionWeights>,
    /// Projected embedding tables of the last inference call, one slot per direction.
    tables: Arc<Mutex<Vec<Option<CachedTable>>>>,
}

/// A projected embedding table `[embeddings, 1] · [kernel; b_in]` kept between inference calls,
/// with copies of the embedding rows and `[kernel; b_in]` it came from. It is reused only when
/// both equal the weights of the new call element by element, so an updated weight can never be
/// missed; the comparison reads `V·E + (E+1)·G·u` values where recomputing the table costs
/// `2·V·(E+1)·G·u` FLOPs (for the default recipe's BiGRU, a quarter of an inference batch).
#[derive(Debug)]
struct CachedTable {
    embeddings: Vec<f32>,
    kb: Vec<f32>,
    table: Tensor,
}

/// Declared parameters of one direction (local names).
fn cell_params(prefix: &str, in_dim: usize, cell: &RecurrentSpec) -> Vec<ParamSpec> {
    let u = cell.units();
    let g = cell.gates() * u;
    let bias = match cell {
        RecurrentSpec::Lstm(_) => ParamSpec::new(
            format!("{prefix}bias"),
            vec![g],
            Initializer::LstmBias { units: u },
        ),
        RecurrentSpec::Gru(_) => {
            ParamSpec::new(format!("{prefix}bias"), vec![2, g], Initializer::Zeros)
        }
    };
    vec![
        ParamSpec::new(
            format!("{prefix}kernel"),
            vec![in_dim, g],
            Initializer::GlorotUniform,
        ),
        ParamSpec::new(
            format!("{prefix}recurrent_kernel"),
            vec![u, g],
            Initializer::Orthogonal,
        ),
        bias,
    ]
}

fn prefixes(bidirectional: bool) -> &'static [&'static str] {
    if bidirectional {
        &["forward.", "backward."]
    } else {
        &[""]
    }
}

/// Declared parameters (local names), forward direction first.
pub(crate) fn params(in_dim: usize, cell: &RecurrentSpec, bidirectional: bool) -> Vec<ParamSpec> {
    prefixes(bidirectional)
        .iter()
        .flat_map(|p| cell_params(p, in_dim, cell))
        .collect()
}

/// Builds a recurrent layer on `in_dim` input features; `bidirectional` adds a backward
/// direction whose outputs are concatenated after the forward ones.
pub fn recurrent_layer(
    in_dim: usize,
    cell: &RecurrentSpec,
    bidirectional: bool,
    vb: VarBuilder,
) -> Result<Recurrent> {
    let mut directions = Vec::new();
    for (d, prefix) in prefixes(bidirectional).iter().enumerate() {
        let decl = cell_params(prefix, in_dim, cell);
        let mut t = super::get_all(&decl, &vb)?.into_iter();
        directions.push(DirectionWeights {
            kernel: super::next(&mut t, "recurrent")?,
            recurrent_kernel: super::next(&mut t, "recurrent")?,
            bias: super::next(&mut t, "recurrent")?,
            reverse: d == 1,
        });
    }
    Ok(Recurrent {
        cell: match cell {
            RecurrentSpec::Lstm(_) => Cell::Lstm,
            RecurrentSpec::Gru(_) => Cell::Gru,
        },
        units: cell.units(),
        dropout: cell.dropout(),
        recurrent_dropout: cell.recurrent_dropout(),
        return_sequences: cell.return_sequences(),
        tables: Arc::new(Mutex::new(Vec::new())),
        directions,
    })
}

impl Recurrent {
    /// Output width `d·u`.
    pub fn output_dim(&self) -> usize {
        self.units * self.directions.len()
    }

    /// Whether the layer returns `(B, T, d·u)` rather than `(B, d·u)`.
    pub fn return_sequences(&self) -> bool {
        self.return_sequences
    }

    /// `x` `(B, T, F)`, optional padding `mask` `(B, T)` (1 = real step) → `(B, T, d·u)` or `(B, d·u)`.
    pub fn forward_t(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        mode: &mut Mode,
    ) -> candle_core::Result<Tensor> {
        let (b, t, f) = x.dims3()?;
        if t == 0 {
            candle_core::bail!("recurrent layer: empty sequence");
        }
        let u = self.units;
        let (dtype, dev) = (x.dtype(), x.device());
        let mask = mask.map(|m| m.to_dtype(dtype)).transpose()?;
        let no_grad = crate::recurrent::no_grad_active();
        let outputs = self.outputs();
        let mut outs = Vec::with_capacity(self.directions.len());
        for dir in &self.directions {
            let (in_mask, rec_mask) = self.dropout_masks(mode, (b, f), dtype, dev)?;
            let xin = match &in_mask {
                Some(m) => x.broadcast_mul(m)?,
                None => x.clone(),
            };
            // Inference (`recurrent::no_grad`): detached input and weights, so the fused op keeps
            // no activations for backward.
            let p = |w: &Tensor| if no_grad { w.detach() } else { w.clone() };
            let xin = p(&xin);
            let (b_in, b_hh) = self.biases(dir, p)?;
            let h0 = Tensor::zeros((b, u), dtype, dev)?;
            let (kernel, w_hh) = (p(&dir.kernel), p(&dir.recurrent_kernel));
            let out = match b_hh {
                None => crate::recurrent::lstm_projected(
                    &xin,
                    &kernel,
                    &b_in,
                    &w_hh,
                    &h0,
                    &h0,
                    mask.as_ref(),
                    rec_mask.as_ref(),
                    dir.reverse,
                    outputs,
                )?,
                Some(b_hh) => crate::recurrent::gru_projected(
                    &xin,
                    &kernel,
                    &b_in,
                    &w_hh,
                    &b_hh,
                    &h0,
                    mask.as_ref(),
                    rec_mask.as_ref(),
                    dir.reverse,
                    outputs,
                )?,
            };
            outs.push(out);
        }
        self.concat(outs)
    }

    /// The input dropout rate `forward_t` applies in `mode`: `dropout` while training, else 0.
    pub fn input_dropout(&self, mode: &mut Mode) -> f64 {
        if mode.rng().is_some() {
            self.dropout
        } else {
            0.0
        }
    }

    /// The layer on token ids `(B, T)` under an embedding table `embeddings` `(V, F)`: the same
    /// result as `forward_t(&embeddings[ids], mask, mode)`, with the same dropout masks for a
    /// seed, but each direction projects the `V` table rows once instead of the `B·T` embedded
    /// steps:
    /// - without input dropout, `table = embeddings · kernel + b_in` `(V, G·u)` and the
    ///   recurrence reads its rows by id (`crate::recurrent::{lstm_embedded, gru_embedded}`;
    ///   the op scatters its input gradient onto the table rows);
    /// - with it, each sequence's projected rows are corrected for the features its mask drops
    ///   ([`crate::recurrent::embedded_dropout_projection`], about `V + p·B·T` projected rows).
    ///
    /// When training, the projection's gradients are `(V, ·)` GEMMs too; on the fused CPU kernels
    /// the op projects the table itself, with or without dropout, so the table and its gradient
    /// are buffers of the op rather than graph tensors. Cheaper when `V < (1 − p)·B·T`. An id
    /// `≥ V` is an error.
    pub fn forward_embedded(
        &self,
        ids: &Tensor,
        embeddings: &Tensor,
        mask: Option<&Tensor>,
        mode: &mut Mode,
    ) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        if t == 0 {
            candle_core::bail!("recurrent layer: empty sequence");
        }
        let u = self.units;
        let (dtype, dev) = (embeddings.dtype(), embeddings.device());
        let f = embeddings.dim(1)?;
        let mask = mask.map(|m| m.to_dtype(dtype)).transpose()?;
        let no_grad = crate::recurrent::no_grad_active();
        let p = |w: &Tensor| if no_grad { w.detach() } else { w.clone() };
        // `[embeddings, 1]`, built once per call when a table is (re)computed.
        let mut emb1: Option<Tensor> = None;
        let outputs = self.outputs();
        let mut outs = Vec::with_capacity(self.directions.len());
        for (k, dir) in self.directions.iter().enumerate() {
            let (in_mask, rec_mask) = self.dropout_masks(mode, (b, f), dtype, dev)?;
            let (b_in, b_hh) = self.biases(dir, p)?;
            let h0 = Tensor::zeros((b, u), dtype, dev)?;
            let w_hh = p(&dir.recurrent_kernel);
            // Training on the fused kernels: the op projects the embeddings itself (the table and
            // its gradient never become `(V, G·u)` graph tensors); with input dropout, always.
            if in_mask.is_some() || (!no_grad && crate::recurrent::use_fused(embeddings)) {
                let keep = in_mask.map(|k| k.squeeze(1)).transpose()?;
                let (embeddings, kernel) = (p(embeddings), p(&dir.kernel));
                let input = crate::recurrent::EmbeddingProjection {
                    ids,
                    embeddings: &embeddings,
                    kernel: &kernel,
                    bias: &b_in,
                    keep: keep.as_ref(),
                };
                let (m, rd) = (mask.as_ref(), rec_mask.as_ref());
                let out = match &b_hh {
                    None => crate::recurrent::lstm_on_embeddings(
                        &input,
                        &w_hh,
                        (&h0, &h0),
                        m,
                        rd,
                        dir.reverse,
                        outputs,
                    )?,
                    Some(b_hh) => crate::recurrent::gru_on_embeddings(
                        &input,
                        (&w_hh, b_hh),
                        &h0,
                        m,
                        rd,
                        dir.reverse,
                        outputs,
                    )?,
                };
                outs.push(out);
                continue;
            }
            let mut emb1 = || -> candle_core::Result<Tensor> {
                if let Some(e1) = &emb1 {
                    return Ok(e1.clone());
                }
                let ones = Tensor::ones((embeddings.dim(0)?, 1), dtype, dev)?;
                let e1 = Tensor::cat(&[&p(embeddings), &ones], 1)?;
                emb1 = Some(e1.clone());
                Ok(e1)
            };
            // `[embeddings, 1] · [kernel; b_in]`: one GEMM whose backward also gives the bias
            // gradient (a broadcast add would reduce a `(V, G·u)` gradient over its rows with a
            // strided sum, which costs more than the GEMM).
            let kb = Tensor::cat(&[&p(&dir.kernel), &b_in.unsqueeze(0)?], 0)?;
            let table = if no_grad {
                self.cached_table(k, embeddings, &kb, || emb1()?.matmul(&kb))?
            } else {
                emb1()?.matmul(&kb)?
            };
            let out = match b_hh {
                None => crate::recurrent::lstm_embedded(
                    ids,
                    &table,
                    &w_hh,
                    &h0,
                    &h0,
                    mask.as_ref(),
                    rec_mask.as_ref(),
                    dir.reverse,
                    outputs,
                )?,
                Some(b_hh) => crate::recurrent::gru_embedded(
                    ids,
                    &table,
                    &w_hh,
                    &b_hh,
                    &h0,
                    mask.as_ref(),
                    rec_mask.as_ref(),
                    dir.reverse,
                    outputs,
                )?,
            };
            outs.push(out);
        }
        self.concat(outs)
    }

    /// The direction's input bias and, for the GRU, its recurrent bias (each through `p`).
    fn biases(
        &self,
        dir: &DirectionWeights,
        p: impl Fn(&Tensor) -> Tensor,
    ) -> candle_core::Result<(Tensor, Option<Tensor>)> {
        Ok(match self.cell {
            Cell::Lstm => (p(&dir.bias), None),
            Cell::Gru => (p(&dir.bias.get(0)?), Some(p(&dir.bias.get(1)?))),
        })
    }

    /// The direction's dropout masks when training: input `(B, 1, F)` if `dropout > 0`, then
    /// recurrent `(B, u)` if `recurrent_dropout > 0` (drawn in that order).
    fn dropout_masks(
        &self,
        mode: &mut Mode,
        (b, f): (usize, usize),
        dtype: candle_core::DType,
        dev: &candle_core::Device,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let Some(rng) = mode.rng() else {
            return Ok((None, None));
        };
        let m_in = if self.dropout > 0.0 {
            Some(keep_mask(rng, &[b, 1, f], self.dropout, dtype, dev)?)
        } else {
            None
        };
        let m_rec = if self.recurrent_dropout > 0.0 {
            Some(keep_mask(
                rng,
                &[b, self.units],
                self.recurrent_dropout,
                dtype,
                dev,
            )?)
        } else {
            None
        };
        Ok((m_in, m_rec))
    }

    /// Direction `k`'s projected table at inference: the cached one when `embeddings` and `kb`
    /// equal the weights it was computed from (f32 on the CPU), else `compute()` (then cached).
    fn cached_table(
        &self,
        k: usize,
        embeddings: &Tensor,
        kb: &Tensor,
        compute: impl FnOnce() -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<Tensor> {
        if embeddings.dtype() != candle_core::DType::F32 || !embeddings.device().is_cpu() {
            return compute();
        }
        let mut tables = self
            .tables
            .lock()
            .map_err(|_| candle_core::Error::Msg("recurrent layer: poisoned table cache".into()))?;
        if tables.len() <= k {
            tables.resize_with(k + 1, || None);
        }
        if let Some(c) = &tables[k] {
            // Compared in place (no copy unless the table has to be recomputed).
            let same = with_slice::<f32, _>(embeddings, |e| c.embeddings == e)?
                && with_slice::<f32, _>(kb, |w| c.kb == w)?;
            if same {
                return Ok(c.table.clone());
            }
        }
        let table = compute()?;
        tables[k] = Some(CachedTable {
            embeddings: embeddings.flatten_all()?.to_vec1::<f32>()?,
            kb: kb.flatten_all()?.to_vec1::<f32>()?,
            table: table.clone(),
        });
        Ok(table)
    }

    /// Every step, or (no `return_sequences`) each direction's final state only.
    fn outputs(&self) -> Outputs {
        if self.return_sequences {
            Outputs::Sequence
        } else {
            Outputs::Final
        }
    }

    /// Directions concatenated `[forward, backward]` along the feature axis.
    fn concat(&self, mut outs: Vec<Tensor>) -> candle_core::Result<Tensor> {
        let dim = if self.return_sequences { 2 } else { 1 };
        match outs.len() {
            1 => Ok(outs.swap_remove(0)),
            _ => Tensor::cat(&outs, dim),
        }
    }
}

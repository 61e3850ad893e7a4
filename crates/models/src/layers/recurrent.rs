//! One recurrent layer API for every cell (LSTM, GRU), direction (forward, bidirectional
//! concat) and position in a stack.
//!
//! For each direction, with input `x` `(B, T, F)` and `G` gates (LSTM 4: i, f, c, o; GRU 3: z, r, h):
//! 1. training only: `x ← x ⊙ m_in`, `m_in` `(B, 1, F)` a scaled keep mask (`dropout`) fixed
//!    across time;
//! 2. `xproj = x @ kernel + b_in` `(B, T, G·u)` in one matmul for the whole sequence
//!    (LSTM `b_in = bias`; GRU `b_in = bias[0]`), done inside the fused op on the CPU
//!    ([`textrnn_rnn::Input::Raw`]), else as `[x, 1] · [kernel; b_in]`;
//! 3. training only: a scaled keep mask `(B, u)` (`recurrent_dropout`) fixed across time;
//! 4. the recurrence ([`textrnn_rnn::run`]) from zero states, the backward direction with
//!    `reverse = true`, the `(B, T)` padding mask passed through.
//!
//! In [`Mode::Infer`] the layer runs on detached input and weights, so the fused ops keep nothing
//! for backward. `Mode::Eval` alone stays differentiable. The fused ops' large per-batch buffers
//! are reused across calls from a pool the layer owns (freed with the layer). The environment
//! variable `TEXTRNN_FUSED=0`, read when the layer is built, selects the step-wise reference
//! recurrence instead of the fused CPU kernels (A/B checks, benchmarks).
//!
//! Directly above an embedding, [`Recurrent::forward_embedded`] replaces steps 1–2: it projects
//! the embedding table once (`(V, F)·(F, G·u)`) and the recurrence reads row `ids[b, t]` of it
//! ([`textrnn_rnn::Input::Embedded`]); under input dropout each sequence's rows are corrected for
//! its dropped features ([`textrnn_rnn::Input::Embeddings`]).
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
use serde::{Deserialize, Serialize};
use textrnn_rnn::{Backend, Input, Options, Outputs, Pool};

use crate::error::Result;
use crate::init::{Initializer, ParamSpec};
use crate::layers::dropout::keep_mask;
use crate::layers::embedding::Embedding;
use crate::layers::{
    check_rate, BuildContext, FeatureShape, Flow, Forward, LayerKind, PlanContext, Planned, Work,
};
use crate::onnx::{dim, int, string, OnnxLayer};
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
    /// Fused kernels or the step-wise reference ([`backend_from_env`]).
    backend: Backend,
    /// The fused ops' buffers, reused from one call to the next.
    pool: Pool,
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
        backend: backend_from_env(),
        pool: Pool::new(),
        directions,
    })
}

/// The step-wise reference when the environment variable `TEXTRNN_FUSED` is `0`, else the
/// automatic choice (fused CPU kernels for f32/f64 on the CPU).
fn backend_from_env() -> Backend {
    match std::env::var("TEXTRNN_FUSED") {
        Ok(v) if v.trim() == "0" => Backend::Reference,
        _ => Backend::Auto,
    }
}

/// The recurrent cell of a direction: LSTM, or GRU with its recurrent bias `b_hh`.
fn rnn_cell<'a>(
    w_hh: &'a Tensor,
    b_hh: Option<&'a Tensor>,
    h0: &'a Tensor,
) -> textrnn_rnn::Cell<'a> {
    match b_hh {
        None => textrnn_rnn::Cell::Lstm { w_hh, h0, c0: h0 },
        Some(b_hh) => textrnn_rnn::Cell::Gru { w_hh, b_hh, h0 },
    }
}

/// Whether the f32 CPU tensor `t` holds exactly `values` (compared in place, no copy).
fn same_values(t: &Tensor, values: &[f32]) -> candle_core::Result<bool> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    let (candle_core::Storage::Cpu(cpu), Some((start, end))) =
        (&*storage, layout.contiguous_offsets())
    else {
        return Ok(false);
    };
    Ok(cpu.as_slice::<f32>()?[start..end] == *values)
}

/// The gate blocks of `w` (last axis `G·u`, Keras order) in ONNX's order: LSTM `i, f, c, o` →
/// `i, o, f, c`; GRU `z, r, h` unchanged.
fn onnx_gates(w: &Tensor, cell: &RecurrentSpec, u: usize) -> candle_core::Result<Tensor> {
    let order: &[usize] = match cell {
        RecurrentSpec::Lstm(_) => &[0, 3, 1, 2],
        RecurrentSpec::Gru(_) => &[0, 1, 2],
    };
    let axis = w.rank().saturating_sub(1);
    let blocks = order
        .iter()
        .map(|g| w.narrow(axis, g * u, u))
        .collect::<candle_core::Result<Vec<_>>>()?;
    Tensor::cat(&blocks, axis)
}

/// Node inputs or outputs without the trailing unused (empty) names.
fn trim<'a>(outputs: &'a [&'a str]) -> &'a [&'a str] {
    let used = outputs
        .iter()
        .rposition(|o| !o.is_empty())
        .map_or(0, |i| i + 1);
    &outputs[..used]
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
        let infer = mode.is_infer();
        let mut outs = Vec::with_capacity(self.directions.len());
        for dir in &self.directions {
            let (in_mask, rec_mask) = self.dropout_masks(mode, (b, f), dtype, dev)?;
            let xin = match &in_mask {
                Some(m) => x.broadcast_mul(m)?,
                None => x.clone(),
            };
            // Inference: detached input and weights, so the fused op keeps no activations for
            // backward.
            let p = |w: &Tensor| if infer { w.detach() } else { w.clone() };
            let xin = p(&xin);
            let (b_in, b_hh) = self.biases(dir, p)?;
            let h0 = Tensor::zeros((b, u), dtype, dev)?;
            let (kernel, w_hh) = (p(&dir.kernel), p(&dir.recurrent_kernel));
            let input = Input::Raw {
                x: &xin,
                kernel: &kernel,
                bias: &b_in,
            };
            let opts = self.options(dir, mask.as_ref(), rec_mask.as_ref());
            let cell = rnn_cell(&w_hh, b_hh.as_ref(), &h0);
            outs.push(textrnn_rnn::run(cell, input, &opts)?);
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
    ///   recurrence reads its rows by id ([`textrnn_rnn::Input::Embedded`];
    ///   the op scatters its input gradient onto the table rows);
    /// - with it, each sequence's projected rows are corrected for the features its mask drops
    ///   ([`textrnn_rnn::Input::Embeddings`], about `V + p·B·T` projected rows).
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
        let infer = mode.is_infer();
        let p = |w: &Tensor| if infer { w.detach() } else { w.clone() };
        // `[embeddings, 1]`, built once per call when a table is (re)computed.
        let mut emb1: Option<Tensor> = None;
        let mut outs = Vec::with_capacity(self.directions.len());
        for (k, dir) in self.directions.iter().enumerate() {
            let (in_mask, rec_mask) = self.dropout_masks(mode, (b, f), dtype, dev)?;
            let (b_in, b_hh) = self.biases(dir, p)?;
            let h0 = Tensor::zeros((b, u), dtype, dev)?;
            let w_hh = p(&dir.recurrent_kernel);
            let cell = rnn_cell(&w_hh, b_hh.as_ref(), &h0);
            let opts = self.options(dir, mask.as_ref(), rec_mask.as_ref());
            // Training on the fused kernels: the op projects the embeddings itself (the table and
            // its gradient never become `(V, G·u)` graph tensors); with input dropout, always.
            if in_mask.is_some() || (!infer && self.backend.runs_fused(embeddings)?) {
                let keep = in_mask.map(|k| k.squeeze(1)).transpose()?;
                let (embeddings, kernel) = (p(embeddings), p(&dir.kernel));
                let input = Input::Embeddings {
                    ids,
                    embeddings: &embeddings,
                    kernel: &kernel,
                    bias: &b_in,
                    keep: keep.as_ref(),
                };
                outs.push(textrnn_rnn::run(cell, input, &opts)?);
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
            let table = if infer {
                self.cached_table(k, embeddings, &kb, || emb1()?.matmul(&kb))?
            } else {
                emb1()?.matmul(&kb)?
            };
            let input = Input::Embedded { ids, table: &table };
            outs.push(textrnn_rnn::run(cell, input, &opts)?);
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
            let same = same_values(embeddings, &c.embeddings)? && same_values(kb, &c.kb)?;
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

    /// How direction `dir` runs: its direction, the layer's outputs, backend and buffer pool.
    fn options<'a>(
        &'a self,
        dir: &DirectionWeights,
        mask: Option<&'a Tensor>,
        rd: Option<&'a Tensor>,
    ) -> Options<'a> {
        Options {
            reverse: dir.reverse,
            outputs: self.outputs(),
            mask,
            recurrent_dropout: rd,
            backend: self.backend,
            pool: Some(&self.pool),
        }
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
    #[serde(default = "default_reset_after")]
    pub reset_after: bool,
}

fn default_reset_after() -> bool {
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

    /// The `type` tag of the cell: `"lstm"` or `"gru"`.
    pub fn kind(&self) -> &'static str {
        match self {
            RecurrentSpec::Lstm(_) => "lstm",
            RecurrentSpec::Gru(_) => "gru",
        }
    }

    /// Checks units, rates and `reset_after`.
    fn check(&self, cx: &PlanContext) -> Result<()> {
        if self.units() == 0 {
            return Err(cx.err(format!("{}: units must be positive", self.kind())));
        }
        check_rate(self.dropout(), "dropout").map_err(|r| cx.err(r))?;
        check_rate(self.recurrent_dropout(), "recurrent_dropout").map_err(|r| cx.err(r))?;
        if let RecurrentSpec::Gru(g) = self {
            if !g.reset_after {
                return Err(cx.err(
                    "gru: reset_after = false is not supported (only the Keras 2+/cuDNN variant reset_after = true)",
                ));
            }
        }
        Ok(())
    }

    /// Validation, output shape (`(T, d·u)` or `(d·u)`, `d = 2` when `bidirectional`) and
    /// parameters; a layer returning a single state ends the padding mask.
    fn plan(&self, cx: &PlanContext, bidirectional: bool) -> Result<Planned> {
        self.check(cx)?;
        let (t, f) = cx.sequence("a recurrent layer")?;
        let directions = if bidirectional { 2 } else { 1 };
        // Every size below (`G·u` gate columns, `d·u` outputs) is a multiple of `u` no larger
        // than `d·G·u`: once that fits, plain arithmetic cannot wrap.
        let units = self.units();
        if units
            .checked_mul(self.gates())
            .and_then(|g| g.checked_mul(directions))
            .is_none()
        {
            return Err(cx.err(format!(
                "{}: units {units} is too large (its gate sizes overflow)",
                self.kind()
            )));
        }
        let width = units * directions;
        let output = if self.return_sequences() {
            FeatureShape::Seq(t, width)
        } else {
            FeatureShape::Flat(width)
        };
        Ok(Planned {
            output,
            params: params(f, self, bidirectional),
            masked: cx.masked && self.return_sequences(),
        })
    }

    fn build(&self, cx: BuildContext, bidirectional: bool) -> Result<Arc<dyn Forward>> {
        Ok(Arc::new(recurrent_layer(
            cx.input.features(),
            self,
            bidirectional,
            cx.vb,
        )?))
    }

    /// One native `LSTM`/`GRU` node (see [`crate::onnx`]): the input `(B, T, F)` transposed to
    /// `(T, B, F)`, the weights of every direction stacked in ONNX's layout and gate order, the
    /// mask's counts as `sequence_lens`; the output `Y` `(T, d, B, u)` or `Y_h` `(d, B, u)` back to
    /// `(B, T, d·u)` or `(B, d·u)`, directions concatenated `[forward, backward]`.
    fn to_onnx(&self, cx: &mut OnnxLayer, bidirectional: bool) -> Result<()> {
        let u = self.units();
        let directions = if bidirectional { 2 } else { 1 };
        let (mut w, mut r, mut b) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..directions {
            let (kernel, recurrent, bias) = (cx.param()?, cx.param()?, cx.param()?);
            w.push(onnx_gates(&kernel, self, u)?.t()?);
            r.push(onnx_gates(&recurrent, self, u)?.t()?);
            b.push(match self {
                // ONNX adds an input and a recurrent bias; Keras' LSTM has one.
                RecurrentSpec::Lstm(_) => {
                    let bias = onnx_gates(&bias, self, u)?;
                    Tensor::cat(&[&bias, &bias.zeros_like()?], 0)?
                }
                // `[input; recurrent]` rows, gates already in ONNX's order z, r, h.
                RecurrentSpec::Gru(_) => bias.flatten_all()?,
            });
        }
        let w = cx.tensor("W", &Tensor::stack(&w, 0)?)?;
        let r = cx.tensor("R", &Tensor::stack(&r, 0)?)?;
        let b = cx.tensor("B", &Tensor::stack(&b, 0)?)?;
        let x = cx.x.clone();
        let x = cx.transpose(&x, &[1, 0, 2]);
        let lens = cx.lens.clone().unwrap_or_default();
        let (op, mut attrs) = match self {
            RecurrentSpec::Lstm(_) => ("LSTM", Vec::new()),
            RecurrentSpec::Gru(_) => ("GRU", vec![int("linear_before_reset", 1)]),
        };
        attrs.push(int("hidden_size", dim(u)?));
        let direction = if bidirectional {
            "bidirectional"
        } else {
            "forward"
        };
        attrs.push(string("direction", direction));
        let out = cx.graph.unique(&cx.value(op));
        let outputs = if self.return_sequences() {
            [out.as_str(), ""]
        } else {
            ["", out.as_str()]
        };
        let width = dim(u * directions)?;
        let inputs = [x.as_str(), &w, &r, &b, &lens];
        cx.graph.op_to(op, trim(&inputs), trim(&outputs), attrs);
        cx.x = if self.return_sequences() {
            // (T, d, B, u) → (B, T, d, u) → (B, T, d·u)
            let y = cx.transpose(&out, &[2, 0, 1, 3]);
            cx.reshape(&y, &[0, 0, width])?
        } else {
            // (d, B, u) → (B, d, u) → (B, d·u); the mask ends here.
            cx.lens = None;
            let y = cx.transpose(&out, &[1, 0, 2]);
            cx.reshape(&y, &[0, width])?
        };
        Ok(())
    }

    /// Per direction and step: the input projection and the activated gates (`G·u` each), the
    /// hidden and cell states (`u` each); then the output.
    fn training_elements(&self, input: FeatureShape, output: FeatureShape) -> Option<Work> {
        let steps = input.dims().first().copied().unwrap_or(0);
        let directions = output.features() / self.units().max(1);
        let u = self.units();
        let gates = steps.checked_mul(self.gates())?.checked_mul(u)?;
        let states = steps.checked_mul(u)?;
        let per_direction = [gates, gates, states, states];
        let mut sizes = Vec::with_capacity(per_direction.len() * directions + 1);
        for _ in 0..directions {
            sizes.extend(per_direction);
        }
        sizes.push(output.elements()?);
        Work::of(&sizes)
    }
}

impl LayerKind for LstmSpec {
    fn plan(&self, cx: &PlanContext) -> Result<Planned> {
        RecurrentSpec::Lstm(self.clone()).plan(cx, false)
    }

    fn build(&self, cx: BuildContext) -> Result<Arc<dyn Forward>> {
        RecurrentSpec::Lstm(self.clone()).build(cx, false)
    }

    fn to_onnx(&self, cx: &mut OnnxLayer) -> Result<()> {
        RecurrentSpec::Lstm(self.clone()).to_onnx(cx, false)
    }

    fn training_elements(&self, input: FeatureShape, output: FeatureShape) -> Option<Work> {
        RecurrentSpec::Lstm(self.clone()).training_elements(input, output)
    }
}

impl LayerKind for GruSpec {
    fn plan(&self, cx: &PlanContext) -> Result<Planned> {
        RecurrentSpec::Gru(self.clone()).plan(cx, false)
    }

    fn build(&self, cx: BuildContext) -> Result<Arc<dyn Forward>> {
        RecurrentSpec::Gru(self.clone()).build(cx, false)
    }

    fn to_onnx(&self, cx: &mut OnnxLayer) -> Result<()> {
        RecurrentSpec::Gru(self.clone()).to_onnx(cx, false)
    }

    fn training_elements(&self, input: FeatureShape, output: FeatureShape) -> Option<Work> {
        RecurrentSpec::Gru(self.clone()).training_elements(input, output)
    }
}

impl LayerKind for BidirectionalSpec {
    fn plan(&self, cx: &PlanContext) -> Result<Planned> {
        if self.merge_mode != MergeMode::Concat {
            return Err(cx.err(format!(
                "merge_mode {:?} is not supported; only \"concat\"",
                self.merge_mode
            )));
        }
        self.layer.plan(cx, true)
    }

    fn build(&self, cx: BuildContext) -> Result<Arc<dyn Forward>> {
        self.layer.build(cx, true)
    }

    fn to_onnx(&self, cx: &mut OnnxLayer) -> Result<()> {
        self.layer.to_onnx(cx, true)
    }

    fn training_elements(&self, input: FeatureShape, output: FeatureShape) -> Option<Work> {
        self.layer.training_elements(input, output)
    }
}

impl Forward for Recurrent {
    fn forward_flow(&self, flow: Flow, mode: &mut Mode) -> candle_core::Result<Flow> {
        let x = self.forward_t(&flow.x, flow.mask.as_ref(), mode)?;
        Ok(self.flow_out(x, flow.mask))
    }

    /// Folds the lookup in ([`Recurrent::forward_embedded`]) when projecting the `V` table rows
    /// plus, under input dropout `p`, the `p·B·T` corrections (and, training, their gradient
    /// GEMMs) costs less than projecting the `B·T` embedded steps: `V < (1 − p)·B·T`.
    fn forward_on_embedding(
        &self,
        ids: &Tensor,
        embedding: &Embedding,
        mode: &mut Mode,
    ) -> candle_core::Result<Option<Flow>> {
        let table = embedding.embeddings();
        let steps = ids.elem_count() as f64;
        if (table.dim(0)? as f64) >= (1.0 - self.input_dropout(mode)) * steps {
            return Ok(None);
        }
        let mask = embedding.compute_mask(ids)?;
        let x = self.forward_embedded(ids, table, mask.as_ref(), mode)?;
        Ok(Some(self.flow_out(x, mask)))
    }
}

impl Recurrent {
    /// The layer's output with the padding mask, which ends where a single state is returned.
    fn flow_out(&self, x: Tensor, mask: Option<Tensor>) -> Flow {
        Flow {
            x,
            mask: mask.filter(|_| self.return_sequences),
        }
    }
}

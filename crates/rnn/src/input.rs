//! What the recurrence reads at each step ([`Input`]), and the checks of every argument before
//! an op runs.

use candle_core::{DType, Result, Tensor};

use crate::cell::Cell;
use crate::dropout_projection::{DropoutFold, DropoutProjectionOp};
use crate::options::Options;

/// The recurrence's input: the projected input term `xproj` `(B,T,G·u)` of every step, or what
/// it is computed from (`G` gates per unit, [`Cell::gates`]).
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// `xproj` `(B,T,G·u)`, already projected (`x · kernel + bias`; the GRU's input bias).
    Projected(&'a Tensor),
    /// The layer input `x` `(B,T,F)` with its projection `kernel` `(F,G·u)` and `bias` `(G·u)`.
    /// The fused ops project inside the op (the LSTM multiplies `[x_t, h] · [kernel; w_hh]` in
    /// one GEMM per step, the GRU projects `x_t` next to its recurrent GEMM), so the `(B,T,G·u)`
    /// projection is never materialised and its gradient never becomes a graph tensor.
    Raw {
        /// The layer input `(B,T,F)`.
        x: &'a Tensor,
        /// `(F,G·u)`.
        kernel: &'a Tensor,
        /// `(G·u)`.
        bias: &'a Tensor,
    },
    /// Token ids `ids` `(B,T)` u32 reading rows of `table` `(V,G·u)`, the projected embedding
    /// of every vocabulary row (`embeddings · kernel + bias`): step `t` of row `b` takes row
    /// `ids[b, t]`. This replaces the `(B·T, E)·(E, G·u)` projection (and, when training, its
    /// two gradient GEMMs) by `(V, E)·(E, G·u)` ones, cheaper whenever `V < B·T`; the fused
    /// op's backward scatters the projected-input gradient onto the table rows. An id `≥ V` is
    /// an error.
    Embedded {
        /// `(B,T)` u32.
        ids: &'a Tensor,
        /// `(V,G·u)`.
        table: &'a Tensor,
    },
    /// Token ids `ids` `(B,T)` u32 under `embeddings` `(V,E)`, projected by `kernel` `(E,G·u)`
    /// and `bias` `(G·u)`, with (input dropout) each row's scaled keep mask `keep` `(B,E)`:
    /// `xproj[b, t] = (embeddings[ids[b, t]] ⊙ keep[b]) · kernel + bias`. Every entry of `keep`
    /// is 0 or one common scale `1/(1−p)`: one mask per sequence, fixed across time, as Keras's
    /// `dropout` draws it (two different non-zero values are an error).
    ///
    /// The fused path projects the vocabulary rows the batch uses once and corrects each
    /// sequence for the features it drops (`s·e·K − s·e[D_b]·K[D_b]`): about `V + p·B·T`
    /// projected rows instead of `B·T`, in forward and in both gradient GEMMs, inside the
    /// recurrence's op, so neither the masked `(B,T,E)` input nor the projection or its
    /// gradient becomes a graph tensor. Elsewhere the rows are gathered, masked and projected.
    Embeddings {
        /// `(B,T)` u32.
        ids: &'a Tensor,
        /// `(V,E)`.
        embeddings: &'a Tensor,
        /// `(E,G·u)`.
        kernel: &'a Tensor,
        /// `(G·u)`.
        bias: &'a Tensor,
        /// The rows' scaled keep masks `(B,E)`; `None` keeps every feature.
        keep: Option<&'a Tensor>,
    },
}

impl<'a> Input<'a> {
    /// The projected input `xproj` `(B,T,G·u)` as a graph tensor (gradients flow to every
    /// input), on `opts.backend`: for [`Input::Embeddings`] the fused path is the fold described
    /// there as a graph op, elsewhere (and for the other inputs) the plain product.
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use textrnn_rnn::{Input, Options};
    /// let dev = Device::Cpu;
    /// let embeddings = Tensor::new(&[[1f32, 2.], [3., 4.], [5., 6.]], &dev)?;
    /// let kernel = Tensor::new(&[[1f32, 0., 1.], [0., 1., 1.]], &dev)?;
    /// let bias = Tensor::new(&[0f32, 0., 10.], &dev)?;
    /// let ids = Tensor::new(&[[2u32, 0]], &dev)?;
    /// let keep = Tensor::new(&[[0f32, 2.]], &dev)?; // drop feature 0, scale the rest by 1/(1-0.5)
    /// let input = Input::Embeddings { ids: &ids, embeddings: &embeddings, kernel: &kernel, bias: &bias, keep: Some(&keep) };
    /// let x = input.project(&Options::default())?;
    /// assert_eq!(x.to_vec3::<f32>()?, [[[0., 12., 22.], [0., 4., 14.]]]);
    /// # Ok::<(), candle_core::Error>(())
    /// ```
    pub fn project(&self, opts: &Options<'_>) -> Result<Tensor> {
        let what = "project";
        let g = match *self {
            Input::Projected(x) => x.dims().last().copied().unwrap_or(0),
            Input::Raw { kernel, .. } | Input::Embeddings { kernel, .. } => kernel.dim(1)?,
            Input::Embedded { table, .. } => table.dim(1)?,
        };
        self.check(what, g)?;
        match *self {
            Input::Embeddings {
                embeddings,
                kernel,
                bias,
                ..
            } if opts.backend.runs_fused(embeddings)? => {
                let kb = Tensor::cat(&[kernel, &bias.unsqueeze(0)?], 0)?;
                DropoutProjectionOp::new(self.fold(what)?, opts.pool).apply(embeddings, &kb)
            }
            _ => self.project_unfused(what),
        }
    }

    /// The tensor whose dtype and device decide the backend (the op's first input).
    pub(crate) fn data(&self) -> &'a Tensor {
        match *self {
            Input::Projected(x) | Input::Raw { x, .. } => x,
            Input::Embedded { table, .. } => table,
            Input::Embeddings { embeddings, .. } => embeddings,
        }
    }

    /// `"projected"`, `"raw"`, `"embedded"` or `"embeddings"`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Input::Projected(_) => "projected",
            Input::Raw { .. } => "raw",
            Input::Embedded { .. } => "embedded",
            Input::Embeddings { .. } => "embeddings",
        }
    }

    /// `(B, T)`.
    pub(crate) fn batch_steps(&self) -> Result<(usize, usize)> {
        match *self {
            Input::Projected(x) | Input::Raw { x, .. } => {
                let (b, t, _) = x.dims3()?;
                Ok((b, t))
            }
            Input::Embedded { ids, .. } | Input::Embeddings { ids, .. } => ids.dims2(),
        }
    }

    /// Checks the input's own shapes and dtypes for a projection `g` wide; returns `xproj`, or
    /// a zero-stride `(B,T,g)` stand-in for it (no allocation) for [`check_shapes`].
    pub(crate) fn check(&self, what: &str, g: usize) -> Result<Tensor> {
        match *self {
            Input::Projected(x) => Ok(x.clone()),
            Input::Raw { x, kernel, bias } => {
                let (b, t, f) = match x.dims() {
                    &[b, t, f] => (b, t, f),
                    d => {
                        candle_core::bail!("{what}: x must be (batch, steps, features), got {d:?}")
                    }
                };
                if kernel.dims() != [f, g] {
                    candle_core::bail!(
                        "{what}: kernel has shape {:?}, expected [{f}, {g}]",
                        kernel.dims()
                    );
                }
                check_weights(what, x, (kernel, bias), None)?;
                stand_in(x, (b, t, g))
            }
            Input::Embedded { ids, table } => {
                let (b, t) = ids_dims(what, ids)?;
                if table.rank() != 2 || table.dim(1)? != g {
                    candle_core::bail!(
                        "{what}: table has shape {:?}, expected [vocabulary, {g}]",
                        table.dims()
                    );
                }
                stand_in(table, (b, t, g))
            }
            Input::Embeddings {
                ids,
                embeddings,
                kernel,
                bias,
                keep,
            } => {
                let (b, t) = ids_dims(what, ids)?;
                let e = match embeddings.dims() {
                    &[_, e] => e,
                    d => candle_core::bail!(
                        "{what}: embeddings must be (vocabulary, features), got {d:?}"
                    ),
                };
                let g = match kernel.dims() {
                    &[ke, g] if ke == e && g > 0 => g,
                    d => candle_core::bail!(
                        "{what}: kernel has shape {d:?}, expected [{e}, G], G > 0"
                    ),
                };
                if let Some(keep) = keep {
                    if keep.dims() != [b, e] {
                        candle_core::bail!(
                            "{what}: keep has shape {:?}, expected [{b}, {e}]",
                            keep.dims()
                        );
                    }
                }
                check_weights(what, embeddings, (kernel, bias), keep)?;
                stand_in(embeddings, (b, t, g))
            }
        }
    }

    /// The ids of an [`Input::Embedded`] or [`Input::Embeddings`], flattened and checked to
    /// index a row of the table (or embeddings).
    pub(crate) fn checked_ids(&self, what: &str) -> Result<Vec<u32>> {
        let (ids, table) = match *self {
            Input::Embedded { ids, table } => (ids, table),
            Input::Embeddings {
                ids, embeddings, ..
            } => (ids, embeddings),
            Input::Projected(_) | Input::Raw { .. } => {
                candle_core::bail!("{what}: this input has no token ids")
            }
        };
        let flat = ids.flatten_all()?.to_vec1::<u32>()?;
        check_ids(what, &flat, table.dim(0)?)?;
        Ok(flat)
    }

    /// The ids and keep masks of an [`Input::Embeddings`] as a [`DropoutFold`] (after
    /// [`Self::check`]).
    pub(crate) fn fold(&self, what: &str) -> Result<DropoutFold> {
        let ids = self.checked_ids(what)?;
        let (b, t) = self.batch_steps()?;
        let (embeddings, keep) = match *self {
            Input::Embeddings {
                embeddings, keep, ..
            } => (embeddings, keep),
            _ => candle_core::bail!("{what}: only embeddings fold their dropout"),
        };
        DropoutFold::new(what, &ids, (b, t), keep, embeddings.dim(1)?)
    }

    /// `xproj` `(B,T,G·u)` from plain candle ops (after [`Self::check`]).
    pub(crate) fn project_unfused(&self, what: &str) -> Result<Tensor> {
        match *self {
            Input::Projected(x) => Ok(x.clone()),
            Input::Raw { x, kernel, bias } => project(x, kernel, bias),
            Input::Embedded { ids, table } => self.gather(what, ids, table),
            Input::Embeddings {
                ids,
                embeddings,
                kernel,
                bias,
                keep,
            } => {
                let mut x = self.gather(what, ids, embeddings)?;
                if let Some(keep) = keep {
                    x = x.broadcast_mul(&keep.unsqueeze(1)?)?;
                }
                project(&x, kernel, bias)
            }
        }
    }

    /// `table[ids]` as `(B,T,·)` (graph op: gradients flow to the table), ids checked first.
    fn gather(&self, what: &str, ids: &Tensor, table: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        self.checked_ids(what)?;
        table
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, table.dim(1)?))
    }
}

/// `[x, 1] · [kernel; bias]` as `(B,T,G·u)`: the bias gradient comes out of the matmul backward
/// instead of a `(B·T, G·u)` column sum (`broadcast_add`'s backward, slow on the CPU).
fn project(x: &Tensor, kernel: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let (b, t, f) = x.dims3()?;
    let ones = Tensor::ones((b * t, 1), x.dtype(), x.device())?;
    let x1 = Tensor::cat(&[&x.reshape((b * t, f))?, &ones], 1)?;
    let kb = Tensor::cat(&[kernel, &bias.unsqueeze(0)?], 0)?;
    x1.matmul(&kb)?.reshape((b, t, kernel.dim(1)?))
}

/// Checks that `bias` is `(G)` for `kernel` `(·, G)`, and that every weight present has the
/// dtype of `data`.
fn check_weights(
    what: &str,
    data: &Tensor,
    (kernel, bias): (&Tensor, &Tensor),
    keep: Option<&Tensor>,
) -> Result<()> {
    let g = kernel.dims().last().copied().unwrap_or(0);
    if bias.dims() != [g] {
        candle_core::bail!("{what}: bias has shape {:?}, expected [{g}]", bias.dims());
    }
    for (name, w) in [
        ("kernel", Some(kernel)),
        ("bias", Some(bias)),
        ("keep", keep),
    ] {
        match w {
            Some(w) if w.dtype() != data.dtype() => candle_core::bail!(
                "{what}: {name} is {:?} but the input is {:?}",
                w.dtype(),
                data.dtype()
            ),
            _ => {}
        }
    }
    Ok(())
}

/// `(B, T)` of token ids, which must be a `(batch, steps)` u32 tensor.
fn ids_dims(what: &str, ids: &Tensor) -> Result<(usize, usize)> {
    match ids.dims() {
        &[b, t] if ids.dtype() == DType::U32 => Ok((b, t)),
        d => candle_core::bail!(
            "{what}: ids must be (batch, steps) u32, got {d:?} {:?}",
            ids.dtype()
        ),
    }
}

/// A zero-stride stand-in of shape `dims` in the dtype and device of `like` (no allocation), for
/// [`check_shapes`] where the op never materialises the projection.
fn stand_in(like: &Tensor, dims: (usize, usize, usize)) -> Result<Tensor> {
    Tensor::zeros(1, like.dtype(), like.device())?.broadcast_as(dims)
}

/// Checks that every token id indexes a row of a `(vocab, ·)` table (before the op runs, so the
/// kernels can index without further checks).
pub(crate) fn check_ids(what: &str, ids: &[u32], vocab: usize) -> Result<()> {
    if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab) {
        candle_core::bail!("{what}: token id {id} is outside the embedding table ({vocab} rows)");
    }
    Ok(())
}

/// Validates the recurrence's shapes against `xproj` `(B,T,G·u)` (or its stand-in); returns
/// `(B, T, u)`.
pub(crate) fn check_shapes(
    what: &str,
    cell: &Cell<'_>,
    xproj: &Tensor,
    opts: &Options<'_>,
) -> Result<(usize, usize, usize)> {
    let gates = cell.gates();
    let (b, u) = match cell.h0().dims() {
        &[b, u] => (b, u),
        d => candle_core::bail!("{what}: h0 must be (batch, units), got {d:?}"),
    };
    let t = match xproj.dims() {
        &[xb, t, g] if xb == b && g == gates * u => t,
        d => candle_core::bail!(
            "{what}: xproj has shape {d:?}, expected [{b}, T, {}] (batch from h0, {gates} x units)",
            gates * u
        ),
    };
    if b == 0 || t == 0 || u == 0 {
        candle_core::bail!("{what}: empty batch, sequence or units (B={b}, T={t}, u={u})");
    }
    let w_hh = cell.w_hh();
    if w_hh.dims() != [u, gates * u] {
        candle_core::bail!(
            "{what}: w_hh has shape {:?}, expected [{u}, {}]",
            w_hh.dims(),
            gates * u
        );
    }
    let c0 = match *cell {
        Cell::Lstm { c0, .. } => Some(c0),
        Cell::Gru { .. } => None,
    };
    let per_row = [
        ("c0", u, c0),
        ("mask", t, opts.mask),
        ("recurrent_dropout", u, opts.recurrent_dropout),
    ];
    for (name, width, x) in per_row {
        if let Some(x) = x {
            if x.dims() != [b, width] {
                candle_core::bail!(
                    "{what}: {name} has shape {:?}, expected [{b}, {width}]",
                    x.dims()
                );
            }
        }
    }
    for (name, x) in [("w_hh", w_hh), ("h0", cell.h0())] {
        if x.dtype() != xproj.dtype() {
            candle_core::bail!(
                "{what}: {name} is {:?} but xproj is {:?}",
                x.dtype(),
                xproj.dtype()
            );
        }
    }
    if let Cell::Gru { b_hh, .. } = *cell {
        if b_hh.dims() != [3 * u] || b_hh.dtype() != xproj.dtype() {
            candle_core::bail!(
                "{what}: b_hh has shape {:?} ({:?}), expected [{}] ({:?})",
                b_hh.dims(),
                b_hh.dtype(),
                3 * u,
                xproj.dtype()
            );
        }
    }
    Ok((b, t, u))
}

//! Step-wise reference recurrences: one small chain of candle ops per step under autograd.
//!
//! Ground truth for the fused CPU kernels and the implementation used on CUDA/Metal and for
//! other dtypes ([`Backend`](crate::Backend)): the same contract on the projected input
//! `xproj (B,T,G·u)`, `(B,T,u)` out. `σ(x)` is written `(tanh(x/2) + 1) / 2`, which has a finite
//! gradient for every finite `x`. A step with mask `m` (a `(B,1)` column) updates
//! `state = m·new + (1-m)·old`.

use candle_core::{Result, Tensor};

use crate::cell::Cell;
use crate::options::{step_order, Options};

/// The recurrence of `cell` on `xproj` (shapes checked by the caller), every step.
pub(crate) fn sequence(cell: &Cell<'_>, xproj: &Tensor, opts: &Options<'_>) -> Result<Tensor> {
    let t_len = xproj.dim(1)?;
    let u = cell.h0().dim(1)?;
    let mut h = cell.h0().clone();
    // The LSTM's cell state.
    let mut c = match *cell {
        Cell::Lstm { c0, .. } => Some(c0.clone()),
        Cell::Gru { .. } => None,
    };
    let mut outs = vec![None; t_len];
    for t in step_order(t_len, opts.reverse) {
        let x = xproj.narrow(1, t, 1)?.squeeze(1)?;
        let hd = dropped(&h, opts.recurrent_dropout)?;
        let m = step_mask(opts.mask, t, xproj)?;
        h = match (*cell, c.as_mut()) {
            (Cell::Lstm { w_hh, .. }, Some(c)) => {
                let (h_new, c_new) = lstm_step(&x, &hd, w_hh, c, u)?;
                *c = blend(m.as_ref(), c_new, c)?;
                blend(m.as_ref(), h_new, &h)?
            }
            (Cell::Gru { w_hh, b_hh, .. }, _) => {
                blend(m.as_ref(), gru_step(&x, &hd, &h, (w_hh, b_hh), u)?, &h)?
            }
            (Cell::Lstm { .. }, None) => candle_core::bail!("reference lstm: no cell state"),
        };
        outs[t] = Some(h.clone());
    }
    stack(outs)
}

/// One LSTM step: `(h_new, c_new)` from the step's input term `x`, `hd = h ⊙ rd` and `c`.
fn lstm_step(
    x: &Tensor,
    hd: &Tensor,
    w_hh: &Tensor,
    c: &Tensor,
    u: usize,
) -> Result<(Tensor, Tensor)> {
    let z = x.add(&hd.matmul(w_hh)?)?;
    let i = sigmoid(&z.narrow(1, 0, u)?)?;
    let f = sigmoid(&z.narrow(1, u, u)?)?;
    let g = z.narrow(1, 2 * u, u)?.tanh()?;
    let o = sigmoid(&z.narrow(1, 3 * u, u)?)?;
    let c_new = f.mul(c)?.add(&i.mul(&g)?)?;
    let h_new = o.mul(&c_new.tanh()?)?;
    Ok((h_new, c_new))
}

/// One GRU (`reset_after`) step: `h_new` from the step's input term `x`, `hd = h ⊙ rd` and `h`.
fn gru_step(
    x: &Tensor,
    hd: &Tensor,
    h: &Tensor,
    (w_hh, b_hh): (&Tensor, &Tensor),
    u: usize,
) -> Result<Tensor> {
    let hi = hd.matmul(w_hh)?.broadcast_add(b_hh)?;
    let z = sigmoid(&x.narrow(1, 0, u)?.add(&hi.narrow(1, 0, u)?)?)?;
    let r = sigmoid(&x.narrow(1, u, u)?.add(&hi.narrow(1, u, u)?)?)?;
    let n = x
        .narrow(1, 2 * u, u)?
        .add(&r.mul(&hi.narrow(1, 2 * u, u)?)?)?
        .tanh()?;
    // h_new = z ⊙ h + (1 - z) ⊙ n = n + z ⊙ (h - n)
    n.add(&z.mul(&h.sub(&n)?)?)
}

fn sigmoid(x: &Tensor) -> Result<Tensor> {
    (x.affine(0.5, 0.0)?.tanh()? + 1.0)?.affine(0.5, 0.0)
}

/// `m·new + (1-m)·old` for a `(B,1)` step mask, `new` when there is no mask.
fn blend(m: Option<&Tensor>, new: Tensor, old: &Tensor) -> Result<Tensor> {
    match m {
        None => Ok(new),
        Some(m) => new
            .broadcast_mul(m)?
            .add(&old.broadcast_mul(&m.affine(-1.0, 1.0)?)?),
    }
}

/// Mask column `(B,1)` of step `t`, in the dtype of the recurrence.
fn step_mask(mask: Option<&Tensor>, t: usize, like: &Tensor) -> Result<Option<Tensor>> {
    mask.map(|m| m.narrow(1, t, 1)?.to_dtype(like.dtype()))
        .transpose()
}

fn dropped(h: &Tensor, rd: Option<&Tensor>) -> Result<Tensor> {
    match rd {
        Some(rd) => h.mul(&rd.to_dtype(h.dtype())?),
        None => Ok(h.clone()),
    }
}

fn stack(outs: Vec<Option<Tensor>>) -> Result<Tensor> {
    let outs: Option<Vec<Tensor>> = outs.into_iter().collect();
    match outs {
        Some(outs) => Tensor::stack(&outs, 1),
        None => candle_core::bail!("reference recurrence: a step produced no output"),
    }
}

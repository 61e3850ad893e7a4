//! Step-wise reference recurrences: one small chain of candle ops per step under autograd.
//!
//! Ground truth for the fused CPU kernels and the implementation used on CUDA/Metal. Same
//! contract as [`super::lstm_sequence`] / [`super::gru_sequence`] (shapes `(B,T,G·u)` in,
//! `(B,T,u)` out). `σ(x)` is written `(tanh(x/2) + 1) / 2`, which has a finite gradient for every
//! finite `x`. A step with mask `m` (a `(B,1)` column) updates `state = m·new + (1-m)·old`.
//!
//! Same contract and shapes as the fused path, e.g. `gru_sequence(xproj (B,T,3u), w_hh (u,3u),
//! b_hh (3u), h0 (B,u), None, None, reverse) -> (B,T,u)`; selected automatically off the CPU, or
//! on the CPU with `set_fused_enabled(false)` / `TEXTRNN_FUSED=0`.

use candle_core::{Result, Tensor};

use super::{check_shapes, kernels::step_order};

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

/// Step-wise LSTM (see [`super::lstm_sequence`] for the contract).
pub fn lstm_sequence(
    xproj: &Tensor,
    w_hh: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
) -> Result<Tensor> {
    let (_, t_len, u) = check_shapes(
        "lstm_sequence",
        4,
        xproj,
        w_hh,
        h0,
        Some(c0),
        mask,
        rec_dropout,
    )?;
    let mut h = h0.clone();
    let mut c = c0.clone();
    let mut outs = vec![None; t_len];
    for t in step_order(t_len, reverse) {
        let z = xproj
            .narrow(1, t, 1)?
            .squeeze(1)?
            .add(&dropped(&h, rec_dropout)?.matmul(w_hh)?)?;
        let i = sigmoid(&z.narrow(1, 0, u)?)?;
        let f = sigmoid(&z.narrow(1, u, u)?)?;
        let g = z.narrow(1, 2 * u, u)?.tanh()?;
        let o = sigmoid(&z.narrow(1, 3 * u, u)?)?;
        let c_new = f.mul(&c)?.add(&i.mul(&g)?)?;
        let h_new = o.mul(&c_new.tanh()?)?;
        let m = step_mask(mask, t, xproj)?;
        c = blend(m.as_ref(), c_new, &c)?;
        h = blend(m.as_ref(), h_new, &h)?;
        outs[t] = Some(h.clone());
    }
    stack(outs)
}

/// Step-wise GRU, Keras `reset_after` (see [`super::gru_sequence`] for the contract).
#[allow(clippy::too_many_arguments)]
pub fn gru_sequence(
    xproj: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    h0: &Tensor,
    mask: Option<&Tensor>,
    rec_dropout: Option<&Tensor>,
    reverse: bool,
) -> Result<Tensor> {
    let (_, t_len, u) = check_shapes("gru_sequence", 3, xproj, w_hh, h0, None, mask, rec_dropout)?;
    let mut h = h0.clone();
    let mut outs = vec![None; t_len];
    for t in step_order(t_len, reverse) {
        let x = xproj.narrow(1, t, 1)?.squeeze(1)?;
        let hi = dropped(&h, rec_dropout)?
            .matmul(w_hh)?
            .broadcast_add(b_hh)?;
        let z = sigmoid(&x.narrow(1, 0, u)?.add(&hi.narrow(1, 0, u)?)?)?;
        let r = sigmoid(&x.narrow(1, u, u)?.add(&hi.narrow(1, u, u)?)?)?;
        let n = x
            .narrow(1, 2 * u, u)?
            .add(&r.mul(&hi.narrow(1, 2 * u, u)?)?)?
            .tanh()?;
        // h_new = z ⊙ h + (1 - z) ⊙ n = n + z ⊙ (h - n)
        let h_new = n.add(&z.mul(&h.sub(&n)?)?)?;
        let m = step_mask(mask, t, xproj)?;
        h = blend(m.as_ref(), h_new, &h)?;
        outs[t] = Some(h.clone());
    }
    stack(outs)
}

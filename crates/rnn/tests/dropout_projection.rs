//! The embedding projection under input dropout folded into the vocabulary
//! (`Input::Embeddings`, `Input::project`) against masking the embedded steps and projecting them.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::{max_abs_diff, randn, tokens, TestResult};
use textrnn_rnn::{Input, Options};

const CPU: Device = Device::Cpu;

/// `(embeddings[ids] ⊙ keep) · kernel + bias` through the fused fold.
fn embedded_dropout_projection(
    ids: &Tensor,
    embeddings: &Tensor,
    kernel: &Tensor,
    bias: &Tensor,
    keep: &Tensor,
) -> candle_core::Result<Tensor> {
    let input = Input::Embeddings {
        ids,
        embeddings,
        kernel,
        bias,
        keep: Some(keep),
    };
    input.project(&Options::default())
}

/// A `(b, e)` keep mask scaled by `1/(1-p)`: row 0 keeps everything, row 1 drops everything,
/// the others drop the features where a pseudo-random draw falls under `p`.
fn keep_mask(b: usize, e: usize, p: f64) -> candle_core::Result<Tensor> {
    let draws = randn(&[b, e], 99, DType::F64)?.to_vec2::<f64>()?;
    let s = 1.0 / (1.0 - p);
    let rows: Vec<f64> = (0..b)
        .flat_map(|r| {
            let draws = &draws[r];
            (0..e).map(move |j| match r {
                0 => s,
                1 => 0.0,
                _ if (draws[j] + 1.0) / 2.0 < p => 0.0,
                _ => s,
            })
        })
        .collect();
    Tensor::from_vec(rows, (b, e), &CPU)
}

/// Output and every gradient (embeddings, kernel, bias) equal those of
/// `(embeddings[ids] ⊙ keep) · kernel + bias` in f64, with repeated ids, vocabulary rows the
/// batch does not use (30 tokens, 40 rows), a row that keeps every feature and a row that drops
/// them all.
#[test]
fn dropout_projection_matches_masked_product() -> TestResult {
    let (v, e, g, b, t) = (40, 9, 7, 5, 6);
    let ids = tokens(b, t, v as u32, Some(4))?;
    let emb = Var::from_tensor(&randn(&[v, e], 1, DType::F64)?)?;
    let kernel = Var::from_tensor(&randn(&[e, g], 2, DType::F64)?)?;
    let bias = Var::from_tensor(&randn(&[g], 3, DType::F64)?)?;
    let keep = keep_mask(b, e, 0.4)?;
    let weights = randn(&[b, t, g], 4, DType::F64)?;

    let got = embedded_dropout_projection(&ids, &emb, &kernel, &bias, &keep)?;
    let want = emb
        .index_select(&ids.flatten_all()?, 0)?
        .reshape((b, t, e))?
        .broadcast_mul(&keep.unsqueeze(1)?)?
        .broadcast_matmul(&kernel)?
        .broadcast_add(&bias)?;
    assert!(max_abs_diff(&got, &want)? < 1e-12);
    // Row 1 drops every feature: its projection is the bias alone.
    let row1 = got.get(1)?.sub(&bias.unsqueeze(0)?.broadcast_as((t, g))?)?;
    assert!(row1.abs()?.max_keepdim(0)?.max(1)?.to_vec1::<f64>()?[0] < 1e-12);

    let got_grads = got.mul(&weights)?.sum_all()?.backward()?;
    let want_grads = want.mul(&weights)?.sum_all()?.backward()?;
    for (name, var) in [("embeddings", &emb), ("kernel", &kernel), ("bias", &bias)] {
        let (Some(a), Some(w)) = (got_grads.get(var), want_grads.get(var)) else {
            return Err(format!("no gradient for {name}").into());
        };
        let diff = max_abs_diff(a, w)?;
        assert!(diff < 1e-12, "d{name} differs by {diff}");
    }
    Ok(())
}

/// Bad arguments are errors that say what is wrong.
#[test]
fn dropout_projection_rejects_bad_arguments() -> TestResult {
    let (v, e, g) = (5, 3, 4);
    let emb = randn(&[v, e], 1, DType::F32)?;
    let kernel = randn(&[e, g], 2, DType::F32)?;
    let bias = randn(&[g], 3, DType::F32)?;
    let ids = Tensor::new(&[[1u32, 2], [3, 4]], &CPU)?;
    let keep = Tensor::new(&[[0f32, 2., 2.], [2., 0., 2.]], &CPU)?;
    let err = |r: candle_core::Result<Tensor>| r.err().map(|e| e.to_string()).unwrap_or_default();

    let two_scales = Tensor::new(&[[0f32, 2., 2.], [2., 0., 1.5]], &CPU)?;
    let msg = err(embedded_dropout_projection(
        &ids,
        &emb,
        &kernel,
        &bias,
        &two_scales,
    ));
    assert!(msg.contains("keep must hold 0 or one scale"), "{msg}");

    let out_of_table = Tensor::new(&[[1u32, 5], [3, 4]], &CPU)?;
    let msg = err(embedded_dropout_projection(
        &out_of_table,
        &emb,
        &kernel,
        &bias,
        &keep,
    ));
    assert!(
        msg.contains("token id 5 is outside the embedding table"),
        "{msg}"
    );

    let msg = err(embedded_dropout_projection(
        &ids,
        &emb,
        &kernel,
        &bias,
        &keep.narrow(0, 0, 1)?,
    ));
    assert!(
        msg.contains("keep has shape [1, 3], expected [2, 3]"),
        "{msg}"
    );

    let msg = err(embedded_dropout_projection(
        &ids,
        &emb,
        &kernel.t()?,
        &bias,
        &keep,
    ));
    assert!(
        msg.contains("kernel has shape [4, 3], expected [3, G]"),
        "{msg}"
    );
    Ok(())
}

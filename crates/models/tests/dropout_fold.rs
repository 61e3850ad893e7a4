//! The embedding folded into a recurrent layer under the layer's input dropout
//! (`recurrent::embedded_dropout_projection`, `Recurrent::forward_embedded` while training)
//! against masking the embedded steps and projecting them.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use common::{max_abs_diff, randn, tokens, TestResult};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::recurrent::embedded_dropout_projection;
use textrnn_models::{recurrent_layer, GruSpec, LstmSpec, Mode, RecurrentSpec};

const CPU: Device = Device::Cpu;

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

/// A training step of the layer on token ids (`forward_embedded`) equals the layer on the
/// embedded steps (`forward_t`) under the same seed: same dropout masks, same outputs, same
/// gradients for the embeddings and every weight (f64), for LSTM and GRU, one or two
/// directions, with padding and recurrent dropout.
#[test]
fn folded_training_step_matches_embedded_steps() -> TestResult {
    let (v, e, b, t) = (17, 6, 4, 8);
    let lstm = |rd| {
        RecurrentSpec::Lstm(LstmSpec {
            units: 5,
            dropout: 0.3,
            recurrent_dropout: rd,
            return_sequences: false,
        })
    };
    let gru = |rs| {
        RecurrentSpec::Gru(GruSpec {
            units: 4,
            dropout: 0.25,
            recurrent_dropout: 0.2,
            return_sequences: rs,
            reset_after: true,
        })
    };
    for (cell, bidirectional) in [
        (lstm(0.0), false),
        (lstm(0.4), true),
        (gru(false), false),
        (gru(true), true),
    ] {
        let label = format!("{cell:?} bidirectional={bidirectional}");
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F64, &CPU);
        let layer = recurrent_layer(e, &cell, bidirectional, vb)?;
        // Declared parameters start at zero; random weights make every gradient non-trivial.
        let vars = varmap.data().lock().map_err(|e| e.to_string())?.clone();
        for (seed, var) in (10..).zip(vars.values()) {
            var.set(&randn(var.dims(), seed, DType::F64)?)?;
        }
        let emb = Var::from_tensor(&randn(&[v, e], 5, DType::F64)?)?;
        let ids = tokens(b, t, v as u32, Some(6))?;
        let mask = ids.ne(0u32)?;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let folded = layer.forward_embedded(&ids, &emb, Some(&mask), &mut Mode::Train(&mut rng))?;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let x = emb
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, e))?;
        let plain = layer.forward_t(&x, Some(&mask), &mut Mode::Train(&mut rng))?;
        let diff = max_abs_diff(&folded, &plain)?;
        assert!(diff < 1e-12, "{label}: outputs differ by {diff}");

        let weights = randn(plain.dims(), 8, DType::F64)?;
        let folded_grads = folded.mul(&weights)?.sum_all()?.backward()?;
        let plain_grads = plain.mul(&weights)?.sum_all()?.backward()?;
        let named = vars
            .iter()
            .map(|(name, var)| (name.clone(), var.clone()))
            .chain([("embeddings".to_string(), emb.clone())]);
        for (name, var) in named {
            let (Some(a), Some(w)) = (folded_grads.get(&var), plain_grads.get(&var)) else {
                return Err(format!("{label}: no gradient for {name}").into());
            };
            let diff = max_abs_diff(a, w)?;
            assert!(diff < 1e-12, "{label}: d{name} differs by {diff}");
        }
    }
    Ok(())
}

/// Off the fused path (here f16, which the fused kernels do not take) the folded training step
/// gathers, masks and projects: the same result as the layer on the embedded steps.
#[test]
fn folded_training_step_off_the_fused_path() -> TestResult {
    let (v, e, b, t) = (11, 4, 3, 5);
    for cell in [
        RecurrentSpec::Lstm(LstmSpec {
            units: 3,
            dropout: 0.5,
            recurrent_dropout: 0.0,
            return_sequences: true,
        }),
        RecurrentSpec::Gru(GruSpec {
            units: 3,
            dropout: 0.5,
            recurrent_dropout: 0.0,
            return_sequences: false,
            reset_after: true,
        }),
    ] {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F16, &CPU);
        let layer = recurrent_layer(e, &cell, true, vb)?;
        let vars = varmap.data().lock().map_err(|e| e.to_string())?.clone();
        for (seed, var) in (10..).zip(vars.values()) {
            var.set(&randn(var.dims(), seed, DType::F16)?)?;
        }
        let emb = randn(&[v, e], 5, DType::F16)?;
        let ids = tokens(b, t, v as u32, None)?;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let folded = layer.forward_embedded(&ids, &emb, None, &mut Mode::Train(&mut rng))?;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = emb
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, e))?;
        let plain = layer.forward_t(&x, None, &mut Mode::Train(&mut rng))?;
        let diff = max_abs_diff(&folded, &plain)?;
        assert!(diff < 1e-6, "{cell:?}: outputs differ by {diff}");
    }
    Ok(())
}

//! The embedding folded into a recurrent layer under the layer's input dropout
//! (`Recurrent::forward_embedded` while training) against masking the embedded steps and
//! projecting them.

mod common;

use candle_core::{DType, Device, Var};
use candle_nn::{VarBuilder, VarMap};
use common::{max_abs_diff, randn, tokens, TestResult};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::{recurrent_layer, GruSpec, LstmSpec, Mode, RecurrentSpec};

const CPU: Device = Device::Cpu;

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

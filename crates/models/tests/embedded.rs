//! Inference with the embedding folded into the first recurrent layer (`forward_embedded`,
//! `recurrent::{lstm_embedded, gru_embedded}`) against the plain path: embedding lookup, then
//! the layer's own projection.

mod common;

use candle_core::Var;
use candle_core::{DType, Device, Tensor};
use common::{max_abs_diff, randn, spec, tokens, TestResult};
use textrnn_models::recurrent::{
    gru_embedded, gru_projected, gru_sequence, lstm_embedded, lstm_projected, lstm_sequence,
    no_grad, Outputs,
};
use textrnn_models::{Classifier, Mode, TextClassifier};

const CPU: Device = Device::Cpu;
const SEQ: Outputs = Outputs::Sequence;

/// Whole models: a batch of 6 x 9 = 54 tokens over a 30-row vocabulary runs folded; each row
/// alone (9 tokens) runs the plain path. Outputs agree, inside `no_grad` and under autograd, and
/// so do the gradients of every variable (the batch loss is the sum of the row losses).
#[test]
fn folded_models_match_plain_path() -> TestResult {
    let heads = r#"{"type": "dense", "units": 3, "activation": "softmax"}"#;
    for (layers, pad) in [
        (
            r#"{"type": "lstm", "units": 5, "recurrent_dropout": 0.3}"#,
            None,
        ),
        (r#"{"type": "gru", "units": 6}"#, Some(7)),
        (
            r#"{"type": "bidirectional", "layer": {"type": "gru", "units": 4}}"#,
            None,
        ),
        (
            r#"{"type": "bidirectional", "layer": {"type": "lstm", "units": 3, "return_sequences": true}},
               {"type": "lstm", "units": 5}"#,
            Some(5),
        ),
    ] {
        for mask_zero in [false, true] {
            let s = spec(&format!(
                r#"[{{"type": "embedding", "input_dim": 30, "output_dim": 8, "mask_zero": {mask_zero}}},
                    {layers}, {heads}]"#
            ))?;
            let (model, varmap) = TextClassifier::init(&s, 9, 7, &CPU)?;
            let ids = tokens(6, 9, 30, pad)?;
            let rows = (0..6)
                .map(|r| ids.narrow(0, r, 1))
                .collect::<candle_core::Result<Vec<_>>>()?;
            let label = format!("{layers} mask_zero={mask_zero}");
            // Outputs.
            let folded = no_grad(|| model.forward_t(&ids, &mut Mode::Eval))?;
            let plain = Tensor::cat(
                &rows
                    .iter()
                    .map(|r| model.forward_t(r, &mut Mode::Eval))
                    .collect::<candle_core::Result<Vec<_>>>()?,
                0,
            )?;
            let diff = max_abs_diff(&plain, &folded)?;
            assert!(diff < 1e-5, "{label}: outputs differ by {diff}");
            // Gradients of a weighted sum of the logits.
            let weights = randn(&[6, 3], 11, DType::F32)?;
            let folded_grads = model
                .forward_t(&ids, &mut Mode::Eval)?
                .mul(&weights)?
                .sum_all()?
                .backward()?;
            let mut plain_loss = Tensor::zeros((), DType::F32, &CPU)?;
            for (r, row) in rows.iter().enumerate() {
                let w = weights.narrow(0, r, 1)?;
                let l = model.forward_t(row, &mut Mode::Eval)?.mul(&w)?.sum_all()?;
                plain_loss = plain_loss.add(&l)?;
            }
            let plain_grads = plain_loss.backward()?;
            for (name, var) in varmap.data().lock().map_err(|e| e.to_string())?.iter() {
                let (Some(a), Some(b)) = (
                    folded_grads.get(var.as_tensor()),
                    plain_grads.get(var.as_tensor()),
                ) else {
                    return Err(format!("{label}: no gradient for {name}").into());
                };
                let diff = max_abs_diff(a, b)?;
                assert!(diff < 1e-5, "{label}: d{name} differs by {diff}");
            }
        }
    }
    Ok(())
}

/// The op-level entry points against gathering the projected rows and running the sequence
/// (f64, so the comparison is tight), both directions, with padding; ids out of the table are
/// an error on both paths.
#[test]
fn embedded_sequences_match_gathered_rows() -> TestResult {
    let (v, b, t, u) = (11, 3, 7, 5);
    let ids = tokens(b, t, v as u32, Some(4))?;
    let mask = ids.ne(0u32)?.to_dtype(DType::F64)?;
    let h0 = randn(&[b, u], 5, DType::F64)?;
    let c0 = randn(&[b, u], 6, DType::F64)?;
    for reverse in [false, true] {
        // LSTM.
        let table = randn(&[v, 4 * u], 1, DType::F64)?;
        let w_hh = (randn(&[u, 4 * u], 2, DType::F64)? * 0.5)?;
        let xproj = table
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, 4 * u))?;
        let want = lstm_sequence(&xproj, &w_hh, &h0, &c0, Some(&mask), None, reverse)?;
        let got = lstm_embedded(
            &ids,
            &table,
            &w_hh,
            &h0,
            &c0,
            Some(&mask),
            None,
            reverse,
            SEQ,
        )?;
        assert!(max_abs_diff(&want, &got)? < 1e-12);
        // GRU.
        let table = randn(&[v, 3 * u], 3, DType::F64)?;
        let w_hh = (randn(&[u, 3 * u], 4, DType::F64)? * 0.5)?;
        let b_hh = randn(&[3 * u], 7, DType::F64)?;
        let xproj = table
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, 3 * u))?;
        let want = gru_sequence(&xproj, &w_hh, &b_hh, &h0, Some(&mask), None, reverse)?;
        let got = gru_embedded(
            &ids,
            &table,
            &w_hh,
            &b_hh,
            &h0,
            Some(&mask),
            None,
            reverse,
            SEQ,
        )?;
        assert!(max_abs_diff(&want, &got)? < 1e-12);
    }
    let bad = Tensor::new(&[[1u32, 11]], &CPU)?;
    let table = randn(&[v, 4 * u], 1, DType::F64)?;
    let w_hh = randn(&[u, 4 * u], 2, DType::F64)?;
    let h = randn(&[1, u], 5, DType::F64)?;
    let err = lstm_embedded(&bad, &table, &w_hh, &h, &h, None, None, false, SEQ)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("token id 11"), "{err}");
    let tracked = candle_core::Var::from_tensor(&table)?;
    let err = lstm_embedded(
        &bad,
        tracked.as_tensor(),
        &w_hh,
        &h,
        &h,
        None,
        None,
        false,
        SEQ,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("token id 11"), "{err}");
    Ok(())
}

/// Training through the fused op on ids: the gradients of the table, the recurrent kernel, the
/// initial states and (GRU) the recurrent bias equal those of gathering the rows first, with
/// masks, recurrent dropout, repeated ids and both directions (f64).
#[test]
fn embedded_gradients_match_gathered_rows() -> TestResult {
    let (v, b, t, u) = (9, 4, 6, 3);
    let ids = tokens(b, t, v as u32, Some(4))?;
    let mask = ids.ne(0u32)?.to_dtype(DType::F64)?;
    let rd = (randn(&[b, u], 8, DType::F64)?
        .ge(0.0)?
        .to_dtype(DType::F64)?
        * 2.0)?;
    let weights = randn(&[b, t, u], 9, DType::F64)?;
    for (gates, reverse) in [(4, false), (4, true), (3, false), (3, true)] {
        let var = |dims: &[usize], seed| -> candle_core::Result<Var> {
            Var::from_tensor(&(randn(dims, seed, DType::F64)? * 0.7)?)
        };
        let table = var(&[v, gates * u], 1)?;
        let w_hh = var(&[u, gates * u], 2)?;
        let b_hh = var(&[gates * u], 3)?;
        let h0 = var(&[b, u], 4)?;
        let c0 = var(&[b, u], 5)?;
        let run = |gathered: bool| -> candle_core::Result<Vec<Tensor>> {
            let tab = if gathered {
                table
                    .as_tensor()
                    .index_select(&ids.flatten_all()?, 0)?
                    .reshape((b, t, gates * u))?
            } else {
                table.as_tensor().clone()
            };
            let (m, r) = (Some(&mask), Some(&rd));
            let out = match (gates, gathered) {
                (4, true) => lstm_sequence(&tab, &w_hh, &h0, &c0, m, r, reverse)?,
                (4, false) => lstm_embedded(&ids, &tab, &w_hh, &h0, &c0, m, r, reverse, SEQ)?,
                (_, true) => gru_sequence(&tab, &w_hh, &b_hh, &h0, m, r, reverse)?,
                (_, false) => gru_embedded(&ids, &tab, &w_hh, &b_hh, &h0, m, r, reverse, SEQ)?,
            };
            let grads = out.mul(&weights)?.sum_all()?.backward()?;
            let mut vars = vec![&table, &w_hh, &h0];
            vars.push(if gates == 4 { &c0 } else { &b_hh });
            vars.iter()
                .map(|x| {
                    grads
                        .get(x.as_tensor())
                        .cloned()
                        .ok_or_else(|| candle_core::Error::Msg("missing gradient".into()))
                })
                .collect()
        };
        for (k, (a, b)) in run(false)?.iter().zip(run(true)?.iter()).enumerate() {
            let diff = max_abs_diff(a, b)?;
            assert!(
                diff < 1e-10,
                "gates {gates} reverse {reverse}: gradient {k} differs by {diff}"
            );
        }
    }
    Ok(())
}

/// `Outputs::Final` is the last visited step of `Outputs::Sequence` (step 0 when reversed), for
/// all four entry points, inside `no_grad` (where the fused ops keep only the final state) and
/// under autograd, with padding rows.
#[test]
fn final_outputs_are_the_last_visited_step() -> TestResult {
    let (v, b, t, f, u) = (8, 3, 6, 4, 5);
    let ids = tokens(b, t, v as u32, Some(2))?;
    let mask = ids.ne(0u32)?.to_dtype(DType::F32)?;
    let x = randn(&[b, t, f], 1, DType::F32)?;
    let h0 = randn(&[b, u], 2, DType::F32)?;
    for reverse in [false, true] {
        for gates in [4usize, 3] {
            let g = gates * u;
            let kernel = randn(&[f, g], 3, DType::F32)?;
            let bias = randn(&[g], 4, DType::F32)?;
            let w_hh = randn(&[u, g], 5, DType::F32)?;
            let table = randn(&[v, g], 6, DType::F32)?;
            let m = Some(&mask);
            let run = |outputs: Outputs| -> candle_core::Result<[Tensor; 2]> {
                Ok(if gates == 4 {
                    [
                        lstm_projected(
                            &x, &kernel, &bias, &w_hh, &h0, &h0, m, None, reverse, outputs,
                        )?,
                        lstm_embedded(&ids, &table, &w_hh, &h0, &h0, m, None, reverse, outputs)?,
                    ]
                } else {
                    [
                        gru_projected(
                            &x, &kernel, &bias, &w_hh, &bias, &h0, m, None, reverse, outputs,
                        )?,
                        gru_embedded(&ids, &table, &w_hh, &bias, &h0, m, None, reverse, outputs)?,
                    ]
                })
            };
            let last = if reverse { 0 } else { t - 1 };
            let all = run(SEQ)?;
            for finals in [no_grad(|| run(Outputs::Final))?, run(Outputs::Final)?] {
                for (a, z) in all.iter().zip(finals.iter()) {
                    assert_eq!(z.dims(), &[b, u]);
                    let want = a.narrow(1, last, 1)?.squeeze(1)?;
                    assert!(
                        max_abs_diff(&want, z)? < 1e-6,
                        "gates {gates} reverse {reverse}"
                    );
                }
            }
        }
    }
    Ok(())
}

/// Training on the final state only (the fused ops then output `(B,1,u)` and keep every step's
/// `h` for backward themselves): the gradients of every input equal those of the whole sequence
/// narrowed to its last visited step, for all four entry points, both directions, with padding
/// rows, recurrent dropout and hidden sizes with and without a vector tail (f64).
#[test]
fn final_output_gradients_match_the_sequence_path() -> TestResult {
    let (v, b, t, f) = (8, 5, 7, 4);
    let ids = tokens(b, t, v as u32, Some(2))?;
    let mask = ids.ne(0u32)?.to_dtype(DType::F64)?;
    for u in [3usize, 11] {
        let rd = (randn(&[b, u], 8, DType::F64)?
            .ge(0.0)?
            .to_dtype(DType::F64)?
            * 2.0)?;
        let loss_w = randn(&[b, u], 9, DType::F64)?;
        for reverse in [false, true] {
            for gates in [4usize, 3] {
                let g = gates * u;
                let var = |dims: &[usize], seed| -> candle_core::Result<Var> {
                    Var::from_tensor(&(randn(dims, seed, DType::F64)? * 0.7)?)
                };
                let vars = [
                    var(&[b, t, f], 1)?,
                    var(&[f, g], 2)?,
                    var(&[g], 3)?,
                    var(&[u, g], 4)?,
                    var(&[b, u], 5)?,
                    var(&[v, g], 6)?,
                ];
                let [x, kernel, bias, w_hh, h0, table] = vars.each_ref().map(|v| v.as_tensor());
                let (m, rd) = (Some(&mask), Some(&rd));
                let last = if reverse { 0 } else { t - 1 };
                let grads = |outputs: Outputs| -> candle_core::Result<Vec<Vec<f64>>> {
                    let outs = if gates == 4 {
                        [
                            lstm_projected(x, kernel, bias, w_hh, h0, h0, m, rd, reverse, outputs)?,
                            lstm_embedded(&ids, table, w_hh, h0, h0, m, rd, reverse, outputs)?,
                        ]
                    } else {
                        [
                            gru_projected(
                                x, kernel, bias, w_hh, bias, h0, m, rd, reverse, outputs,
                            )?,
                            gru_embedded(&ids, table, w_hh, bias, h0, m, rd, reverse, outputs)?,
                        ]
                    };
                    let mut loss = Tensor::zeros((), DType::F64, &CPU)?;
                    for out in outs {
                        let fin = match outputs {
                            Outputs::Final => out,
                            Outputs::Sequence => out.narrow(1, last, 1)?.squeeze(1)?,
                        };
                        loss = (loss + (fin * &loss_w)?.sum_all()?)?;
                    }
                    let store = loss.backward()?;
                    vars.iter()
                        .map(|v| match store.get(v.as_tensor()) {
                            Some(g) => g.flatten_all()?.to_vec1::<f64>(),
                            None => Ok(vec![0.0; v.elem_count()]),
                        })
                        .collect()
                };
                let (want, got) = (grads(SEQ)?, grads(Outputs::Final)?);
                for (k, (a, z)) in want.iter().zip(&got).enumerate() {
                    let diff = a
                        .iter()
                        .zip(z)
                        .map(|(a, z)| (a - z).abs())
                        .fold(0.0, f64::max);
                    assert!(
                        diff < 1e-10,
                        "u {u} gates {gates} reverse {reverse}: gradient {k} differs by {diff}"
                    );
                }
            }
        }
    }
    Ok(())
}

/// Inference reuses a layer's projected embedding table only while the weights it came from are
/// unchanged: after an update the next call sees the new weights.
#[test]
fn cached_tables_follow_weight_updates() -> TestResult {
    let s = spec(
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 8},
            {"type": "bidirectional", "layer": {"type": "gru", "units": 4}},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let (model, varmap) = TextClassifier::init(&s, 9, 3, &CPU)?;
    let ids = tokens(6, 9, 30, None)?;
    let infer = || no_grad(|| model.forward_t(&ids, &mut Mode::Eval));
    let first = infer()?;
    assert_eq!(max_abs_diff(&first, &infer()?)?, 0.0);
    for name in ["embedding.embeddings", "bidirectional.backward.kernel"] {
        let vars = varmap.data().lock().map_err(|e| e.to_string())?;
        let var = vars.get(name).ok_or(format!("no variable {name}"))?;
        var.set(&(var.as_tensor() * 1.5)?)?;
        drop(vars);
        let updated = infer()?;
        // The plain path (a single row: 9 tokens < 30 rows) with the same weights.
        let rows = (0..6)
            .map(|r| model.forward_t(&ids.narrow(0, r, 1)?, &mut Mode::Eval))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let plain = Tensor::cat(&rows, 0)?;
        assert!(
            max_abs_diff(&updated, &plain)? < 1e-5,
            "after updating {name}"
        );
        assert!(
            max_abs_diff(&updated, &first)? > 1e-4,
            "{name} had no effect"
        );
    }
    Ok(())
}

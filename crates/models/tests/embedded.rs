//! Inference with the embedding folded into the first recurrent layer (`forward_embedded`)
//! against the plain path: embedding lookup, then the layer's own projection.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{max_abs_diff, randn, spec, tokens, TestResult};
use textrnn_models::{Classifier, Mode, TextClassifier};

const CPU: Device = Device::Cpu;

/// Whole models: a batch of 6 x 9 = 54 tokens over a 30-row vocabulary runs folded; each row
/// alone (9 tokens) runs the plain path. Outputs agree, in `Mode::Infer` and under autograd, and
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
            let folded = model.forward_t(&ids, &mut Mode::Infer)?;
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
    let infer = || model.forward_t(&ids, &mut Mode::Infer);
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

/// `forward_recording` runs the embedding unfolded and records its lookup: the logits and every
/// variable's gradient equal the folded pass' (6 x 9 = 54 tokens over 30 rows fold), and the
/// probe's gradient holds each occurrence's share of the table's gradient, which its rows
/// add up to. A frozen table records nothing.
#[test]
fn recorded_lookups_carry_every_occurrence_gradient() -> TestResult {
    let s = spec(
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 8, "mask_zero": true},
            {"type": "lstm", "units": 5},
            {"type": "dense", "units": 3, "activation": "softmax"}]"#,
    )?;
    let (model, varmap) = TextClassifier::init(&s, 9, 7, &CPU)?;
    let ids = tokens(6, 9, 30, Some(4))?;
    let weights = randn(&[6, 3], 11, DType::F32)?;
    let folded = model.forward_t(&ids, &mut Mode::Eval)?;
    let (recorded, lookups) = model.forward_recording(&ids, &mut Mode::Eval)?;
    assert!(max_abs_diff(&folded, &recorded)? < 1e-6);
    let [lookup] = lookups.as_slice() else {
        return Err(format!("{} lookups, expected 1", lookups.len()).into());
    };
    assert_eq!(
        lookup.ids.to_vec1::<u32>()?,
        ids.flatten_all()?.to_vec1::<u32>()?
    );
    assert_eq!(lookup.probe.dims(), &[54, 8]);
    let folded_grads = folded.mul(&weights)?.sum_all()?.backward()?;
    let recorded_grads = recorded.mul(&weights)?.sum_all()?.backward()?;
    for (name, var) in varmap.data().lock().map_err(|e| e.to_string())?.iter() {
        let (Some(a), Some(b)) = (
            folded_grads.get(var.as_tensor()),
            recorded_grads.get(var.as_tensor()),
        ) else {
            return Err(format!("no gradient for {name}").into());
        };
        assert!(max_abs_diff(a, b)? < 1e-5, "d{name}");
    }
    let per_occurrence = recorded_grads
        .get(lookup.probe.as_tensor())
        .ok_or("no gradient for the probe")?;
    let table_grad = recorded_grads
        .get(&lookup.table)
        .ok_or("no gradient for the table")?;
    let summed = lookup
        .table
        .zeros_like()?
        .index_add(&lookup.ids, per_occurrence, 0)?;
    assert!(max_abs_diff(&summed, table_grad)? < 1e-6);
    // padding occurrences (masked out of the LSTM) get no gradient
    let flat = lookup.ids.to_vec1::<u32>()?;
    let norms = per_occurrence.sqr()?.sum(1)?.to_vec1::<f32>()?;
    for (id, norm) in flat.iter().zip(&norms) {
        assert_eq!(*id == 0, *norm == 0.0, "id {id}: |g|² = {norm}");
    }

    let frozen = spec(
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 8, "trainable": false},
            {"type": "gru", "units": 4},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let (model, _varmap) = TextClassifier::init(&frozen, 9, 7, &CPU)?;
    let (_, lookups) = model.forward_recording(&ids, &mut Mode::Eval)?;
    assert!(lookups.is_empty());
    Ok(())
}

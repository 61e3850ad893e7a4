//! Inference with the embedding folded into the first recurrent layer (`forward_embedded`,
//! `recurrent::{lstm_embedded, gru_embedded}`) against the plain path: embedding lookup, then
//! the layer's own projection.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{max_abs_diff, randn, spec, tokens, TestResult};
use textrnn_models::recurrent::{
    gru_embedded, gru_sequence, lstm_embedded, lstm_sequence, no_grad,
};
use textrnn_models::{Classifier, Mode, TextClassifier};

const CPU: Device = Device::Cpu;

/// Whole models: `no_grad` inference (folded when the vocabulary is smaller than the batch's
/// token count) equals the differentiable `Mode::Eval` pass (never folded).
#[test]
fn folded_models_match_plain_inference() -> TestResult {
    let heads = r#"{"type": "dense", "units": 3, "activation": "softmax"}"#;
    for (layers, pad) in [
        (r#"{"type": "lstm", "units": 5}"#, None),
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
            let (model, _) = TextClassifier::init(&s, 9, 7, &CPU)?;
            // 6 x 9 = 54 tokens > 30 rows: the folded path runs.
            let ids = tokens(6, 9, 30, pad)?;
            let plain = model.forward_t(&ids, &mut Mode::Eval)?;
            let folded = no_grad(|| model.forward_t(&ids, &mut Mode::Eval))?;
            assert_eq!(plain.dims(), folded.dims());
            let diff = max_abs_diff(&plain, &folded)?;
            assert!(diff < 1e-5, "{layers} mask_zero={mask_zero}: {diff}");
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
        let got = lstm_embedded(&ids, &table, &w_hh, &h0, &c0, Some(&mask), reverse)?;
        assert!(max_abs_diff(&want, &got)? < 1e-12);
        // GRU.
        let table = randn(&[v, 3 * u], 3, DType::F64)?;
        let w_hh = (randn(&[u, 3 * u], 4, DType::F64)? * 0.5)?;
        let b_hh = randn(&[3 * u], 7, DType::F64)?;
        let xproj = table
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, 3 * u))?;
        let want = gru_sequence(&xproj, &w_hh, &b_hh, &h0, Some(&mask), None, reverse)?;
        let got = gru_embedded(&ids, &table, &w_hh, &b_hh, &h0, Some(&mask), reverse)?;
        assert!(max_abs_diff(&want, &got)? < 1e-12);
    }
    let bad = Tensor::new(&[[1u32, 11]], &CPU)?;
    let table = randn(&[v, 4 * u], 1, DType::F64)?;
    let w_hh = randn(&[u, 4 * u], 2, DType::F64)?;
    let h = randn(&[1, u], 5, DType::F64)?;
    let err = lstm_embedded(&bad, &table, &w_hh, &h, &h, None, false)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("token id 11"), "{err}");
    let tracked = candle_core::Var::from_tensor(&table)?;
    let err = lstm_embedded(&bad, tracked.as_tensor(), &w_hh, &h, &h, None, false)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("token id 11"), "{err}");
    Ok(())
}

//! Forward shapes of every layer and of stacked / bidirectional / return_sequences models,
//! conv and pooling lengths checked against brute-force references, masking semantics.

mod common;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use common::{max_abs_diff, randn, spec, tokens, TestResult};
use textrnn_models::{
    conv1d, dense, embedding, init_params, recurrent_layer, Activation, Classifier, Conv1dSpec,
    GruSpec, LstmSpec, MaxPooling1d, MaxPooling1dSpec, Mode, Padding, ParamSpec, RecurrentSpec,
    TextClassifier,
};

const CPU: Device = Device::Cpu;

fn lstm(units: usize, return_sequences: bool) -> RecurrentSpec {
    RecurrentSpec::Lstm(LstmSpec {
        units,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        return_sequences,
    })
}

fn gru(units: usize, return_sequences: bool) -> RecurrentSpec {
    RecurrentSpec::Gru(GruSpec {
        units,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        return_sequences,
        reset_after: true,
    })
}

/// A VarMap-backed builder with seeded Keras init for `params` under no prefix.
fn seeded_vb(params: &[ParamSpec], dtype: DType) -> textrnn_models::Result<VarBuilder<'static>> {
    let vm = init_params(params, 3, dtype, &CPU)?;
    Ok(VarBuilder::from_varmap(&vm, dtype, &CPU))
}

#[test]
fn embedding_and_dense_shapes() -> TestResult {
    let emb = embedding(20, 6, false, VarBuilder::zeros(DType::F32, &CPU))?;
    let ids = tokens(3, 7, 20, None)?;
    let x = emb.forward(&ids)?;
    assert_eq!(x.dims(), &[3, 7, 6]);
    assert!(emb.compute_mask(&ids)?.is_none());
    let d = dense(6, 4, Activation::Tanh, VarBuilder::zeros(DType::F32, &CPU))?;
    assert_eq!(d.forward(&x)?.dims(), &[3, 7, 4]);
    assert_eq!(d.forward(&x.narrow(1, 0, 1)?.squeeze(1)?)?.dims(), &[3, 4]);
    // An out-of-vocabulary id is an error, not a panic.
    let bad = Tensor::new(&[[25u32]], &CPU)?;
    assert!(emb.forward(&bad).is_err());
    Ok(())
}

#[test]
fn recurrent_shapes() -> TestResult {
    let x = randn(&[2, 5, 3], 1, DType::F32)?;
    for (cell, bi, want) in [
        (lstm(4, false), false, vec![2, 4]),
        (lstm(4, true), false, vec![2, 5, 4]),
        (lstm(4, false), true, vec![2, 8]),
        (lstm(4, true), true, vec![2, 5, 8]),
        (gru(4, false), false, vec![2, 4]),
        (gru(4, true), false, vec![2, 5, 4]),
        (gru(4, false), true, vec![2, 8]),
        (gru(4, true), true, vec![2, 5, 8]),
    ] {
        let layer = recurrent_layer(3, &cell, bi, VarBuilder::zeros(DType::F32, &CPU))?;
        assert_eq!(
            layer.forward_t(&x, None, &mut Mode::Eval)?.dims(),
            want.as_slice()
        );
        assert_eq!(layer.output_dim(), want[want.len() - 1]);
    }
    Ok(())
}

/// The final state of a bidirectional layer is `[forward out[T-1], backward out[0]]` of the
/// same layer with `return_sequences`.
#[test]
fn bidirectional_final_state_is_last_forward_first_backward() -> TestResult {
    let x = randn(&[2, 6, 3], 2, DType::F32)?;
    for (seq, last) in [
        (lstm(5, true), lstm(5, false)),
        (gru(5, true), gru(5, false)),
    ] {
        let params: Vec<ParamSpec> = {
            let s = spec(&format!(
                r#"[{{"type": "embedding", "input_dim": 10, "output_dim": 3}},
                    {{"type": "bidirectional", "layer": {}}},
                    {{"type": "dense", "units": 1, "activation": "sigmoid"}}]"#,
                serde_json::to_string(&last)?
            ))?;
            s.param_specs(6)?
        };
        let vm = init_params(&params, 9, DType::F32, &CPU)?;
        let vb = VarBuilder::from_varmap(&vm, DType::F32, &CPU).pp("bidirectional");
        let full =
            recurrent_layer(3, &seq, true, vb.clone())?.forward_t(&x, None, &mut Mode::Eval)?;
        let fin = recurrent_layer(3, &last, true, vb)?.forward_t(&x, None, &mut Mode::Eval)?;
        let fwd = full.narrow(1, 5, 1)?.squeeze(1)?.narrow(1, 0, 5)?;
        let bwd = full.narrow(1, 0, 1)?.squeeze(1)?.narrow(1, 5, 5)?;
        let want = Tensor::cat(&[&fwd, &bwd], 1)?;
        assert!(max_abs_diff(&fin, &want)? < 1e-6);
        // The two directions differ (different weights, different order).
        assert!(max_abs_diff(&fwd, &bwd)? > 1e-4);
    }
    Ok(())
}

/// Brute-force Keras Conv1D: `y[j, f] = b[f] + Σ_{k,c} x[j·s + k − pad_l, c] · K[k, c, f]`.
fn conv_reference(
    x: &[Vec<f64>],
    kernel: &[Vec<Vec<f64>>],
    bias: &[f64],
    stride: usize,
    same: bool,
) -> Vec<Vec<f64>> {
    let (t, k) = (x.len(), kernel.len());
    let (t_out, left) = if same {
        let out = t.div_ceil(stride);
        let total = ((out - 1) * stride + k).saturating_sub(t);
        (out, total / 2)
    } else {
        ((t - k) / stride + 1, 0)
    };
    (0..t_out)
        .map(|j| {
            (0..bias.len())
                .map(|f| {
                    let mut acc = bias[f];
                    for (kk, kernel_k) in kernel.iter().enumerate() {
                        let pos = (j * stride + kk) as i64 - left as i64;
                        if pos < 0 || pos >= t as i64 {
                            continue;
                        }
                        for (c, xc) in x[pos as usize].iter().enumerate() {
                            acc += xc * kernel_k[c][f];
                        }
                    }
                    acc
                })
                .collect()
        })
        .collect()
}

#[test]
fn conv1d_lengths_and_values() -> TestResult {
    // (T, k, s, padding) → T'
    for (t, k, s, padding, t_out) in [
        (10, 3, 1, Padding::Valid, 8),
        (10, 3, 1, Padding::Same, 10),
        (10, 3, 2, Padding::Valid, 4),
        (10, 3, 2, Padding::Same, 5),
        (10, 4, 3, Padding::Same, 4),
        (10, 4, 3, Padding::Valid, 3),
        (7, 2, 1, Padding::Same, 7),
    ] {
        let cs = Conv1dSpec {
            filters: 5,
            kernel_size: k,
            strides: s,
            padding,
            activation: Activation::Linear,
        };
        let params = vec![
            ParamSpec {
                path: "kernel".into(),
                shape: vec![k, 3, 5],
                init: textrnn_models::Initializer::GlorotUniform,
            },
            ParamSpec {
                path: "bias".into(),
                shape: vec![5],
                init: textrnn_models::Initializer::Uniform {
                    low: -1.0,
                    high: 1.0,
                },
            },
        ];
        let vb = seeded_vb(&params, DType::F64)?;
        let conv = conv1d(3, &cs, vb.clone())?;
        let x = randn(&[2, t, 3], 4, DType::F64)?;
        let y = conv.forward(&x)?;
        assert_eq!(y.dims(), &[2, t_out, 5], "T={t} k={k} s={s} {padding:?}");
        let kernel = vb.get((k, 3, 5), "kernel")?.to_vec3::<f64>()?;
        let bias = vb.get(5, "bias")?.to_vec1::<f64>()?;
        let xs = x.to_vec3::<f64>()?;
        let ys = y.to_vec3::<f64>()?;
        for b in 0..2 {
            let want = conv_reference(&xs[b], &kernel, &bias, s, padding == Padding::Same);
            for (row, wrow) in ys[b].iter().zip(&want) {
                for (a, w) in row.iter().zip(wrow) {
                    assert!(
                        (a - w).abs() < 1e-12,
                        "T={t} k={k} s={s} {padding:?}: {a} vs {w}"
                    );
                }
            }
        }
    }
    Ok(())
}

#[test]
fn max_pooling1d_lengths_and_values() -> TestResult {
    for (t, p, s, padding, t_out) in [
        (10, 2, None, Padding::Valid, 5),
        (11, 2, None, Padding::Valid, 5),
        (10, 3, None, Padding::Valid, 3),
        (10, 3, Some(1), Padding::Valid, 8),
        (10, 3, Some(2), Padding::Same, 5),
        (11, 2, None, Padding::Same, 6),
        (5, 4, Some(3), Padding::Same, 2),
    ] {
        let pool = MaxPooling1d::new(&MaxPooling1dSpec {
            pool_size: p,
            strides: s,
            padding,
        });
        let x = randn(&[2, t, 3], 5, DType::F64)?;
        let y = pool.forward(&x)?;
        assert_eq!(y.dims(), &[2, t_out, 3], "T={t} p={p} s={s:?} {padding:?}");
        // Reference: padded positions are -inf (never win).
        let s = s.unwrap_or(p);
        let left = if padding == Padding::Same {
            (((t_out - 1) * s + p).saturating_sub(t)) / 2
        } else {
            0
        };
        let xs = x.to_vec3::<f64>()?;
        let ys = y.to_vec3::<f64>()?;
        for (xb, yb) in xs.iter().zip(&ys) {
            for (j, yrow) in yb.iter().enumerate() {
                for (c, got) in yrow.iter().enumerate() {
                    let want = (0..p)
                        .filter_map(|k| {
                            let pos = (j * s + k) as i64 - left as i64;
                            (0..t as i64).contains(&pos).then(|| xb[pos as usize][c])
                        })
                        .fold(f64::NEG_INFINITY, f64::max);
                    assert_eq!(*got, want);
                }
            }
        }
    }
    Ok(())
}

#[test]
fn stacked_models_forward_shapes() -> TestResult {
    let cases = [
        (
            r#"[{"type": "embedding", "input_dim": 50, "output_dim": 8},
                {"type": "lstm", "units": 5, "return_sequences": true},
                {"type": "gru", "units": 6, "return_sequences": true},
                {"type": "lstm", "units": 7},
                {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
            1,
        ),
        (
            r#"[{"type": "embedding", "input_dim": 50, "output_dim": 8},
                {"type": "conv1d", "filters": 6, "kernel_size": 3, "padding": "same", "activation": "relu"},
                {"type": "max_pooling1d", "pool_size": 2},
                {"type": "bidirectional", "layer": {"type": "lstm", "units": 4, "return_sequences": true}},
                {"type": "bidirectional", "layer": {"type": "gru", "units": 3}},
                {"type": "dense", "units": 8, "activation": "relu"},
                {"type": "dropout", "rate": 0.5},
                {"type": "dense", "units": 4, "activation": "softmax"}]"#,
            4,
        ),
        (
            r#"[{"type": "embedding", "input_dim": 50, "output_dim": 8, "mask_zero": true},
                {"type": "dense", "units": 6, "activation": "tanh"},
                {"type": "gru", "units": 5},
                {"type": "dense", "units": 3, "activation": "softmax"}]"#,
            3,
        ),
    ];
    for (layers, classes) in cases {
        let s = spec(layers)?;
        let (model, _) = TextClassifier::init(&s, 12, 1, &CPU)?;
        let ids = tokens(3, 12, 50, Some(9))?;
        let logits = model.forward_t(&ids, &mut Mode::Eval)?;
        assert_eq!(logits.dims(), &[3, classes]);
        assert_eq!(model.output().n_classes(), classes.max(2));
        let finite = logits
            .flatten_all()?
            .to_vec1::<f32>()?
            .iter()
            .all(|v| v.is_finite());
        assert!(finite);
    }
    Ok(())
}

/// With `mask_zero`, post-padding does not change the logits (masked steps carry the state,
/// the backward direction starts from zeros across the padding).
#[test]
fn masking_ignores_padding() -> TestResult {
    for layers in [
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 6, "mask_zero": true},
            {"type": "bidirectional", "layer": {"type": "gru", "units": 4, "return_sequences": true}},
            {"type": "lstm", "units": 3},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 6, "mask_zero": true},
            {"type": "bidirectional", "layer": {"type": "lstm", "units": 4}},
            {"type": "dense", "units": 3, "activation": "softmax"}]"#,
    ] {
        let s = spec(layers)?;
        let (model, _) = TextClassifier::init(&s, 8, 5, &CPU)?;
        let padded = tokens(2, 8, 30, Some(5))?;
        let short = padded.narrow(1, 0, 5)?;
        let a = model.forward_t(&padded, &mut Mode::Eval)?;
        let b = model.forward_t(&short, &mut Mode::Eval)?;
        assert!(max_abs_diff(&a, &b)? < 1e-6);
        // Without the mask the padding does matter.
        let unmasked = spec(&layers.replace(r#""mask_zero": true"#, r#""mask_zero": false"#))?;
        let (model, _) = TextClassifier::init(&unmasked, 8, 5, &CPU)?;
        let a = model.forward_t(&padded, &mut Mode::Eval)?;
        let b = model.forward_t(&short, &mut Mode::Eval)?;
        assert!(max_abs_diff(&a, &b)? > 1e-6);
    }
    Ok(())
}

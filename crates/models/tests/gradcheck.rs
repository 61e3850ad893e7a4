//! Gradients of a bidirectional layer and of small full models against central finite
//! differences in f64: `(L(w + ε) − L(w − ε)) / 2ε`, `ε = 1e-6`, relative error < 1e-4 where
//! `rel = |num − ana| / max(|num|, |ana|, 1e-4)`. The loss is `Σ y ⊙ R` with a fixed random `R`
//! so that every output element matters.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use common::{randn, spec, tokens, TestResult};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::{
    init_params, recurrent_layer, Classifier, Mode, ModelSpec, RecurrentSpec, TextClassifier,
};

const CPU: Device = Device::Cpu;
const EPS: f64 = 1e-6;

fn perturb(var: &Var, flat: usize, delta: f64) -> candle_core::Result<()> {
    let t = var.as_tensor();
    let mut v = t.flatten_all()?.to_vec1::<f64>()?;
    v[flat] += delta;
    var.set(&Tensor::from_vec(v, t.dims(), &CPU)?)
}

/// Checks `checks_per_var` random entries of every variable; `loss` must be deterministic.
fn check(
    vars: &[(String, Var)],
    loss: &dyn Fn() -> candle_core::Result<Tensor>,
    checks_per_var: usize,
    seed: u64,
) -> TestResult {
    let l = loss()?;
    let grads = l.backward()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut nonzero = 0;
    for (name, var) in vars {
        let g = grads
            .get(var.as_tensor())
            .ok_or_else(|| format!("no gradient for {name}"))?
            .flatten_all()?
            .to_vec1::<f64>()?;
        for _ in 0..checks_per_var {
            let i = rng.random_range(0..g.len());
            perturb(var, i, EPS)?;
            let up = loss()?.to_vec0::<f64>()?;
            perturb(var, i, -2.0 * EPS)?;
            let down = loss()?.to_vec0::<f64>()?;
            perturb(var, i, EPS)?;
            let num = (up - down) / (2.0 * EPS);
            let rel = (num - g[i]).abs() / num.abs().max(g[i].abs()).max(1e-4);
            assert!(
                rel < 1e-4,
                "{name}[{i}]: analytic {} numeric {num} (rel {rel:e})",
                g[i]
            );
            if g[i].abs() > 1e-6 {
                nonzero += 1;
            }
        }
    }
    assert!(
        nonzero > vars.len(),
        "too few non-trivial gradients checked ({nonzero})"
    );
    Ok(())
}

fn weighted_sum(y: &Tensor, seed: u64) -> candle_core::Result<Tensor> {
    y.mul(&randn(y.dims(), seed, DType::F64)?)?.sum_all()
}

fn named_vars(vm: &candle_nn::VarMap) -> Result<Vec<(String, Var)>, Box<dyn std::error::Error>> {
    let data = vm.data().lock().map_err(|e| e.to_string())?;
    let mut v: Vec<_> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(v)
}

#[test]
fn bidirectional_layer_gradients() -> TestResult {
    for (cell, return_sequences) in [
        (
            r#"{"type": "lstm", "units": 4, "return_sequences": true}"#,
            true,
        ),
        (r#"{"type": "gru", "units": 4}"#, false),
        (r#"{"type": "lstm", "units": 3}"#, false),
    ] {
        // Parameters do not depend on return_sequences; a trailing GRU keeps the spec valid.
        let tail = if return_sequences {
            r#"{"type": "gru", "units": 1},"#
        } else {
            ""
        };
        let s = spec(&format!(
            r#"[{{"type": "embedding", "input_dim": 9, "output_dim": 3}},
                {{"type": "bidirectional", "layer": {cell}}}, {tail}
                {{"type": "dense", "units": 1, "activation": "sigmoid"}}]"#
        ))?;
        let cell: RecurrentSpec = serde_json::from_str(cell)?;
        // Only the bidirectional layer's parameters.
        let params: Vec<_> = s
            .param_specs(5)?
            .into_iter()
            .filter(|p| p.path.starts_with("bidirectional."))
            .collect();
        let vm = init_params(&params, 11, DType::F64, &CPU)?;
        // Non-zero biases so their gradients are exercised at a generic point.
        for (_, v) in named_vars(&vm)? {
            if v.as_tensor().rank() == 1 || v.dims()[0] == 2 {
                v.set(&randn(v.dims(), 17, DType::F64)?.affine(0.3, 0.0)?)?;
            }
        }
        let vb = VarBuilder::from_varmap(&vm, DType::F64, &CPU).pp("bidirectional");
        let layer = recurrent_layer(3, &cell, true, vb)?;
        assert_eq!(layer.return_sequences(), return_sequences);
        let x = randn(&[2, 5, 3], 3, DType::F64)?;
        // Post-padding mask on the second example exercises the masked path.
        let mask = Tensor::new(&[[1f64, 1., 1., 1., 1.], [1., 1., 1., 0., 0.]], &CPU)?;
        let loss = || -> candle_core::Result<Tensor> {
            weighted_sum(&layer.forward_t(&x, Some(&mask), &mut Mode::Eval)?, 23)
        };
        check(&named_vars(&vm)?, &loss, 4, 1)?;
    }
    Ok(())
}

fn model_gradients(s: &ModelSpec, seq_len: usize, vocab: u32) -> TestResult {
    let params = s.param_specs(seq_len)?;
    let vm = init_params(&params, 5, DType::F64, &CPU)?;
    for (name, v) in named_vars(&vm)? {
        if name.ends_with("bias") {
            v.set(&randn(v.dims(), 29, DType::F64)?.affine(0.2, 0.0)?)?;
        }
    }
    let model = TextClassifier::new(s, seq_len, VarBuilder::from_varmap(&vm, DType::F64, &CPU))?;
    assert_eq!(model.vars().len(), params.len());
    let ids = tokens(3, seq_len, vocab, Some(seq_len - 2))?;
    let loss = || -> candle_core::Result<Tensor> {
        weighted_sum(&model.forward_t(&ids, &mut Mode::Eval)?, 31)
    };
    let mut vars = named_vars(&vm)?;
    // Check embedding rows that the batch uses (random rows mostly have zero gradient).
    vars.retain(|(n, _)| n != "embedding.embeddings");
    check(&vars, &loss, 3, 2)?;
    let l = loss()?;
    let grads = l.backward()?;
    let emb = vm
        .data()
        .lock()
        .map_err(|e| e.to_string())?
        .get("embedding.embeddings")
        .cloned()
        .ok_or("no embedding")?;
    let g = grads.get(emb.as_tensor()).ok_or("no embedding gradient")?;
    let width = emb.dims()[1];
    let row = ids.flatten_all()?.to_vec1::<u32>()?[1] as usize;
    let ga = g.flatten_all()?.to_vec1::<f64>()?;
    for col in 0..width.min(3) {
        let i = row * width + col;
        perturb(&emb, i, EPS)?;
        let up = loss()?.to_vec0::<f64>()?;
        perturb(&emb, i, -2.0 * EPS)?;
        let down = loss()?.to_vec0::<f64>()?;
        perturb(&emb, i, EPS)?;
        let num = (up - down) / (2.0 * EPS);
        let rel = (num - ga[i]).abs() / num.abs().max(ga[i].abs()).max(1e-4);
        assert!(rel < 1e-4, "embedding[{row}, {col}]: {} vs {num}", ga[i]);
    }
    Ok(())
}

#[test]
fn masked_recurrent_model_gradients() -> TestResult {
    let s = spec(
        r#"[{"type": "embedding", "input_dim": 20, "output_dim": 4, "mask_zero": true},
            {"type": "bidirectional", "layer": {"type": "gru", "units": 3, "return_sequences": true}},
            {"type": "lstm", "units": 3},
            {"type": "dense", "units": 4, "activation": "tanh"},
            {"type": "dense", "units": 3, "activation": "softmax"}]"#,
    )?;
    model_gradients(&s, 6, 20)
}

#[test]
fn conv_pool_model_gradients() -> TestResult {
    let s = spec(
        r#"[{"type": "embedding", "input_dim": 20, "output_dim": 4},
            {"type": "conv1d", "filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
            {"type": "max_pooling1d", "pool_size": 2, "strides": 1},
            {"type": "bidirectional", "layer": {"type": "lstm", "units": 2}},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    model_gradients(&s, 9, 20)
}

//! Dropout (elementwise, input and recurrent): identity in Eval, seeded and unbiased in Train.

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{max_abs_diff, randn, spec, tokens, TestResult};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::{
    init_params, recurrent_layer, Classifier, Dropout, LstmSpec, Mode, RecurrentSpec,
    TextClassifier,
};

const CPU: Device = Device::Cpu;

#[test]
fn eval_is_identity() -> TestResult {
    let x = randn(&[3, 4, 5], 1, DType::F32)?;
    let y = Dropout::new(0.4).forward_t(&x, &mut Mode::Eval)?;
    assert_eq!(max_abs_diff(&x, &y)?, 0.0);
    Ok(())
}

#[test]
fn train_is_seeded_and_unbiased() -> TestResult {
    let n = 200_000;
    let x = Tensor::ones(n, DType::F32, &CPU)?;
    let d = Dropout::new(0.3);
    let draw = |seed| -> candle_core::Result<Vec<f32>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        d.forward_t(&x, &mut Mode::Train(&mut rng))?
            .to_vec1::<f32>()
    };
    let a = draw(9)?;
    assert_eq!(a, draw(9)?);
    assert_ne!(a, draw(10)?);
    let scale = 1.0 / 0.7;
    assert!(a.iter().all(|v| *v == 0.0 || (v - scale).abs() < 1e-6));
    // Mean of the kept-and-scaled values ≈ 1 (std of the mean ≈ sqrt(p/(1-p)/n) ≈ 0.0015).
    let mean = a.iter().map(|v| *v as f64).sum::<f64>() / n as f64;
    assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
    let dropped = a.iter().filter(|v| **v == 0.0).count() as f64 / n as f64;
    assert!((dropped - 0.3).abs() < 0.01, "dropped {dropped}");
    // Rate 0 is the identity even in training.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let y = Dropout::new(0.0).forward_t(&x, &mut Mode::Train(&mut rng))?;
    assert_eq!(max_abs_diff(&x, &y)?, 0.0);
    Ok(())
}

#[test]
fn recurrent_dropout_is_seeded_and_inactive_in_eval() -> TestResult {
    let cell = RecurrentSpec::Lstm(LstmSpec {
        units: 6,
        dropout: 0.3,
        recurrent_dropout: 0.4,
        return_sequences: true,
    });
    let params: Vec<_> = spec(&format!(
        r#"[{{"type": "embedding", "input_dim": 9, "output_dim": 4}},
            {{"type": "bidirectional", "layer": {}}},
            {{"type": "lstm", "units": 2}},
            {{"type": "dense", "units": 1, "activation": "sigmoid"}}]"#,
        serde_json::to_string(&cell)?
    ))?
    .param_specs(7)?;
    let vm = init_params(&params, 2, DType::F32, &CPU)?;
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &CPU).pp("bidirectional");
    let layer = recurrent_layer(4, &cell, true, vb)?;
    let x = randn(&[3, 7, 4], 3, DType::F32)?;
    let run = |seed: Option<u64>| -> candle_core::Result<Tensor> {
        match seed {
            Some(s) => {
                let mut rng = ChaCha8Rng::seed_from_u64(s);
                layer.forward_t(&x, None, &mut Mode::Train(&mut rng))
            }
            None => layer.forward_t(&x, None, &mut Mode::Eval),
        }
    };
    let eval = run(None)?;
    assert_eq!(max_abs_diff(&eval, &run(None)?)?, 0.0);
    let a = run(Some(5))?;
    assert_eq!(max_abs_diff(&a, &run(Some(5))?)?, 0.0);
    assert!(max_abs_diff(&a, &run(Some(6))?)? > 1e-4);
    assert!(max_abs_diff(&a, &eval)? > 1e-4);
    Ok(())
}

#[test]
fn model_training_pass_is_seeded() -> TestResult {
    let s = spec(
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 8},
            {"type": "gru", "units": 5, "dropout": 0.2, "recurrent_dropout": 0.2},
            {"type": "dropout", "rate": 0.5},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let (model, _) = TextClassifier::init(&s, 6, 1, &CPU)?;
    let ids = tokens(4, 6, 30, None)?;
    let run = |seed| -> candle_core::Result<Vec<Vec<f32>>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        model
            .forward_t(&ids, &mut Mode::Train(&mut rng))?
            .to_vec2::<f32>()
    };
    assert_eq!(run(3)?, run(3)?);
    assert_ne!(run(3)?, run(4)?);
    Ok(())
}

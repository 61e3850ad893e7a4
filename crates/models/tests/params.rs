//! Parameter counts equal Keras' `model.summary()`.
//!
//! Reference formulas (Keras): Embedding `V·E`; Dense `F·U + U`; LSTM `4u(F + u + 1)`;
//! GRU (reset_after) `3u(F + u + 2)`; Bidirectional twice the wrapped layer; Conv1D `K·C·F + F`.

mod common;

use candle_core::Device;
use common::{spec, TestResult};
use textrnn_models::{LayerSpec, TextClassifier};

fn counts(layers: &str, seq_len: usize) -> Result<Vec<usize>, Box<dyn std::error::Error>> {
    let summary = spec(layers)?.summary(seq_len)?;
    Ok(summary.layers.iter().map(|l| l.params).collect())
}

#[test]
fn keras_bigru_example() -> TestResult {
    let s = spec(
        r#"[{"type": "embedding", "input_dim": 10000, "output_dim": 128},
            {"type": "bidirectional", "layer": {"type": "gru", "units": 64}},
            {"type": "dense", "units": 64, "activation": "relu"},
            {"type": "dropout", "rate": 0.3},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let summary = s.summary(200)?;
    // 10000·128; 2·3·64·(128 + 64 + 2); 128·64 + 64; 0; 64 + 1.
    let rows: Vec<_> = summary
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.output_shape.clone(), l.params))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("embedding", vec![200, 128], 1_280_000),
            ("bidirectional", vec![128], 74_496),
            ("dense", vec![64], 8_256),
            ("dropout", vec![64], 0),
            ("dense_1", vec![1], 65),
        ]
    );
    assert_eq!(summary.total_params, 1_362_817);
    assert_eq!(summary.trainable_params, 1_362_817);
    let table = summary.to_string();
    for needle in [
        "Model: \"test\"",
        "embedding (Embedding)",
        "(None, 200, 128)",
        "bidirectional (Bidirectional)",
        "(None, 128)",
        "dense_1 (Dense)",
        "Total params: 1,362,817",
        "Non-trainable params: 0",
    ] {
        assert!(table.contains(needle), "{needle:?} missing from\n{table}");
    }
    let json = serde_json::to_value(&summary)?;
    assert_eq!(json["total_params"], 1_362_817);
    // The initialised variables hold exactly as many scalars.
    let (_, varmap) = TextClassifier::init(&s, 200, 0, &Device::Cpu)?;
    let n: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
    assert_eq!(n, 1_362_817);
    Ok(())
}

#[test]
fn lstm_imdb() -> TestResult {
    // 5000·32; 4·100·(32 + 100 + 1); 100 + 1.
    let c = counts(
        r#"[{"type": "embedding", "input_dim": 5000, "output_dim": 32},
            {"type": "lstm", "units": 100},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
        500,
    )?;
    assert_eq!(c, vec![160_000, 53_200, 101]);
    Ok(())
}

#[test]
fn conv1d_same() -> TestResult {
    // Conv1D(32, 3) on 32 channels: 3·32·32 + 32 = 3104.
    let c = counts(
        r#"[{"type": "embedding", "input_dim": 5000, "output_dim": 32},
            {"type": "conv1d", "filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"type": "max_pooling1d", "pool_size": 2},
            {"type": "lstm", "units": 100},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
        500,
    )?;
    assert_eq!(c, vec![160_000, 3_104, 0, 53_200, 101]);
    Ok(())
}

#[test]
fn bilstm_on_25() -> TestResult {
    // 2·4·50·(25 + 50 + 1) = 30400.
    let c = counts(
        r#"[{"type": "embedding", "input_dim": 100, "output_dim": 25},
            {"type": "bidirectional", "layer": {"type": "lstm", "units": 50}},
            {"type": "dense", "units": 3, "activation": "softmax"}]"#,
        40,
    )?;
    assert_eq!(c, vec![2_500, 30_400, 303]);
    Ok(())
}

#[test]
fn stacked_lstm() -> TestResult {
    // 4·50·(25+50+1) = 15200; 4·60·(50+60+1) = 26640; 4·75·(60+75+1) = 40800.
    let s = spec(
        r#"[{"type": "embedding", "input_dim": 100, "output_dim": 25},
            {"type": "lstm", "units": 50, "return_sequences": true},
            {"type": "lstm", "units": 60, "return_sequences": true},
            {"type": "lstm", "units": 75},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let summary = s.summary(30)?;
    let c: Vec<_> = summary.layers.iter().map(|l| l.params).collect();
    assert_eq!(c, vec![2_500, 15_200, 26_640, 40_800, 76]);
    let names: Vec<_> = summary.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["embedding", "lstm", "lstm_1", "lstm_2", "dense"]
    );
    let shapes: Vec<_> = summary
        .layers
        .iter()
        .map(|l| l.output_shape.clone())
        .collect();
    assert_eq!(
        shapes,
        vec![vec![30, 25], vec![30, 50], vec![30, 60], vec![75], vec![1]]
    );
    Ok(())
}

#[test]
fn gru_on_128() -> TestResult {
    // 3·64·(128 + 64 + 2) = 37248.
    let c = counts(
        r#"[{"type": "embedding", "input_dim": 100, "output_dim": 128},
            {"type": "gru", "units": 64},
            {"type": "dense", "units": 4, "activation": "softmax"}]"#,
        20,
    )?;
    assert_eq!(c, vec![12_800, 37_248, 260]);
    Ok(())
}

#[test]
fn param_keys_are_stable() -> TestResult {
    let s = spec(
        r#"[{"type": "embedding", "input_dim": 100, "output_dim": 8},
            {"type": "bidirectional", "layer": {"type": "lstm", "units": 4, "return_sequences": true}},
            {"type": "gru", "units": 3},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let keys: Vec<_> = s
        .param_specs(10)?
        .into_iter()
        .map(|p| (p.path, p.shape))
        .collect();
    let want: Vec<(String, Vec<usize>)> = vec![
        ("embedding.embeddings".into(), vec![100, 8]),
        ("bidirectional.forward.kernel".into(), vec![8, 16]),
        ("bidirectional.forward.recurrent_kernel".into(), vec![4, 16]),
        ("bidirectional.forward.bias".into(), vec![16]),
        ("bidirectional.backward.kernel".into(), vec![8, 16]),
        (
            "bidirectional.backward.recurrent_kernel".into(),
            vec![4, 16],
        ),
        ("bidirectional.backward.bias".into(), vec![16]),
        ("gru.kernel".into(), vec![8, 9]),
        ("gru.recurrent_kernel".into(), vec![3, 9]),
        ("gru.bias".into(), vec![2, 9]),
        ("dense.kernel".into(), vec![3, 1]),
        ("dense.bias".into(), vec![1]),
    ];
    assert_eq!(keys, want);
    assert!(matches!(s.layers[0], LayerSpec::Embedding(_)));
    Ok(())
}

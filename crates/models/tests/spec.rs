//! Spec parsing (Keras names and defaults) and validation errors.

mod common;

use common::{spec, TestResult};
use textrnn_models::{Activation, Error, LayerSpec, ModelSpec, Output, Padding, RecurrentSpec};

fn invalid(layers: &str, seq_len: usize) -> Result<(String, String), Box<dyn std::error::Error>> {
    match spec(layers)?.summary(seq_len) {
        Err(Error::InvalidSpec { layer, reason }) => Ok((layer, reason)),
        Err(other) => Err(format!("unexpected error {other}").into()),
        Ok(_) => Err(format!("accepted an invalid spec: {layers}").into()),
    }
}

const EMB: &str = r#"{"type": "embedding", "input_dim": 100, "output_dim": 8}"#;
const OUT: &str = r#"{"type": "dense", "units": 1, "activation": "sigmoid"}"#;

#[test]
fn defaults_follow_keras() -> TestResult {
    let s = spec(
        r#"[{"type": "embedding", "output_dim": 8},
            {"type": "conv1d", "filters": 4, "kernel_size": 3},
            {"type": "max_pooling1d"},
            {"type": "bidirectional", "layer": {"type": "gru", "units": 4}},
            {"type": "dense", "units": 2, "activation": "softmax"}]"#,
    )?;
    let LayerSpec::Embedding(e) = &s.layers[0] else {
        return Err("embedding".into());
    };
    assert_eq!((e.input_dim, e.mask_zero), (None, false));
    let LayerSpec::Conv1d(c) = &s.layers[1] else {
        return Err("conv1d".into());
    };
    assert_eq!(
        (c.strides, c.padding, c.activation),
        (1, Padding::Valid, Activation::Linear)
    );
    let LayerSpec::MaxPooling1d(p) = &s.layers[2] else {
        return Err("pool".into());
    };
    assert_eq!(
        (p.pool_size, p.strides, p.stride(), p.padding),
        (2, None, 2, Padding::Valid)
    );
    let LayerSpec::Bidirectional(b) = &s.layers[3] else {
        return Err("bi".into());
    };
    let RecurrentSpec::Gru(g) = &b.layer else {
        return Err("gru".into());
    };
    assert!(g.reset_after && !g.return_sequences && g.dropout == 0.0 && g.recurrent_dropout == 0.0);
    assert_eq!(s.output()?, Output::Softmax(2));
    // input_dim must be filled before building.
    let (layer, reason) = match s.summary(20) {
        Err(Error::InvalidSpec { layer, reason }) => (layer, reason),
        other => return Err(format!("{other:?}").into()),
    };
    assert_eq!(layer, "layer 0 (embedding)");
    assert!(reason.contains("with_vocab_size"));
    let s = s.with_vocab_size(300);
    assert_eq!(s.summary(20)?.layers[0].params, 300 * 8);
    // Round trip through JSON.
    let back: ModelSpec = serde_json::from_str(&serde_json::to_string(&s)?)?;
    assert_eq!(back, s);
    Ok(())
}

#[test]
fn unknown_fields_and_values_are_rejected() -> TestResult {
    for layers in [
        r#"[{"type": "embedding", "output_dim": 8, "mask": true}]"#,
        r#"[{"type": "lstm", "units": 8, "unit": 3}]"#,
        r#"[{"type": "bidirectional", "layer": {"type": "gru", "units": 4, "foo": 1}}]"#,
        r#"[{"type": "dense", "units": 1, "activation": "gelu"}]"#,
        r#"[{"type": "conv1d", "filters": 1, "kernel_size": 1, "padding": "causal"}]"#,
        r#"[{"type": "flatten"}]"#,
    ] {
        assert!(spec(layers).is_err(), "accepted {layers}");
    }
    assert!(
        serde_json::from_str::<ModelSpec>(r#"{"name": "x", "layers": [], "extra": 1}"#).is_err()
    );
    Ok(())
}

#[test]
fn sigmoid_output_units_say_binary_or_multi_label() -> TestResult {
    // 1 sigmoid unit: binary; n > 1 sigmoid units: n independent labels (multi-label).
    for (units, expected) in [(1, Output::Sigmoid), (3, Output::MultiLabel(3))] {
        let s = spec(&format!(
            r#"[{EMB}, {{"type": "lstm", "units": 4}}, {{"type": "dense", "units": {units}, "activation": "sigmoid"}}]"#
        ))?;
        s.validate()?;
        assert_eq!(s.output()?, expected);
    }
    Ok(())
}

#[test]
fn validation_errors_name_the_layer() -> TestResult {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!(r#"[{OUT}]"#),
            "layer 0 (dense)",
            "first layer must be an embedding",
        ),
        (
            format!(r#"[{EMB}, {{"type": "lstm", "units": 4}}]"#),
            "layer 1 (lstm)",
            "last layer must be a dense",
        ),
        (
            format!(r#"[{EMB}, {{"type": "lstm", "units": 4}}, {{"type": "dense", "units": 1}}]"#),
            "layer 2 (dense)",
            "sigmoid or softmax",
        ),
        (
            format!(
                r#"[{EMB}, {{"type": "lstm", "units": 4}}, {{"type": "dense", "units": 1, "activation": "softmax"}}]"#
            ),
            "layer 2 (dense)",
            "at least 2 units",
        ),
        (
            format!(
                r#"[{EMB}, {{"type": "lstm", "units": 4}}, {{"type": "lstm", "units": 4}}, {OUT}]"#
            ),
            "layer 2 (lstm)",
            "return_sequences = true",
        ),
        (
            format!(
                r#"[{EMB}, {{"type": "gru", "units": 4}}, {{"type": "conv1d", "filters": 2, "kernel_size": 2}}, {{"type": "lstm", "units": 2}}, {OUT}]"#
            ),
            "layer 2 (conv1d)",
            "sequence input",
        ),
        (
            format!(r#"[{EMB}, {{"type": "lstm", "units": 4, "return_sequences": true}}, {OUT}]"#),
            "layer 2 (dense)",
            "return_sequences = false",
        ),
        (
            format!(r#"[{EMB}, {{"type": "lstm", "units": 0}}, {OUT}]"#),
            "layer 1 (lstm)",
            "units must be positive",
        ),
        (
            format!(r#"[{EMB}, {{"type": "lstm", "units": 4, "dropout": 1.0}}, {OUT}]"#),
            "layer 1 (lstm)",
            "dropout must lie in [0, 1)",
        ),
        (
            format!(r#"[{EMB}, {{"type": "gru", "units": 4, "recurrent_dropout": -0.1}}, {OUT}]"#),
            "layer 1 (gru)",
            "recurrent_dropout",
        ),
        (
            format!(
                r#"[{EMB}, {{"type": "lstm", "units": 4}}, {{"type": "dropout", "rate": 1.5}}, {OUT}]"#
            ),
            "layer 2 (dropout)",
            "rate must lie in [0, 1)",
        ),
        (
            format!(
                r#"[{EMB}, {{"type": "lstm", "units": 4}}, {{"type": "dense", "units": 0}}, {OUT}]"#
            ),
            "layer 2 (dense)",
            "units must be positive",
        ),
        (
            format!(
                r#"[{{"type": "embedding", "input_dim": 1, "output_dim": 8}}, {{"type": "lstm", "units": 4}}, {OUT}]"#
            ),
            "layer 0 (embedding)",
            "at least 2",
        ),
        (
            format!(r#"[{EMB}, {{"type": "gru", "units": 4, "reset_after": false}}, {OUT}]"#),
            "layer 1 (gru)",
            "reset_after = false is not supported",
        ),
        (
            format!(
                r#"[{EMB}, {{"type": "bidirectional", "layer": {{"type": "lstm", "units": 4}}, "merge_mode": "sum"}}, {OUT}]"#
            ),
            "layer 1 (bidirectional)",
            "only \"concat\"",
        ),
        (
            format!(
                r#"[{{"type": "embedding", "input_dim": 100, "output_dim": 8, "mask_zero": true}}, {{"type": "conv1d", "filters": 2, "kernel_size": 2}}, {{"type": "lstm", "units": 2}}, {OUT}]"#
            ),
            "layer 1 (conv1d)",
            "does not support masking",
        ),
        (
            format!(
                r#"[{EMB}, {{"type": "conv1d", "filters": 2, "kernel_size": 30}}, {{"type": "lstm", "units": 2}}, {OUT}]"#
            ),
            "layer 1 (conv1d)",
            "longer than the input",
        ),
        (
            format!(
                r#"[{EMB}, {{"type": "max_pooling1d", "pool_size": 30}}, {{"type": "lstm", "units": 2}}, {OUT}]"#
            ),
            "layer 1 (max_pooling1d)",
            "longer than the input",
        ),
        (
            format!(
                r#"[{EMB}, {{"type": "conv1d", "filters": 2, "kernel_size": 2, "activation": "softmax"}}, {{"type": "lstm", "units": 2}}, {OUT}]"#
            ),
            "layer 1 (conv1d)",
            "softmax",
        ),
        (
            format!(r#"[{EMB}, {EMB}, {{"type": "lstm", "units": 2}}, {OUT}]"#),
            "layer 1 (embedding)",
            "only be the first",
        ),
    ];
    for (layers, want_layer, want_reason) in cases {
        let (layer, reason) = invalid(&layers, 20)?;
        assert_eq!(layer, want_layer, "{layers}: {reason}");
        assert!(
            reason.contains(want_reason),
            "{layers}: {reason:?} lacks {want_reason:?}"
        );
        let message = Error::InvalidSpec { layer, reason }.to_string();
        assert!(message.contains(want_layer));
    }
    // validate() (no length) catches the structural ones and skips length checks.
    let long_kernel = spec(&format!(
        r#"[{EMB}, {{"type": "conv1d", "filters": 2, "kernel_size": 30}}, {{"type": "lstm", "units": 2}}, {OUT}]"#
    ))?;
    long_kernel.validate()?;
    assert!(spec(&format!(r#"[{OUT}]"#))?.validate().is_err());
    assert!(spec(r#"[]"#)?.validate().is_err());
    Ok(())
}

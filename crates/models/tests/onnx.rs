//! ONNX export without a runtime: the exported bytes decode (prost) to the expected graph (node
//! types, attributes, shapes), the recurrent weights land in ONNX's layout and gate order, and
//! the committed protobuf code matches the schema it was generated from. The numerical parity
//! with onnxruntime is tested at the workspace root (`tests/onnx_parity.rs`).

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{spec, TestResult};
use prost::Message;
use textrnn_models::onnx::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, ValueInfoProto,
};
use textrnn_models::onnx::{self, OnnxOptions, PaddingSide};
use textrnn_models::{ModelSpec, TextClassifier};

/// Exports `spec` at `seq_len` with seeded random weights and decodes the bytes.
fn export(
    spec: &ModelSpec,
    seq_len: usize,
    opts: &OnnxOptions,
) -> Result<ModelProto, Box<dyn std::error::Error>> {
    let (_, vars) = TextClassifier::init(spec, seq_len, 3, &Device::Cpu)?;
    let vb = VarBuilder::from_varmap(&vars, DType::F32, &Device::Cpu);
    let bytes = onnx::export(spec, seq_len, &vb, opts)?;
    Ok(ModelProto::decode(bytes.as_slice())?)
}

/// Exports `spec` with the given named weights.
fn export_with(
    spec: &ModelSpec,
    seq_len: usize,
    weights: HashMap<String, Tensor>,
) -> Result<GraphProto, Box<dyn std::error::Error>> {
    let vb = VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu);
    let bytes = onnx::export(spec, seq_len, &vb, &OnnxOptions::default())?;
    Ok(ModelProto::decode(bytes.as_slice())?
        .graph
        .unwrap_or_default())
}

fn ops(graph: &GraphProto) -> Vec<&str> {
    graph.node.iter().map(|n| n.op_type()).collect()
}

fn node<'a>(graph: &'a GraphProto, op: &str) -> &'a NodeProto {
    graph
        .node
        .iter()
        .find(|n| n.op_type() == op)
        .unwrap_or_else(|| panic!("no {op} node in {:?}", ops(graph)))
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> &'a AttributeProto {
    node.attribute
        .iter()
        .find(|a| a.name() == name)
        .unwrap_or_else(|| panic!("{} has no attribute {name}", node.op_type()))
}

/// An initializer's dims and f32 values.
fn init(graph: &GraphProto, name: &str) -> (Vec<i64>, Vec<f32>) {
    let t = graph
        .initializer
        .iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("no initializer {name}"));
    assert_eq!(t.data_type(), DataType::Float as i32, "{name}");
    let values = t
        .raw_data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (t.dims.clone(), values)
}

/// `(elem_type, dims)` of a graph input or output; a named dimension as -1.
fn signature(v: &ValueInfoProto) -> (i32, Vec<i64>) {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.clone())
    else {
        panic!("{} is not a tensor", v.name());
    };
    let dims = t
        .shape
        .clone()
        .unwrap_or_default()
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(dimension::Value::DimValue(v)) => *v,
            Some(dimension::Value::DimParam(p)) => {
                assert_eq!(p, "batch");
                -1
            }
            None => panic!("unnamed dimension"),
        })
        .collect();
    (t.elem_type(), dims)
}

/// `0, 1, 2, ...` as a tensor of `shape`.
fn arange(shape: &[usize]) -> candle_core::Result<Tensor> {
    let n: usize = shape.iter().product();
    Tensor::arange(0f32, n as f32, &Device::Cpu)?.reshape(shape)
}

#[test]
fn model_signature_and_opset() -> TestResult {
    let spec = spec(
        r#"[{"type": "embedding", "input_dim": 20, "output_dim": 4},
            {"type": "lstm", "units": 3},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let opts = OnnxOptions {
        doc: "a test".into(),
        metadata: vec![("classes".into(), "[\"neg\",\"pos\"]".into())],
        ..Default::default()
    };
    let model = export(&spec, 7, &opts)?;
    assert_eq!(model.ir_version(), 8);
    assert_eq!(model.opset_import.len(), 1);
    assert_eq!(model.opset_import[0].domain(), "");
    assert_eq!(model.opset_import[0].version(), 17);
    assert_eq!(model.producer_name(), "textrnn");
    assert_eq!(model.doc_string(), "a test");
    assert_eq!(model.metadata_props[0].key(), "classes");
    let graph = model.graph.unwrap_or_default();
    assert_eq!(graph.name(), "test");
    assert_eq!(graph.input.len(), 1);
    assert_eq!(graph.input[0].name(), "input_ids");
    assert_eq!(
        signature(&graph.input[0]),
        (DataType::Int64 as i32, vec![-1, 7])
    );
    assert_eq!(graph.output[0].name(), "probabilities");
    // A sigmoid model gives two columns [1 - p, p], as `Output::probabilities`.
    assert_eq!(
        signature(&graph.output[0]),
        (DataType::Float as i32, vec![-1, 2])
    );
    assert_eq!(
        ops(&graph),
        [
            "Gather",
            "Transpose",
            "LSTM",
            "Transpose",
            "Reshape",
            "MatMul",
            "Add",
            "Sigmoid",
            "Sub",
            "Concat"
        ]
    );
    let concat = graph.node.last().expect("nodes");
    assert_eq!(concat.output, ["probabilities"]);
    assert_eq!(attr(concat, "axis").i(), 1);
    // Every value read is the graph input, an initializer or an earlier node's output.
    let mut known: Vec<String> = graph
        .initializer
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    known.push("input_ids".into());
    for n in &graph.node {
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            assert!(known.contains(i), "{} reads {i} before it exists", n.name());
        }
        known.extend(n.output.iter().cloned());
    }
    Ok(())
}

/// A hand-made LSTM (u = 2, F = 3): Keras gate blocks i, f, c, o become ONNX's i, o, f, c in W,
/// R and the input half of B; the recurrent half of B is zero.
#[test]
fn lstm_gates_are_reordered() -> TestResult {
    let (f, u) = (3usize, 2usize);
    let spec = spec(
        r#"[{"type": "embedding", "input_dim": 5, "output_dim": 3},
            {"type": "lstm", "units": 2},
            {"type": "dense", "units": 3, "activation": "softmax"}]"#,
    )?;
    let kernel = arange(&[f, 4 * u])?;
    let recurrent = (arange(&[u, 4 * u])? + 100.0)?;
    let bias = (arange(&[4 * u])? + 1000.0)?;
    let weights = HashMap::from([
        ("embedding.embeddings".to_string(), arange(&[5, 3])?),
        ("lstm.kernel".to_string(), kernel.clone()),
        ("lstm.recurrent_kernel".to_string(), recurrent.clone()),
        ("lstm.bias".to_string(), bias.clone()),
        ("dense.kernel".to_string(), arange(&[u, 3])?),
        ("dense.bias".to_string(), arange(&[3])?),
    ]);
    let graph = export_with(&spec, 4, weights)?;
    let lstm = node(&graph, "LSTM");
    assert_eq!(attr(lstm, "hidden_size").i(), 2);
    assert_eq!(attr(lstm, "direction").s(), b"forward");
    assert_eq!(attr(lstm, "direction").r#type(), AttributeType::String);
    // X, W, R, B; no sequence_lens without a mask; only Y_h is used.
    assert_eq!(lstm.input.len(), 4);
    assert_eq!(lstm.output.len(), 2);
    assert_eq!(lstm.output[0], "");

    let k = kernel.to_vec2::<f32>()?; // (F, 4u), Keras blocks i f c o
    let rk = recurrent.to_vec2::<f32>()?;
    let b = bias.to_vec1::<f32>()?;
    let keras_block = [0usize, 3, 1, 2]; // ONNX i, o, f, c
    let (w_dims, w) = init(&graph, &lstm.input[1]);
    assert_eq!(w_dims, [1, 8, 3]);
    let (r_dims, r) = init(&graph, &lstm.input[2]);
    assert_eq!(r_dims, [1, 8, 2]);
    let (b_dims, bb) = init(&graph, &lstm.input[3]);
    assert_eq!(b_dims, [1, 16]);
    for (onnx_gate, keras_gate) in keras_block.iter().enumerate() {
        for unit in 0..u {
            let row = onnx_gate * u + unit;
            let col = keras_gate * u + unit;
            for i in 0..f {
                assert_eq!(w[row * f + i], k[i][col], "W[{row}, {i}]");
            }
            for j in 0..u {
                assert_eq!(r[row * u + j], rk[j][col], "R[{row}, {j}]");
            }
            assert_eq!(bb[row], b[col], "Wb[{row}]");
            assert_eq!(bb[4 * u + row], 0.0, "Rb[{row}]");
        }
    }
    // Spot values: W's output-gate block starts with Keras column 3u = 6.
    assert_eq!(&w[2 * f..2 * f + 3], &[6.0, 14.0, 22.0]);
    assert_eq!(
        &bb[..8],
        &[1000.0, 1001.0, 1006.0, 1007.0, 1002.0, 1003.0, 1004.0, 1005.0]
    );
    Ok(())
}

/// A hand-made bidirectional reset-after GRU returning sequences: one bidirectional node with
/// `linear_before_reset = 1`, gates z, r, h kept, `B = [bias[0], bias[1]]` per direction, forward
/// direction first, and the output reshaped to `(B, T, 2u)`.
#[test]
fn bidirectional_gru_layout() -> TestResult {
    let (f, u) = (2usize, 3usize);
    let spec = spec(
        r#"[{"type": "embedding", "input_dim": 4, "output_dim": 2},
            {"type": "bidirectional", "layer": {"type": "gru", "units": 3, "return_sequences": true}},
            {"type": "lstm", "units": 2},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let mut weights = HashMap::from([("embedding.embeddings".to_string(), arange(&[4, 2])?)]);
    for (d, dir) in ["forward", "backward"].iter().enumerate() {
        let offset = 1000.0 * d as f64;
        weights.insert(
            format!("bidirectional.{dir}.kernel"),
            (arange(&[f, 3 * u])? + offset)?,
        );
        weights.insert(
            format!("bidirectional.{dir}.recurrent_kernel"),
            (arange(&[u, 3 * u])? + (offset + 100.0))?,
        );
        weights.insert(
            format!("bidirectional.{dir}.bias"),
            (arange(&[2, 3 * u])? + (offset + 500.0))?,
        );
    }
    weights.insert("lstm.kernel".into(), arange(&[2 * u, 8])?);
    weights.insert("lstm.recurrent_kernel".into(), arange(&[2, 8])?);
    weights.insert("lstm.bias".into(), arange(&[8])?);
    weights.insert("dense.kernel".into(), arange(&[2, 1])?);
    weights.insert("dense.bias".into(), arange(&[1])?);
    let graph = export_with(&spec, 5, weights)?;
    assert_eq!(
        ops(&graph),
        [
            "Gather",
            "Transpose",
            "GRU",
            "Transpose",
            "Reshape",
            "Transpose",
            "LSTM",
            "Transpose",
            "Reshape",
            "MatMul",
            "Add",
            "Sigmoid",
            "Sub",
            "Concat"
        ]
    );
    let gru = node(&graph, "GRU");
    assert_eq!(attr(gru, "linear_before_reset").i(), 1);
    assert_eq!(attr(gru, "direction").s(), b"bidirectional");
    assert_eq!(attr(gru, "hidden_size").i(), 3);
    // Only Y (every step) is used.
    assert_eq!(gru.output.len(), 1);
    let (w_dims, w) = init(&graph, &gru.input[1]);
    assert_eq!(w_dims, [2, 9, 2]);
    // W[d, row, i] = kernel_d[i, row] (gate order unchanged), backward direction second.
    for d in 0..2 {
        for row in 0..3 * u {
            for i in 0..f {
                let keras = (i * 3 * u + row) as f32 + 1000.0 * d as f32;
                assert_eq!(w[(d * 3 * u + row) * f + i], keras);
            }
        }
    }
    let (r_dims, _) = init(&graph, &gru.input[2]);
    assert_eq!(r_dims, [2, 9, 3]);
    let (b_dims, b) = init(&graph, &gru.input[3]);
    assert_eq!(b_dims, [2, 18]);
    let expected: Vec<f32> = (0..2)
        .flat_map(|d| (0..18).map(move |k| k as f32 + 500.0 + 1000.0 * d as f32))
        .collect();
    assert_eq!(b, expected);
    // (T, 2, B, u) → (B, T, 2, u) → (B, T, 2u)
    let transpose = &graph.node[3];
    assert_eq!(attr(transpose, "perm").ints, [2, 0, 1, 3]);
    let reshape = &graph.node[4];
    let shape = graph
        .initializer
        .iter()
        .find(|t| t.name() == reshape.input[1])
        .expect("the reshape's shape");
    let shape: Vec<i64> = shape
        .raw_data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    assert_eq!(shape, [0, 0, 6]);
    Ok(())
}

/// Conv1D (same padding, stride 2) and MaxPooling1D (same padding) become `Conv` / `MaxPool`
/// with TensorFlow's pad split, the Keras kernel `(K, C, F)` as `(F, C, K)`; dropout vanishes.
#[test]
fn conv_pool_and_dropout() -> TestResult {
    let spec = spec(
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 4},
            {"type": "dropout", "rate": 0.2},
            {"type": "conv1d", "filters": 5, "kernel_size": 4, "strides": 2, "padding": "same", "activation": "relu"},
            {"type": "max_pooling1d", "pool_size": 3, "padding": "same"},
            {"type": "lstm", "units": 2},
            {"type": "dropout", "rate": 0.5},
            {"type": "dense", "units": 4, "activation": "tanh"},
            {"type": "dense", "units": 3, "activation": "softmax"}]"#,
    )?;
    let model = export(&spec, 9, &OnnxOptions::default())?;
    let graph = model.graph.unwrap_or_default();
    assert_eq!(
        ops(&graph),
        [
            "Gather",
            "Transpose",
            "Conv",
            "Relu",
            "Transpose",
            "Transpose",
            "MaxPool",
            "Transpose",
            "Transpose",
            "LSTM",
            "Transpose",
            "Reshape",
            "MatMul",
            "Add",
            "Tanh",
            "MatMul",
            "Add",
            "Softmax"
        ]
    );
    let conv = node(&graph, "Conv");
    assert_eq!(attr(conv, "kernel_shape").ints, [4]);
    assert_eq!(attr(conv, "strides").ints, [2]);
    // T = 9, s = 2 → 5 outputs; P = 4·2 + 4 − 9 = 3 → (1, 2).
    assert_eq!(attr(conv, "pads").ints, [1, 2]);
    let (w_dims, _) = init(&graph, &conv.input[1]);
    assert_eq!(w_dims, [5, 4, 4]);
    let pool = node(&graph, "MaxPool");
    assert_eq!(attr(pool, "kernel_shape").ints, [3]);
    assert_eq!(attr(pool, "strides").ints, [3]);
    // T = 5, s = 3 → 2 outputs; P = 3 + 3 − 5 = 1 → (0, 1).
    assert_eq!(attr(pool, "pads").ints, [0, 1]);
    assert_eq!(attr(graph.node.last().expect("nodes"), "axis").i(), -1);
    assert_eq!(
        signature(&graph.output[0]),
        (DataType::Float as i32, vec![-1, 3])
    );
    Ok(())
}

/// The Keras conv kernel `(K, C, F)` is ONNX's `(F, C, K)`: `W[f, c, k] = kernel[k, c, f]`.
#[test]
fn conv_kernel_layout() -> TestResult {
    let spec = spec(
        r#"[{"type": "embedding", "input_dim": 3, "output_dim": 2},
            {"type": "conv1d", "filters": 3, "kernel_size": 2},
            {"type": "lstm", "units": 1},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let kernel = arange(&[2, 2, 3])?;
    let weights = HashMap::from([
        ("embedding.embeddings".to_string(), arange(&[3, 2])?),
        ("conv1d.kernel".to_string(), kernel.clone()),
        ("conv1d.bias".to_string(), arange(&[3])?),
        ("lstm.kernel".to_string(), arange(&[3, 4])?),
        ("lstm.recurrent_kernel".to_string(), arange(&[1, 4])?),
        ("lstm.bias".to_string(), arange(&[4])?),
        ("dense.kernel".to_string(), arange(&[1, 1])?),
        ("dense.bias".to_string(), arange(&[1])?),
    ]);
    let graph = export_with(&spec, 4, weights)?;
    let conv = node(&graph, "Conv");
    assert_eq!(attr(conv, "pads").ints, [0, 0]);
    let (dims, w) = init(&graph, &conv.input[1]);
    assert_eq!(dims, [3, 2, 2]);
    let k = kernel.to_vec3::<f32>()?;
    for f in 0..3 {
        for c in 0..2 {
            for kk in 0..2 {
                assert_eq!(w[(f * 2 + c) * 2 + kk], k[kk][c][f]);
            }
        }
    }
    Ok(())
}

/// `mask_zero`: the real-token counts feed every recurrent node's `sequence_lens`; pre-padded
/// ids are first moved to the front; post-padded ones are used as they are.
#[test]
fn masked_models_read_sequence_lengths() -> TestResult {
    let spec = spec(
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 4, "mask_zero": true},
            {"type": "bidirectional", "layer": {"type": "lstm", "units": 3, "return_sequences": true}},
            {"type": "gru", "units": 2},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let post = export(
        &spec,
        6,
        &OnnxOptions {
            padding: PaddingSide::Post,
            ..Default::default()
        },
    )?
    .graph
    .unwrap_or_default();
    assert_eq!(
        &ops(&post)[..5],
        ["Cast", "Cast", "ReduceSum", "Gather", "Transpose"]
    );
    let lens = &node(&post, "ReduceSum").output[0];
    assert_eq!(node(&post, "LSTM").input[4], *lens);
    assert_eq!(node(&post, "GRU").input[4], *lens);
    assert_eq!(attr(&post.node[1], "to").i(), DataType::Int32 as i64);

    let pre = export(&spec, 6, &OnnxOptions::default())?
        .graph
        .unwrap_or_default();
    assert_eq!(
        &ops(&pre)[..7],
        [
            "Cast",
            "Cast",
            "ReduceSum",
            "Slice",
            "Cast",
            "ReverseSequence",
            "Gather"
        ]
    );
    let gather = node(&pre, "Gather");
    assert_eq!(gather.input[1], node(&pre, "ReverseSequence").output[0]);
    Ok(())
}

/// Unmasked models pass no `sequence_lens`.
#[test]
fn unmasked_models_have_no_lengths() -> TestResult {
    let spec = spec(
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 4},
            {"type": "bidirectional", "layer": {"type": "lstm", "units": 3}},
            {"type": "dense", "units": 4, "activation": "softmax"}]"#,
    )?;
    let graph = export(&spec, 6, &OnnxOptions::default())?
        .graph
        .unwrap_or_default();
    assert_eq!(ops(&graph).iter().filter(|o| **o == "ReduceSum").count(), 0);
    assert_eq!(node(&graph, "LSTM").input.len(), 4);
    assert_eq!(
        attr(node(&graph, "LSTM"), "direction").s(),
        b"bidirectional"
    );
    Ok(())
}

/// The committed prost code was generated from the committed schema (its header records the
/// schema's sha256): edit `proto/onnx.proto` only together with `xtask/onnx-proto`'s output.
#[test]
fn generated_code_matches_the_schema() -> TestResult {
    use sha2::{Digest, Sha256};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = std::fs::read(root.join("proto/onnx.proto"))?;
    let sha: String = Sha256::digest(&schema)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let code = std::fs::read_to_string(root.join("src/onnx/proto.rs"))?;
    assert!(
        code.lines()
            .take(5)
            .any(|l| l == format!("// schema sha256: {sha}")),
        "src/onnx/proto.rs was not generated from proto/onnx.proto (sha256 {sha}); run \
         CARGO_TARGET_DIR=target cargo run --manifest-path xtask/onnx-proto/Cargo.toml"
    );
    assert!(String::from_utf8(schema)?.contains("SPDX-License-Identifier: Apache-2.0"));
    Ok(())
}

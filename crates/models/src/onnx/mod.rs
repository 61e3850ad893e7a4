//! ONNX export: a [`ModelSpec`] and its weights as an ONNX model (opset [`OPSET`]), token ids in,
//! probabilities out.
//!
//! - Input [`INPUT`] `input_ids`: int64 `(batch, T)` (dynamic batch, `T` the model's sequence
//!   length), padded as in training.
//! - Output [`OUTPUT`] `probabilities`: float32 `(batch, C)`, exactly what
//!   [`crate::Output::probabilities`] gives: softmax over the classes, or for a sigmoid (binary)
//!   model `C = 2` columns `[1 − p, p]`.
//!
//! Each layer emits its own nodes (in its file under `layers/`):
//!
//! | layer | ONNX |
//! | --- | --- |
//! | embedding | `Gather`; with `mask_zero`, the real-token counts `ReduceSum(ids ≠ 0)` (int32), and pre-padded ids moved to the front (`Slice` reversing time, then `ReverseSequence` over the counts) |
//! | lstm / gru / bidirectional | one native `LSTM` / `GRU` node (`direction` `forward` or `bidirectional`), `Transpose`s between the Keras `(B, T, F)` and ONNX `(T, B, F)` layouts, `sequence_lens` when masked |
//! | conv1d | `Conv` (explicit `pads`, TensorFlow's `same` split) + activation, in `(B, C, T)` between two `Transpose`s |
//! | max_pooling1d | `MaxPool` (padding never wins) between two `Transpose`s |
//! | dense | `MatMul` + `Add` + activation (`Relu`, `Tanh`, `Sigmoid`, `Softmax`) |
//! | dropout | nothing (inference) |
//!
//! Recurrent weights: Keras `kernel` `(F, G·u)` becomes ONNX `W` `(dirs, G·u, F)`, `recurrent_kernel`
//! `(u, G·u)` becomes `R` `(dirs, G·u, u)`; LSTM gates go from Keras' `i, f, c, o` to ONNX's
//! `i, o, f, c` (`B` = `[bias, 0]`); the GRU keeps `z, r, h` with `linear_before_reset = 1`
//! (Keras `reset_after`) and `B` = `[bias[0], bias[1]]`. A bidirectional layer is one
//! `direction = "bidirectional"` node whose two outputs are concatenated `[forward, backward]`,
//! as Keras' `concat` merge.
//!
//! Masks: a padding mask only matters to recurrent layers (conv and pooling refuse one), and
//! only until a layer returns a single state; the values at padded positions never reach the
//! output. So a masked flow is made post-padded at the ids (pre-padded ids are realigned) and
//! each recurrent node reads the counts as `sequence_lens`: its final state is the state after
//! the last real token, as in the candle model, and a text with no known word (count 0) gets
//! the zero state. This assumes id 0 occurs only as padding, which holds for textrnn's
//! tokenizer (index 0 is never a word).
//!
//! ```
//! use candle_core::Device;
//! use candle_nn::VarBuilder;
//! use prost::Message;
//! use textrnn_models::{onnx, ModelSpec, TextClassifier};
//! let spec: ModelSpec = serde_json::from_str(r#"{"name": "m", "layers": [
//!   {"type": "embedding", "input_dim": 50, "output_dim": 8},
//!   {"type": "lstm", "units": 4},
//!   {"type": "dense", "units": 3, "activation": "softmax"}]}"#)?;
//! let (_model, vars) = TextClassifier::init(&spec, 6, 42, &Device::Cpu)?;
//! let vb = VarBuilder::from_varmap(&vars, candle_core::DType::F32, &Device::Cpu);
//! let bytes = onnx::export(&spec, 6, &vb, &onnx::OnnxOptions::default())?;
//! let model = onnx::proto::ModelProto::decode(bytes.as_slice())?;
//! let ops: Vec<_> = model.graph.unwrap_or_default().node.iter().map(|n| n.op_type().to_string()).collect();
//! assert_eq!(ops, ["Gather", "Transpose", "LSTM", "Transpose", "Reshape", "MatMul", "Add", "Softmax"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod graph;
#[rustfmt::skip]
pub mod proto;

pub(crate) use graph::{dim, int, ints, string, Graph, OnnxLayer};

use candle_nn::VarBuilder;
use prost::Message;

use self::proto::tensor_proto::DataType;
use self::proto::tensor_shape_proto::{dimension, Dimension};
use self::proto::{
    type_proto, GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::error::{Error, Result};
use crate::spec::ModelSpec;
use crate::Output;

/// The ONNX operator set the graph uses (the default domain).
pub const OPSET: i64 = 17;
/// The IR version written (IR 8 goes with opset 17).
pub const IR_VERSION: i64 = 8;
/// Name of the graph input: int64 token ids `(batch, T)`.
pub const INPUT: &str = "input_ids";
/// Name of the graph output: float32 probabilities `(batch, C)`.
pub const OUTPUT: &str = "probabilities";
/// Protobuf messages cannot exceed 2 GiB; ONNX's external-data files are not written.
const MAX_MODEL_BYTES: usize = i32::MAX as usize;

/// Where padding lies in the model's input ids (the tokenizer's `padding`): needed for
/// `mask_zero` models, whose recurrent layers read sequence lengths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PaddingSide {
    /// Padding before the tokens (Keras' default).
    #[default]
    Pre,
    /// Padding after the tokens.
    Post,
}

/// What [`export`] writes besides the graph.
#[derive(Debug, Clone, Default)]
pub struct OnnxOptions {
    /// Where padding lies in the input ids.
    pub padding: PaddingSide,
    /// The model's `doc_string`.
    pub doc: String,
    /// `metadata_props` (key, value), e.g. the class names.
    pub metadata: Vec<(String, String)>,
    /// Temperature scaling of a calibrated run: the logits are multiplied by `1 / T` (a `Mul`
    /// node, as candle's `logits / T`) before the final activation; `None` (or `1`) leaves
    /// them as they are.
    pub temperature: Option<f64>,
}

/// The model `spec` for inputs of `seq_len` tokens with the weights in `vb` (keys as
/// [`ModelSpec::param_specs`]) as an ONNX [`proto::ModelProto`].
pub fn to_onnx(
    spec: &ModelSpec,
    seq_len: usize,
    vb: &VarBuilder,
    opts: &OnnxOptions,
) -> Result<ModelProto> {
    let plans = spec.plan(seq_len)?;
    let output = spec.output()?;
    let mut graph = Graph::default();
    let mut x = INPUT.to_string();
    let mut lens = None;
    let last = spec.layers.len().saturating_sub(1);
    for (i, (layer, plan)) in spec.layers.iter().zip(&plans).enumerate() {
        let params = plan
            .params
            .iter()
            .map(|p| vb.get(p.shape.as_slice(), &p.path))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let mut cx = OnnxLayer {
            graph: &mut graph,
            name: &plan.name,
            input: plan.input,
            output_layer: i == last,
            params: params.into_iter(),
            x,
            lens,
            padding: opts.padding,
        };
        layer.layer().to_onnx(&mut cx)?;
        (x, lens) = (cx.x, cx.lens);
    }
    if let Some(t) = opts.temperature.filter(|&t| t != 1.0) {
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::InvalidSpec {
                layer: "output".into(),
                reason: format!("the calibration temperature {t} is not a finite number above 0"),
            });
        }
        let inverse = graph.scalar("output/inverse_temperature", (1.0 / t) as f32)?;
        x = graph.op("Mul", "output/calibrated", &[&x, &inverse], Vec::new());
    }
    probabilities(&mut graph, &x, output)?;
    let graph = GraphProto {
        node: graph.nodes,
        name: Some(if spec.name.is_empty() {
            "textrnn".into()
        } else {
            spec.name.clone()
        }),
        initializer: graph.initializers,
        input: vec![value_info(
            INPUT,
            DataType::Int64,
            &[Dimension::param("batch"), Dimension::value(seq_len)?],
        )],
        output: vec![value_info(
            OUTPUT,
            DataType::Float,
            &[
                Dimension::param("batch"),
                Dimension::value(output.n_classes())?,
            ],
        )],
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("textrnn".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: (!opts.doc.is_empty()).then(|| opts.doc.clone()),
        graph: Some(graph),
        metadata_props: opts
            .metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect(),
        ..Default::default()
    })
}

/// [`to_onnx`], encoded as the bytes of a `.onnx` file; a model over protobuf's 2 GiB limit is an
/// error.
pub fn export(
    spec: &ModelSpec,
    seq_len: usize,
    vb: &VarBuilder,
    opts: &OnnxOptions,
) -> Result<Vec<u8>> {
    let model = to_onnx(spec, seq_len, vb, opts)?;
    let size = model.encoded_len();
    if size > MAX_MODEL_BYTES {
        return Err(Error::InvalidSpec {
            layer: "model".into(),
            reason: format!(
                "the ONNX model would take {size} bytes, more than the 2 GiB a protobuf file may \
                 hold (external weight files are not supported); use a smaller vocabulary or \
                 embedding"
            ),
        });
    }
    Ok(model.encode_to_vec())
}

/// The output layer's logits `x` `(B, C)` to [`OUTPUT`], as [`Output::probabilities`].
fn probabilities(graph: &mut Graph, x: &str, output: Output) -> Result<()> {
    match output {
        Output::Sigmoid => {
            let p = graph.op("Sigmoid", "output/sigmoid", &[x], Vec::new());
            let one = graph.scalar("output/one", 1.0)?;
            let q = graph.op("Sub", "output/one_minus", &[&one, &p], Vec::new());
            graph.op_to("Concat", &[&q, &p], &[OUTPUT], vec![int("axis", 1)]);
        }
        Output::Softmax(_) => graph.op_to("Softmax", &[x], &[OUTPUT], vec![int("axis", -1)]),
        Output::MultiLabel(_) => graph.op_to("Sigmoid", &[x], &[OUTPUT], Vec::new()),
    }
    Ok(())
}

/// A graph input or output of element type `dtype` and shape `dims`.
fn value_info(name: &str, dtype: DataType, dims: &[Dimension]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(dtype as i32),
                shape: Some(TensorShapeProto { dim: dims.to_vec() }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Dimension {
    /// A named (dynamic) dimension.
    fn param(name: &str) -> Self {
        Self {
            value: Some(dimension::Value::DimParam(name.into())),
            ..Default::default()
        }
    }

    /// A fixed dimension.
    fn value(d: usize) -> Result<Self> {
        Ok(Self {
            value: Some(dimension::Value::DimValue(graph::dim(d)?)),
            ..Default::default()
        })
    }
}

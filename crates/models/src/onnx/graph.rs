//! The ONNX graph under construction: nodes, initializers and unique value names, and what one
//! layer's emission sees ([`OnnxLayer`]).
//!
//! Every value a node produces gets a fresh name derived from the layer's name
//! (`lstm_1/transpose`, `lstm_1/transpose_1`, ...), so that the graph reads like the model and
//! names never collide. Initializers hold their data as little-endian `raw_data`.

use std::collections::HashMap;

use candle_core::{DType, Tensor};

use super::proto::{attribute_proto::AttributeType, tensor_proto::DataType};
use super::proto::{AttributeProto, NodeProto, TensorProto};
use super::PaddingSide;
use crate::error::{Error, Result};
use crate::layers::FeatureShape;

/// Nodes and initializers in the order they were added (a valid topological order: a node only
/// reads values made before it).
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub(crate) nodes: Vec<NodeProto>,
    pub(crate) initializers: Vec<TensorProto>,
    /// How many times each name base was handed out.
    used: HashMap<String, usize>,
}

impl Graph {
    /// A name not used before: `base`, then `base_1`, `base_2`, ...
    pub(crate) fn unique(&mut self, base: &str) -> String {
        let n = self.used.entry(base.to_string()).or_insert(0);
        let name = if *n == 0 {
            base.to_string()
        } else {
            format!("{base}_{n}")
        };
        *n += 1;
        name
    }

    /// Adds an `op` node reading `inputs` (an empty name skips an optional input) and writing
    /// one fresh value named after `name`; returns that value's name.
    pub(crate) fn op(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> String {
        let out = self.unique(name);
        self.op_to(op, inputs, &[out.as_str()], attrs);
        out
    }

    /// Adds an `op` node writing exactly the values `outputs` (an empty name skips an optional
    /// output).
    pub(crate) fn op_to(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) {
        let node_name = self.unique(&format!("{}:{op}", outputs.concat()));
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: Some(node_name),
            op_type: Some(op.to_string()),
            attribute: attrs,
            ..Default::default()
        });
    }

    /// A float32 initializer holding `t` (any float dtype, converted), named after `name`.
    pub(crate) fn tensor(&mut self, name: &str, t: &Tensor) -> Result<String> {
        let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, DataType::Float, t.dims(), raw)
    }

    /// A 1-D int64 initializer (shapes, axes, permutations).
    pub(crate) fn ints(&mut self, name: &str, values: &[i64]) -> Result<String> {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, DataType::Int64, &[values.len()], raw)
    }

    /// A float32 scalar initializer.
    pub(crate) fn scalar(&mut self, name: &str, value: f32) -> Result<String> {
        self.initializer(name, DataType::Float, &[], value.to_le_bytes().to_vec())
    }

    fn initializer(
        &mut self,
        name: &str,
        dtype: DataType,
        dims: &[usize],
        raw: Vec<u8>,
    ) -> Result<String> {
        let name = self.unique(name);
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|d| dim(*d)).collect::<Result<_>>()?,
            data_type: Some(dtype as i32),
            name: Some(name.clone()),
            raw_data: Some(raw),
            ..Default::default()
        });
        Ok(name)
    }

    /// `Transpose(x, perm)`.
    pub(crate) fn transpose(&mut self, name: &str, x: &str, perm: &[i64]) -> String {
        self.op("Transpose", name, &[x], vec![ints("perm", perm)])
    }

    /// `Reshape(x, shape)` (`0` copies the input's dimension, e.g. the dynamic batch).
    pub(crate) fn reshape(&mut self, name: &str, x: &str, shape: &[i64]) -> Result<String> {
        let shape = self.ints(&format!("{name}_shape"), shape)?;
        Ok(self.op("Reshape", name, &[x, &shape], Vec::new()))
    }
}

/// A dimension as protobuf's `int64`.
pub(crate) fn dim(d: usize) -> Result<i64> {
    i64::try_from(d).map_err(|_| Error::InvalidSpec {
        layer: "model".into(),
        reason: format!("dimension {d} does not fit an ONNX int64"),
    })
}

/// An `int` attribute.
pub(crate) fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(value),
        ..Default::default()
    }
}

/// An `ints` attribute.
pub(crate) fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: values.to_vec(),
        ..Default::default()
    }
}

/// A `string` attribute.
pub(crate) fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::String as i32),
        s: Some(value.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// What one layer's ONNX emission sees and updates: the value flowing in (`x`, replaced by the
/// layer's output) and the sequence lengths of a masked flow (`lens`).
pub(crate) struct OnnxLayer<'a> {
    /// The graph being built.
    pub(crate) graph: &'a mut Graph,
    /// The layer's name (`lstm_1`): the base of its values' names.
    pub(crate) name: &'a str,
    /// The planned input shape (batch omitted).
    pub(crate) input: FeatureShape,
    /// Whether this is the model's output layer (which leaves logits, as in the candle model).
    pub(crate) output_layer: bool,
    /// The layer's parameters, in the order its file declares them.
    pub(crate) params: std::vec::IntoIter<Tensor>,
    /// The current value: `(B, T)` int64 ids, `(B, T, C)` or `(B, C)` float32.
    pub(crate) x: String,
    /// `(B)` int32 real-token counts while a padding mask flows (`mask_zero`); the flow is then
    /// post-padded (real tokens first).
    pub(crate) lens: Option<String>,
    /// Where the padding of the model's input lies.
    pub(crate) padding: PaddingSide,
}

impl OnnxLayer<'_> {
    /// The next declared parameter.
    pub(crate) fn param(&mut self) -> Result<Tensor> {
        crate::layers::next(&mut self.params, self.name)
    }

    /// A value name under this layer (`{layer}/{what}`).
    pub(crate) fn value(&self, what: &str) -> String {
        format!("{}/{what}", self.name)
    }

    /// Adds an `op` node on this layer's values (see [`Graph::op`]).
    pub(crate) fn op(
        &mut self,
        op: &str,
        what: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> String {
        let name = self.value(what);
        self.graph.op(op, &name, inputs, attrs)
    }

    /// A float32 initializer of this layer.
    pub(crate) fn tensor(&mut self, what: &str, t: &Tensor) -> Result<String> {
        let name = self.value(what);
        self.graph.tensor(&name, t)
    }

    /// An int64 initializer of this layer.
    pub(crate) fn ints(&mut self, what: &str, values: &[i64]) -> Result<String> {
        let name = self.value(what);
        self.graph.ints(&name, values)
    }

    /// `Transpose` of a value of this layer.
    pub(crate) fn transpose(&mut self, x: &str, perm: &[i64]) -> String {
        let name = self.value("transpose");
        self.graph.transpose(&name, x, perm)
    }

    /// `Reshape` of a value of this layer.
    pub(crate) fn reshape(&mut self, x: &str, shape: &[i64]) -> Result<String> {
        let name = self.value("reshape");
        self.graph.reshape(&name, x, shape)
    }
}

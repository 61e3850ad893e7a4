//! [`TextClassifier`]: a [`ModelSpec`] built into candle layers.
//!
//! `tokens (B, T) u32 → embedding (B, T, E) → … → dense (B, C)` logits (C = 1 for a sigmoid
//! output); the last dense layer's activation is reported by [`Classifier::output`], never
//! applied. When the embedding has `mask_zero`, its `(B, T)` mask reaches every recurrent layer
//! until one returns a single state. Parameters take no dependence on `T` (there is no
//! flatten), so a model built for `seq_len` also runs other lengths that its conv/pool layers
//! accept; `seq_len` is what the summary and the spec checks use.
//!
//! Weights are stored under the keys of [`ModelSpec::param_specs`] (`"{layer}.{param}"`, layer
//! names Keras-style `{type}` then `{type}_{n}` per type: `embedding.embeddings`,
//! `bidirectional.forward.recurrent_kernel`, `dense_1.bias`).
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use textrnn_models::{Classifier, Mode, ModelSpec, TextClassifier};
//! let spec: ModelSpec = serde_json::from_str(r#"{"name": "m", "layers": [
//!   {"type": "embedding", "input_dim": 50, "output_dim": 8, "mask_zero": true},
//!   {"type": "lstm", "units": 4},
//!   {"type": "dense", "units": 3, "activation": "softmax"}]}"#)?;
//! let (model, _varmap) = TextClassifier::init(&spec, 6, 42, &Device::Cpu)?;
//! let tokens = Tensor::new(&[[5u32, 9, 2, 0, 0, 0]], &Device::Cpu)?;
//! assert_eq!(model.forward_t(&tokens, &mut Mode::Eval)?.dims(), &[1, 3]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use crate::error::{Error, Result};
use crate::init::init_params;
use crate::layers::{BuildContext, Flow, Forward};
use crate::spec::ModelSpec;
use crate::{Classifier, Lookup, Mode, Output};

/// A text classifier built from a [`ModelSpec`].
#[derive(Debug, Clone)]
pub struct TextClassifier {
    layers: Vec<Arc<dyn Forward>>,
    output: Output,
    vars: Vec<Var>,
    /// Every declared parameter, trainable or not, with its key, in declaration order.
    params: Vec<(String, Tensor)>,
}

impl TextClassifier {
    /// Builds the model with fresh seeded Keras initialisation (f32) and returns its variables.
    pub fn init(
        spec: &ModelSpec,
        seq_len: usize,
        seed: u64,
        device: &Device,
    ) -> Result<(Self, VarMap)> {
        let params = spec.param_specs(seq_len)?;
        let varmap = init_params(&params, seed, DType::F32, device)?;
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        Ok((Self::new(spec, seq_len, vb)?, varmap))
    }

    /// Builds the model from existing parameters (`vb.get(shape, key)` for every declared key).
    ///
    /// [`Classifier::vars`] lists the parameters that are candle variables (a `VarMap`-backed
    /// builder); a model built from plain tensors has none.
    pub fn new(spec: &ModelSpec, seq_len: usize, vb: VarBuilder) -> Result<Self> {
        let plans = spec.plan(seq_len)?;
        let output = spec.output()?;
        let last = spec.layers.len() - 1;
        let mut layers = Vec::with_capacity(plans.len());
        for (i, (layer, plan)) in spec.layers.iter().zip(&plans).enumerate() {
            layers.push(layer.layer().build(BuildContext {
                input: plan.input,
                output_layer: i == last,
                vb: vb.pp(&plan.name),
            })?);
        }
        let mut vars = Vec::new();
        let mut params = Vec::new();
        for plan in &plans {
            for p in &plan.params {
                let t = vb.get(p.shape.as_slice(), &p.path)?;
                // Frozen layers' parameters (`trainable = false`) are no training variables.
                if plan.trainable && t.is_variable() {
                    vars.push(Var::from_tensor(&t)?);
                }
                params.push((p.path.clone(), t));
            }
        }
        Ok(Self {
            layers,
            output,
            vars,
            params,
        })
    }

    /// Every declared parameter with its key (`embedding.embeddings`, ...), in the order of
    /// [`ModelSpec::param_specs`], frozen ones included ([`Classifier::vars`] lists only the
    /// trainable ones).
    pub fn parameters(&self) -> &[(String, Tensor)] {
        &self.params
    }

    /// Loads weights saved by [`TextClassifier::save`] (f32) for `spec` at `seq_len`.
    ///
    /// Every declared key must be present with its declared shape: a missing file, a file
    /// that is not valid safetensors (e.g. truncated), a missing tensor or a wrong shape is an
    /// error naming the file and the tensor. Extra tensors are ignored with a warning. The
    /// header is checked first ([`ModelSpec::check_weights`]), so a file that does not fit the
    /// spec is refused before its data is read.
    pub fn load(
        spec: &ModelSpec,
        seq_len: usize,
        path: impl AsRef<Path>,
        device: &Device,
    ) -> Result<(Self, VarMap)> {
        let path = path.as_ref();
        spec.check_weights(seq_len, path)?;
        let params = spec.param_specs(seq_len)?;
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut tensors = candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| {
            Error::Safetensors {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
        let varmap = VarMap::new();
        {
            let mut data = varmap.data().lock().map_err(|_| Error::Safetensors {
                path: path.to_path_buf(),
                reason: "the VarMap lock is poisoned".into(),
            })?;
            for p in &params {
                let t = tensors
                    .remove(&p.path)
                    .ok_or_else(|| Error::MissingTensor {
                        path: path.to_path_buf(),
                        name: p.path.clone(),
                    })?;
                if t.dims() != p.shape.as_slice() {
                    return Err(Error::ShapeMismatch {
                        path: path.to_path_buf(),
                        name: p.path.clone(),
                        expected: p.shape.clone(),
                        found: t.dims().to_vec(),
                    });
                }
                let t = t.to_dtype(DType::F32)?;
                data.insert(p.path.clone(), Var::from_tensor(&t)?);
            }
        }
        if !tensors.is_empty() {
            let mut extra: Vec<_> = tensors.keys().cloned().collect();
            extra.sort();
            tracing::warn!(file = %path.display(), ?extra, "ignoring tensors the model does not declare");
        }
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        Ok((Self::new(spec, seq_len, vb)?, varmap))
    }

    /// Writes `varmap` as safetensors, atomically and durably ([`textrnn_fs::write_with`]: a
    /// temporary file beside `path`, flushed to disk, then renamed over it, mode 0644).
    pub fn save(varmap: &VarMap, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        textrnn_fs::write_with(path, |tmp| {
            varmap.save(tmp).map_err(|e| match e {
                candle_core::Error::Io(source) => Error::Io {
                    path: path.to_path_buf(),
                    source,
                },
                other => Error::Safetensors {
                    path: path.to_path_buf(),
                    reason: other.to_string(),
                },
            })
        })
    }
}

impl TextClassifier {
    /// Runs the layers in order; an embedding directly followed by a layer that can read its
    /// table (a recurrent layer, when cheaper) is folded into that layer, unless `lookups`
    /// records the lookups of a trainable table (the fold has no per-occurrence rows to record;
    /// a frozen table has nothing to record and still folds).
    fn run(
        &self,
        tokens: &Tensor,
        mode: &mut Mode,
        mut lookups: Option<&mut Vec<Lookup>>,
    ) -> candle_core::Result<Tensor> {
        let mut flow = Flow {
            x: tokens.clone(),
            mask: None,
        };
        let mut layers = self.layers.iter().peekable();
        while let Some(layer) = layers.next() {
            if let Some(embedding) = layer.as_embedding() {
                let trainable = embedding.embeddings().is_variable();
                if let Some(lookups) = lookups.as_deref_mut().filter(|_| trainable) {
                    let (next, lookup) = embedding.forward_flow_recorded(flow)?;
                    lookups.extend(lookup);
                    flow = next;
                    continue;
                }
                if let Some(next) = layers.peek() {
                    if let Some(folded) = next.forward_on_embedding(tokens, embedding, mode)? {
                        layers.next();
                        flow = folded;
                        continue;
                    }
                }
            }
            flow = layer.forward_flow(flow, mode)?;
        }
        Ok(flow.x)
    }
}

impl Classifier for TextClassifier {
    /// Runs the layers in order; an embedding directly followed by a layer that can read its
    /// table (a recurrent layer, when cheaper) is folded into that layer.
    fn forward_t(&self, tokens: &Tensor, mode: &mut Mode) -> candle_core::Result<Tensor> {
        self.run(tokens, mode, None)
    }

    /// The layers in order, a trainable embedding never folded, its lookups recorded.
    fn forward_recording(
        &self,
        tokens: &Tensor,
        mode: &mut Mode,
    ) -> candle_core::Result<(Tensor, Vec<Lookup>)> {
        let mut lookups = Vec::new();
        let logits = self.run(tokens, mode, Some(&mut lookups))?;
        Ok((logits, lookups))
    }

    fn output(&self) -> Output {
        self.output
    }

    fn vars(&self) -> Vec<Var> {
        self.vars.clone()
    }
}

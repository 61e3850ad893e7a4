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

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use crate::error::{Error, Result};
use crate::init::init_params;
use crate::layers::conv1d::{conv1d, Conv1d};
use crate::layers::dense::{dense, Dense};
use crate::layers::dropout::Dropout;
use crate::layers::embedding::{embedding, Embedding};
use crate::layers::max_pooling1d::MaxPooling1d;
use crate::layers::recurrent::{recurrent_layer, Recurrent};
use crate::spec::{Activation, LayerSpec, ModelSpec, RecurrentSpec};
use crate::{Classifier, Mode, Output};

/// A built layer.
#[derive(Debug, Clone)]
enum Layer {
    Embedding(Embedding),
    Recurrent(Recurrent),
    Conv1d(Conv1d),
    MaxPooling1d(MaxPooling1d),
    Dense(Dense),
    Dropout(Dropout),
}

/// A text classifier built from a [`ModelSpec`].
#[derive(Debug, Clone)]
pub struct TextClassifier {
    layers: Vec<Layer>,
    output: Output,
    vars: Vec<Var>,
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
            let lvb = vb.pp(&plan.name);
            let f = plan.input.features();
            layers.push(match layer {
                LayerSpec::Embedding(e) => {
                    let input_dim = e.input_dim.unwrap_or_default();
                    Layer::Embedding(embedding(input_dim, e.output_dim, e.mask_zero, lvb)?)
                }
                LayerSpec::Lstm(s) => Layer::Recurrent(recurrent_layer(
                    f,
                    &RecurrentSpec::Lstm(s.clone()),
                    false,
                    lvb,
                )?),
                LayerSpec::Gru(s) => Layer::Recurrent(recurrent_layer(
                    f,
                    &RecurrentSpec::Gru(s.clone()),
                    false,
                    lvb,
                )?),
                LayerSpec::Bidirectional(b) => {
                    Layer::Recurrent(recurrent_layer(f, &b.layer, true, lvb)?)
                }
                LayerSpec::Conv1d(c) => Layer::Conv1d(conv1d(f, c, lvb)?),
                LayerSpec::MaxPooling1d(p) => Layer::MaxPooling1d(MaxPooling1d::new(p)),
                LayerSpec::Dense(d) => {
                    let act = if i == last {
                        Activation::Linear
                    } else {
                        d.activation
                    };
                    Layer::Dense(dense(f, d.units, act, lvb)?)
                }
                LayerSpec::Dropout(d) => Layer::Dropout(Dropout::new(d.rate)),
            });
        }
        let mut vars = Vec::new();
        for p in plans.iter().flat_map(|p| &p.params) {
            let t = vb.get(p.shape.as_slice(), &p.path)?;
            if t.is_variable() {
                vars.push(Var::from_tensor(&t)?);
            }
        }
        Ok(Self {
            layers,
            output,
            vars,
        })
    }

    /// Loads weights saved by [`TextClassifier::save`] (f32) for `spec` at `seq_len`.
    ///
    /// Every declared key must be present with its declared shape: a missing file, a file
    /// that is not valid safetensors (e.g. truncated), a missing tensor or a wrong shape is an
    /// error naming the file and the tensor. Extra tensors are ignored with a warning.
    pub fn load(
        spec: &ModelSpec,
        seq_len: usize,
        path: impl AsRef<Path>,
        device: &Device,
    ) -> Result<(Self, VarMap)> {
        let path = path.as_ref();
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

    /// Writes `varmap` as safetensors, atomically (`path.tmp-<pid>`, then rename).
    pub fn save(varmap: &VarMap, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let tmp = tmp_path(path);
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Err(e) = varmap.save(&tmp) {
            let _ = std::fs::remove_file(&tmp);
            return Err(match e {
                candle_core::Error::Io(source) => io(source),
                other => Error::Safetensors {
                    path: path.to_path_buf(),
                    reason: other.to_string(),
                },
            });
        }
        std::fs::rename(&tmp, path).map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            io(source)
        })
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Whether an embedding followed by a recurrent layer runs as one folded step
/// ([`Recurrent::forward_embedded`]): when projecting the `V` table rows plus, under input
/// dropout `p`, the `p·B·T` corrections (and, training, their gradient GEMMs) costs less than
/// projecting the `B·T` embedded steps: `V < (1 − p)·B·T`.
fn fold_embedding(
    e: &Embedding,
    r: &Recurrent,
    tokens: &Tensor,
    mode: &mut Mode,
) -> candle_core::Result<bool> {
    let tokens = tokens.elem_count() as f64;
    Ok((e.embeddings().dim(0)? as f64) < (1.0 - r.input_dropout(mode)) * tokens)
}

impl Classifier for TextClassifier {
    fn forward_t(&self, tokens: &Tensor, mode: &mut Mode) -> candle_core::Result<Tensor> {
        let mut x = tokens.clone();
        let mut mask: Option<Tensor> = None;
        let mut layers = self.layers.iter().peekable();
        while let Some(layer) = layers.next() {
            x = match layer {
                Layer::Embedding(e) => {
                    mask = e.compute_mask(tokens)?;
                    match layers.peek() {
                        Some(Layer::Recurrent(r)) if fold_embedding(e, r, tokens, mode)? => {
                            layers.next();
                            let y =
                                r.forward_embedded(tokens, e.embeddings(), mask.as_ref(), mode)?;
                            if !r.return_sequences() {
                                mask = None;
                            }
                            y
                        }
                        _ => e.forward(tokens)?,
                    }
                }
                Layer::Recurrent(r) => {
                    let y = r.forward_t(&x, mask.as_ref(), mode)?;
                    if !r.return_sequences() {
                        mask = None;
                    }
                    y
                }
                Layer::Conv1d(c) => c.forward(&x)?,
                Layer::MaxPooling1d(p) => p.forward(&x)?,
                Layer::Dense(d) => d.forward(&x)?,
                Layer::Dropout(d) => d.forward_t(&x, mode)?,
            };
        }
        Ok(x)
    }

    fn output(&self) -> Output {
        self.output
    }

    fn vars(&self) -> Vec<Var> {
        self.vars.clone()
    }
}

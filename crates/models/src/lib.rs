//! Recurrent text-classifier layers and architectures on candle-nn.
//!
//! A serde [`ModelSpec`] (Keras layer names, arguments and defaults) is validated and
//! shape-checked, declares its parameters once ([`ParamSpec`]: Keras layouts, seeded Keras
//! initialisers), and builds a [`TextClassifier`] that maps token ids `(B, T)` to logits
//! `(B, C)`. Layers (embedding, LSTM/GRU in one [`Recurrent`] API, bidirectional, conv1d,
//! max pooling, dense, dropout) live in `layers/`, one file each; the recurrence itself in
//! `recurrent/`. See `docs/ARCHITECTURE.md` for the contracts shared with the other crates.
//!
//! Weights keys: `"{layer}.{param}"` where layers are named like Keras, `{type}` for the first
//! layer of a type and `{type}_{n}` for the next ones (`embedding.embeddings`, `lstm.kernel`,
//! `lstm_1.recurrent_kernel`, `bidirectional.forward.bias`, `dense_1.kernel`).
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use textrnn_models::{Classifier, Mode, ModelSpec, TextClassifier};
//! let spec: ModelSpec = serde_json::from_str(r#"{"name": "bilstm", "layers": [
//!   {"type": "embedding", "output_dim": 16},
//!   {"type": "bidirectional", "layer": {"type": "lstm", "units": 8}},
//!   {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#)?;
//! let spec = spec.with_vocab_size(100);
//! println!("{}", spec.summary(10)?);
//! let (model, _vars) = TextClassifier::init(&spec, 10, 7, &Device::Cpu)?;
//! let logits = model.forward_t(&Tensor::zeros((2, 10), candle_core::DType::U32, &Device::Cpu)?, &mut Mode::Eval)?;
//! assert_eq!(logits.dims(), &[2, 1]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod classifier;
mod device;
mod error;
mod init;
mod layers;
mod model;
pub mod recurrent;
mod spec;
mod summary;

pub use classifier::{Classifier, Mode, Output};
pub use device::select_device;
pub use error::{Error, Result};
pub use init::{init_params, Initializer, ParamSpec};
pub use layers::conv1d::{conv1d, Conv1d};
pub use layers::dense::{dense, Dense};
pub use layers::dropout::Dropout;
pub use layers::embedding::{embedding, Embedding};
pub use layers::max_pooling1d::MaxPooling1d;
pub use layers::recurrent::{recurrent_layer, Recurrent};
pub use model::TextClassifier;
pub use recurrent::{gru_sequence, lstm_sequence};
pub use spec::{
    Activation, BidirectionalSpec, Conv1dSpec, DenseSpec, DropoutSpec, EmbeddingSpec, GruSpec,
    LayerSpec, LstmSpec, MaxPooling1dSpec, MergeMode, ModelSpec, Padding, RecurrentSpec,
};
pub use summary::{LayerSummary, Summary};

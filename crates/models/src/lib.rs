//! Recurrent text-classifier layers and architectures on candle-nn.
//!
//! A serde [`ModelSpec`] (Keras layer names, arguments and defaults) is validated and
//! shape-checked, declares its parameters once ([`ParamSpec`]: Keras layouts, seeded Keras
//! initialisers), and builds a [`TextClassifier`] that maps token ids `(B, T)` to logits
//! `(B, C)`. Layers (embedding, LSTM/GRU in one [`Recurrent`] API, bidirectional, conv1d,
//! max pooling, dense, dropout) live in `layers/`, one file each (spec, shape planning,
//! parameters, construction and forward pass together); the recurrence itself in the
//! `textrnn-rnn` crate (re-exported as [`rnn`]). See `docs/ARCHITECTURE.md` for the contracts shared with the other crates.
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
mod header;
mod init;
mod layers;
pub mod memory;
mod model;
pub mod onnx;
mod spec;
mod summary;

pub use classifier::{Classifier, Lookup, Mode, Output};
pub use device::select_device;
pub use error::{Error, Result};
pub use header::{
    read_weights_header, save_weights, TensorHeader, WeightsHeader, SEQ_LEN_METADATA,
};
pub use init::{init_params, Initializer, ParamSpec};
pub use layers::activation::Activation;
pub use layers::conv1d::{conv1d, Conv1d, Conv1dSpec};
pub use layers::dense::{dense, Dense, DenseSpec};
pub use layers::dropout::{Dropout, DropoutSpec};
pub use layers::embedding::{embedding, Embedding, EmbeddingSpec};
pub use layers::max_pooling1d::{MaxPooling1d, MaxPooling1dSpec};
pub use layers::recurrent::{
    recurrent_layer, BidirectionalSpec, GruSpec, LstmSpec, MergeMode, Recurrent, RecurrentSpec,
};
pub use layers::window::Padding;
pub use memory::{
    available_memory, check_memory, format_bytes, MemoryEstimate, MAX_TENSOR_ELEMENTS,
};
pub use model::TextClassifier;
pub use spec::{LayerSpec, ModelSpec};
pub use summary::{LayerSummary, Summary};
/// The fused LSTM/GRU recurrences the recurrent layers run ([`textrnn_rnn`]).
pub use textrnn_rnn as rnn;

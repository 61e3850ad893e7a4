//! Keras-compatible text preprocessing for textrnn: cleaning pipelines, a word tokenizer built
//! on Hugging Face `tokenizers`, and `pad_sequences`. No tensors here.
//!
//! Stages, in the order a recipe uses them:
//! 1. [`Pipeline`] (from a [`NormalizeConfig`]): named cleaning [`Step`]s, e.g. IMDB `<br />`
//!    removal or the airline-tweets cleaning;
//! 2. [`KerasTokenizer`] (from a [`TokenizerConfig`]): Keras `Tokenizer` semantics, saved as a
//!    `tokenizer.json` that `tokenizers::Tokenizer::from_file` loads;
//! 3. [`pad_sequences`]: ragged ids to a row-major `N x maxlen` matrix.
//!
//! [`WordVectors`] reads pretrained word vectors (GloVe, word2vec, fastText) for a fitted
//! tokenizer's words, the start of an embedding table (see [`vectors`]).
//!
//! [`KerasTokenizer::export_hf`] puts the three in one `tokenizer.json` for users outside
//! textrnn (see [`export`]), with the cleaning steps as data beside it.
//!
//! ```
//! use textrnn_text::{pad_sequences, KerasTokenizer, Padding, Pipeline, TokenizerConfig, Truncating};
//!
//! let clean = Pipeline::imdb()?;
//! let texts: Vec<String> = ["A fine film.<br /><br />Loved it", "A dull film"]
//!     .iter()
//!     .map(|t| clean.apply(t))
//!     .collect();
//! let tok = KerasTokenizer::fit(&TokenizerConfig::default(), &texts)?;
//! let ids = pad_sequences(&tok.texts_to_sequences(&texts), 4, Padding::Pre, Truncating::Pre, 0)?;
//! // word_index: a=1, film=2 (count 2, first seen after `a`), fine=3, loved=4, it=5, dull=6
//! assert_eq!(ids, [3, 2, 4, 5, 0, 1, 6, 2]);
//! # Ok::<(), textrnn_text::Error>(())
//! ```
#![warn(missing_docs)]

mod error;
pub mod export;
pub mod normalize;
mod padding;
mod tokenizer;
pub mod vectors;

pub use error::{Error, Result};
pub use export::{EncodingSpec, HfExport, EXPORT_KEY, PYTHON_SNIPPET};
pub use normalize::{NormalizeConfig, NormalizePreset, Pipeline, Step};
pub use padding::{pad_sequences, Padding, Truncating};
pub use tokenizer::config::{TokenizerConfig, KERAS_FILTERS};
pub use tokenizer::words::text_to_word_sequence;
pub use tokenizer::KerasTokenizer;
pub use vectors::{
    probe_vectors, Coverage, VectorsFormat, VectorsInfo, VectorsOptions, WordVectors,
};

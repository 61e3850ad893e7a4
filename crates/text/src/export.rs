//! A self-sufficient `tokenizer.json` for users outside textrnn: cleaning, Keras tokenizer and
//! padding in one file that Hugging Face `tokenizers` loads, plus the cleaning steps as data.
//!
//! [`KerasTokenizer::export_hf`] builds it from a fitted tokenizer, the run's cleaning
//! [`Pipeline`] and its [`EncodingSpec`]:
//! - normalizer: every cleaning step `tokenizers` can express exactly (see
//!   [`HfExport::unexpressed`] for the others, which the file skips), then the Keras `lower` and
//!   `filters`; pre-tokenizer and WordLevel model as in the run's own `tokenizer.json`;
//! - unknown words: with an `oov_token` they encode to its index 1, as in textrnn, and the file
//!   pads and truncates by itself (`truncation` and `padding` set to `maxlen`, Keras sides, value
//!   0); without one they encode to 0, which textrnn drops *before* truncating, so the file has
//!   no truncation or padding and [`PYTHON_SNIPPET`] drops the zeros, truncates and pads;
//! - `model.textrnn_export` ([`EXPORT_KEY`]): `maxlen`, `padding`, `truncating` and the
//!   cleaning summary, which the snippet reads.
//!
//! ```
//! use std::str::FromStr;
//! use textrnn_text::{EncodingSpec, KerasTokenizer, Padding, Pipeline, TokenizerConfig, Truncating};
//!
//! let clean = Pipeline::imdb()?;
//! let tok = KerasTokenizer::fit(&TokenizerConfig::default(), [clean.apply("a great movie<br />loved it")])?;
//! let spec = EncodingSpec { maxlen: 4, padding: Padding::Pre, truncating: Truncating::Pre };
//! let export = tok.export_hf(&clean, &spec)?;
//! assert!(export.unexpressed.is_empty());
//! let hf = tokenizers::Tokenizer::from_str(&export.tokenizer_json)?;
//! // `zzz` is unknown: 0 in the file, dropped by textrnn (and by the snippet)
//! let ids = hf.encode("A great movie!<br /><br />Loved zzz", false)?.get_ids().to_vec();
//! assert_eq!(ids, [1, 2, 3, 4, 0]);
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```

use std::str::FromStr;

use serde::Serialize;
use serde_json::{json, Value};
use tokenizers::{
    PaddingDirection, PaddingParams, PaddingStrategy, TruncationDirection, TruncationParams,
    TruncationStrategy,
};

use crate::error::{Error, Result};
use crate::normalize::hf::export_step;
use crate::normalize::{Pipeline, Step};
use crate::padding::{Padding, Truncating};
use crate::tokenizer::hf::{build_with, hf_err};
use crate::KerasTokenizer;

/// Key of the export metadata inside the `model` object of an exported `tokenizer.json`
/// (`tokenizers` ignores unknown keys there, not at the top level).
pub const EXPORT_KEY: &str = "textrnn_export";

/// Version of the export metadata and of the cleaning description.
pub const EXPORT_FORMAT: u32 = 1;

/// Python that turns an exported `tokenizer.json` into textrnn's padded ids:
/// `textrnn_encoder(path)(text)` is the row textrnn feeds the model for `text`.
pub const PYTHON_SNIPPET: &str = r#"import json
from tokenizers import Tokenizer

def textrnn_encoder(path):
    tok = Tokenizer.from_file(path)
    spec = json.load(open(path, encoding="utf-8"))["model"]["textrnn_export"]
    n = spec["maxlen"]
    def encode(text):
        ids = [i for i in tok.encode(text).ids if i != 0]  # 0: unknown word or padding
        ids = ids[-n:] if spec["truncating"] == "pre" else ids[:n]
        pad = [0] * (n - len(ids))
        return pad + ids if spec["padding"] == "pre" else ids + pad
    return encode
"#;

/// How textrnn turns a text's ids into a model input row (Keras `pad_sequences` arguments;
/// the padding value is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EncodingSpec {
    /// Row length (Keras `maxlen`); at least 1.
    pub maxlen: usize,
    /// Where padding goes.
    pub padding: Padding,
    /// Which end of a long sequence is cut.
    pub truncating: Truncating,
}

/// What [`KerasTokenizer::export_hf`] produces.
#[derive(Debug, Clone)]
pub struct HfExport {
    /// The `tokenizer.json` text, loadable by Python/Rust `tokenizers` `Tokenizer.from_file`.
    pub tokenizer_json: String,
    /// The cleaning steps in order, each with its exact definition as data, whether the
    /// normalizer holds it (and as which normalizers), or why not; then the tokenizer and
    /// padding settings (JSON).
    pub cleaning_json: String,
    /// Cleaning steps of the pipeline that the normalizer could not express (and skips): for
    /// texts they change, the file's ids differ from textrnn's.
    pub unexpressed: Vec<Step>,
}

/// The `model.textrnn_export` object.
#[derive(Debug, Serialize)]
struct ExportMetadata<'a> {
    format: u32,
    maxlen: usize,
    padding: Padding,
    truncating: Truncating,
    /// Padding value.
    value: u32,
    /// Whether the file pads and truncates by itself (only with an `oov_token`).
    padded_in_file: bool,
    /// What an unknown word encodes to in the file: the OOV index 1, or 0 (dropped by textrnn).
    unknown_id: u32,
    oov_token: Option<&'a str>,
    num_words: Option<usize>,
    /// The pipeline's steps, in order.
    cleaning: Vec<&'static str>,
    /// Those the normalizer skips.
    unexpressed: Vec<&'static str>,
}

fn padding_direction(p: Padding) -> PaddingDirection {
    match p {
        Padding::Pre => PaddingDirection::Left,
        Padding::Post => PaddingDirection::Right,
    }
}

fn truncation_direction(t: Truncating) -> TruncationDirection {
    match t {
        Truncating::Pre => TruncationDirection::Left,
        Truncating::Post => TruncationDirection::Right,
    }
}

fn json_err(what: &str) -> impl FnOnce(serde_json::Error) -> Error + '_ {
    move |source| Error::Serialize {
        what: what.to_owned(),
        source,
    }
}

impl KerasTokenizer {
    /// Exports this tokenizer, with `pipeline`'s cleaning in the normalizer where `tokenizers`
    /// can express it and `enc`'s padding, as a `tokenizer.json` for other users (see the
    /// [module docs](crate::export)). The run's own `tokenizer.json` ([`Self::save`]) is not
    /// affected.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `enc.maxlen` is 0; [`Error::Tokenizers`] if `tokenizers`
    /// rejects a stage (a bug).
    pub fn export_hf(&self, pipeline: &Pipeline, enc: &EncodingSpec) -> Result<HfExport> {
        if enc.maxlen == 0 {
            return Err(Error::invalid("maxlen", "must be at least 1"));
        }
        let config = self.config();
        let mut cleaning = Vec::new();
        let mut steps = Vec::new();
        let mut unexpressed = Vec::new();
        for &step in pipeline.steps() {
            let export = export_step(step)?;
            let normalizers = export
                .normalizers
                .iter()
                .map(serde_json::to_value)
                .collect::<std::result::Result<Vec<Value>, _>>()
                .map_err(json_err("a normalizer"))?;
            steps.push(json!({
                "step": step.name(),
                "in_normalizer": export.unexpressed_because.is_none(),
                "definition": export.definition,
                "normalizers": normalizers,
                "unexpressed_because": export.unexpressed_because,
            }));
            if export.unexpressed_because.is_some() {
                unexpressed.push(step);
            }
            cleaning.extend(export.normalizers);
        }

        let mut tokenizer = build_with(config, self.pad_token(), self.words(), cleaning)?;
        let padded_in_file = config.oov_token.is_some();
        if padded_in_file {
            tokenizer
                .with_truncation(Some(TruncationParams {
                    direction: truncation_direction(enc.truncating),
                    max_length: enc.maxlen,
                    strategy: TruncationStrategy::LongestFirst,
                    stride: 0,
                }))
                .map_err(hf_err("setting the truncation"))?;
            tokenizer.with_padding(Some(PaddingParams {
                strategy: PaddingStrategy::Fixed(enc.maxlen),
                direction: padding_direction(enc.padding),
                pad_to_multiple_of: None,
                pad_id: 0,
                pad_type_id: 0,
                pad_token: self.pad_token().to_owned(),
            }));
        }

        let metadata = ExportMetadata {
            format: EXPORT_FORMAT,
            maxlen: enc.maxlen,
            padding: enc.padding,
            truncating: enc.truncating,
            value: 0,
            padded_in_file,
            unknown_id: u32::from(padded_in_file),
            oov_token: config.oov_token.as_deref(),
            num_words: config.num_words,
            cleaning: pipeline.steps().iter().map(|s| s.name()).collect(),
            unexpressed: unexpressed.iter().map(|s| s.name()).collect(),
        };
        let mut value = serde_json::to_value(&tokenizer).map_err(json_err("the tokenizer"))?;
        let metadata = serde_json::to_value(metadata).map_err(json_err("the metadata"))?;
        match value.get_mut("model").and_then(Value::as_object_mut) {
            Some(model) => model.insert(EXPORT_KEY.to_owned(), metadata),
            None => {
                return Err(Error::invalid(
                    "model",
                    "tokenizers did not serialize a `model` object",
                ))
            }
        };
        let tokenizer_json = serde_json::to_string(&value).map_err(json_err("the tokenizer"))?;
        // The file must load as it is, in this build's `tokenizers` too.
        tokenizers::Tokenizer::from_str(&tokenizer_json)
            .map_err(hf_err("reloading the exported tokenizer"))?;

        let unknown = if padded_in_file {
            "the oov_token's index 1"
        } else {
            "dropped (0 in the tokenizer.json, removed before truncating)"
        };
        let cleaning_json = json!({
            "format": EXPORT_FORMAT,
            "about": "textrnn's text cleaning, applied to each raw text in this order before the \
                      tokenizer. `regex` patterns are in Rust `regex` crate syntax \
                      (https://docs.rs/regex), applied with `replace_all` (leftmost-first, \
                      non-overlapping). `normalizers` are the tokenizer.json normalizers that \
                      do the same; a step with `in_normalizer: false` is skipped by the \
                      tokenizer.json normalizer.",
            "steps": steps,
            "tokenizer": {
                "lower": config.lower,
                "filters": config.filters,
                "split": config.split,
                "char_level": config.char_level,
                "num_words": config.num_words,
                "oov_token": config.oov_token,
                "rule": "Keras text_to_word_sequence: lower-case each character (if `lower`), \
                         replace each character of `filters` by `split`, split on `split`, \
                         drop empty words; a word's id is its index if below `num_words`, else \
                         (or if unknown) the oov_token's index 1, or the word is dropped \
                         without an oov_token",
            },
            "encoding": {
                "maxlen": enc.maxlen,
                "padding": enc.padding,
                "truncating": enc.truncating,
                "value": 0,
                "unknown_words": unknown,
                "rule": "Keras pad_sequences: cut to the last (`pre`) or first (`post`) maxlen \
                         ids, then fill with `value` before (`pre`) or after (`post`)",
            },
        });
        let cleaning_json =
            serde_json::to_string_pretty(&cleaning_json).map_err(json_err("the cleaning"))?;
        tracing::debug!(
            steps = pipeline.steps().len(),
            unexpressed = unexpressed.len(),
            bytes = tokenizer_json.len(),
            "exported tokenizer"
        );
        Ok(HfExport {
            tokenizer_json,
            cleaning_json,
            unexpressed,
        })
    }
}

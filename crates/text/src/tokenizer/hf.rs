//! The Hugging Face side of [`crate::KerasTokenizer`]: the `tokenizers` pipeline that
//! reproduces Keras, and the `tokenizer.json` layout.
//!
//! Pipeline (word mode):
//! - normalizer: `Sequence[Lowercase, Replace(Regex("[<filters>]") -> split)]` (each part only
//!   when `lower` / non-empty `filters`);
//! - pre-tokenizer: `Split(String(split), Removed)`;
//! - model: `WordLevel` with `vocab = {pad_token: 0} ∪ {word: index | index < num_words}`.
//!
//! (char mode: normalizer `Lowercase` only, pre-tokenizer `Split(Regex("[\s\S]"), Isolated)`.)
//!
//! Unknown words in the HF file: the WordLevel `unk_token` is the `oov_token` when one is set,
//! so HF gives index 1 exactly as Keras does. Without an `oov_token` it is the padding token, so
//! HF gives **0** where Keras drops the word: removing the zeros from an HF encoding gives the
//! Keras sequence. Words with index `>= num_words` are left out of the HF vocab, so the same
//! rule covers them.
//!
//! Our own state (config, padding token name, document count, word counts in index order) is
//! kept in a `"textrnn"` object inside `"model"`, beside `vocab` and `unk_token`. `tokenizers`
//! ignores it there (the model is read through a `serde_json::Value`, whose map access lets the
//! WordLevel visitor skip unknown keys). It cannot go at the top level: the `Tokenizer` visitor
//! (0.23) skips an unknown key without consuming its value, so `from_file` fails with
//! "expected `,` or `}`".
//!
//! ```
//! use textrnn_text::{KerasTokenizer, TokenizerConfig};
//!
//! let tok = KerasTokenizer::fit(&TokenizerConfig::default(), ["a b b"])?;
//! let hf = tok.to_hf()?;
//! // word_index: b=1, a=2; the unknown `c` encodes to 0 (no oov_token)
//! assert_eq!(hf.encode("B a c", false)?.get_ids(), [1, 2, 0]);
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```

use serde::{Deserialize, Serialize};
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{Lowercase, NormalizerWrapper, Replace, Sequence};
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{SplitDelimiterBehavior, Tokenizer};

use crate::error::{Error, Result};
use crate::tokenizer::config::TokenizerConfig;

/// Key of our metadata object inside the `model` object of `tokenizer.json`.
pub(crate) const METADATA_KEY: &str = "textrnn";

/// Version of the metadata layout.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// What we keep inside `tokenizer.json` besides the HF pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Metadata {
    /// [`FORMAT_VERSION`].
    pub format: u32,
    /// The Keras arguments.
    pub config: TokenizerConfig,
    /// Name of the id-0 token in the WordLevel vocab.
    pub pad_token: String,
    /// Number of texts the tokenizer was fitted on (Keras `document_count`).
    pub document_count: u64,
    /// `[word, count]` by index: entry `i` has index `i + 1` (the OOV token has count 0).
    pub word_counts: Vec<(String, u64)>,
}

pub(crate) fn hf_err(context: &str) -> impl FnOnce(tokenizers::Error) -> Error + '_ {
    move |source| Error::Tokenizers {
        context: context.to_owned(),
        source,
    }
}

/// Onig character class matching exactly the characters of `filters` (`\x{..}` escapes, so no
/// character is special).
fn filter_class(filters: &str) -> String {
    let mut class = String::from("[");
    for c in filters.chars() {
        class.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
    class.push(']');
    class
}

/// Builds the HF tokenizer for `config` whose WordLevel vocab is `pad_token -> 0` plus
/// `words[i] -> i + 1` for every index below `num_words`.
pub(crate) fn build(
    config: &TokenizerConfig,
    pad_token: &str,
    words: &[String],
) -> Result<Tokenizer> {
    build_with(config, pad_token, words, Vec::new())
}

/// [`build`] with `cleaning` normalizers run before the Keras ones.
pub(crate) fn build_with(
    config: &TokenizerConfig,
    pad_token: &str,
    words: &[String],
    cleaning: Vec<NormalizerWrapper>,
) -> Result<Tokenizer> {
    let limit = config.num_words.unwrap_or(usize::MAX);
    let vocab = std::iter::once((pad_token.to_owned(), 0u32))
        .chain(
            words
                .iter()
                .enumerate()
                .map(|(i, w)| (i + 1, w))
                .take_while(|(index, _)| *index < limit)
                .map(|(index, w)| (w.clone(), index as u32)),
        )
        .collect();
    let unk = config.oov_token.as_deref().unwrap_or(pad_token).to_owned();
    let model = WordLevel::builder()
        .vocab(vocab)
        .unk_token(unk)
        .build()
        .map_err(hf_err("building the WordLevel model"))?;

    let mut stages = cleaning;
    if config.lower {
        stages.push(Lowercase.into());
    }
    if !config.char_level && !config.filters.is_empty() {
        let replace = Replace::new(
            ReplacePattern::Regex(filter_class(&config.filters)),
            config.split.as_str(),
        )
        .map_err(hf_err("compiling the filters"))?;
        stages.push(replace.into());
    }
    let normalizer: Option<NormalizerWrapper> = match stages.len() {
        0 => None,
        1 => stages.pop(),
        _ => Some(Sequence::new(stages).into()),
    };

    let split = if config.char_level {
        Split::new(
            SplitPattern::Regex("[\\s\\S]".into()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
    } else {
        Split::new(
            SplitPattern::String(config.split.clone()),
            SplitDelimiterBehavior::Removed,
            false,
        )
    }
    .map_err(hf_err("compiling the split pattern"))?;

    let mut tokenizer = Tokenizer::new(model);
    tokenizer
        .with_normalizer(normalizer)
        .map_err(hf_err("setting the normalizer"))?;
    tokenizer.with_pre_tokenizer(Some(split));
    Ok(tokenizer)
}

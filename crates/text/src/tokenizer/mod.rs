//! [`KerasTokenizer`]: `keras.preprocessing.text.Tokenizer` on top of Hugging Face `tokenizers`.
//!
//! `fit` counts words (see [`text_to_word_sequence`]) and numbers them by descending count, ties
//! in first-seen order (Keras' stable sort; the HF WordLevel trainer would break ties
//! alphabetically, so the vocabulary is built here). Index 0 is padding and never a word; the
//! `oov_token`, if any, is index 1. `texts_to_sequences` keeps indices `< num_words`; a word
//! beyond that, or unknown, becomes the OOV index or is dropped without an `oov_token`.
//!
//! `save` writes a `tokenizer.json` that `tokenizers::Tokenizer::from_file` loads as it is (see
//! the `hf` module docs for what unknown words encode to there); `load` reads it back.
//!
//! ```
//! use textrnn_text::{pad_sequences, KerasTokenizer, Padding, TokenizerConfig, Truncating};
//!
//! let cfg = TokenizerConfig { num_words: Some(4), ..Default::default() };
//! let texts = ["Well done!", "Good work", "Great effort", "nice work", "Excellent!"];
//! let tok = KerasTokenizer::fit(&cfg, texts)?;
//! assert_eq!(tok.id("work"), Some(1));
//! let seqs = tok.texts_to_sequences(&["Good job bro, keep hard work", "well done"]);
//! assert_eq!(seqs, vec![vec![1], vec![2, 3]]);
//! let padded = pad_sequences(&seqs, 5, Padding::Pre, Truncating::Pre, 0)?;
//! assert_eq!(padded, [0, 0, 0, 0, 1, 0, 0, 0, 2, 3]);
//! assert_eq!(tok.vocab_size(), 4);
//! # Ok::<(), textrnn_text::Error>(())
//! ```

pub(crate) mod config;
pub(crate) mod hf;
pub(crate) mod words;

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use config::TokenizerConfig;
use hf::{Metadata, FORMAT_VERSION, METADATA_KEY};
use words::WordSplitter;

/// A fitted Keras-compatible word (or character) tokenizer.
#[derive(Debug, Clone)]
pub struct KerasTokenizer {
    config: TokenizerConfig,
    splitter: WordSplitter,
    pad_token: String,
    document_count: u64,
    /// `words[i]` has index `i + 1`.
    words: Vec<String>,
    /// Parallel to `words`.
    counts: Vec<u64>,
    word_index: HashMap<String, u32>,
}

impl KerasTokenizer {
    /// Fits a tokenizer on `texts` (Keras `fit_on_texts`).
    ///
    /// If the `oov_token` itself occurs in the texts it keeps index 1 (Keras would give it a
    /// second, later index and leave a hole at 1).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when [`TokenizerConfig::validate`] fails.
    ///
    /// ```
    /// use textrnn_text::{KerasTokenizer, TokenizerConfig};
    ///
    /// let cfg = TokenizerConfig { oov_token: Some("<OOV>".into()), ..Default::default() };
    /// let tok = KerasTokenizer::fit(&cfg, ["b a b"])?;
    /// assert_eq!(tok.words(), ["<OOV>", "b", "a"]);
    /// # Ok::<(), textrnn_text::Error>(())
    /// ```
    pub fn fit<I>(config: &TokenizerConfig, texts: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        config.validate()?;
        let splitter = WordSplitter::new(config);
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut counted: Vec<(String, u64)> = Vec::new();
        let mut document_count = 0u64;
        let mut buf = String::new();
        for text in texts {
            document_count += 1;
            splitter.for_each_word(text.as_ref(), &mut buf, |w| match seen.get(w) {
                Some(&at) => counted[at].1 += 1,
                None => {
                    seen.insert(w.to_owned(), counted.len());
                    counted.push((w.to_owned(), 1));
                }
            });
        }
        if let Some(oov) = &config.oov_token {
            counted.retain(|(w, _)| w != oov);
        }
        // Stable: equal counts keep first-seen order, as Python's `sort` in Keras.
        counted.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        let oov = config.oov_token.iter().map(|t| (t.clone(), 0));
        let by_index: Vec<(String, u64)> = oov.chain(counted).collect();
        let tokenizer = Self::from_parts(config.clone(), None, document_count, by_index)?;
        tracing::info!(
            words = tokenizer.words.len(),
            documents = document_count,
            vocab_size = tokenizer.vocab_size(),
            "fitted tokenizer"
        );
        Ok(tokenizer)
    }

    /// Assembles a tokenizer from its word list by index (`by_index[i]` has index `i + 1`).
    fn from_parts(
        config: TokenizerConfig,
        pad_token: Option<String>,
        document_count: u64,
        by_index: Vec<(String, u64)>,
    ) -> Result<Self> {
        if by_index.len() >= u32::MAX as usize {
            return Err(Error::invalid("num_words", "more than u32::MAX words"));
        }
        let splitter = WordSplitter::new(&config);
        let pad_token = match pad_token {
            Some(p) => p,
            None => choose_pad_token(&splitter, &config),
        };
        let (words, counts): (Vec<String>, Vec<u64>) = by_index.into_iter().unzip();
        let word_index: HashMap<String, u32> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32 + 1))
            .collect();
        if word_index.len() != words.len() {
            return Err(Error::invalid("word_counts", "a word appears twice"));
        }
        if word_index.contains_key(&pad_token) {
            return Err(Error::invalid(
                "pad_token",
                "the padding token is also a word",
            ));
        }
        Ok(Self {
            config,
            splitter,
            pad_token,
            document_count,
            words,
            counts,
            word_index,
        })
    }

    /// The configuration it was fitted with.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }

    /// Number of texts seen by `fit` (Keras `document_count`).
    pub fn document_count(&self) -> u64 {
        self.document_count
    }

    /// Rows an `Embedding` needs: `min(num_words, word_index.len() + 1)` (the `+ 1` is padding).
    pub fn vocab_size(&self) -> usize {
        let all = self.words.len() + 1;
        self.config.num_words.map_or(all, |n| n.min(all))
    }

    /// Every fitted word with its index (Keras `word_index`: not limited by `num_words`; includes
    /// the `oov_token`).
    pub fn word_index(&self) -> &HashMap<String, u32> {
        &self.word_index
    }

    /// The words in index order: `words()[i]` has index `i + 1`.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The word with index `id` (Keras `index_word`); `None` for 0 (padding) or unknown ids.
    pub fn index_word(&self, id: u32) -> Option<&str> {
        let at = (id as usize).checked_sub(1)?;
        self.words.get(at).map(String::as_str)
    }

    /// The index of `word` in [`Self::word_index`] (not limited by `num_words`).
    pub fn id(&self, word: &str) -> Option<u32> {
        self.word_index.get(word).copied()
    }

    /// How often `word` occurred in the fitted texts (Keras `word_counts`); 0 for the OOV token.
    pub fn word_count(&self, word: &str) -> Option<u64> {
        let id = self.id(word)?;
        self.counts.get(id as usize - 1).copied()
    }

    /// Name of the id-0 (padding) token in the HF vocabulary (`[PAD]` unless a text could
    /// produce that word).
    pub fn pad_token(&self) -> &str {
        &self.pad_token
    }

    /// The id `word` encodes to, Keras rules: its index if `< num_words`, else the OOV index if
    /// there is an `oov_token`, else `None` (dropped).
    fn encode_word(&self, word: &str) -> Option<u32> {
        let oov = || self.config.oov_token.as_ref().map(|_| 1);
        match self.word_index.get(word) {
            Some(&i) if self.config.num_words.is_none_or(|n| (i as usize) < n) => Some(i),
            _ => oov(),
        }
    }

    /// Encodes one text (Keras `texts_to_sequences([text])[0]`).
    pub fn text_to_sequence(&self, text: &str) -> Vec<u32> {
        let mut seq = Vec::new();
        self.encode_into(text, &mut String::new(), &mut seq);
        seq
    }

    fn encode_into(&self, text: &str, buf: &mut String, seq: &mut Vec<u32>) {
        self.splitter.for_each_word(text, buf, |w| {
            if let Some(id) = self.encode_word(w) {
                seq.push(id);
            }
        });
    }

    /// Encodes texts to id sequences exactly as Keras `texts_to_sequences` (ragged; see
    /// [`crate::pad_sequences`]). Accepts `&[&str]` or `&[String]`.
    pub fn texts_to_sequences<S: AsRef<str>>(&self, texts: &[S]) -> Vec<Vec<u32>> {
        let mut buf = String::new();
        texts
            .iter()
            .map(|t| {
                let mut seq = Vec::new();
                self.encode_into(t.as_ref(), &mut buf, &mut seq);
                seq
            })
            .collect()
    }

    /// The equivalent Hugging Face tokenizer (what [`Self::save`] writes, minus our metadata).
    ///
    /// # Errors
    /// [`Error::Tokenizers`] if `tokenizers` rejects a stage (e.g. a pattern it cannot compile).
    pub fn to_hf(&self) -> Result<tokenizers::Tokenizer> {
        hf::build(&self.config, &self.pad_token, &self.words)
    }

    /// Writes `tokenizer.json` atomically: the HF pipeline plus our state under
    /// `"model"."textrnn"`.
    ///
    /// # Errors
    /// [`Error::Write`] (naming `path`) if it cannot be written; [`Error::Tokenizers`] as in
    /// [`Self::to_hf`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let json_err = |source| Error::Json {
            path: path.to_path_buf(),
            source,
        };
        let mut value = serde_json::to_value(self.to_hf()?).map_err(json_err)?;
        let metadata = Metadata {
            format: FORMAT_VERSION,
            config: self.config.clone(),
            pad_token: self.pad_token.clone(),
            document_count: self.document_count,
            word_counts: self
                .words
                .iter()
                .cloned()
                .zip(self.counts.iter().copied())
                .collect(),
        };
        let metadata = serde_json::to_value(metadata).map_err(json_err)?;
        match value.get_mut("model").and_then(|m| m.as_object_mut()) {
            Some(model) => model.insert(METADATA_KEY.to_owned(), metadata),
            None => {
                return Err(Error::Format {
                    path: path.to_path_buf(),
                    reason: "tokenizers did not serialize a `model` object".into(),
                })
            }
        };
        let bytes = serde_json::to_vec(&value).map_err(json_err)?;
        textrnn_fs::write(path, &bytes)?;
        tracing::debug!(path = %path.display(), bytes = bytes.len(), "saved tokenizer");
        Ok(())
    }

    /// Reads a `tokenizer.json` written by [`Self::save`].
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read, [`Error::Json`] if it is not JSON or the
    /// `model.textrnn` section is malformed, [`Error::Format`] if that section is missing, of another
    /// format version, or inconsistent — each naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let json_err = |source| Error::Json {
            path: path.to_path_buf(),
            source,
        };
        let format_err = |reason: String| Error::Format {
            path: path.to_path_buf(),
            reason,
        };
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(json_err)?;
        let metadata = value
            .get_mut("model")
            .and_then(|m| m.as_object_mut())
            .and_then(|m| m.remove(METADATA_KEY))
            .ok_or_else(|| format_err(format!("no `model.{METADATA_KEY}` object")))?;
        let metadata: Metadata = serde_json::from_value(metadata).map_err(json_err)?;
        if metadata.format != FORMAT_VERSION {
            return Err(format_err(format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                metadata.format
            )));
        }
        metadata
            .config
            .validate()
            .map_err(|e| format_err(e.to_string()))?;
        if let Some(oov) = &metadata.config.oov_token {
            if metadata.word_counts.first().map(|(w, _)| w) != Some(oov) {
                return Err(format_err(format!("the oov_token {oov:?} is not index 1")));
            }
        }
        Self::from_parts(
            metadata.config,
            Some(metadata.pad_token),
            metadata.document_count,
            metadata.word_counts,
        )
        .map_err(|e| format_err(e.to_string()))
    }
}

/// `[PAD]`, or `[PAD]` followed by the separator until no text can produce it and it is not the
/// OOV token (a token containing `split` never comes out of the pre-tokenizer).
fn choose_pad_token(splitter: &WordSplitter, config: &TokenizerConfig) -> String {
    let suffix = if config.split.is_empty() {
        "_"
    } else {
        config.split.as_str()
    };
    let mut name = String::from("[PAD]");
    while splitter.can_produce(&name) || config.oov_token.as_deref() == Some(name.as_str()) {
        name.push_str(suffix);
    }
    name
}

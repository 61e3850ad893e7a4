//! [`TokenizerConfig`]: the arguments of `keras.preprocessing.text.Tokenizer`, same names and
//! defaults.
//!
//! ```
//! use textrnn_text::TokenizerConfig;
//!
//! let cfg: TokenizerConfig = serde_json::from_str(r#"{"num_words": 10000, "oov_token": "<OOV>"}"#)?;
//! assert!(cfg.lower);
//! assert_eq!(cfg.split, " ");
//! assert_eq!(cfg.filters, textrnn_text::KERAS_FILTERS);
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Keras' default `filters`: punctuation, tab and newline (each replaced by `split`).
pub const KERAS_FILTERS: &str = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

/// Configuration of a [`crate::KerasTokenizer`], mirroring the Keras `Tokenizer` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenizerConfig {
    /// Keep only words whose index is `< num_words` when encoding (the `num_words - 1` most
    /// frequent words; index 0 is padding). `None`: keep every word. Must be at least 1, and at
    /// least 2 with an `oov_token`.
    pub num_words: Option<usize>,
    /// Token standing for out-of-vocabulary words; it gets index 1. `None`: unknown words are
    /// dropped.
    pub oov_token: Option<String>,
    /// Lower-case the text first (default `true`).
    pub lower: bool,
    /// Characters replaced by `split` before splitting (default [`KERAS_FILTERS`]).
    pub filters: String,
    /// Word separator (default `" "`); must not be empty unless `char_level`.
    pub split: String,
    /// Every character is a token (after lower-casing; `filters` and `split` are not used).
    pub char_level: bool,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self {
            num_words: None,
            oov_token: None,
            lower: true,
            filters: KERAS_FILTERS.to_owned(),
            split: " ".to_owned(),
            char_level: false,
        }
    }
}

impl TokenizerConfig {
    /// Checks the values; the errors name the offending field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for `num_words` 0 (or 1 with an `oov_token`), an empty
    /// `oov_token`, or an empty `split` in word mode.
    pub fn validate(&self) -> Result<()> {
        match (self.num_words, &self.oov_token) {
            (Some(0), _) => {
                return Err(Error::invalid(
                    "num_words",
                    "must be at least 1 (index 0 is padding)",
                ))
            }
            (Some(1), Some(_)) => {
                return Err(Error::invalid(
                    "num_words",
                    "must be at least 2 with an oov_token (index 1 is the OOV token)",
                ))
            }
            _ => {}
        }
        if self.oov_token.as_deref() == Some("") {
            return Err(Error::invalid("oov_token", "must not be empty"));
        }
        if self.split.is_empty() && !self.char_level {
            return Err(Error::invalid("split", "must not be empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_are_keras_defaults() {
        let cfg = TokenizerConfig::default();
        assert_eq!(cfg.filters, "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n");
        assert!(cfg.lower && !cfg.char_level);
        assert_eq!((cfg.num_words, cfg.oov_token.as_deref()), (None, None));
        let parsed: TokenizerConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, cfg);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<TokenizerConfig>(r#"{"numwords": 3}"#).unwrap_err();
        assert!(err.to_string().contains("numwords"), "{err}");
    }

    #[test]
    fn validate_names_the_field() {
        let bad = |cfg: TokenizerConfig, field: &str| match cfg.validate() {
            Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected InvalidConfig({field}), got {other:?}"),
        };
        bad(
            TokenizerConfig {
                num_words: Some(0),
                ..Default::default()
            },
            "num_words",
        );
        bad(
            TokenizerConfig {
                num_words: Some(1),
                oov_token: Some("<OOV>".into()),
                ..Default::default()
            },
            "num_words",
        );
        bad(
            TokenizerConfig {
                oov_token: Some(String::new()),
                ..Default::default()
            },
            "oov_token",
        );
        bad(
            TokenizerConfig {
                split: String::new(),
                ..Default::default()
            },
            "split",
        );
        assert!(TokenizerConfig {
            num_words: Some(1),
            ..Default::default()
        }
        .validate()
        .is_ok());
    }
}

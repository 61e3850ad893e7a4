//! Keras `text_to_word_sequence`, implemented natively (no allocation per word) and kept
//! identical to the Hugging Face pipeline that [`crate::KerasTokenizer::save`] writes:
//!
//! 1. lower-case (if `lower`), char by char (`char::to_lowercase`, as HF `Lowercase` does);
//! 2. replace every character of `filters` by `split` (Keras `str.translate`; HF `Replace` with
//!    a character-class regex, one simultaneous pass);
//! 3. split on `split` and drop empty pieces (Keras `[w for w in s.split(split) if w]`; HF `Split`
//!    with behaviour `Removed`).
//!
//! With `char_level`, step 2 and 3 are replaced by "every character is a token".
//!
//! Known difference from Python: `str.lower()` turns a word-final capital sigma into `ς`, the
//! char-by-char lowering (Rust and HF) gives `σ`.
//!
//! ```
//! use textrnn_text::{text_to_word_sequence, TokenizerConfig};
//!
//! let words = text_to_word_sequence("Good job bro, keep  hard work!", &TokenizerConfig::default());
//! assert_eq!(words, ["good", "job", "bro", "keep", "hard", "work"]);
//! ```

use crate::tokenizer::config::TokenizerConfig;

/// Splits `text` into words exactly as Keras' `text_to_word_sequence` (or into characters when
/// `config.char_level`), with the config's `lower`, `filters` and `split`.
pub fn text_to_word_sequence(text: &str, config: &TokenizerConfig) -> Vec<String> {
    let splitter = WordSplitter::new(config);
    let mut words = Vec::new();
    splitter.for_each_word(text, &mut String::new(), |w| words.push(w.to_owned()));
    words
}

/// The compiled form of `lower` / `filters` / `split` / `char_level`.
#[derive(Debug, Clone)]
pub(crate) struct WordSplitter {
    lower: bool,
    char_level: bool,
    split: String,
    ascii_filter: [bool; 128],
    other_filters: Vec<char>,
}

impl WordSplitter {
    pub(crate) fn new(config: &TokenizerConfig) -> Self {
        let mut ascii_filter = [false; 128];
        let mut other_filters = Vec::new();
        for c in config.filters.chars() {
            if c.is_ascii() {
                ascii_filter[c as usize] = true;
            } else {
                other_filters.push(c);
            }
        }
        other_filters.sort_unstable();
        other_filters.dedup();
        Self {
            lower: config.lower,
            char_level: config.char_level,
            split: config.split.clone(),
            ascii_filter,
            other_filters,
        }
    }

    fn is_filtered(&self, c: char) -> bool {
        if c.is_ascii() {
            self.ascii_filter[c as usize]
        } else {
            self.other_filters.binary_search(&c).is_ok()
        }
    }

    fn push_char(&self, c: char, buf: &mut String) {
        if !self.char_level && self.is_filtered(c) {
            buf.push_str(&self.split);
        } else {
            buf.push(c);
        }
    }

    /// Calls `f` on each word of `text` in order; `buf` is scratch space reused across calls.
    pub(crate) fn for_each_word(&self, text: &str, buf: &mut String, mut f: impl FnMut(&str)) {
        buf.clear();
        buf.reserve(text.len());
        for c in text.chars() {
            if !self.lower {
                self.push_char(c, buf);
            } else if c.is_ascii() {
                self.push_char(c.to_ascii_lowercase(), buf);
            } else {
                for lc in c.to_lowercase() {
                    self.push_char(lc, buf);
                }
            }
        }
        if self.char_level {
            for (start, c) in buf.char_indices() {
                f(&buf[start..start + c.len_utf8()]);
            }
        } else {
            buf.split(self.split.as_str())
                .filter(|w| !w.is_empty())
                .for_each(f);
        }
    }

    /// Whether some input text could produce `token` as a word (used to pick a padding token
    /// name that no text can ever encode to).
    pub(crate) fn can_produce(&self, token: &str) -> bool {
        if self.lower && token.chars().flat_map(char::to_lowercase).ne(token.chars()) {
            return false;
        }
        if self.char_level {
            return token.chars().count() == 1;
        }
        !token.is_empty()
            && !token.contains(&self.split)
            && !token.chars().any(|c| self.is_filtered(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, config: &TokenizerConfig) -> Vec<String> {
        text_to_word_sequence(text, config)
    }

    #[test]
    fn keras_default_filters_and_lowercase() {
        let cfg = TokenizerConfig::default();
        // Python: text_to_word_sequence("Hello, World!\tIt's  a--test\n") ==
        //   ['hello', 'world', "it's", 'a', 'test']
        assert_eq!(
            words("Hello, World!\tIt's  a--test\n", &cfg),
            ["hello", "world", "it's", "a", "test"]
        );
        assert!(words("  ,.;  ", &cfg).is_empty());
    }

    #[test]
    fn no_lower_custom_filters_and_multichar_split() {
        let cfg = TokenizerConfig {
            lower: false,
            filters: "|é".into(),
            split: "--".into(),
            ..Default::default()
        };
        // "A|b" -> "A--b"; "é" -> "--"; Python "A--b----C---D".split("--") = ['A','b','','C','-D']
        assert_eq!(words("A|bé--C---D", &cfg), ["A", "b", "C", "-D"]);
    }

    #[test]
    fn char_level_keeps_spaces_and_punctuation() {
        let cfg = TokenizerConfig {
            char_level: true,
            ..Default::default()
        };
        assert_eq!(words("Ab !", &cfg), ["a", "b", " ", "!"]);
    }

    #[test]
    fn can_produce() {
        let s = WordSplitter::new(&TokenizerConfig::default());
        assert!(s.can_produce("pad"));
        assert!(!s.can_produce("[PAD]"));
        assert!(!s.can_produce("Pad"));
        let raw = WordSplitter::new(&TokenizerConfig {
            lower: false,
            filters: String::new(),
            ..Default::default()
        });
        assert!(raw.can_produce("[PAD]"));
        assert!(!raw.can_produce("[PAD] "));
    }
}

//! ASCII emoticons → words, padded with spaces (`:)` → ` smiley `).
//!
//! An emoticon is replaced only when the next character is not a letter, digit or `/` (so
//! `:Pizza`, `12:Dec` and `http://` are left alone), and, if it begins with a letter (`XD`),
//! when the previous character is not a letter or digit.
//!
//! ```
//! use textrnn_text::{Pipeline, Step};
//!
//! let p = Pipeline::from_steps([Step::EmoticonsToWords, Step::SqueezeWhitespace])?;
//! assert_eq!(p.apply("late again :( but crew :D <3"), "late again sad but crew laughing heart");
//! # Ok::<(), textrnn_text::Error>(())
//! ```

use std::collections::HashMap;

use regex::Regex;

use crate::error::Result;
use crate::normalize::replace_where;

/// The table: emoticon and its word(s).
pub(crate) const EMOTICONS: &[(&str, &str)] = &[
    (":-)", "smiley"),
    (":)", "smiley"),
    ("=)", "smiley"),
    (":]", "smiley"),
    (":-(", "sad"),
    (":(", "sad"),
    ("=(", "sad"),
    (":[", "sad"),
    (":'(", "crying"),
    (":’(", "crying"),
    (":'-(", "crying"),
    (":-D", "laughing"),
    (":D", "laughing"),
    ("=D", "laughing"),
    ("xD", "laughing"),
    ("XD", "laughing"),
    (":-P", "tongue sticking out"),
    (":P", "tongue sticking out"),
    (":-p", "tongue sticking out"),
    (":p", "tongue sticking out"),
    ("=P", "tongue sticking out"),
    (";-)", "wink"),
    (";)", "wink"),
    (";-P", "wink tongue sticking out"),
    (";P", "wink tongue sticking out"),
    (":-/", "skeptical"),
    (":/", "skeptical"),
    (":-\\", "skeptical"),
    (":\\", "skeptical"),
    (":-|", "neutral"),
    (":|", "neutral"),
    (":-O", "surprised"),
    (":O", "surprised"),
    (":-o", "surprised"),
    (":o", "surprised"),
    (":-*", "kiss"),
    (":*", "kiss"),
    (">:(", "angry"),
    (">:-(", "angry"),
    ("</3", "broken heart"),
    ("<3", "heart"),
    ("^_^", "happy"),
    ("-_-", "annoyed"),
    ("o_O", "confused"),
    ("O_o", "confused"),
];

/// The table's emoticons, longest (in characters) first, ties in table order: the order of the
/// alternation.
pub(crate) fn ordered_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = EMOTICONS.iter().map(|(e, _)| *e).collect();
    // Longest first, so `:-)` wins over `:-` prefixes and `>:(` over `:(`.
    keys.sort_by_key(|k| std::cmp::Reverse(k.chars().count()));
    keys
}

/// Replaces the emoticons of [`EMOTICONS`] by words.
#[derive(Debug, Clone)]
pub(crate) struct EmoticonsToWords {
    re: Regex,
    words: HashMap<&'static str, &'static str>,
}

impl EmoticonsToWords {
    pub(crate) fn new() -> Result<Self> {
        let alternatives: Vec<String> = ordered_keys().iter().map(|k| regex::escape(k)).collect();
        Ok(Self {
            re: Regex::new(&alternatives.join("|"))?,
            words: EMOTICONS.iter().copied().collect(),
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        replace_where(
            &self.re,
            text,
            |prev, emoticon, next| {
                let free_after = next.is_none_or(|c| !c.is_alphanumeric() && c != '/');
                let starts_alnum = emoticon.chars().next().is_some_and(char::is_alphanumeric);
                let free_before = !starts_alnum || prev.is_none_or(|c| !c.is_alphanumeric());
                free_after && free_before
            },
            |caps| match self.words.get(&caps[0]) {
                Some(word) => format!(" {word} "),
                None => caps[0].to_owned(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_tutorial_emoticons() {
        let s = EmoticonsToWords::new().unwrap();
        let words = |t: &str| s.apply(t).split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            words(":) :( :P :D ;) :/ <3"),
            "smiley sad tongue sticking out laughing wink skeptical heart"
        );
        assert_eq!(words("great:)"), "great smiley");
        assert_eq!(words(">:( :'( xD"), "angry crying laughing");
    }

    #[test]
    fn boundaries() {
        let s = EmoticonsToWords::new().unwrap();
        assert_eq!(
            s.apply(":Pizza 12:Dec http://x boxD"),
            ":Pizza 12:Dec http://x boxD"
        );
    }
}

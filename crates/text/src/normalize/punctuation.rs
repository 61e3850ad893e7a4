//! Punctuation, symbols and digits.
//!
//! - `mark_question_exclamation`: a run of `?` → ` questionmark `, a run of `!` →
//!   ` exclamationmark ` (so the sentiment they carry survives punctuation removal);
//! - `remove_punctuation`: apostrophes (`'`, `’`) are deleted, every other Unicode punctuation or
//!   symbol character (classes `P*` and `S*`: `.,-"()`, `$`, `+`, `|`, leftover emoji, ...) becomes
//!   a space;
//! - `remove_digits`: each run of decimal digits becomes a space.
//!
//! ```
//! use textrnn_text::{Pipeline, Step};
//!
//! let p = Pipeline::from_steps([
//!     Step::MarkQuestionExclamation,
//!     Step::RemovePunctuation,
//!     Step::RemoveDigits,
//!     Step::SqueezeWhitespace,
//! ])?;
//! assert_eq!(p.apply("Why?? $200 fee, ugh!"), "Why questionmark fee ugh exclamationmark");
//! # Ok::<(), textrnn_text::Error>(())
//! ```

use regex::Regex;

use crate::error::Result;

/// `?` runs (group 1) and `!` runs (group 2).
pub(crate) const QUESTION_EXCLAMATION: &str = r"(\?+)|(!+)";
/// Apostrophes, deleted.
pub(crate) const APOSTROPHES: &str = r"['’]";
/// Punctuation and symbol runs, each replaced by a space.
pub(crate) const PUNCTUATION: &str = r"[\p{P}\p{S}]+";
/// Digit runs, each replaced by a space.
pub(crate) const DIGITS: &str = r"\p{Nd}+";
/// What a `?` run becomes.
pub(crate) const QUESTION_WORD: &str = " questionmark ";
/// What a `!` run becomes.
pub(crate) const EXCLAMATION_WORD: &str = " exclamationmark ";

/// `?`/`!` runs → words.
#[derive(Debug, Clone)]
pub(crate) struct QuestionExclamation {
    re: Regex,
}

impl QuestionExclamation {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            re: Regex::new(QUESTION_EXCLAMATION)?,
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        self.re
            .replace_all(text, |caps: &regex::Captures<'_>| {
                if caps.get(1).is_some() {
                    QUESTION_WORD
                } else {
                    EXCLAMATION_WORD
                }
            })
            .into_owned()
    }
}

/// Deletes apostrophes, turns other punctuation and symbols into spaces.
#[derive(Debug, Clone)]
pub(crate) struct RemovePunctuation {
    apostrophes: Regex,
    others: Regex,
}

impl RemovePunctuation {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            apostrophes: Regex::new(APOSTROPHES)?,
            others: Regex::new(PUNCTUATION)?,
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        let joined = self.apostrophes.replace_all(text, "");
        self.others.replace_all(&joined, " ").into_owned()
    }
}

/// Digit runs → a space.
#[derive(Debug, Clone)]
pub(crate) struct RemoveDigits {
    re: Regex,
}

impl RemoveDigits {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            re: Regex::new(DIGITS)?,
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        self.re.replace_all(text, " ").into_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn question_and_exclamation_runs() {
        let s = QuestionExclamation::new().unwrap();
        assert_eq!(s.apply("why?!!"), "why questionmark  exclamationmark ");
    }

    #[test]
    fn punctuation_and_symbols() {
        let s = RemovePunctuation::new().unwrap();
        assert_eq!(
            s.apply("you - but, \"help\". $5+tax Ryan's"),
            "you   but   help   5 tax Ryans"
        );
        assert_eq!(s.apply("a…b “c” 🦄"), "a b  c   ");
    }

    #[test]
    fn digits() {
        let s = RemoveDigits::new().unwrap();
        assert_eq!(
            s.apply("taking 6 hours, flight AA123"),
            "taking   hours, flight AA "
        );
    }
}

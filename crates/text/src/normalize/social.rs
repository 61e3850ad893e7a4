//! Twitter furniture: URLs, `@mentions` and `#hashtags`, removed as whole tokens.
//!
//! A mention or hashtag starts at an `@`/`#` that is not preceded by a letter or digit (so
//! `me@example.com` and `C#` are kept); a URL starts at `http://`, `https://` or `www.` under the
//! same condition and runs to the next whitespace. Each is replaced by a space.
//!
//! ```
//! use textrnn_text::{Pipeline, Step};
//!
//! let p = Pipeline::from_steps([Step::RemoveUrls, Step::RemoveMentions, Step::RemoveHashtags])?;
//! assert_eq!(p.apply("@united see http://t.co/x #fail"), "  see    ");
//! # Ok::<(), textrnn_text::Error>(())
//! ```

use regex::Regex;

use crate::error::Result;
use crate::normalize::replace_where;

/// URL pattern (`regex` syntax).
pub(crate) const URL: &str = r"(?i)(?:https?://|www\.)\S+";
/// Mention pattern.
pub(crate) const MENTION: &str = r"@\w+";
/// Hashtag pattern.
pub(crate) const HASHTAG: &str = r"#\w+";

fn starts_token(prev: Option<char>) -> bool {
    prev.is_none_or(|c| !c.is_alphanumeric())
}

fn remove_tokens(re: &Regex, text: &str) -> String {
    replace_where(
        re,
        text,
        |prev, _, _| starts_token(prev),
        |_| " ".to_owned(),
    )
}

/// Removes URLs.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    re: Regex,
}

impl Urls {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            re: Regex::new(URL)?,
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        remove_tokens(&self.re, text)
    }
}

/// Removes `@mentions`.
#[derive(Debug, Clone)]
pub(crate) struct Mentions {
    re: Regex,
}

impl Mentions {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            re: Regex::new(MENTION)?,
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        remove_tokens(&self.re, text)
    }
}

/// Removes `#hashtags`.
#[derive(Debug, Clone)]
pub(crate) struct Hashtags {
    re: Regex,
}

impl Hashtags {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            re: Regex::new(HASHTAG)?,
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        remove_tokens(&self.re, text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls() {
        let s = Urls::new().unwrap();
        assert_eq!(
            s.apply("see https://t.co/AbC?x=1, and WWW.united.com/bags now"),
            "see   and   now"
        );
        assert_eq!(s.apply("awww.yes"), "awww.yes");
    }

    #[test]
    fn mentions() {
        let s = Mentions::new().unwrap();
        assert_eq!(
            s.apply("@VirginAmerica What @dhepburn said."),
            "  What   said."
        );
        assert_eq!(s.apply("mail me@example.com"), "mail me@example.com");
    }

    #[test]
    fn hashtags() {
        let s = Hashtags::new().unwrap();
        assert_eq!(s.apply("#fail again (#united_sucks) C#"), "  again ( ) C#");
    }
}

//! HTML leftovers: line breaks (`<br />` in IMDB reviews) and character entities (`&amp;` in
//! tweets).
//!
//! ```
//! use textrnn_text::{Pipeline, Step};
//!
//! let p = Pipeline::from_steps([Step::StripHtmlBreaks, Step::HtmlEntities])?;
//! assert_eq!(p.apply("a<br />b &lt;3 &#39;c&#x27;"), "a b <3 'c'");
//! # Ok::<(), textrnn_text::Error>(())
//! ```

use regex::Regex;

use crate::error::Result;

/// The line-break pattern (`regex` syntax), replaced by a space.
pub(crate) const BREAKS: &str = r"(?i)<\s*br\s*/?\s*>";

/// `<br>`, `<br/>`, `<br />` (any case) → one space.
#[derive(Debug, Clone)]
pub(crate) struct HtmlBreaks {
    re: Regex,
}

impl HtmlBreaks {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            re: Regex::new(BREAKS)?,
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        self.re.replace_all(text, " ").into_owned()
    }
}

/// Named entities we decode (anything else named stays as written).
pub(crate) const NAMED: &[(&str, &str)] = &[
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", " "),
    ("hellip", "…"),
    ("mdash", "—"),
    ("ndash", "–"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("copy", "©"),
    ("reg", "®"),
    ("trade", "™"),
    ("euro", "€"),
    ("pound", "£"),
    ("cent", "¢"),
    ("yen", "¥"),
];

/// The entity pattern (`regex` syntax): group 1 a decimal code point, group 2 a hexadecimal
/// one, group 3 a name.
pub(crate) const ENTITIES: &str =
    r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]{1,31}));";

/// `&name;`, `&#123;`, `&#x7B;` → the character, in a single pass.
#[derive(Debug, Clone)]
pub(crate) struct HtmlEntities {
    re: Regex,
}

impl HtmlEntities {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            re: Regex::new(ENTITIES)?,
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        self.re
            .replace_all(text, |caps: &regex::Captures<'_>| {
                let decoded = if let Some(dec) = caps.get(1) {
                    dec.as_str()
                        .parse::<u32>()
                        .ok()
                        .and_then(char::from_u32)
                        .map(String::from)
                } else if let Some(hex) = caps.get(2) {
                    u32::from_str_radix(hex.as_str(), 16)
                        .ok()
                        .and_then(char::from_u32)
                        .map(String::from)
                } else {
                    caps.get(3).and_then(|name| {
                        NAMED
                            .iter()
                            .find(|(n, _)| *n == name.as_str())
                            .map(|(_, v)| (*v).to_owned())
                    })
                };
                decoded.unwrap_or_else(|| caps[0].to_owned())
            })
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn breaks_in_all_spellings() {
        let s = HtmlBreaks::new().unwrap();
        assert_eq!(s.apply("a<br />b<br/>c<br>d<BR >e"), "a b c d e");
        assert_eq!(s.apply("<b>bold</b>"), "<b>bold</b>");
    }

    #[test]
    fn entities_named_and_numeric() {
        let s = HtmlEntities::new().unwrap();
        assert_eq!(
            s.apply("&amp; &lt; &gt; &quot; &#39; &#x27; &#128512; &nbsp;!"),
            "& < > \" ' ' 😀  !"
        );
        // One pass: a double-escaped entity is decoded once.
        assert_eq!(s.apply("&amp;lt;"), "&lt;");
        // Unknown names, invalid code points and bare ampersands stay as written.
        assert_eq!(s.apply("&bogus; &#xD800; AT&T"), "&bogus; &#xD800; AT&T");
    }
}

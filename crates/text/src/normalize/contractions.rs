//! English contractions expanded, with `'` or the typographic `’`:
//!
//! - `n't` → ` not` (`didn't` → `did not`, `isn't` → `is not`), with the irregular
//!   `can't` → `can not`, `won't` → `will not`, `shan't` → `shall not`, `ain't` → `am not`;
//! - `'m` → ` am`, `'re` → ` are`, `'ve` → ` have`, `'ll` → ` will`, `'d` → ` would`;
//! - `'s` → ` is` only after it, that, what, where, who, he, she, there, here, how; `let's` →
//!   `let us` (a possessive `'s` stays).
//!
//! The first part keeps its case (`I'd` → `I would`); lower-case later if wanted.
//!
//! ```
//! use textrnn_text::{Pipeline, Step};
//!
//! let p = Pipeline::from_steps([Step::ExpandContractions])?;
//! assert_eq!(p.apply("I'm sure it’s fine, they'll say we can't"), "I am sure it is fine, they will say we can not");
//! # Ok::<(), textrnn_text::Error>(())
//! ```

use regex::{Captures, Regex};

use crate::error::Result;

/// The contraction pattern (`regex` syntax): group 1 the stem, group 2 the suffix.
pub(crate) const PATTERN: &str = r"(?i)\b(\w+?)(n['’]t|['’](?:re|ve|ll|d|m|s))\b";

/// Words whose `'s` is `is`.
pub(crate) const IS_WORDS: &[&str] = &[
    "it", "that", "what", "where", "who", "he", "she", "there", "here", "how",
];

/// Expands contractions.
#[derive(Debug, Clone)]
pub(crate) struct Contractions {
    re: Regex,
}

impl Contractions {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            re: Regex::new(PATTERN)?,
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        self.re.replace_all(text, expand).into_owned()
    }
}

fn expand(caps: &Captures<'_>) -> String {
    let stem = &caps[1];
    let suffix = caps[2].to_lowercase();
    let lower_stem = stem.to_lowercase();
    if suffix.starts_with('n') {
        let head = match lower_stem.as_str() {
            "ca" => format!("{stem}n"),
            "wo" => "will".to_owned(),
            "sha" => format!("{stem}ll"),
            "ai" => "am".to_owned(),
            _ => stem.to_owned(),
        };
        return format!("{head} not");
    }
    let tail = match &suffix[suffix.len() - suffix.trim_start_matches(['\'', '’']).len()..] {
        "re" => "are",
        "ve" => "have",
        "ll" => "will",
        "d" => "would",
        "m" => "am",
        "s" if lower_stem == "let" => "us",
        "s" if IS_WORDS.contains(&lower_stem.as_str()) => "is",
        _ => return caps[0].to_owned(),
    };
    format!("{stem} {tail}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_brief_examples() {
        let s = Contractions::new().unwrap();
        let cases = [
            ("didn't", "did not"),
            ("I'd", "I would"),
            ("isn't", "is not"),
            ("can't", "can not"),
            ("Can't", "Can not"),
            ("won't", "will not"),
            ("I'm", "I am"),
            ("it's", "it is"),
            ("you're", "you are"),
            ("we've", "we have"),
            ("they'll", "they will"),
            ("couldn’t", "could not"),
            ("DON'T", "DO not"),
            ("let's", "let us"),
            ("shan't", "shall not"),
            ("ain't", "am not"),
        ];
        for (input, expected) in cases {
            assert_eq!(s.apply(input), expected, "{input}");
        }
    }

    #[test]
    fn possessives_and_quotes_stay() {
        let s = Contractions::new().unwrap();
        assert_eq!(
            s.apply("Ryan's bag, 'quoted' words"),
            "Ryan's bag, 'quoted' words"
        );
    }
}

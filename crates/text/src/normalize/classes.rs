//! Character classes for the Oniguruma patterns of the exported `tokenizer.json`, enumerated
//! from the very predicates textrnn's cleaning uses (a `regex` crate class or a `char` method).
//!
//! Writing `\p{P}` or `\w` in the exported file would leave the meaning to Oniguruma's Unicode
//! tables and its own definition of `\w`, which differ from the `regex` crate's and from the
//! standard library's in places (`\w` is Alphabetic + marks + digits + connectors + joiners
//! here, letters + marks + digits + connectors there; the Unicode versions differ). Listing the
//! code points as `\x{..}` ranges makes the file mean exactly what this build of textrnn does.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Mutex, OnceLock, PoisonError};

use regex::Regex;

use crate::error::Result;

/// Where a class comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// A one-character `regex` crate pattern, e.g. `[\p{P}\p{S}]` or `(?i)b`.
    Regex(&'static str),
    /// [`char::is_alphanumeric`] (`replace_where` boundary rules).
    Alphanumeric,
    /// [`char::is_alphabetic`] (elongation).
    Alphabetic,
    /// [`char::is_whitespace`] (Unicode `White_Space`: `\s` of the `regex` crate and
    /// `str::split_whitespace`).
    Whitespace,
}

/// Every Unicode scalar value, in order, as one string (4.4 MB, built once).
fn all_chars() -> &'static str {
    static ALL: OnceLock<String> = OnceLock::new();
    ALL.get_or_init(|| {
        (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .collect()
    })
}

/// The code points of `source` as inclusive ranges, ascending.
fn ranges(source: Source) -> Result<Vec<(char, char)>> {
    let mut out: Vec<(char, char)> = Vec::new();
    let mut push = |c: char| match out.last_mut() {
        Some((_, hi)) if u32::from(*hi) + 1 == u32::from(c) => *hi = c,
        _ => out.push((c, c)),
    };
    let std_pred: Option<fn(char) -> bool> = match source {
        Source::Regex(_) => None,
        Source::Alphanumeric => Some(char::is_alphanumeric),
        Source::Alphabetic => Some(char::is_alphabetic),
        Source::Whitespace => Some(char::is_whitespace),
    };
    match (source, std_pred) {
        (_, Some(pred)) => all_chars().chars().filter(|&c| pred(c)).for_each(&mut push),
        (Source::Regex(pattern), None) => {
            let re = Regex::new(&format!("(?:{pattern})+"))?;
            re.find_iter(all_chars())
                .flat_map(|m| m.as_str().chars())
                .for_each(&mut push);
        }
        _ => {}
    }
    Ok(out)
}

/// The class body (without brackets): `\x{41}-\x{5A}\x{61}...`.
fn body(source: Source) -> Result<String> {
    static CACHE: OnceLock<Mutex<HashMap<Source, String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&source)
    {
        return Ok(found.clone());
    }
    let mut text = String::new();
    for (lo, hi) in ranges(source)? {
        // Writing to a String cannot fail.
        let _ = if lo == hi {
            write!(text, "\\x{{{:X}}}", u32::from(lo))
        } else {
            write!(
                text,
                "\\x{{{:X}}}-\\x{{{:X}}}",
                u32::from(lo),
                u32::from(hi)
            )
        };
    }
    cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(source, text.clone());
    Ok(text)
}

/// Oniguruma class `[...]` matching exactly the characters of `source`.
pub(crate) fn class(source: Source) -> Result<String> {
    Ok(format!("[{}]", body(source)?))
}

/// Oniguruma class `[^...]` matching every character not in `source`.
pub(crate) fn negated(source: Source) -> Result<String> {
    Ok(format!("[^{}]", body(source)?))
}

/// Oniguruma class of the characters in `a` but not in `b`.
pub(crate) fn difference(a: Source, b: Source) -> Result<String> {
    Ok(format!("[{}&&[^{}]]", body(a)?, body(b)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn classes_list_exact_code_points() {
        assert_eq!(
            class(Source::Regex("(?i)s")).unwrap(),
            r"[\x{53}\x{73}\x{17F}]"
        );
        assert_eq!(class(Source::Regex("(?i)b")).unwrap(), r"[\x{42}\x{62}]");
        assert_eq!(
            class(Source::Whitespace).unwrap(),
            r"[\x{9}-\x{D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}-\x{2029}\x{202F}\x{205F}\x{3000}]"
        );
        // The standard library and the regex crate agree on White_Space.
        assert_eq!(
            class(Source::Regex(r"\s")).unwrap(),
            class(Source::Whitespace).unwrap()
        );
        assert_eq!(
            negated(Source::Regex("[a-c]")).unwrap(),
            r"[^\x{61}-\x{63}]"
        );
        assert_eq!(
            difference(Source::Regex("[a-c]"), Source::Regex("b")).unwrap(),
            r"[\x{61}-\x{63}&&[^\x{62}]]"
        );
    }
}

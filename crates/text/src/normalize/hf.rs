//! Each cleaning [`Step`] as data (its exact definition, for another implementation to follow)
//! and, where Hugging Face `tokenizers` can express it exactly, as normalizers for an exported
//! `tokenizer.json`.
//!
//! The normalizers are `Replace` (an Oniguruma regex and a *literal* replacement), `Lowercase`
//! and `Strip`. Character classes are enumerated code points (see `classes`); `\K` keeps
//! the text before it out of a replacement (so a boundary condition can consume text without
//! replacing it), and look-behinds check the character before a match in the text as it was
//! before the step, as textrnn's `replace_where` does.
//!
//! Expressed exactly: `strip_html_breaks`, `remove_urls`, `emoji_to_words`, `remove_mentions`,
//! `remove_hashtags`, `collapse_elongation`, `mark_question_exclamation`,
//! `remove_punctuation`, `remove_digits`, `lowercase` (final sigma included),
//! `squeeze_whitespace`. Not expressible: `html_entities`, `emoticons_to_words`,
//! `expand_contractions` (see [`StepExport::unexpressed_because`]).

use serde_json::{json, Value};
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{Lowercase, NormalizerWrapper, Replace, Strip};

use super::classes::{class, difference, negated, Source};
use super::{contractions, emoji, emoticons, html, punctuation, social, Step};
use crate::error::{Error, Result};

/// One step, exported.
#[derive(Debug, Clone)]
pub(crate) struct StepExport {
    /// The step's exact behaviour as data (patterns in `regex` crate syntax, tables, rules).
    pub definition: Value,
    /// The equivalent normalizers, in order; empty when the step cannot be expressed.
    pub normalizers: Vec<NormalizerWrapper>,
    /// Why the step cannot be expressed (`None` when it is).
    pub unexpressed_because: Option<&'static str>,
}

/// `Replace(Regex(pattern), content)`.
fn replace(pattern: &str, content: &str) -> Result<NormalizerWrapper> {
    Replace::new(ReplacePattern::Regex(pattern.to_owned()), content)
        .map(Into::into)
        .map_err(|source| Error::Tokenizers {
            context: format!("compiling the normalizer pattern {pattern:?}"),
            source,
        })
}

/// A literal string as an Oniguruma pattern: every character `\x{..}`-escaped.
fn literal(text: &str) -> String {
    text.chars()
        .map(|c| format!("\\x{{{:X}}}", u32::from(c)))
        .collect()
}

/// The class of characters that `(?i)c` matches in the `regex` crate (`s` also matches `ſ`).
fn folded(c: char) -> Result<String> {
    let pattern: &'static str = match c {
        'b' => "(?i)b",
        'r' => "(?i)r",
        'h' => "(?i)h",
        't' => "(?i)t",
        'p' => "(?i)p",
        's' => "(?i)s",
        'w' => "(?i)w",
        _ => return Ok(literal(&c.to_string())),
    };
    class(Source::Regex(pattern))
}

/// `folded` for each character of an ASCII word.
fn folded_word(word: &str) -> Result<String> {
    word.chars().map(folded).collect()
}

/// A step `replace_where` runs: matches whose previous character is alphanumeric are skipped.
fn token_definition(pattern: &str) -> Value {
    json!({
        "kind": "regex_replace_where",
        "regex": pattern,
        "replacement": " ",
        "accept": "the character before the match is absent or not alphanumeric \
                   (Unicode Alphabetic or Numeric)",
        "rejected_matches": "left as written; the search goes on after them",
    })
}

/// Exports `step`.
pub(crate) fn export_step(step: Step) -> Result<StepExport> {
    let ws = || class(Source::Whitespace);
    let alnum = || class(Source::Alphanumeric);
    let word = || class(Source::Regex(r"\w"));
    let regex_replace = |pattern: &str, replacement: &str| json!({"kind": "regex_replace", "regex": pattern, "replacement": replacement});
    let unexpressed = |definition: Value, why: &'static str| StepExport {
        definition,
        normalizers: Vec::new(),
        unexpressed_because: Some(why),
    };
    let expressed = |definition: Value, normalizers: Vec<NormalizerWrapper>| StepExport {
        definition,
        normalizers,
        unexpressed_because: None,
    };
    Ok(match step {
        Step::StripHtmlBreaks => {
            let ws = ws()?;
            let pattern = format!("<{ws}*{}{ws}*/?{ws}*>", folded_word("br")?);
            expressed(
                regex_replace(html::BREAKS, " "),
                vec![replace(&pattern, " ")?],
            )
        }
        Step::HtmlEntities => unexpressed(
            json!({
                "kind": "html_entities",
                "regex": html::ENTITIES,
                "single_pass": true,
                "decimal_group": 1,
                "hex_group": 2,
                "name_group": 3,
                "named": html::NAMED.iter().map(|(n, v)| (n.to_string(), json!(v)))
                    .collect::<serde_json::Map<_, _>>(),
                "rule": "groups 1 and 2: the character with that code point when it is a Unicode \
                         scalar value; group 3: its value in `named`; otherwise the match stays \
                         as written. One pass: `&amp;lt;` gives `&lt;`.",
            }),
            "numeric entities decode to any code point (`&#128512;` is 😀), which a literal \
             Replace cannot compute, and decoding is one pass (`&amp;lt;` gives `&lt;`), which \
             successive Replace normalizers do not keep",
        ),
        Step::RemoveUrls => {
            let any = negated(Source::Whitespace)?;
            let prefix = format!(
                "(?:{}{}?://|{}\\.)",
                folded_word("http")?,
                folded('s')?,
                folded_word("www")?
            );
            // From the start of a whitespace-delimited run, over characters that do not begin a
            // URL, to the first URL: textrnn skips the rest of the run when the character before
            // that URL is alphanumeric, so no later URL of the run may match either.
            let pattern = format!(
                "(?<!{any})(?:(?!{prefix}){any})*(?<!{alnum})\\K{prefix}{any}+",
                alnum = alnum()?
            );
            expressed(token_definition(social::URL), vec![replace(&pattern, " ")?])
        }
        Step::EmojiToWords => {
            let table: serde_json::Map<String, Value> = emoji::EMOJI
                .iter()
                .map(|(e, name)| (e.to_string(), json!(name)))
                .collect();
            let keys = emoji::ordered_keys();
            let normalizers = keys
                .iter()
                .map(|key| {
                    let name = table.get(*key).and_then(Value::as_str).unwrap_or_default();
                    replace(
                        &format!("{}{}", literal(key), emoji::MODIFIERS),
                        &format!(" {name} "),
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            expressed(
                json!({
                    "kind": "table_replace",
                    "regex": format!("(EMOJI){}", emoji::MODIFIERS),
                    "alternatives": keys,
                    "table": table,
                    "replacement": " {name} ",
                    "rule": "EMOJI is the alternation of the table's keys in `alternatives` \
                             order; the whole match becomes the key's name padded with spaces",
                }),
                normalizers,
            )
        }
        Step::EmoticonsToWords => unexpressed(
            json!({
                "kind": "table_replace_where",
                "alternatives": emoticons::ordered_keys(),
                "table": emoticons::EMOTICONS.iter().map(|(e, w)| (e.to_string(), json!(w)))
                    .collect::<serde_json::Map<_, _>>(),
                "replacement": " {word} ",
                "accept": "the next character is absent or neither alphanumeric nor `/`; and, \
                           for an emoticon beginning with a letter or digit, the previous \
                           character is absent or not alphanumeric",
                "rejected_matches": "left as written; the search goes on after them",
                "rule": "leftmost match of the alternation in `alternatives` order (longest \
                         first), literal characters",
            }),
            "at each position textrnn takes the longest emoticon and skips a rejected one as a \
             whole (`xo_O_o` keeps `O_o`, `:-O_o` gives `surprised _o`); Replace normalizers \
             with one literal output each, run one after another, cannot make that choice",
        ),
        Step::RemoveMentions => expressed(
            token_definition(social::MENTION),
            vec![replace(&format!("(?<!{})@{}+", alnum()?, word()?), " ")?],
        ),
        Step::RemoveHashtags => expressed(
            token_definition(social::HASHTAG),
            vec![replace(&format!("(?<!{})#{}+", alnum()?, word()?), " ")?],
        ),
        Step::ExpandContractions => unexpressed(
            json!({
                "kind": "contractions",
                "regex": contractions::PATTERN,
                "rules": {
                    "n't": "stem + ` not`; stems (any case) `ca` → stem + `n not`, `wo` → \
                            `will not`, `sha` → stem + `ll not`, `ai` → `am not`",
                    "'re": "stem + ` are`", "'ve": "stem + ` have`", "'ll": "stem + ` will`",
                    "'d": "stem + ` would`", "'m": "stem + ` am`",
                    "'s": "stem + ` us` for `let`, stem + ` is` for the `is_words`, else the \
                           match as written",
                },
                "is_words": contractions::IS_WORDS,
                "rule": "group 1 is the stem (kept as written), group 2 the suffix, matched \
                         case-insensitively with `'` or `’` and compared lower-cased without the \
                         apostrophe",
            }),
            "the output depends on the matched stem (`can't` → `can not`, `won't` → `will not`, \
             `'s` only after it/that/...), which a literal Replace cannot compute, and a matched \
             suffix cannot begin the next contraction (`I'd've` gives `I would've`)",
        ),
        Step::CollapseElongation => expressed(
            json!({
                "kind": "collapse_runs",
                "rule": "a run of 3 or more of the same alphabetic character (Unicode \
                         Alphabetic) becomes one; other runs are kept",
            }),
            vec![replace(
                &format!("({})\\K\\1{{2,}}", class(Source::Alphabetic)?),
                "",
            )?],
        ),
        Step::MarkQuestionExclamation => expressed(
            json!({
                "kind": "regex_replace",
                "regex": punctuation::QUESTION_EXCLAMATION,
                "replacement_by_group": {
                    "1": punctuation::QUESTION_WORD,
                    "2": punctuation::EXCLAMATION_WORD,
                },
            }),
            vec![
                replace(r"\?+", punctuation::QUESTION_WORD)?,
                replace("!+", punctuation::EXCLAMATION_WORD)?,
            ],
        ),
        Step::RemovePunctuation => expressed(
            json!({
                "kind": "sequence",
                "steps": [
                    regex_replace(punctuation::APOSTROPHES, ""),
                    regex_replace(punctuation::PUNCTUATION, " "),
                ],
            }),
            vec![
                replace(punctuation::APOSTROPHES, "")?,
                replace(&format!("{}+", class(Source::Regex(r"[\p{P}\p{S}]"))?), " ")?,
            ],
        ),
        Step::RemoveDigits => expressed(
            regex_replace(punctuation::DIGITS, " "),
            vec![replace(
                &format!("{}+", class(Source::Regex(r"\p{Nd}"))?),
                " ",
            )?],
        ),
        Step::Lowercase => {
            // `str::to_lowercase`: char by char, except that a capital sigma preceded by a
            // cased letter (case-ignorable characters skipped) and not followed by one becomes
            // the final `ς`. `Lowercase` alone would give `σ`.
            let ci = class(Source::Regex(r"\p{Case_Ignorable}"))?;
            let cased = difference(
                Source::Regex(r"\p{Cased}"),
                Source::Regex(r"\p{Case_Ignorable}"),
            )?;
            let sigma = format!("(?<={cased}{ci}*)\\x{{3A3}}(?!{ci}*{cased})");
            expressed(
                json!({
                    "kind": "lowercase",
                    "rule": "each character's full Unicode lowercase mapping, except that `Σ` \
                             becomes `ς` when, skipping Case_Ignorable characters, a Cased \
                             character precedes it and none follows (Rust `str::to_lowercase`)",
                }),
                vec![replace(&sigma, "ς")?, Lowercase.into()],
            )
        }
        Step::SqueezeWhitespace => expressed(
            json!({
                "kind": "squeeze_whitespace",
                "rule": "split on Unicode White_Space, drop empty pieces, join with one space",
            }),
            vec![
                replace(&format!("{}+", ws()?), " ")?,
                Strip::new(true, true).into(),
            ],
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tokenizers::{NormalizedString, Normalizer};

    use super::*;
    use crate::Pipeline;

    /// Runs `step` through its normalizers.
    fn normalize(step: Step, text: &str) -> String {
        let mut s = NormalizedString::from(text);
        for n in export_step(step).unwrap().normalizers {
            n.normalize(&mut s).unwrap();
        }
        s.get().to_owned()
    }

    /// Each expressed step gives textrnn's output on texts that probe its edges.
    #[test]
    fn expressed_steps_match_textrnn() {
        let cases: &[(Step, &[&str])] = &[
            (
                Step::StripHtmlBreaks,
                &["a<br />b<br/>c<br>d<BR >e< bR\t/ >f", "<b>x</b> <br / >"],
            ),
            (
                Step::RemoveUrls,
                &[
                    "see https://t.co/AbC?x=1, and WWW.united.com/bags now",
                    "awww.yes xhttp://www.foo.com ,www.a b www. httpſ://x http://",
                    "(http://a.b) 1www.c d",
                ],
            ),
            (
                Step::EmojiToWords,
                &["Landed✈️ 👍🏽😂", "🤦‍♂️ x ❤️💔 🦄", "😀😀\u{FE0F}\u{FE0F}"],
            ),
            (
                Step::RemoveMentions,
                &[
                    "@VirginAmerica What @dhepburn said.",
                    "me@x.com @a@b _@c é@d @é_1",
                ],
            ),
            (
                Step::RemoveHashtags,
                &["#fail again (#united_sucks) C# a#b #"],
            ),
            (
                Step::CollapseElongation,
                &["heyyyy guyyyys good!!! 1000 ééé aaaAAA ΣΣΣ", "aa"],
            ),
            (Step::MarkQuestionExclamation, &["why?!!?? no!"]),
            (
                Step::RemovePunctuation,
                &["you - but, \"help\". $5+tax Ryan's a…b “c” 🦄 it’s"],
            ),
            (Step::RemoveDigits, &["taking 6 hours, flight AA123 ٣٤ ²"]),
            (Step::Lowercase, &["ÉTÉ ΟΔΥΣΣΕΥΣ Σ ΑΣ. ΑΣ'Α ΑΣ' ΑΣΑ İ", "Σ"]),
            (Step::SqueezeWhitespace, &["  a \t b\u{3000}c\n ", ""]),
        ];
        for (step, texts) in cases {
            let rust = Pipeline::from_steps([*step]).unwrap();
            for text in *texts {
                assert_eq!(normalize(*step, text), rust.apply(text), "{step}: {text:?}");
            }
        }
    }

    #[test]
    fn pinned_outputs() {
        assert_eq!(
            normalize(Step::RemoveUrls, "xhttp://www.foo.com ,www.a b"),
            "xhttp://www.foo.com ,  b"
        );
        assert_eq!(normalize(Step::Lowercase, "ΑΣ ΑΣΑ"), "ας ασα");
        assert_eq!(normalize(Step::CollapseElongation, "soooo"), "so");
    }

    #[test]
    fn unexpressed_steps_say_why() {
        for step in [
            Step::HtmlEntities,
            Step::EmoticonsToWords,
            Step::ExpandContractions,
        ] {
            let export = export_step(step).unwrap();
            assert!(export.normalizers.is_empty());
            assert!(export.unexpressed_because.is_some(), "{step}");
        }
    }
}

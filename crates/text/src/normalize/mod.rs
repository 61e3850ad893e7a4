//! Text cleaning as a pipeline of named, serde-configurable [`Step`]s, applied in order.
//!
//! A recipe names a preset or lists the steps ([`NormalizeConfig`]); regexes are compiled once
//! when the [`Pipeline`] is built.
//!
//! ```toml
//! [text]
//! normalize = "imdb"                                # a preset: none, imdb or tweets
//! # normalize = ["strip_html_breaks", "lowercase"]  # or explicit steps, in order
//! ```
//!
//! Presets: [`Pipeline::imdb`] (only `<br />` removal: the Keras tokenizer does the rest) and
//! [`Pipeline::tweets`] (the airline-tweets tutorial cleaning, [`Step::TWEETS`]).
//!
//! ```
//! use textrnn_text::{NormalizeConfig, Pipeline, Step};
//!
//! let tweets = Pipeline::tweets()?;
//! assert_eq!(tweets.apply("@VirginAmerica What @dhepburn said."), "what said");
//! assert_eq!(tweets.apply(":) great flight!!"), "smiley great flight exclamationmark");
//!
//! let config: NormalizeConfig = serde_json::from_str(r#"["html_entities", "lowercase"]"#)?;
//! let pipeline = Pipeline::new(&config)?;
//! assert_eq!(pipeline.steps(), [Step::HtmlEntities, Step::Lowercase]);
//! assert_eq!(pipeline.apply("Fish &amp; Chips"), "fish & chips");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod classes;
mod contractions;
mod elongation;
mod emoji;
mod emoticons;
pub(crate) mod hf;
mod html;
mod punctuation;
mod social;

use std::fmt;

use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One cleaning step. Serialized as its snake_case name (`"strip_html_breaks"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// `<br />`, `<br/>`, `<br>` (any case, any inner spaces) → a space.
    StripHtmlBreaks,
    /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&nbsp;` (and a few more named ones), `&#39;`,
    /// `&#x27;` → the character, in one pass (`&amp;lt;` gives `&lt;`). Unknown entities stay.
    HtmlEntities,
    /// Removes `http://…`, `https://…`, `www.…` up to the next whitespace.
    RemoveUrls,
    /// Common emoji → their (CLDR) names, e.g. 😀 → `grinning face`, ✈ → `airplane`.
    EmojiToWords,
    /// Emoticons → words: `:)` → `smiley`, `:(` → `sad`, `:P` → `tongue sticking out`,
    /// `:D` → `laughing`, `;)` → `wink`, `:/` → `skeptical`, `<3` → `heart`, ...
    EmoticonsToWords,
    /// Removes `@mention` tokens (an `@` not preceded by a letter or digit, so e-mails stay).
    RemoveMentions,
    /// Removes `#hashtag` tokens (a `#` not preceded by a letter or digit).
    RemoveHashtags,
    /// `didn't` → `did not`, `can't` → `can not`, `won't` → `will not`, `I'm` → `I am`,
    /// `I'd` → `I would`, `it's` → `it is`, `you're`, `we've`, `they'll`, ... (`'` or `’`).
    ExpandContractions,
    /// A letter repeated 3+ times becomes one: `heyyyy guyyyys` → `hey guys`.
    CollapseElongation,
    /// Runs of `?` → ` questionmark `, runs of `!` → ` exclamationmark `.
    MarkQuestionExclamation,
    /// Removes punctuation and symbols (Unicode `P*` and `S*`, which includes `$`): apostrophes
    /// are deleted, everything else becomes a space.
    RemovePunctuation,
    /// Replaces decimal digits by a space.
    RemoveDigits,
    /// Lower-cases (full Unicode).
    Lowercase,
    /// Collapses whitespace runs to one space and trims both ends.
    SqueezeWhitespace,
}

impl Step {
    /// Every step, in the order of the airline-tweets tutorial where it has one.
    pub const ALL: [Step; 14] = [
        Step::StripHtmlBreaks,
        Step::RemoveUrls,
        Step::EmojiToWords,
        Step::EmoticonsToWords,
        Step::HtmlEntities,
        Step::RemoveMentions,
        Step::RemoveHashtags,
        Step::ExpandContractions,
        Step::CollapseElongation,
        Step::MarkQuestionExclamation,
        Step::RemovePunctuation,
        Step::RemoveDigits,
        Step::Lowercase,
        Step::SqueezeWhitespace,
    ];

    /// IMDB preset: the reviews contain `<br />`; Keras' tokenizer does the rest.
    pub const IMDB: [Step; 1] = [Step::StripHtmlBreaks];

    /// Airline-tweets tutorial cleaning, in its order.
    pub const TWEETS: [Step; 13] = [
        Step::RemoveUrls,
        Step::EmojiToWords,
        Step::EmoticonsToWords,
        Step::HtmlEntities,
        Step::RemoveMentions,
        Step::RemoveHashtags,
        Step::ExpandContractions,
        Step::CollapseElongation,
        Step::MarkQuestionExclamation,
        Step::RemovePunctuation,
        Step::RemoveDigits,
        Step::Lowercase,
        Step::SqueezeWhitespace,
    ];

    /// The name used in configs (`"strip_html_breaks"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Step::StripHtmlBreaks => "strip_html_breaks",
            Step::HtmlEntities => "html_entities",
            Step::RemoveUrls => "remove_urls",
            Step::EmojiToWords => "emoji_to_words",
            Step::EmoticonsToWords => "emoticons_to_words",
            Step::RemoveMentions => "remove_mentions",
            Step::RemoveHashtags => "remove_hashtags",
            Step::ExpandContractions => "expand_contractions",
            Step::CollapseElongation => "collapse_elongation",
            Step::MarkQuestionExclamation => "mark_question_exclamation",
            Step::RemovePunctuation => "remove_punctuation",
            Step::RemoveDigits => "remove_digits",
            Step::Lowercase => "lowercase",
            Step::SqueezeWhitespace => "squeeze_whitespace",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A named set of cleaning steps, serialized as its snake_case name (`"imdb"`, ...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalizePreset {
    /// No cleaning: the text is left as it is.
    #[default]
    None,
    /// [`Step::IMDB`].
    Imdb,
    /// [`Step::TWEETS`].
    Tweets,
}

impl NormalizePreset {
    /// Every preset.
    pub const ALL: [NormalizePreset; 3] = [Self::None, Self::Imdb, Self::Tweets];

    /// The name used in configs (`"none"`, `"imdb"`, `"tweets"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Imdb => "imdb",
            Self::Tweets => "tweets",
        }
    }

    /// The steps of the preset, in order.
    pub fn steps(self) -> &'static [Step] {
        match self {
            Self::None => &[],
            Self::Imdb => &Step::IMDB,
            Self::Tweets => &Step::TWEETS,
        }
    }
}

/// Which cleaning steps to run, in order: a preset name or an explicit list of steps. The
/// default is the `none` preset (text unchanged). Serialized as it is written: `"imdb"` or
/// `["strip_html_breaks", "lowercase"]`; an unknown preset is an error naming the known ones.
///
/// ```
/// use textrnn_text::{NormalizeConfig, NormalizePreset, Step};
///
/// let cfg: NormalizeConfig = serde_json::from_str(r#"["strip_html_breaks"]"#)?;
/// assert_eq!(cfg.steps(), NormalizeConfig::imdb().steps());
/// let preset: NormalizeConfig = serde_json::from_str(r#""tweets""#)?;
/// assert_eq!(preset, NormalizeConfig::Preset(NormalizePreset::Tweets));
/// assert!(serde_json::from_str::<NormalizeConfig>(r#"["nope"]"#).is_err());
/// let err = serde_json::from_str::<NormalizeConfig>(r#""nope""#).unwrap_err();
/// assert!(err.to_string().contains("none, imdb, tweets"), "{err}");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum NormalizeConfig {
    /// A named preset.
    Preset(NormalizePreset),
    /// Explicit steps, applied in order.
    Steps(Vec<Step>),
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self::Preset(NormalizePreset::None)
    }
}

impl NormalizeConfig {
    /// The `imdb` preset ([`Step::IMDB`]).
    pub fn imdb() -> Self {
        Self::Preset(NormalizePreset::Imdb)
    }

    /// The `tweets` preset ([`Step::TWEETS`]).
    pub fn tweets() -> Self {
        Self::Preset(NormalizePreset::Tweets)
    }

    /// The steps this setting stands for, in order.
    pub fn steps(&self) -> &[Step] {
        match self {
            Self::Preset(preset) => preset.steps(),
            Self::Steps(steps) => steps,
        }
    }
}

impl<'de> Deserialize<'de> for NormalizeConfig {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        /// What a config may hold; preset names are checked after, to name the known ones.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Name(String),
            Steps(Vec<Step>),
        }
        match Written::deserialize(deserializer)? {
            Written::Steps(steps) => Ok(Self::Steps(steps)),
            Written::Name(name) => NormalizePreset::ALL
                .into_iter()
                .find(|p| p.name() == name)
                .map(Self::Preset)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown normalize preset {name:?}; use none, imdb, tweets or a list of steps"
                    ))
                }),
        }
    }
}

/// A step with its compiled state.
#[derive(Debug, Clone)]
enum Compiled {
    HtmlBreaks(html::HtmlBreaks),
    HtmlEntities(html::HtmlEntities),
    Urls(social::Urls),
    Emoji(emoji::EmojiToWords),
    Emoticons(emoticons::EmoticonsToWords),
    Mentions(social::Mentions),
    Hashtags(social::Hashtags),
    Contractions(contractions::Contractions),
    Elongation,
    QuestionExclamation(punctuation::QuestionExclamation),
    Punctuation(punctuation::RemovePunctuation),
    Digits(punctuation::RemoveDigits),
    Lowercase,
    SqueezeWhitespace,
}

impl Compiled {
    fn new(step: Step) -> Result<Self> {
        Ok(match step {
            Step::StripHtmlBreaks => Self::HtmlBreaks(html::HtmlBreaks::new()?),
            Step::HtmlEntities => Self::HtmlEntities(html::HtmlEntities::new()?),
            Step::RemoveUrls => Self::Urls(social::Urls::new()?),
            Step::EmojiToWords => Self::Emoji(emoji::EmojiToWords::new()?),
            Step::EmoticonsToWords => Self::Emoticons(emoticons::EmoticonsToWords::new()?),
            Step::RemoveMentions => Self::Mentions(social::Mentions::new()?),
            Step::RemoveHashtags => Self::Hashtags(social::Hashtags::new()?),
            Step::ExpandContractions => Self::Contractions(contractions::Contractions::new()?),
            Step::CollapseElongation => Self::Elongation,
            Step::MarkQuestionExclamation => {
                Self::QuestionExclamation(punctuation::QuestionExclamation::new()?)
            }
            Step::RemovePunctuation => Self::Punctuation(punctuation::RemovePunctuation::new()?),
            Step::RemoveDigits => Self::Digits(punctuation::RemoveDigits::new()?),
            Step::Lowercase => Self::Lowercase,
            Step::SqueezeWhitespace => Self::SqueezeWhitespace,
        })
    }

    fn apply(&self, text: &str) -> String {
        match self {
            Self::HtmlBreaks(s) => s.apply(text),
            Self::HtmlEntities(s) => s.apply(text),
            Self::Urls(s) => s.apply(text),
            Self::Emoji(s) => s.apply(text),
            Self::Emoticons(s) => s.apply(text),
            Self::Mentions(s) => s.apply(text),
            Self::Hashtags(s) => s.apply(text),
            Self::Contractions(s) => s.apply(text),
            Self::Elongation => elongation::collapse(text),
            Self::QuestionExclamation(s) => s.apply(text),
            Self::Punctuation(s) => s.apply(text),
            Self::Digits(s) => s.apply(text),
            Self::Lowercase => text.to_lowercase(),
            Self::SqueezeWhitespace => text.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

/// A compiled cleaning pipeline: cheap to clone, `Send + Sync`, reusable for every text.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    steps: Vec<Step>,
    compiled: Vec<Compiled>,
}

impl Pipeline {
    /// Compiles the steps of `config`.
    ///
    /// # Errors
    /// [`crate::Error::Regex`] if a step's regex fails to compile (a bug, not a user error).
    pub fn new(config: &NormalizeConfig) -> Result<Self> {
        Self::from_steps(config.steps().iter().copied())
    }

    /// Compiles the given steps, in order.
    ///
    /// # Errors
    /// As [`Pipeline::new`].
    pub fn from_steps(steps: impl IntoIterator<Item = Step>) -> Result<Self> {
        let steps: Vec<Step> = steps.into_iter().collect();
        let compiled = steps
            .iter()
            .map(|&s| Compiled::new(s))
            .collect::<Result<_>>()?;
        Ok(Self { steps, compiled })
    }

    /// IMDB preset ([`Step::IMDB`]).
    ///
    /// # Errors
    /// As [`Pipeline::new`].
    pub fn imdb() -> Result<Self> {
        Self::from_steps(Step::IMDB)
    }

    /// Airline-tweets preset ([`Step::TWEETS`]).
    ///
    /// # Errors
    /// As [`Pipeline::new`].
    pub fn tweets() -> Result<Self> {
        Self::from_steps(Step::TWEETS)
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether the pipeline leaves text unchanged (no step).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Cleans one text.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for step in &self.compiled {
            out = step.apply(&out);
        }
        out
    }

    /// Cleans every text.
    pub fn apply_all<S: AsRef<str>>(&self, texts: &[S]) -> Vec<String> {
        texts.iter().map(|t| self.apply(t.as_ref())).collect()
    }
}

/// Replaces the matches of `re` for which `accept(previous char, matched text, next char)`
/// holds by `replace(captures)`; rejected matches are left as they are. (The `regex` crate has
/// no look-around, so word-boundary rules for `@`, `#`, emoticons live here.)
pub(crate) fn replace_where(
    re: &Regex,
    text: &str,
    accept: impl Fn(Option<char>, &str, Option<char>) -> bool,
    replace: impl Fn(&Captures<'_>) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        let prev = text[..m.start()].chars().next_back();
        let next = text[m.end()..].chars().next();
        if accept(prev, m.as_str(), next) {
            out.push_str(&text[last..m.start()]);
            out.push_str(&replace(&caps));
            last = m.end();
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tutorial_examples() {
        let p = Pipeline::tweets().unwrap();
        assert_eq!(p.apply("@VirginAmerica What @dhepburn said."), "what said");
        assert_eq!(
            p.apply(
                "@united I'd thank you - but you didn't help. taking 6 hours to reply isn't actually helpful"
            ),
            "i would thank you but you did not help taking hours to reply is not actually helpful"
        );
        assert_eq!(p.apply("heyyyy guyyyys"), "hey guys");
        assert_eq!(
            p.apply(":) great flight!!"),
            "smiley great flight exclamationmark"
        );
    }

    #[test]
    fn tweets_preset_end_to_end() {
        let p = Pipeline::tweets().unwrap();
        assert_eq!(
            p.apply("@AmericanAir Flight AA123 delayed AGAIN?!? 😡 https://t.co/xyz #fail &amp; I can’t believe it :("),
            // urls, emoji, emoticons, entities, mentions, hashtags, contractions, `?!?`,
            // punctuation (`&`), digits (`123`), lowercase, squeeze
            "flight aa delayed again questionmark exclamationmark questionmark pouting face i can not believe it sad",
        );
        assert_eq!(
            p.apply("Love it ✈️❤️ <3 $50 refund"),
            "love it airplane red heart heart refund"
        );
    }

    #[test]
    fn imdb_preset_only_strips_breaks() {
        let p = Pipeline::imdb().unwrap();
        assert_eq!(
            p.apply("Great.<br /><br />Really &amp; truly"),
            "Great.  Really &amp; truly"
        );
    }

    #[test]
    fn empty_pipeline_is_identity() {
        let p = Pipeline::new(&NormalizeConfig::default()).unwrap();
        assert!(p.is_empty());
        assert_eq!(p.apply("  Keep ME  "), "  Keep ME  ");
    }

    #[test]
    fn lowercase_and_squeeze() {
        let p = Pipeline::from_steps([Step::Lowercase, Step::SqueezeWhitespace]).unwrap();
        assert_eq!(p.apply("  ÉTÉ \t Hot\n "), "été hot");
    }

    #[test]
    fn step_names_round_trip_through_serde() {
        for step in Step::ALL {
            let json = serde_json::to_string(&step).unwrap();
            assert_eq!(json, format!("\"{}\"", step.name()));
            assert_eq!(serde_json::from_str::<Step>(&json).unwrap(), step);
        }
        let cfg = NormalizeConfig::tweets();
        let back: NormalizeConfig =
            serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
        assert!(serde_json::from_str::<NormalizeConfig>(r#"{"step": []}"#).is_err());
        for preset in NormalizePreset::ALL {
            let json = serde_json::to_string(&NormalizeConfig::Preset(preset)).unwrap();
            assert_eq!(json, format!("\"{}\"", preset.name()));
        }
        let steps = NormalizeConfig::Steps(vec![Step::Lowercase]);
        assert_eq!(serde_json::to_string(&steps).unwrap(), r#"["lowercase"]"#);
    }

    #[test]
    fn replace_where_respects_accept() {
        let re = Regex::new("ab").unwrap();
        let out = replace_where(
            &re,
            "ab xab ab",
            |prev, _, _| prev.is_none_or(|c| c == ' '),
            |_| "X".into(),
        );
        assert_eq!(out, "X xab X");
    }
}

//! Common emoji → their CLDR short names, padded with spaces (`😀` → ` grinning face `).
//!
//! A trailing variation selector (U+FE0F), skin-tone modifier (U+1F3FB..U+1F3FF) or gender
//! suffix (ZWJ + ♀/♂) is consumed with the emoji. Emoji not in the table are left alone (the
//! `remove_punctuation` step removes them as symbols).
//!
//! ```
//! use textrnn_text::{Pipeline, Step};
//!
//! let p = Pipeline::from_steps([Step::EmojiToWords, Step::SqueezeWhitespace])?;
//! assert_eq!(p.apply("Landed✈️ 👍🏽😂"), "Landed airplane thumbs up face with tears of joy");
//! # Ok::<(), textrnn_text::Error>(())
//! ```

use std::collections::HashMap;

use regex::Regex;

use crate::error::Result;

/// The table: emoji (without variation selector) and its name.
pub(crate) const EMOJI: &[(&str, &str)] = &[
    // smileys and laughter
    ("😀", "grinning face"),
    ("😃", "grinning face with big eyes"),
    ("😄", "grinning face with smiling eyes"),
    ("😁", "beaming face with smiling eyes"),
    ("😆", "grinning squinting face"),
    ("😅", "grinning face with sweat"),
    ("🤣", "rolling on the floor laughing"),
    ("😂", "face with tears of joy"),
    ("🙂", "slightly smiling face"),
    ("🙃", "upside down face"),
    ("😉", "winking face"),
    ("😊", "smiling face with smiling eyes"),
    ("😇", "smiling face with halo"),
    ("😍", "smiling face with heart eyes"),
    ("🥰", "smiling face with hearts"),
    ("😘", "face blowing a kiss"),
    ("😋", "face savoring food"),
    ("😛", "face with tongue"),
    ("😜", "winking face with tongue"),
    ("😎", "smiling face with sunglasses"),
    ("🤔", "thinking face"),
    ("😏", "smirking face"),
    // neutral, sceptical, tired
    ("😐", "neutral face"),
    ("😑", "expressionless face"),
    ("😶", "face without mouth"),
    ("😒", "unamused face"),
    ("🙄", "face with rolling eyes"),
    ("😬", "grimacing face"),
    ("😌", "relieved face"),
    ("😔", "pensive face"),
    ("😪", "sleepy face"),
    ("😴", "sleeping face"),
    ("😷", "face with medical mask"),
    ("🤢", "nauseated face"),
    ("🤮", "face vomiting"),
    ("🤯", "exploding head"),
    ("😕", "confused face"),
    ("😟", "worried face"),
    ("🙁", "slightly frowning face"),
    ("☹", "frowning face"),
    ("😮", "face with open mouth"),
    ("😲", "astonished face"),
    ("😳", "flushed face"),
    // sad, crying, angry
    ("😨", "fearful face"),
    ("😰", "anxious face with sweat"),
    ("😥", "sad but relieved face"),
    ("😢", "crying face"),
    ("😭", "loudly crying face"),
    ("😱", "face screaming in fear"),
    ("😖", "confounded face"),
    ("😣", "persevering face"),
    ("😞", "disappointed face"),
    ("😓", "downcast face with sweat"),
    ("😩", "weary face"),
    ("😫", "tired face"),
    ("😤", "face with steam from nose"),
    ("😡", "pouting face"),
    ("😠", "angry face"),
    ("🤬", "face with symbols on mouth"),
    ("💩", "pile of poo"),
    // hands and people
    ("👍", "thumbs up"),
    ("👎", "thumbs down"),
    ("👏", "clapping hands"),
    ("🙏", "folded hands"),
    ("👌", "ok hand"),
    ("✌", "victory hand"),
    ("💪", "flexed biceps"),
    ("🤦", "person facepalming"),
    ("🤷", "person shrugging"),
    // hearts and symbols
    ("❤", "red heart"),
    ("💔", "broken heart"),
    ("💕", "two hearts"),
    ("💖", "sparkling heart"),
    ("💙", "blue heart"),
    ("💚", "green heart"),
    ("💛", "yellow heart"),
    ("💜", "purple heart"),
    ("🖤", "black heart"),
    ("🔥", "fire"),
    ("💯", "hundred points"),
    ("✨", "sparkles"),
    ("🎉", "party popper"),
    // travel
    ("✈", "airplane"),
    ("🛫", "airplane departure"),
    ("🛬", "airplane arrival"),
    ("⏰", "alarm clock"),
    ("⌛", "hourglass done"),
    ("⏳", "hourglass not done"),
    ("🧳", "luggage"),
    ("💺", "seat"),
    ("☕", "hot beverage"),
    ("🍷", "wine glass"),
];

/// What is consumed with an emoji: variation selectors, skin tones, a gender suffix.
pub(crate) const MODIFIERS: &str =
    "[\u{FE0F}\u{1F3FB}-\u{1F3FF}]*(?:\u{200D}[\u{2640}\u{2642}]\u{FE0F}?)?";

/// The table's emoji, longest (in bytes) first: the order of the alternation.
pub(crate) fn ordered_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = EMOJI.iter().map(|(e, _)| *e).collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    keys
}

/// Replaces the emoji of [`EMOJI`] by their names.
#[derive(Debug, Clone)]
pub(crate) struct EmojiToWords {
    re: Regex,
    names: HashMap<&'static str, &'static str>,
}

impl EmojiToWords {
    pub(crate) fn new() -> Result<Self> {
        let alternatives: Vec<String> = ordered_keys().iter().map(|k| regex::escape(k)).collect();
        let pattern = format!("({}){MODIFIERS}", alternatives.join("|"));
        Ok(Self {
            re: Regex::new(&pattern)?,
            names: EMOJI.iter().copied().collect(),
        })
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        self.re
            .replace_all(text, |caps: &regex::Captures<'_>| {
                match caps.get(1).and_then(|e| self.names.get(e.as_str())) {
                    Some(name) => format!(" {name} "),
                    None => caps[0].to_owned(),
                }
            })
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn table_is_large_and_unique() {
        assert!(EMOJI.len() >= 40);
        let names: HashMap<_, _> = EMOJI.iter().copied().collect();
        assert_eq!(names.len(), EMOJI.len(), "duplicate emoji in the table");
    }

    #[test]
    fn common_emoji_with_modifiers() {
        let s = EmojiToWords::new().unwrap();
        assert_eq!(s.apply("😀"), " grinning face ");
        assert_eq!(s.apply("ok👍🏻"), "ok thumbs up ");
        assert_eq!(s.apply("❤️💔"), " red heart  broken heart ");
        assert_eq!(s.apply("😭😡"), " loudly crying face  pouting face ");
        assert_eq!(s.apply("✈️"), " airplane ");
        assert_eq!(s.apply("🤦‍♂️ x"), " person facepalming  x");
        assert_eq!(s.apply("🦄 plain"), "🦄 plain");
    }
}

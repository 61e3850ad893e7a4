//! Splitting a text into words and separators, as lime's `IndexedString` (`bow=True`).
//!
//! A word is a maximal run of word characters (Unicode alphanumerics and `_`, Python's `\w`);
//! everything between words (`\W+`) is a separator that is kept verbatim. The features are the
//! distinct words in order of first appearance; removing a feature removes every occurrence of
//! that word and keeps the separators, so `"not bad, not good"` without `not` is `" bad,  good"`.
//!
//! ```ignore
//! let doc = IndexedText::new("not bad, not good");
//! assert_eq!(doc.vocabulary(), ["not", "bad", "good"]);
//! ```

/// A text cut into alternating pieces, with each word piece mapped to its feature.
#[derive(Debug, Clone)]
pub(crate) struct IndexedText {
    /// Pieces in order; concatenated they give the original text.
    pieces: Vec<Piece>,
    /// Distinct words in order of first appearance.
    vocabulary: Vec<String>,
}

#[derive(Debug, Clone)]
enum Piece {
    Word { text: String, feature: usize },
    Separator(String),
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl IndexedText {
    pub(crate) fn new(text: &str) -> Self {
        let mut pieces = Vec::new();
        let mut vocabulary: Vec<String> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut current = String::new();
        let mut in_word = None;
        let mut flush = |current: &mut String, word: bool, pieces: &mut Vec<Piece>| {
            if current.is_empty() {
                return;
            }
            let text = std::mem::take(current);
            if word {
                let feature = *index.entry(text.clone()).or_insert_with(|| {
                    vocabulary.push(text.clone());
                    vocabulary.len() - 1
                });
                pieces.push(Piece::Word { text, feature });
            } else {
                pieces.push(Piece::Separator(text));
            }
        };
        for c in text.chars() {
            let w = is_word_char(c);
            if in_word.is_some_and(|prev| prev != w) {
                flush(&mut current, !w, &mut pieces);
            }
            in_word = Some(w);
            current.push(c);
        }
        flush(&mut current, in_word.unwrap_or(false), &mut pieces);
        IndexedText { pieces, vocabulary }
    }

    /// Distinct words (the features).
    pub(crate) fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// The text with the words whose feature is inactive (`active[f] == false`) removed.
    pub(crate) fn with_active(&self, active: &[bool]) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Word { text, feature } => {
                    if active.get(*feature).copied().unwrap_or(true) {
                        out.push_str(text);
                    }
                }
                Piece::Separator(s) => out.push_str(s),
            }
        }
        out
    }

    /// Pieces as `(text, Some(feature))` for words and `(text, None)` for separators.
    pub(crate) fn pieces(&self) -> impl Iterator<Item = (&str, Option<usize>)> {
        self.pieces.iter().map(|p| match p {
            Piece::Word { text, feature } => (text.as_str(), Some(*feature)),
            Piece::Separator(s) => (s.as_str(), None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::IndexedText;

    #[test]
    fn splits_and_removes_all_occurrences() {
        let doc = IndexedText::new("not bad, not good!");
        assert_eq!(doc.vocabulary(), ["not", "bad", "good"]);
        assert_eq!(doc.with_active(&[true, true, true]), "not bad, not good!");
        assert_eq!(doc.with_active(&[false, true, true]), " bad,  good!");
        let pieces: Vec<_> = doc.pieces().collect();
        assert_eq!(pieces[0], ("not", Some(0)));
        assert_eq!(pieces[1], (" ", None));
    }

    #[test]
    fn unicode_and_underscore_are_word_characters() {
        let doc = IndexedText::new("très_bien -- ça");
        assert_eq!(doc.vocabulary(), ["très_bien", "ça"]);
    }

    #[test]
    fn separators_only() {
        assert!(IndexedText::new(" ... !").vocabulary().is_empty());
    }
}

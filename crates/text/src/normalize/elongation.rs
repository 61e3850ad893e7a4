//! Word elongation collapsed: a letter repeated three or more times in a row becomes one
//! (`heyyyy guyyyys` → `hey guys`, `soooo` → `so`). Doubled letters (`good`) and repeated
//! non-letters (`!!!`, `...`, `000`) are kept.
//!
//! ```
//! use textrnn_text::{Pipeline, Step};
//!
//! let p = Pipeline::from_steps([Step::CollapseElongation])?;
//! assert_eq!(p.apply("heyyyy guyyyys, good!!!"), "hey guys, good!!!");
//! # Ok::<(), textrnn_text::Error>(())
//! ```

/// Collapses runs of 3+ equal letters to one.
pub(crate) fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            run += 1;
        }
        let keep = if c.is_alphabetic() && run >= 3 {
            1
        } else {
            run
        };
        out.extend(std::iter::repeat_n(c, keep));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_letters_only() {
        assert_eq!(collapse("heyyyy guyyyys"), "hey guys");
        assert_eq!(collapse("sooooo goood"), "so god");
        assert_eq!(collapse("good book"), "good book");
        assert_eq!(collapse("!!! ... 1000"), "!!! ... 1000");
        assert_eq!(collapse("ééé"), "é");
        assert_eq!(collapse(""), "");
    }
}

//! HTML rendering of an [`Explanation`]: highlighted text and class-probability bars.
//!
//! Each word of the text that is among the explanation's top words gets a background colour:
//! green when it pushes towards the explained class (positive weight), red against, with opacity
//! `0.15 + 0.75 |w| / max |w|`. The probabilities are an inline SVG bar chart. The page has no
//! external resources (inline CSS and SVG only).
//!
//! ```
//! use textrnn_eval::{Explanation, WordWeight};
//! let e = Explanation {
//!     label: 1,
//!     words: vec![WordWeight { word: "great".into(), weight: 0.4 }],
//!     intercept: 0.2, local_pred: 0.6, score: 0.9,
//!     predicted_proba: vec![0.3, 0.7], num_samples: 100, num_words: 2,
//! };
//! let html = e.to_html("great film", &["neg".into(), "pos".into()], &[0.3, 0.7]);
//! assert!(html.contains("<mark") && html.contains("great") && html.contains("70.0%"));
//! ```

use std::collections::HashMap;
use std::fmt::Write;

use super::words::IndexedText;
use super::Explanation;

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// CSS used by the explanation fragment (also included by the run report).
pub(crate) const EXPLAIN_CSS: &str = r#"
.lime { margin: 0.5em 0 1.5em; }
.lime .lime-text { line-height: 1.9; padding: 0.8em 1em; background: #fafafa; border: 1px solid #e3e3e3; border-radius: 6px; white-space: pre-wrap; }
.lime mark { border-radius: 3px; padding: 0 2px; color: #111; }
.lime .lime-side { display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; margin-top: 0.8em; }
.lime table { border-collapse: collapse; font-size: 0.9em; }
.lime td, .lime th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; }
.lime td.num { text-align: right; font-variant-numeric: tabular-nums; }
.lime .pos { color: #1a7f37; } .lime .neg { color: #c62828; }
.lime .lime-meta { color: #555; font-size: 0.85em; }
"#;

/// The name of class `c`, or `class <c>` when `class_names` has none for it.
pub(crate) fn class_name(class_names: &[String], c: usize) -> String {
    class_names
        .get(c)
        .cloned()
        .unwrap_or_else(|| format!("class {c}"))
}

/// Inline SVG bar chart of class probabilities, the explained class highlighted.
pub(crate) fn probability_bars(class_names: &[String], probs: &[f32], highlight: usize) -> String {
    let name_w = 120.0;
    let bar_w = 220.0;
    let row_h = 24.0;
    let height = row_h * probs.len() as f64 + 8.0;
    let mut svg = format!(
        r#"<svg class="lime-probs" width="{w}" height="{height}" role="img" aria-label="class probabilities" font-family="sans-serif" font-size="13">"#,
        w = name_w + bar_w + 60.0
    );
    for (c, &p) in probs.iter().enumerate() {
        let y = 4.0 + row_h * c as f64;
        let len = bar_w * f64::from(p.clamp(0.0, 1.0));
        let fill = if c == highlight { "#f28e2b" } else { "#4e79a7" };
        let _ = write!(
            svg,
            r##"<text x="{tx}" y="{ty}" text-anchor="end">{name}</text><rect x="{name_w}" y="{y}" width="{bar_w}" height="{h}" fill="#eee"/><rect x="{name_w}" y="{y}" width="{len:.1}" height="{h}" fill="{fill}"/><text x="{px}" y="{ty}">{pct:.1}%</text>"##,
            tx = name_w - 6.0,
            ty = y + 15.0,
            name = escape_html(&class_name(class_names, c)),
            h = row_h - 6.0,
            px = name_w + bar_w + 6.0,
            pct = f64::from(p) * 100.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

impl Explanation {
    /// A self-contained HTML page: the text with highlighted words, the class probabilities
    /// and the table of word weights.
    pub fn to_html(&self, text: &str, class_names: &[String], probs: &[f32]) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>LIME explanation</title>\
             <style>body {{ font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; color: #222; }}{EXPLAIN_CSS}</style>\
             </head><body><h1>LIME explanation</h1>\n{}\n</body></html>\n",
            self.html_fragment(text, class_names, probs)
        )
    }

    /// The explanation as an HTML `<div class="lime">` (styled by [`EXPLAIN_CSS`]).
    pub(crate) fn html_fragment(
        &self,
        text: &str,
        class_names: &[String],
        probs: &[f32],
    ) -> String {
        let weights: HashMap<&str, f64> = self
            .words
            .iter()
            .map(|w| (w.word.as_str(), w.weight))
            .collect();
        let max_abs = self
            .words
            .iter()
            .map(|w| w.weight.abs())
            .fold(0.0f64, f64::max);
        let mut body = String::new();
        for (piece, feature) in IndexedText::new(text).pieces() {
            match (feature, weights.get(piece)) {
                (Some(_), Some(&w)) if max_abs > 0.0 => {
                    let alpha = 0.15 + 0.75 * w.abs() / max_abs;
                    let rgb = if w >= 0.0 { "26,160,70" } else { "220,50,47" };
                    let _ = write!(
                        body,
                        r#"<mark style="background: rgba({rgb},{alpha:.2})" title="{w:+.4}">{}</mark>"#,
                        escape_html(piece)
                    );
                }
                _ => body.push_str(&escape_html(piece)),
            }
        }
        let label_name = escape_html(&class_name(class_names, self.label));
        let mut table = String::from("<table><tr><th>word</th><th>weight</th></tr>");
        for w in &self.words {
            let class = if w.weight >= 0.0 { "pos" } else { "neg" };
            let _ = write!(
                table,
                r#"<tr><td>{}</td><td class="num {class}">{:+.4}</td></tr>"#,
                escape_html(&w.word),
                w.weight
            );
        }
        table.push_str("</table>");
        format!(
            r#"<div class="lime"><div class="lime-meta">Explained class: <b>{label_name}</b>. Green words push towards it, red words against it. Local model: intercept {:.3}, prediction {:.3}, R² {:.3} ({} perturbations of {} distinct words).</div><div class="lime-text">{body}</div><div class="lime-side"><div>{}</div><div>{table}</div></div></div>"#,
            self.intercept,
            self.local_pred,
            self.score,
            self.num_samples,
            self.num_words,
            probability_bars(class_names, probs, self.label),
        )
    }
}

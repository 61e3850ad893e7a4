//! Explanations of single predictions with LIME for text (the `lime` package's
//! `LimeTextExplainer`), over any prediction closure `&[String] -> probabilities`.
//!
//! ```
//! use textrnn_eval::{BoxError, LimeConfig, LimeTextExplainer};
//! let mut predict = |texts: &[String]| -> Result<Vec<Vec<f32>>, BoxError> {
//!     Ok(texts.iter().map(|t| {
//!         let p = if t.contains("awful") { 0.05 } else { 0.8 };
//!         vec![1.0 - p, p]
//!     }).collect())
//! };
//! let explainer = LimeTextExplainer::new(LimeConfig { num_samples: 300, seed: 7, ..LimeConfig::default() });
//! let e = explainer.explain("an awful plot, awful acting", &mut predict, Some(1)).unwrap();
//! assert_eq!(e.words[0].word, "awful");
//! assert!(e.words[0].weight < 0.0);
//! println!("{e}");
//! ```

mod html;
mod lime;
mod ridge;
mod words;

pub use lime::{Explanation, LimeConfig, LimeTextExplainer, WordWeight};
pub use ridge::{ridge_fit, RidgeFit};

#[cfg(feature = "render")]
pub(crate) use html::{class_name, escape_html, probability_bars, EXPLAIN_CSS};

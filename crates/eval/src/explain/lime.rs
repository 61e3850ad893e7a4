//! LIME for text (Ribeiro et al. 2016), following the `lime` package's `LimeTextExplainer`.
//!
//! 1. Split the text into words (`\W+` separators); the `d` distinct words are the features.
//! 2. Draw `num_samples` binary vectors `z` in `{0,1}^d`: the first is all ones (the original
//!    text); for each other, draw `k` uniformly in `1..=d` and switch off `k` distinct words
//!    chosen at random (every occurrence of a switched-off word is removed from the text).
//! 3. Predict class probabilities of the perturbed texts through the caller's closure, in
//!    batches of `batch_size`.
//! 4. Distance to the original: cosine distance times 100, `D(z) = 100 (1 - |z| / sqrt(|z| d))`
//!    (`100` when every word is removed); kernel weight `pi(z) = sqrt(exp(-D^2 / width^2))`
//!    with `width = 25`.
//! 5. Fit the weighted ridge regression `p_label(z) ~ b + z . beta` (`alpha = 1`, intercept)
//!    on all `d` features and report the `num_features` words with the largest `|beta|`, the
//!    intercept, the local prediction `b + sum beta` at the original text and the weighted R^2.
//!
//! Differences from `lime`: the label explained by default is the predicted class of the
//! original text (`lime` defaults to label 1), and the regression uses all features (`lime`'s
//! `feature_selection='auto'` first pre-selects features with an `alpha=0.01` ridge when more
//! than 6 are requested). Random numbers come from `ChaCha8Rng::seed_from_u64(seed)`.
//!
//! ```
//! use textrnn_eval::{BoxError, LimeConfig, LimeTextExplainer};
//! // a "model" that is positive exactly when the text contains "excellent"
//! let mut predict = |texts: &[String]| -> Result<Vec<Vec<f32>>, BoxError> {
//!     Ok(texts
//!         .iter()
//!         .map(|t| if t.contains("excellent") { vec![0.1, 0.9] } else { vec![0.9, 0.1] })
//!         .collect())
//! };
//! let config = LimeConfig { num_samples: 500, ..LimeConfig::default() };
//! let explanation = LimeTextExplainer::new(config)
//!     .explain("an excellent, moving film", &mut predict, None)
//!     .unwrap();
//! assert_eq!(explanation.label, 1);
//! assert_eq!(explanation.words[0].word, "excellent");
//! assert!(explanation.words[0].weight > 0.5);
//! ```

use std::fmt;

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::ridge::ridge_fit;
use super::words::IndexedText;
use crate::{argmax, Error, PredictResult, Result};

/// Settings of the explainer (the `lime` package's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimeConfig {
    /// Number of perturbed texts, the original included (`lime`: 5000).
    pub num_samples: usize,
    /// Number of words reported (`lime`: 10).
    pub num_features: usize,
    /// Width of the exponential kernel on the distance (`lime`: 25).
    pub kernel_width: f64,
    /// Ridge penalty (`lime`: `Ridge(alpha=1)`).
    pub alpha: f64,
    /// Texts per call of the prediction closure.
    pub batch_size: usize,
    /// Seed of the `ChaCha8Rng` that draws the perturbations.
    pub seed: u64,
}

impl Default for LimeConfig {
    fn default() -> Self {
        LimeConfig {
            num_samples: 5000,
            num_features: 10,
            kernel_width: 25.0,
            alpha: 1.0,
            batch_size: 256,
            seed: 0,
        }
    }
}

/// A word and its signed weight towards the explained class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordWeight {
    /// The word (a feature: all its occurrences are removed together).
    pub word: String,
    /// Ridge coefficient: change in the class probability attributed to the word.
    pub weight: f64,
}

/// The local linear explanation of one prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Explained class index.
    pub label: usize,
    /// Top words by `|weight|`, largest first.
    pub words: Vec<WordWeight>,
    /// Intercept of the local model.
    pub intercept: f64,
    /// Local model's prediction for the original text.
    pub local_pred: f64,
    /// Weighted R^2 of the local model on the perturbations.
    pub score: f64,
    /// Model probabilities of the original text.
    pub predicted_proba: Vec<f32>,
    /// Number of perturbations used.
    pub num_samples: usize,
    /// Number of distinct words in the text.
    pub num_words: usize,
}

/// Explains text classifiers by local linear approximation (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct LimeTextExplainer {
    config: LimeConfig,
}

impl LimeTextExplainer {
    /// An explainer with the given settings.
    pub fn new(config: LimeConfig) -> Self {
        LimeTextExplainer { config }
    }

    /// The settings.
    pub fn config(&self) -> &LimeConfig {
        &self.config
    }

    /// Explains the model's probability of `label` (default: the predicted class) for `text`.
    ///
    /// `predict` maps a batch of texts to one probability row per text (all rows of the same
    /// length, the number of classes).
    pub fn explain(
        &self,
        text: &str,
        predict: &mut dyn FnMut(&[String]) -> PredictResult,
        label: Option<usize>,
    ) -> Result<Explanation> {
        let cfg = &self.config;
        if cfg.num_samples < 2 || cfg.batch_size == 0 || cfg.num_features == 0 {
            return Err(Error::LimeSettings(format!(
                "num_samples ({}) must be at least 2, batch_size ({}) and num_features ({}) at least 1",
                cfg.num_samples, cfg.batch_size, cfg.num_features
            )));
        }
        if cfg.kernel_width.is_nan()
            || cfg.kernel_width <= 0.0
            || cfg.alpha.is_nan()
            || cfg.alpha <= 0.0
        {
            return Err(Error::LimeSettings(format!(
                "kernel_width ({}) and alpha ({}) must be positive",
                cfg.kernel_width, cfg.alpha
            )));
        }
        if text.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        let doc = IndexedText::new(text);
        let d = doc.vocabulary().len();
        if d == 0 {
            return Err(Error::NoWords(text.to_string()));
        }

        // perturbation masks, row-major num_samples x d; row 0 is the original text
        let n = cfg.num_samples;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut masks = vec![true; n * d];
        for row in masks.chunks_exact_mut(d).skip(1) {
            let remove = rng.random_range(1..=d);
            for f in sample(&mut rng, d, remove) {
                row[f] = false;
            }
        }

        let mut probs: Vec<Vec<f32>> = Vec::with_capacity(n);
        let mut n_classes = None;
        for (b, rows) in masks.chunks(cfg.batch_size * d).enumerate() {
            let texts: Vec<String> = rows.chunks_exact(d).map(|m| doc.with_active(m)).collect();
            let out = predict(&texts).map_err(Error::Predict)?;
            if out.len() != texts.len() {
                return Err(Error::BadPrediction {
                    expected: format!("{} rows", texts.len()),
                    got: format!("{} rows", out.len()),
                });
            }
            let c = *n_classes.get_or_insert(out.first().map_or(0, Vec::len));
            if let Some(bad) = out.iter().find(|r| r.len() != c || c == 0) {
                return Err(Error::BadPrediction {
                    expected: format!("rows of {c} (> 0) probabilities"),
                    got: format!("a row of {}", bad.len()),
                });
            }
            if out.iter().flatten().any(|p| !p.is_finite()) {
                return Err(Error::BadPrediction {
                    expected: "finite probabilities".into(),
                    got: "NaN or infinity".into(),
                });
            }
            if b == 0 {
                if let Some(l) = label.filter(|&l| l >= c) {
                    return Err(Error::ClassOutOfRange {
                        label: l,
                        n_classes: c,
                    });
                }
            }
            probs.extend(out);
        }
        let original = probs[0].clone();
        let label = label.unwrap_or_else(|| argmax(&original));

        let x: Vec<f64> = masks.iter().map(|&m| f64::from(u8::from(m))).collect();
        let y: Vec<f64> = probs.iter().map(|r| f64::from(r[label])).collect();
        let weights: Vec<f64> = masks
            .chunks_exact(d)
            .map(|m| {
                let distance = cosine_distance_to_ones(m.iter().filter(|&&a| a).count(), d) * 100.0;
                (-(distance * distance) / (cfg.kernel_width * cfg.kernel_width))
                    .exp()
                    .sqrt()
            })
            .collect();
        let fit = ridge_fit(&x, d, &y, &weights, cfg.alpha)?;

        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| fit.coef[b].abs().total_cmp(&fit.coef[a].abs()));
        let words = order
            .into_iter()
            .take(cfg.num_features)
            .map(|f| WordWeight {
                word: doc.vocabulary()[f].clone(),
                weight: fit.coef[f],
            })
            .collect();
        let local_pred = fit.predict(&x[..d]);
        Ok(Explanation {
            label,
            words,
            intercept: fit.intercept,
            local_pred,
            score: fit.score,
            predicted_proba: original,
            num_samples: n,
            num_words: d,
        })
    }
}

/// Cosine distance between a binary vector with `active` ones and the all-ones vector of
/// length `d`: `1 - active / sqrt(active d)`; 1 for the zero vector (scikit-learn's convention).
fn cosine_distance_to_ones(active: usize, d: usize) -> f64 {
    if active == 0 {
        1.0
    } else {
        1.0 - (active as f64 / d as f64).sqrt()
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self
            .predicted_proba
            .get(self.label)
            .copied()
            .unwrap_or(f32::NAN);
        writeln!(
            f,
            "LIME explanation of class {} (model p = {p:.4}, local prediction {:.4}, intercept {:.4}, R^2 {:.4}; {} samples, {} words)",
            self.label, self.local_pred, self.intercept, self.score, self.num_samples, self.num_words
        )?;
        let w = self
            .words
            .iter()
            .map(|ww| ww.word.chars().count())
            .chain(["word".len()])
            .max()
            .unwrap_or(4);
        writeln!(f, "{:<w$}  {:>9}", "word", "weight")?;
        for ww in &self.words {
            writeln!(f, "{:<w$}  {:>+9.4}", ww.word, ww.weight)?;
        }
        Ok(())
    }
}

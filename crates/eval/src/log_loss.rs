//! Log loss (cross-entropy) of predicted class probabilities.
//!
//! `log_loss = -(1/N) sum_i ln(clip(p_i[y_i], eps, 1 - eps))` with `eps = 1e-15`, as
//! scikit-learn's `log_loss(..., eps=1e-15)`. Rows are taken as given (not renormalised); they
//! should sum to 1. Computed in `f64`.
//!
//! ```
//! use textrnn_eval::log_loss;
//! // p(true class) = 0.5 and 1.0 -> (ln 2 + ln(1 / (1 - 1e-15))) / 2
//! let loss = log_loss(&[0.5, 0.5, 0.0, 1.0], 2, &[1, 1]).unwrap();
//! assert!((loss - std::f64::consts::LN_2 / 2.0).abs() < 1e-12);
//! ```

use crate::predictions::check_probs_labels;
use crate::Result;

/// Clipping bound for probabilities.
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// Mean negative log-probability of the true class (see the module docs).
pub fn log_loss(probs: &[f32], n_classes: usize, labels: &[u32]) -> Result<f64> {
    let n = check_probs_labels(probs, n_classes, labels)?;
    let total: f64 = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let p = f64::from(probs[i * n_classes + y as usize]);
            -p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS).ln()
        })
        .sum();
    Ok(total / n as f64)
}

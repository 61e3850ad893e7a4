//! When an epoch counts as diverged (issue #13 item 7).
//!
//! An epoch diverged when its training `loss` is above [`DIVERGENCE_LOSS_FACTOR`] times the
//! first epoch's (a healthy run's loss falls; ten times the first epoch's is far outside the
//! noise of mini-batch training), or its `val_loss` is not finite, or its training or validation
//! loss is above [`DIVERGENCE_MAX_LOSS`]: a mean cross-entropy of 1,000 nats means the true class
//! gets a probability of about e^-1000 on average, logits in the thousands: the weights have blown
//! up, as with `learning_rate = 1e6` (chance level is ln C, 0.69 for two classes; Keras, which
//! clips probabilities at 1e-7, cannot even report more than 16.1). [`fit_with`](crate::fit_with) then logs a
//! `tracing` warning, records the reason in the [`History`](crate::History) (the `warnings` of
//! `history.json`), and marks the epoch in [`EpochLogs::diverged`](crate::EpochLogs::diverged)
//! so that [`BestCheckpoint`](crate::BestCheckpoint) and
//! [`EarlyStopping`](crate::EarlyStopping) never keep its weights as the best ones.
//!
//! ```
//! use textrnn_train::{divergence, Logs};
//! let logs: Logs = [("loss".to_string(), 8.0), ("val_loss".to_string(), 2e6)].into_iter().collect();
//! let why = divergence(Some(0.7), &logs).unwrap();
//! assert!(why.contains("10x") && why.contains("above 1000"), "{why}");
//! let fine: Logs = [("loss".to_string(), 0.5), ("val_loss".to_string(), 0.6)].into_iter().collect();
//! assert_eq!(divergence(Some(0.7), &fine), None);
//! ```

use crate::callbacks::Logs;

/// An epoch whose training loss exceeds this multiple of the first epoch's diverged.
pub const DIVERGENCE_LOSS_FACTOR: f64 = 10.0;

/// An epoch whose training or validation loss exceeds this (or whose validation loss is not
/// finite) diverged.
pub const DIVERGENCE_MAX_LOSS: f64 = 1e3;

/// Why an epoch with `logs` diverged, given the first epoch's training loss (`None` for the
/// first epoch itself); `None` when it did not.
pub fn divergence(first_loss: Option<f64>, logs: &Logs) -> Option<String> {
    let mut reasons = Vec::new();
    if let Some(loss) = logs.get("loss").filter(|l| *l > DIVERGENCE_MAX_LOSS) {
        reasons.push(format!("training loss {loss:.4e} is above 1000"));
    } else if let (Some(first), Some(loss)) = (first_loss, logs.get("loss")) {
        if first.is_finite() && loss > DIVERGENCE_LOSS_FACTOR * first {
            reasons.push(format!(
                "training loss {loss:.4} is more than {DIVERGENCE_LOSS_FACTOR}x the first \
                 epoch's ({first:.4})"
            ));
        }
    }
    if let Some(val) = logs.get("val_loss") {
        if !val.is_finite() {
            reasons.push(format!("validation loss is {val}"));
        } else if val > DIVERGENCE_MAX_LOSS {
            reasons.push(format!("validation loss {val:.4e} is above 1000"));
        }
    }
    if reasons.is_empty() {
        return None;
    }
    Some(format!(
        "training diverged: {} (lower the learning rate); this epoch is never kept as the best",
        reasons.join("; ")
    ))
}

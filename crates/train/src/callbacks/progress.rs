//! Keras `verbose` display of training progress.
//!
//! `verbose = 1` on a terminal: one indicatif bar per epoch over its batches, showing the
//! running loss and metrics (`Epoch 3/10` then `25/25 ━━━━━━ 2s - loss: 0.4120 - accuracy: ...`),
//! finished with the validation values. When stderr is not a terminal (logs, CI), or with
//! `verbose = 2`, one summary line per epoch is printed to stderr instead (stdout is kept for
//! results, so `train --json | jq` works) — the job of this callback is to print, so it does not
//! go through `tracing`.
//!
//! ```
//! use textrnn_train::ProgressBar;
//! let bar = ProgressBar::new(2); // one line per epoch
//! # let _ = bar;
//! ```

use std::io::IsTerminal;

use indicatif::{ProgressBar as Bar, ProgressDrawTarget, ProgressStyle};

use super::callback::{BatchLogs, Callback, Control, EpochLogs, TrainBegin};
use crate::error::Result;

/// Progress display for [`fit`](crate::fit) (added automatically for `verbose > 0`).
pub struct ProgressBar {
    bars: bool,
    epochs: usize,
    steps: usize,
    bar: Option<Bar>,
}

impl ProgressBar {
    /// `verbose = 1`: bars on a terminal, lines otherwise; `verbose ≥ 2`: lines.
    pub fn new(verbose: u8) -> Self {
        let bars = verbose == 1 && std::io::stderr().is_terminal();
        Self {
            bars,
            epochs: 0,
            steps: 0,
            bar: None,
        }
    }

    /// Whether live bars are drawn (otherwise one line per epoch).
    pub fn draws_bars(&self) -> bool {
        self.bars
    }
}

/// `"loss: 0.1234 - accuracy: 0.9000"` for the given pairs.
fn fmt_pairs<'a>(pairs: impl Iterator<Item = (&'a str, f64)>) -> String {
    pairs
        .map(|(k, v)| format!("{k}: {v:.4}"))
        .collect::<Vec<_>>()
        .join(" - ")
}

impl Callback for ProgressBar {
    fn name(&self) -> &str {
        "progress_bar"
    }

    fn on_train_begin(&mut self, info: &TrainBegin<'_>) -> Result<()> {
        self.epochs = info.epochs;
        self.steps = info.steps_per_epoch;
        Ok(())
    }

    fn on_epoch_begin(&mut self, epoch: usize) -> Result<()> {
        if !self.bars {
            return Ok(());
        }
        let bar = Bar::with_draw_target(Some(self.steps as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{pos:>5}/{len} {bar:30} {elapsed} {msg}")
            .map(|s| s.progress_chars("━━ "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.println(format!("Epoch {}/{}", epoch + 1, self.epochs));
        self.bar = Some(bar);
        Ok(())
    }

    fn on_batch_end(&mut self, batch: usize, logs: &BatchLogs<'_>) -> Result<()> {
        if let Some(bar) = &self.bar {
            bar.set_position(batch as u64 + 1);
            bar.set_message(format!("- {}", logs.logs.format()));
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &EpochLogs) -> Result<Control> {
        let secs = logs.elapsed.as_secs_f64();
        let per_step = 1000.0 * secs / self.steps.max(1) as f64;
        if let Some(bar) = self.bar.take() {
            bar.finish_with_message(format!("{per_step:.0}ms/step - {}", logs.logs.format()));
        } else {
            let train = fmt_pairs(logs.logs.iter().filter(|(k, _)| !k.starts_with("val_")));
            let val = fmt_pairs(logs.logs.iter().filter(|(k, _)| k.starts_with("val_")));
            let sep = if val.is_empty() { "" } else { " - " };
            eprintln!(
                "Epoch {}/{} - {} steps - {secs:.1}s {per_step:.0}ms/step - {train}{sep}{val}",
                epoch + 1,
                self.epochs,
                self.steps
            );
        }
        Ok(Control::Continue)
    }
}

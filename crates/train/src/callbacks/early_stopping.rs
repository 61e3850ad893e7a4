//! Early stopping with Keras 3 semantics (`keras.callbacks.EarlyStopping`).
//!
//! At the end of each epoch `e ≥ start_from_epoch` with the monitored value `x` present:
//!
//! ```text
//! wait += 1
//! if improved(x, best):                       // see Monitor; the first value always improves
//!     best = x; best_epoch = e; snapshot weights (restore_best_weights)
//!     if baseline is None or improved(x, baseline): wait = 0
//! elif wait ≥ patience and e > 0: stop
//! ```
//!
//! An epoch marked diverged ([`EpochLogs::diverged`]) counts as not improving and is never
//! snapshotted.
//!
//! With `restore_best_weights`, the snapshot (copies of the variables' tensors) is written back
//! into the model's variables at the end of training — also when training ran all its epochs.
//!
//! ```
//! use textrnn_train::{EarlyStopping, EarlyStoppingConfig};
//! let cfg = EarlyStoppingConfig { monitor: "val_auc".into(), patience: 2, restore_best_weights: true, ..Default::default() };
//! let es = EarlyStopping::new(&cfg).unwrap();
//! assert!(es.monitor().maximize());
//! ```

use candle_core::{Tensor, Var};

use super::callback::{Callback, CallbackState, Control, EpochLogs, TrainBegin};
use super::history::History;
use super::monitor::{Monitor, MonitorMode};
use super::{check_weights, from_json, to_json};
use crate::error::Result;

/// Serde configuration of [`EarlyStopping`] (Keras argument names and defaults, except
/// `monitor`, which defaults to `val_loss` as in Keras).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EarlyStoppingConfig {
    /// Log key to watch, e.g. `val_loss`, `val_auc`, `val_accuracy`.
    pub monitor: String,
    /// `auto`, `min` or `max`.
    pub mode: MonitorMode,
    /// Epochs without improvement before stopping (default 0).
    pub patience: usize,
    /// Minimum change that counts as an improvement (default 0).
    pub min_delta: f64,
    /// Put back the weights of the best epoch at the end (default false).
    pub restore_best_weights: bool,
    /// Value the monitored quantity must beat to reset the patience counter.
    pub baseline: Option<f64>,
    /// Epochs to wait before monitoring at all (default 0).
    pub start_from_epoch: usize,
}

impl Default for EarlyStoppingConfig {
    fn default() -> Self {
        Self {
            monitor: "val_loss".into(),
            mode: MonitorMode::Auto,
            patience: 0,
            min_delta: 0.0,
            restore_best_weights: false,
            baseline: None,
            start_from_epoch: 0,
        }
    }
}

/// What [`EarlyStopping`] saves in a checkpoint (the best value as `f64` bits).
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedState {
    wait: usize,
    best: Option<u64>,
    best_epoch: Option<usize>,
    stopped_epoch: Option<usize>,
    warned_missing: bool,
    best_weights: bool,
}

/// Stops training when the monitored quantity stops improving; optionally restores the best
/// weights.
pub struct EarlyStopping {
    config: EarlyStoppingConfig,
    monitor: Monitor,
    vars: Vec<Var>,
    wait: usize,
    best: Option<f64>,
    best_epoch: Option<usize>,
    best_weights: Option<Vec<Tensor>>,
    stopped_epoch: Option<usize>,
    warned_missing: bool,
}

impl EarlyStopping {
    /// A callback for `config`; fails when `auto` mode cannot classify the monitor.
    pub fn new(config: &EarlyStoppingConfig) -> Result<Self> {
        let monitor = Monitor::new(&config.monitor, config.mode, config.min_delta)?;
        Ok(Self {
            config: config.clone(),
            monitor,
            vars: Vec::new(),
            wait: 0,
            best: None,
            best_epoch: None,
            best_weights: None,
            stopped_epoch: None,
            warned_missing: false,
        })
    }

    /// The monitored quantity.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// Best monitored value seen.
    pub fn best(&self) -> Option<f64> {
        self.best
    }

    /// Epoch (0-based) of the best value.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    /// Epoch (0-based) at which training was stopped, if it was.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    /// Epochs since the last improvement (Keras `wait`).
    pub fn wait(&self) -> usize {
        self.wait
    }

    fn snapshot(&self) -> Result<Vec<Tensor>> {
        Ok(self
            .vars
            .iter()
            .map(|v| v.as_detached_tensor().copy())
            .collect::<candle_core::Result<_>>()?)
    }
}

impl Callback for EarlyStopping {
    fn name(&self) -> &str {
        "early_stopping"
    }

    fn on_train_begin(&mut self, info: &TrainBegin<'_>) -> Result<()> {
        self.vars = info.vars.to_vec();
        self.wait = 0;
        self.best = None;
        self.best_epoch = None;
        self.best_weights = None;
        self.stopped_epoch = None;
        self.warned_missing = false;
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &EpochLogs) -> Result<Control> {
        let Some(current) = logs.get(self.monitor.key()) else {
            if !self.warned_missing {
                tracing::warn!(
                    monitor = self.monitor.key(),
                    available = logs.logs.keys().collect::<Vec<_>>().join(","),
                    "early stopping conditioned on a quantity that is not logged"
                );
                self.warned_missing = true;
            }
            return Ok(Control::Continue);
        };
        if epoch < self.config.start_from_epoch {
            return Ok(Control::Continue);
        }
        // A diverged epoch is never the best one, nor the fallback snapshot.
        let diverged = logs.diverged.is_some();
        if self.config.restore_best_weights && self.best_weights.is_none() && !diverged {
            self.best_weights = Some(self.snapshot()?);
            self.best_epoch = Some(epoch);
        }
        self.wait += 1;
        if !diverged && self.monitor.is_improvement(current, self.best) {
            self.best = Some(current);
            self.best_epoch = Some(epoch);
            if self.config.restore_best_weights {
                self.best_weights = Some(self.snapshot()?);
            }
            if self
                .config
                .baseline
                .is_none_or(|b| self.monitor.is_improvement(current, Some(b)))
            {
                self.wait = 0;
            }
            return Ok(Control::Continue);
        }
        if self.wait >= self.config.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            tracing::info!(
                epoch = epoch + 1,
                monitor = self.monitor.key(),
                "early stopping"
            );
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }

    fn checkpoint_state(&self) -> Result<Option<CallbackState>> {
        let state = SavedState {
            wait: self.wait,
            best: self.best.map(f64::to_bits),
            best_epoch: self.best_epoch,
            stopped_epoch: self.stopped_epoch,
            warned_missing: self.warned_missing,
            best_weights: self.best_weights.is_some(),
        };
        Ok(Some(CallbackState {
            json: to_json(self.name(), &state)?,
            tensors: self.best_weights.clone().unwrap_or_default(),
        }))
    }

    fn restore_checkpoint_state(&mut self, state: CallbackState) -> Result<()> {
        let saved: SavedState = from_json(self.name(), state.json)?;
        if saved.best_weights {
            check_weights(self.name(), &self.vars, &state.tensors)?;
        }
        self.wait = saved.wait;
        self.best = saved.best.map(f64::from_bits);
        self.best_epoch = saved.best_epoch;
        self.stopped_epoch = saved.stopped_epoch;
        self.warned_missing = saved.warned_missing;
        self.best_weights = saved.best_weights.then_some(state.tensors);
        Ok(())
    }

    fn on_train_end(&mut self, _history: &History) -> Result<()> {
        if !self.config.restore_best_weights {
            return Ok(());
        }
        if let Some(weights) = &self.best_weights {
            tracing::info!(
                best_epoch = self.best_epoch.map(|e| e + 1),
                "restoring model weights from the end of the best epoch"
            );
            for (var, w) in self.vars.iter().zip(weights) {
                var.set(w)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::callbacks::callback::Logs;
    use candle_core::Device;
    use std::time::Duration;

    /// The start of a run of `epochs` epochs on `vars`, with validation.
    fn begin(epochs: usize, vars: &[Var]) -> TrainBegin<'_> {
        TrainBegin {
            epochs,
            steps_per_epoch: 1,
            n_train: 1,
            n_val: Some(1),
            vars,
        }
    }

    fn logs(epoch: usize, key: &str, v: f64) -> EpochLogs {
        let mut l = Logs::new();
        l.insert(key, v);
        EpochLogs {
            epoch,
            logs: l,
            elapsed: Duration::ZERO,
            diverged: None,
        }
    }

    /// Feeds `values` one per epoch; returns the epoch at which Stop came, if any.
    fn run(es: &mut EarlyStopping, key: &str, values: &[f64], vars: &[Var]) -> Option<usize> {
        es.on_train_begin(&begin(values.len(), vars)).unwrap();
        for (e, &v) in values.iter().enumerate() {
            // the "weights" of epoch e are the value e
            for var in vars {
                var.set(&Tensor::new(&[e as f32], &Device::Cpu).unwrap())
                    .unwrap();
            }
            if es.on_epoch_end(e, &logs(e, key, v)).unwrap() == Control::Stop {
                es.on_train_end(&History::new()).unwrap();
                return Some(e);
            }
        }
        es.on_train_end(&History::new()).unwrap();
        None
    }

    #[test]
    fn keeps_going_while_improving() {
        let cfg = EarlyStoppingConfig {
            patience: 1,
            ..Default::default()
        };
        let mut es = EarlyStopping::new(&cfg).unwrap();
        assert_eq!(run(&mut es, "val_loss", &[0.9, 0.8, 0.7, 0.6], &[]), None);
        assert_eq!(es.best(), Some(0.6));
        assert_eq!(es.best_epoch(), Some(3));
    }

    #[test]
    fn plateau_stops_after_patience_and_restores_best() {
        let var = Var::new(&[0f32], &Device::Cpu).unwrap();
        let cfg = EarlyStoppingConfig {
            monitor: "val_auc".into(),
            patience: 2,
            restore_best_weights: true,
            ..Default::default()
        };
        let mut es = EarlyStopping::new(&cfg).unwrap();
        // best at epoch 1; epochs 2 and 3 do not improve → wait reaches 2 at epoch 3 → stop
        let stopped = run(
            &mut es,
            "val_auc",
            &[0.70, 0.80, 0.79, 0.80],
            std::slice::from_ref(&var),
        );
        assert_eq!(stopped, Some(3));
        assert_eq!(es.stopped_epoch(), Some(3));
        assert_eq!(es.best_epoch(), Some(1));
        // weights were "3" when stopping; restored to those of epoch 1
        assert_eq!(var.as_tensor().to_vec1::<f32>().unwrap(), vec![1.0]);
    }

    #[test]
    fn patience_zero_stops_at_first_non_improvement_and_min_delta_counts() {
        let cfg = EarlyStoppingConfig {
            min_delta: 0.05,
            ..Default::default()
        };
        let mut es = EarlyStopping::new(&cfg).unwrap();
        // 0.5 → 0.47 is an improvement of only 0.03 < min_delta
        assert_eq!(run(&mut es, "val_loss", &[0.5, 0.47, 0.3], &[]), Some(1));
    }

    #[test]
    fn restores_best_even_without_stopping() {
        let var = Var::new(&[0f32], &Device::Cpu).unwrap();
        let cfg = EarlyStoppingConfig {
            patience: 10,
            restore_best_weights: true,
            ..Default::default()
        };
        let mut es = EarlyStopping::new(&cfg).unwrap();
        assert_eq!(
            run(
                &mut es,
                "val_loss",
                &[0.5, 0.2, 0.4],
                std::slice::from_ref(&var)
            ),
            None
        );
        assert_eq!(var.as_tensor().to_vec1::<f32>().unwrap(), vec![1.0]);
    }

    #[test]
    fn baseline_not_beaten_stops_after_patience() {
        let var = Var::new(&[0f32], &Device::Cpu).unwrap();
        let cfg = EarlyStoppingConfig {
            monitor: "val_accuracy".into(),
            patience: 2,
            baseline: Some(0.9),
            restore_best_weights: true,
            ..Default::default()
        };
        let mut es = EarlyStopping::new(&cfg).unwrap();
        // below the baseline, improvements do not reset `wait`: 1, 2, then 3 ≥ patience at the
        // first non-improving epoch (2); without a baseline it would stop at epoch 3
        assert_eq!(
            run(
                &mut es,
                "val_accuracy",
                &[0.5, 0.6, 0.55, 0.58],
                std::slice::from_ref(&var)
            ),
            Some(2)
        );
        assert_eq!(es.best(), Some(0.6));
        assert_eq!(var.as_tensor().to_vec1::<f32>().unwrap(), vec![1.0]);
        let mut plain = EarlyStopping::new(&EarlyStoppingConfig {
            baseline: None,
            ..cfg
        })
        .unwrap();
        assert_eq!(
            run(&mut plain, "val_accuracy", &[0.5, 0.6, 0.55, 0.58], &[var]),
            Some(3)
        );
    }

    #[test]
    fn diverged_epochs_are_never_the_best_nor_the_fallback() {
        let var = Var::new(&[0f32], &Device::Cpu).unwrap();
        let cfg = EarlyStoppingConfig {
            patience: 2,
            restore_best_weights: true,
            ..Default::default()
        };
        let mut es = EarlyStopping::new(&cfg).unwrap();
        es.on_train_begin(&begin(4, std::slice::from_ref(&var)))
            .unwrap();
        // epoch 0 diverged (not even the fallback snapshot), 1 is the best, 2 diverged with a
        // lower val_loss, 3 worse: stop at 3 (wait 2) and restore epoch 1
        let mut stops = Vec::new();
        for (e, (v, diverged)) in [(9.0, true), (0.5, false), (0.1, true), (0.6, false)]
            .into_iter()
            .enumerate()
        {
            var.set(&Tensor::new(&[e as f32], &Device::Cpu).unwrap())
                .unwrap();
            let mut l = logs(e, "val_loss", v);
            l.diverged = diverged.then(|| "diverged".to_string());
            stops.push(es.on_epoch_end(e, &l).unwrap());
        }
        assert_eq!(
            stops,
            [
                Control::Continue,
                Control::Continue,
                Control::Continue,
                Control::Stop
            ]
        );
        assert_eq!((es.best(), es.best_epoch()), (Some(0.5), Some(1)));
        es.on_train_end(&History::new()).unwrap();
        assert_eq!(var.as_tensor().to_vec1::<f32>().unwrap(), vec![1.0]);
    }

    #[test]
    fn checkpoint_state_round_trips_into_a_fresh_callback() {
        let var = Var::new(&[0f32], &Device::Cpu).unwrap();
        let cfg = EarlyStoppingConfig {
            patience: 1,
            restore_best_weights: true,
            ..Default::default()
        };
        let begin = begin(3, std::slice::from_ref(&var));
        let mut es = EarlyStopping::new(&cfg).unwrap();
        es.on_train_begin(&begin).unwrap();
        var.set(&Tensor::new(&[7f32], &Device::Cpu).unwrap())
            .unwrap();
        es.on_epoch_end(0, &logs(0, "val_loss", 0.25)).unwrap();
        let state = es.checkpoint_state().unwrap().unwrap();
        let mut again = EarlyStopping::new(&cfg).unwrap();
        again.on_train_begin(&begin).unwrap();
        again.restore_checkpoint_state(state).unwrap();
        assert_eq!(
            (again.best(), again.best_epoch(), again.wait()),
            (Some(0.25), Some(0), 0)
        );
        // the saved weights come back at the end; a worse epoch stops (patience 1)
        var.set(&Tensor::new(&[8f32], &Device::Cpu).unwrap())
            .unwrap();
        assert_eq!(
            again.on_epoch_end(1, &logs(1, "val_loss", 0.5)).unwrap(),
            Control::Stop
        );
        again.on_train_end(&History::new()).unwrap();
        assert_eq!(var.as_tensor().to_vec1::<f32>().unwrap(), vec![7.0]);
        let wrong = CallbackState {
            json: serde_json::json!({"wait": "x"}),
            tensors: vec![],
        };
        assert!(again.restore_checkpoint_state(wrong).is_err());
    }

    #[test]
    fn missing_monitor_never_stops() {
        let mut es = EarlyStopping::new(&EarlyStoppingConfig::default()).unwrap();
        assert_eq!(run(&mut es, "loss", &[0.5, 0.6, 0.7], &[]), None);
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let cfg: EarlyStoppingConfig =
            serde_json::from_str(r#"{"monitor": "val_auc", "mode": "max", "patience": 3}"#)
                .unwrap();
        assert_eq!(cfg.patience, 3);
        assert_eq!(cfg.mode, MonitorMode::Max);
        assert!(serde_json::from_str::<EarlyStoppingConfig>(r#"{"patient": 3}"#).is_err());
    }
}

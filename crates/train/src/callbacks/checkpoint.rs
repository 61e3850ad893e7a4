//! Keep the best weights on disk (Keras `ModelCheckpoint(save_best_only=True)`).
//!
//! At each epoch end that did not diverge ([`EpochLogs::diverged`]), if the monitored quantity
//! improves (see [`Monitor`]), the callback either writes the named variables as safetensors
//! with `candle_core::safetensors::save` through [`textrnn_fs::write_with`] (temporary file,
//! fsync, rename), so `path` always holds a complete file, or calls a user closure with the
//! variables and the logs. Its best value is part of a training checkpoint, so a resumed run
//! saves exactly when the uninterrupted one would.
//!
//! ```no_run
//! use candle_nn::VarMap;
//! use textrnn_train::{BestCheckpoint, MonitorMode};
//! let varmap = VarMap::new(); // the map the model was built from
//! let ckpt = BestCheckpoint::safetensors("run/model.safetensors", &varmap, "val_auc", MonitorMode::Auto).unwrap();
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Tensor, Var};
use candle_nn::VarMap;

use super::callback::{Callback, CallbackState, Control, EpochLogs, TrainBegin};
use super::monitor::{Monitor, MonitorMode};
use super::{from_json, to_json};
use crate::error::Result;

/// What to do with the weights of a new best epoch: `(vars in Classifier::vars order, logs)`.
pub type SaveFn = Box<dyn FnMut(&[Var], &EpochLogs) -> Result<()>>;

enum Sink {
    Safetensors {
        path: PathBuf,
        named: Vec<(String, Var)>,
    },
    Closure(SaveFn),
}

/// Saves the weights whenever the monitored quantity improves.
pub struct BestCheckpoint {
    monitor: Monitor,
    sink: Sink,
    vars: Vec<Var>,
    best: Option<f64>,
    best_epoch: Option<usize>,
}

impl BestCheckpoint {
    /// Writes every variable of `varmap` (by its name) to `path` on improvement.
    pub fn safetensors(
        path: impl Into<PathBuf>,
        varmap: &VarMap,
        monitor: &str,
        mode: MonitorMode,
    ) -> Result<Self> {
        let mut named: Vec<(String, Var)> = match varmap.data().lock() {
            Ok(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(poisoned) => poisoned
                .into_inner()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        named.sort_by(|a, b| a.0.cmp(&b.0));
        Self::safetensors_named(path, named, monitor, mode)
    }

    /// Writes the given named variables to `path` on improvement.
    pub fn safetensors_named(
        path: impl Into<PathBuf>,
        named: Vec<(String, Var)>,
        monitor: &str,
        mode: MonitorMode,
    ) -> Result<Self> {
        Self::with_sink(
            Sink::Safetensors {
                path: path.into(),
                named,
            },
            monitor,
            mode,
        )
    }

    /// Calls `save` with the model's variables and the logs on improvement.
    pub fn with_closure(save: SaveFn, monitor: &str, mode: MonitorMode) -> Result<Self> {
        Self::with_sink(Sink::Closure(save), monitor, mode)
    }

    fn with_sink(sink: Sink, monitor: &str, mode: MonitorMode) -> Result<Self> {
        let monitor = Monitor::new(monitor, mode, 0.0)?;
        Ok(Self {
            monitor,
            sink,
            vars: Vec::new(),
            best: None,
            best_epoch: None,
        })
    }

    /// Best monitored value so far.
    pub fn best(&self) -> Option<f64> {
        self.best
    }

    /// Epoch (0-based) whose weights were saved last.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }
}

/// Writes `tensors` as safetensors to `path` atomically.
fn save_safetensors_atomic(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    textrnn_fs::write_with(path, |tmp| -> Result<()> {
        Ok(candle_core::safetensors::save(tensors, tmp)?)
    })
}

impl Callback for BestCheckpoint {
    fn name(&self) -> &str {
        "best_checkpoint"
    }

    fn on_train_begin(&mut self, info: &TrainBegin<'_>) -> Result<()> {
        self.vars = info.vars.to_vec();
        self.best = None;
        self.best_epoch = None;
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &EpochLogs) -> Result<Control> {
        let Some(current) = logs.get(self.monitor.key()) else {
            tracing::warn!(
                monitor = self.monitor.key(),
                "checkpoint monitor not in logs; skipped"
            );
            return Ok(Control::Continue);
        };
        if let Some(why) = &logs.diverged {
            tracing::debug!(epoch = epoch + 1, reason = %why, "diverged epoch not saved as the best");
            return Ok(Control::Continue);
        }
        if !self.monitor.is_improvement(current, self.best) {
            return Ok(Control::Continue);
        }
        self.best = Some(current);
        self.best_epoch = Some(epoch);
        match &mut self.sink {
            Sink::Safetensors { path, named } => {
                let tensors: HashMap<String, Tensor> = named
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_detached_tensor()))
                    .collect();
                save_safetensors_atomic(&tensors, path)?;
                tracing::debug!(epoch = epoch + 1, monitor = self.monitor.key(), value = current, path = %path.display(), "saved best weights");
            }
            Sink::Closure(save) => save(&self.vars, logs)?,
        }
        Ok(Control::Continue)
    }

    fn checkpoint_state(&self) -> Result<Option<CallbackState>> {
        let state = (self.best.map(f64::to_bits), self.best_epoch);
        Ok(Some(CallbackState {
            json: to_json(self.name(), &state)?,
            tensors: Vec::new(),
        }))
    }

    fn restore_checkpoint_state(&mut self, state: CallbackState) -> Result<()> {
        let (best, best_epoch): (Option<u64>, Option<usize>) = from_json(self.name(), state.json)?;
        self.best = best.map(f64::from_bits);
        self.best_epoch = best_epoch;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::callbacks::callback::Logs;
    use candle_core::{DType, Device};
    use std::time::Duration;

    /// The start of a run of `epochs` epochs on `vars`.
    fn begin(epochs: usize, n_val: Option<usize>, vars: &[Var]) -> TrainBegin<'_> {
        TrainBegin {
            epochs,
            steps_per_epoch: 1,
            n_train: 1,
            n_val,
            vars,
        }
    }

    #[test]
    fn writes_only_on_improvement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("best.safetensors");
        let varmap = VarMap::new();
        let w = varmap
            .get(
                (2,),
                "dense/kernel",
                candle_nn::Init::Const(0.0),
                DType::F32,
                &Device::Cpu,
            )
            .unwrap();
        let var = varmap.all_vars().pop().unwrap();
        let mut ck =
            BestCheckpoint::safetensors(&path, &varmap, "val_loss", MonitorMode::Auto).unwrap();
        ck.on_train_begin(&begin(3, Some(1), std::slice::from_ref(&var)))
            .unwrap();
        for (e, loss) in [0.5, 0.3, 0.4].into_iter().enumerate() {
            var.set(&Tensor::new(&[e as f32, e as f32], &Device::Cpu).unwrap())
                .unwrap();
            let mut logs = Logs::new();
            logs.insert("val_loss", loss);
            ck.on_epoch_end(
                e,
                &EpochLogs {
                    epoch: e,
                    logs,
                    elapsed: Duration::ZERO,
                    diverged: None,
                },
            )
            .unwrap();
        }
        assert_eq!(ck.best_epoch(), Some(1));
        let saved = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
        assert_eq!(
            saved["dense/kernel"].to_vec1::<f32>().unwrap(),
            vec![1.0, 1.0]
        );
        assert_eq!(w.dims(), &[2]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn closure_sink_sees_vars() {
        let seen = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let seen2 = seen.clone();
        let mut ck = BestCheckpoint::with_closure(
            Box::new(move |vars, _| {
                seen2.set(seen2.get() + vars.len());
                Ok(())
            }),
            "accuracy",
            MonitorMode::Auto,
        )
        .unwrap();
        let var = Var::new(&[0f32], &Device::Cpu).unwrap();
        ck.on_train_begin(&begin(2, None, &[var])).unwrap();
        for (e, acc) in [0.5, 0.6].into_iter().enumerate() {
            let mut logs = Logs::new();
            logs.insert("accuracy", acc);
            ck.on_epoch_end(
                e,
                &EpochLogs {
                    epoch: e,
                    logs,
                    elapsed: Duration::ZERO,
                    diverged: None,
                },
            )
            .unwrap();
        }
        assert_eq!(seen.get(), 2);
    }

    #[test]
    fn diverged_epochs_are_not_saved_and_the_best_value_survives_a_resume() {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let closure = |seen: std::rc::Rc<std::cell::RefCell<Vec<usize>>>| -> SaveFn {
            Box::new(move |_, logs| {
                seen.borrow_mut().push(logs.epoch);
                Ok(())
            })
        };
        let end = |ck: &mut BestCheckpoint, e: usize, v: f64, diverged: bool| {
            let mut logs = Logs::new();
            logs.insert("val_loss", v);
            ck.on_epoch_end(
                e,
                &EpochLogs {
                    epoch: e,
                    logs,
                    elapsed: Duration::ZERO,
                    diverged: diverged.then(|| "diverged".into()),
                },
            )
            .unwrap();
        };
        let begin = begin(4, Some(1), &[]);
        let mut ck =
            BestCheckpoint::with_closure(closure(seen.clone()), "val_loss", MonitorMode::Auto)
                .unwrap();
        ck.on_train_begin(&begin).unwrap();
        end(&mut ck, 0, 0.5, false);
        end(&mut ck, 1, 0.1, true);
        assert_eq!((ck.best(), ck.best_epoch()), (Some(0.5), Some(0)));
        // a resumed run knows the best so far: 0.6 is not saved, 0.4 is
        let mut again =
            BestCheckpoint::with_closure(closure(seen.clone()), "val_loss", MonitorMode::Auto)
                .unwrap();
        again.on_train_begin(&begin).unwrap();
        again
            .restore_checkpoint_state(ck.checkpoint_state().unwrap().unwrap())
            .unwrap();
        end(&mut again, 2, 0.6, false);
        end(&mut again, 3, 0.4, false);
        assert_eq!(*seen.borrow(), vec![0, 3]);
    }
}

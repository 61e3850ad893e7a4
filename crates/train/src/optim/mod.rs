//! Optimizers with Keras 3 update rules and defaults.
//!
//! candle-nn ships only SGD and AdamW (epsilon 1e-8, decoupled weight decay); Keras tutorials
//! train with `Adam` (epsilon 1e-7) or `RMSprop` (epsilon inside the square root), so both are
//! reimplemented here, one file each, behind the [`Optimizer`] trait. [`OptimizerConfig`] is the
//! serde form used in recipes (`name = "adam"` / `"rmsprop"`).
//!
//! ```
//! use candle_core::{Device, Var};
//! use textrnn_train::{Optimizer, OptimizerConfig};
//! let w = Var::new(&[10f64], &Device::Cpu).unwrap();
//! let cfg: OptimizerConfig = serde_json::from_str(r#"{"name": "rmsprop", "learning_rate": 0.1}"#).unwrap();
//! let mut opt = cfg.build(vec![w.clone()]).unwrap();
//! let loss = (w.as_tensor().sqr().unwrap() * 0.5).unwrap().sum_all().unwrap(); // d/dw = w
//! opt.step(&loss.backward().unwrap()).unwrap();
//! let w1 = w.as_tensor().to_vec1::<f64>().unwrap()[0];
//! assert!((w1 - 9.683772).abs() < 1e-6); // the value in Keras' RMSprop docstring
//! ```

mod adam;
mod config;
mod rmsprop;

pub use adam::{Adam, AdamConfig};
pub use config::OptimizerConfig;
pub use rmsprop::{RmsProp, RmsPropConfig};

use candle_core::backprop::GradStore;

use crate::error::Result;

/// Updates a fixed set of variables from their gradients.
pub trait Optimizer {
    /// Applies one update to every variable that has a gradient in `grads` (others are left
    /// untouched, their slots too) and increments the iteration count.
    fn step(&mut self, grads: &GradStore) -> Result<()>;

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate (schedules, `ReduceLROnPlateau`-style callbacks).
    fn set_learning_rate(&mut self, lr: f64);

    /// Number of steps taken (Keras `optimizer.iterations`).
    fn iterations(&self) -> u64;
}

/// Checks that `value` is finite and in the given range; `field` names it in the error.
pub(crate) fn check_range(
    field: &str,
    value: f64,
    lo: f64,
    hi: f64,
    hi_inclusive: bool,
) -> Result<()> {
    let ok = value.is_finite() && value >= lo && (value < hi || (hi_inclusive && value == hi));
    if ok {
        Ok(())
    } else {
        let close = if hi_inclusive { "]" } else { ")" };
        Err(crate::error::Error::config(
            field,
            format!("{value} is outside [{lo}, {hi}{close}"),
        ))
    }
}

//! The serde form of an optimizer, tagged by `name` (Keras' optimizer names, lower case).
//!
//! ```toml
//! [train.optimizer]
//! name = "adam"           # or "rmsprop"
//! learning_rate = 1e-3    # omitted fields take the Keras defaults
//! ```
//!
//! ```
//! use textrnn_train::{AdamConfig, OptimizerConfig};
//! let cfg: OptimizerConfig = serde_json::from_str(r#"{"name": "adam"}"#).unwrap();
//! assert_eq!(cfg, OptimizerConfig::Adam(AdamConfig::default()));
//! assert_eq!(cfg.learning_rate(), 1e-3);
//! ```

use candle_core::{backprop::GradStore, Var};

use super::{Adam, AdamConfig, Optimizer, OptimizerState, RmsProp, RmsPropConfig, SquaredGrads};
use crate::error::Result;

/// Which optimizer to train with, and its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// `keras.optimizers.Adam`.
    Adam(AdamConfig),
    /// `keras.optimizers.RMSprop`.
    Rmsprop(RmsPropConfig),
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Adam(AdamConfig::default())
    }
}

impl OptimizerConfig {
    /// Keras' name of the optimizer.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Adam(_) => "adam",
            OptimizerConfig::Rmsprop(_) => "rmsprop",
        }
    }

    /// The configured learning rate.
    pub fn learning_rate(&self) -> f64 {
        match self {
            OptimizerConfig::Adam(c) => c.learning_rate,
            OptimizerConfig::Rmsprop(c) => c.learning_rate,
        }
    }

    /// Rejects non-finite or out-of-range hyper-parameters.
    pub fn validate(&self) -> Result<()> {
        match self {
            OptimizerConfig::Adam(c) => c.validate(),
            OptimizerConfig::Rmsprop(c) => c.validate(),
        }
    }

    /// The optimizer over `vars` (non-float variables are ignored); invalid hyper-parameters
    /// are reported as [`Error::InvalidConfig`](crate::Error::InvalidConfig).
    pub fn build(&self, vars: Vec<Var>) -> Result<AnyOptimizer> {
        self.validate()?;
        Ok(AnyOptimizer::new(vars, *self)?)
    }
}

/// The optimizer an [`OptimizerConfig`] names, chosen at run time (candle-nn's [`Optimizer`]
/// trait takes `Self: Sized`, so a run-time choice is an enum rather than a trait object).
pub enum AnyOptimizer {
    /// [`Adam`].
    Adam(Adam),
    /// [`RmsProp`].
    Rmsprop(RmsProp),
}

impl AnyOptimizer {
    /// Number of steps taken (Keras `optimizer.iterations`).
    pub fn iterations(&self) -> u64 {
        match self {
            AnyOptimizer::Adam(o) => o.iterations(),
            AnyOptimizer::Rmsprop(o) => o.iterations(),
        }
    }

    /// Keras' name of the optimizer (`adam`, `rmsprop`).
    pub fn name(&self) -> &'static str {
        match self {
            AnyOptimizer::Adam(_) => "adam",
            AnyOptimizer::Rmsprop(_) => "rmsprop",
        }
    }

    /// The step count and per-variable tensors, for a checkpoint ([`OptimizerState`]).
    pub fn state(&self) -> candle_core::Result<OptimizerState> {
        match self {
            AnyOptimizer::Adam(o) => o.state(),
            AnyOptimizer::Rmsprop(o) => o.state(),
        }
    }

    /// One update, the second moment of the variables `squares` lists fed their replacement
    /// for `g²` ([`SquaredGrads`]).
    pub fn step_with(
        &mut self,
        grads: &GradStore,
        squares: &SquaredGrads,
    ) -> candle_core::Result<()> {
        match self {
            AnyOptimizer::Adam(o) => o.step_with(grads, squares),
            AnyOptimizer::Rmsprop(o) => o.step_with(grads, squares),
        }
    }

    /// Continues from a state of the same optimizer over the same variables.
    pub fn load_state(&mut self, state: &OptimizerState) -> candle_core::Result<()> {
        match self {
            AnyOptimizer::Adam(o) => o.load_state(state),
            AnyOptimizer::Rmsprop(o) => o.load_state(state),
        }
    }
}

impl Optimizer for AnyOptimizer {
    type Config = OptimizerConfig;

    fn new(vars: Vec<Var>, config: OptimizerConfig) -> candle_core::Result<Self> {
        Ok(match config {
            OptimizerConfig::Adam(c) => AnyOptimizer::Adam(Adam::new(vars, c)?),
            OptimizerConfig::Rmsprop(c) => AnyOptimizer::Rmsprop(RmsProp::new(vars, c)?),
        })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        match self {
            AnyOptimizer::Adam(o) => o.step(grads),
            AnyOptimizer::Rmsprop(o) => o.step(grads),
        }
    }

    fn learning_rate(&self) -> f64 {
        match self {
            AnyOptimizer::Adam(o) => o.learning_rate(),
            AnyOptimizer::Rmsprop(o) => o.learning_rate(),
        }
    }

    fn set_learning_rate(&mut self, lr: f64) {
        match self {
            AnyOptimizer::Adam(o) => o.set_learning_rate(lr),
            AnyOptimizer::Rmsprop(o) => o.set_learning_rate(lr),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::Error;
    use candle_core::Device;

    #[test]
    fn build_names_bad_hyper_parameters_and_dispatches_to_the_named_optimizer() {
        let bad = OptimizerConfig::Adam(AdamConfig {
            beta_1: 1.0,
            ..Default::default()
        });
        assert!(matches!(
            bad.build(vec![]),
            Err(Error::InvalidConfig { field, .. }) if field == "optimizer.beta_1"
        ));
        assert!(<AnyOptimizer as Optimizer>::new(vec![], bad).is_err());
        let w = Var::new(&[1f64], &Device::Cpu).unwrap();
        let mut opt = OptimizerConfig::default().build(vec![w.clone()]).unwrap();
        assert!(matches!(opt, AnyOptimizer::Adam(_)));
        opt.set_learning_rate(0.5);
        assert_eq!(opt.learning_rate(), 0.5);
        let loss = (w.as_tensor() * 3.0).unwrap().sum_all().unwrap();
        opt.backward_step(&loss).unwrap();
        assert_eq!(opt.iterations(), 1);
        // Adam's first step moves by about the learning rate
        assert!((w.as_tensor().to_vec1::<f64>().unwrap()[0] - 0.5).abs() < 1e-6);
        let rms = OptimizerConfig::Rmsprop(RmsPropConfig::default());
        assert!(matches!(
            rms.build(vec![w]).unwrap(),
            AnyOptimizer::Rmsprop(_)
        ));
    }

    #[test]
    fn parses_both_names_with_defaults_and_rejects_unknown_fields() {
        let r: OptimizerConfig =
            serde_json::from_str(r#"{"name": "rmsprop", "rho": 0.95}"#).unwrap();
        assert_eq!(
            r,
            OptimizerConfig::Rmsprop(RmsPropConfig {
                rho: 0.95,
                ..Default::default()
            })
        );
        let a: OptimizerConfig =
            serde_json::from_str(r#"{"name": "adam", "learning_rate": 0.01, "epsilon": 1e-8}"#)
                .unwrap();
        assert_eq!(
            a,
            OptimizerConfig::Adam(AdamConfig {
                learning_rate: 0.01,
                epsilon: 1e-8,
                ..Default::default()
            })
        );
        assert!(serde_json::from_str::<OptimizerConfig>(r#"{"name": "adam", "lr": 0.1}"#).is_err());
        assert!(serde_json::from_str::<OptimizerConfig>(r#"{"name": "sgd"}"#).is_err());
        let back: OptimizerConfig =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }
}

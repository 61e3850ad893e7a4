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

use candle_core::Var;

use super::{Adam, AdamConfig, Optimizer, RmsProp, RmsPropConfig};
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

    /// The optimizer over `vars` (non-float variables are ignored).
    pub fn build(&self, vars: Vec<Var>) -> Result<Box<dyn Optimizer>> {
        Ok(match self {
            OptimizerConfig::Adam(c) => Box::new(Adam::new(vars, *c)?),
            OptimizerConfig::Rmsprop(c) => Box::new(RmsProp::new(vars, *c)?),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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

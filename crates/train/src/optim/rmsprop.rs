//! RMSprop, exactly as Keras 3 (`keras.optimizers.RMSprop`, `momentum=0`, `centered=False`)
//! updates.
//!
//! For every variable `p` with gradient `g`:
//!
//! ```text
//! v  = rho * v + (1 - rho) * g²
//! p -= lr * g / sqrt(v + epsilon)        // epsilon inside the square root, as in Keras 3
//! ```
//!
//! `v` starts at zero. Defaults: `lr = 1e-3, rho = 0.9, epsilon = 1e-7`.
//!
//! ```
//! use candle_core::{Device, Var};
//! use textrnn_train::{Optimizer, RmsProp, RmsPropConfig};
//! // Keras docstring: RMSprop(learning_rate=0.1) on loss = var²/2 from var = 10 gives 9.683772
//! let w = Var::new(&[10f64], &Device::Cpu).unwrap();
//! let mut opt = RmsProp::new(vec![w.clone()], RmsPropConfig { learning_rate: 0.1, ..Default::default() }).unwrap();
//! let loss = (w.as_tensor().sqr().unwrap() * 0.5).unwrap().sum_all().unwrap();
//! opt.step(&loss.backward().unwrap()).unwrap();
//! assert!((w.as_tensor().to_vec1::<f64>().unwrap()[0] - 9.683772).abs() < 1e-6);
//! ```

use candle_core::{backprop::GradStore, Tensor, Var};

use super::{check_range, invalid, Optimizer, OptimizerState, Slots, SquaredGrads};
use crate::error::Result;

/// Hyper-parameters of [`RmsProp`] (Keras names and defaults).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RmsPropConfig {
    /// Step size, default `1e-3`.
    pub learning_rate: f64,
    /// Decay of the mean square, default `0.9`.
    pub rho: f64,
    /// Added to the mean square under the square root, default `1e-7`.
    pub epsilon: f64,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            rho: 0.9,
            epsilon: 1e-7,
        }
    }
}

impl RmsPropConfig {
    /// Rejects non-finite or out-of-range values.
    pub fn validate(&self) -> Result<()> {
        check_range(
            "optimizer.learning_rate",
            self.learning_rate,
            0.0,
            f64::INFINITY,
            false,
        )?;
        check_range("optimizer.rho", self.rho, 0.0, 1.0, false)?;
        check_range("optimizer.epsilon", self.epsilon, 0.0, f64::INFINITY, false)
    }
}

/// The RMSprop optimizer over a fixed list of variables.
pub struct RmsProp {
    /// Each variable with its mean square `v`.
    slots: Slots<Tensor>,
    config: RmsPropConfig,
}

impl RmsProp {
    /// The hyper-parameters.
    pub fn config(&self) -> &RmsPropConfig {
        &self.config
    }

    /// Number of steps taken (Keras `optimizer.iterations`).
    pub fn iterations(&self) -> u64 {
        self.slots.iterations
    }

    /// The step count and the mean square `v` of every variable, for a checkpoint.
    pub fn state(&self) -> candle_core::Result<OptimizerState> {
        self.slots.export(|_, v| Ok(vec![v.clone()]))
    }

    /// [`Optimizer::step`], the mean square of the variables `squares` lists fed their
    /// replacement for `g²` ([`SquaredGrads`]).
    pub fn step_with(
        &mut self,
        grads: &GradStore,
        squares: &SquaredGrads,
    ) -> candle_core::Result<()> {
        let c = self.config;
        self.slots.step(grads, squares, |var, v, g, sq| {
            let sq = match sq {
                Some(sq) => sq,
                None => g.sqr()?,
            };
            *v = ((&*v * c.rho)? + (sq * (1.0 - c.rho))?)?;
            let increment = ((g * c.learning_rate)? / (&*v + c.epsilon)?.sqrt()?)?;
            let p = var.as_detached_tensor();
            var.set(&(p - increment)?)
        })
    }

    /// Continues from a [`RmsProp::state`] of the same variables (shapes and dtypes checked).
    pub fn load_state(&mut self, state: &OptimizerState) -> candle_core::Result<()> {
        self.slots.import(state, 1, |_, v, saved| {
            *v = saved[0].copy()?;
            Ok(())
        })
    }
}

impl Optimizer for RmsProp {
    type Config = RmsPropConfig;

    /// RMSprop over the floating-point `vars` (others are ignored), with zeroed mean squares;
    /// rejects invalid hyper-parameters.
    fn new(vars: Vec<Var>, config: RmsPropConfig) -> candle_core::Result<Self> {
        config.validate().map_err(invalid)?;
        Ok(Self {
            slots: Slots::new(vars, |var| var.as_detached_tensor().zeros_like())?,
            config,
        })
    }

    /// Applies one update to every variable that has a gradient in `grads`; the others keep
    /// their values and state.
    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        self.step_with(grads, &SquaredGrads::none())
    }

    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.learning_rate = lr;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn two_steps_match_hand_computation() {
        let dev = Device::Cpu;
        let p = Var::new(&[1.0f64, -2.0], &dev).unwrap();
        let mut opt = RmsProp::new(vec![p.clone()], RmsPropConfig::default()).unwrap();
        let step = |opt: &mut RmsProp, c: &[f64]| {
            let c = Tensor::new(c, &dev).unwrap();
            let loss = (p.as_tensor() * c).unwrap().sum_all().unwrap();
            opt.step(&loss.backward().unwrap()).unwrap();
        };
        // step 1, g = (0.5, -4): v = 0.1 g² = (0.025, 1.6)
        //   p -= 1e-3 g / sqrt(v + 1e-7)  → each weight moves by ≈ 1e-3 / sqrt(0.1) = 3.1623e-3
        step(&mut opt, &[0.5, -4.0]);
        let want1 = [
            1.0 - 1e-3 * 0.5 / (0.025f64 + 1e-7).sqrt(),
            -2.0 - 1e-3 * -4.0 / (1.6f64 + 1e-7).sqrt(),
        ];
        let got = p.as_tensor().to_vec1::<f64>().unwrap();
        for i in 0..2 {
            assert!((got[i] - want1[i]).abs() < 1e-12, "{got:?} vs {want1:?}");
        }
        assert!((got[0] - (1.0 - 0.0031623)).abs() < 1e-6);
        // step 2, g = (1, 2): v = 0.9 v + 0.1 g² = (0.1225, 1.84)
        step(&mut opt, &[1.0, 2.0]);
        let want2 = [
            want1[0] - 1e-3 * 1.0 / (0.1225f64 + 1e-7).sqrt(),
            want1[1] - 1e-3 * 2.0 / (1.84f64 + 1e-7).sqrt(),
        ];
        let got = p.as_tensor().to_vec1::<f64>().unwrap();
        for i in 0..2 {
            assert!((got[i] - want2[i]).abs() < 1e-12, "{got:?} vs {want2:?}");
        }
    }

    #[test]
    fn epsilon_sits_inside_the_square_root() {
        // g = 1e-4, epsilon = 1e-7, rho = 0: v = 1e-8
        //   Keras 3: 1e-4 / sqrt(1e-8 + 1e-7) = 0.30151 (times lr = 1)
        //   (outside would give 1e-4 / (1e-4 + 1e-7) = 0.999)
        let dev = Device::Cpu;
        let p = Var::new(&[0.0f64], &dev).unwrap();
        let cfg = RmsPropConfig {
            learning_rate: 1.0,
            rho: 0.0,
            epsilon: 1e-7,
        };
        let mut opt = RmsProp::new(vec![p.clone()], cfg).unwrap();
        let loss = (p.as_tensor() * 1e-4).unwrap().sum_all().unwrap();
        opt.step(&loss.backward().unwrap()).unwrap();
        let got = p.as_tensor().to_vec1::<f64>().unwrap()[0];
        assert!((got + 1e-4 / (1.1e-7f64).sqrt()).abs() < 1e-12, "{got}");
    }

    #[test]
    fn replaced_squares_feed_the_mean_square_and_the_rest_stays_dense() {
        // one variable with replaced squares, one without; g = (0.5, -4) for both
        let dev = Device::Cpu;
        let p = Var::new(&[1.0f64, -2.0], &dev).unwrap();
        let q = Var::new(&[1.0f64, -2.0], &dev).unwrap();
        let mut opt = RmsProp::new(vec![p.clone(), q.clone()], RmsPropConfig::default()).unwrap();
        let c = Tensor::new(&[0.5f64, -4.0], &dev).unwrap();
        let loss = ((p.as_tensor() * &c).unwrap() + (q.as_tensor() * &c).unwrap())
            .unwrap()
            .sum_all()
            .unwrap();
        let mut squares = std::collections::HashMap::new();
        squares.insert(
            p.as_tensor().id(),
            Tensor::new(&[1.0f64, 10.0], &dev).unwrap(),
        );
        let squares = SquaredGrads::from_map(squares);
        opt.step_with(&loss.backward().unwrap(), &squares).unwrap();
        // p: v = 0.1 (1, 10); q: v = 0.1 g² = (0.025, 1.6)
        let want_p = [
            1.0 - 1e-3 * 0.5 / (0.1f64 + 1e-7).sqrt(),
            -2.0 + 1e-3 * 4.0 / (1.0f64 + 1e-7).sqrt(),
        ];
        let want_q = [
            1.0 - 1e-3 * 0.5 / (0.025f64 + 1e-7).sqrt(),
            -2.0 + 1e-3 * 4.0 / (1.6f64 + 1e-7).sqrt(),
        ];
        let got_p = p.as_tensor().to_vec1::<f64>().unwrap();
        let got_q = q.as_tensor().to_vec1::<f64>().unwrap();
        for i in 0..2 {
            assert!(
                (got_p[i] - want_p[i]).abs() < 1e-12,
                "{got_p:?} vs {want_p:?}"
            );
            assert!(
                (got_q[i] - want_q[i]).abs() < 1e-12,
                "{got_q:?} vs {want_q:?}"
            );
        }
        assert_eq!(opt.iterations(), 1);
    }
}

//! Adam, exactly as Keras 3 (`keras.optimizers.Adam`, `amsgrad=False`) updates.
//!
//! For every variable `p` with gradient `g`, at step `t = iterations + 1`:
//!
//! ```text
//! alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
//! m    += (g - m) * (1 - beta_1)
//! v    += (g² - v) * (1 - beta_2)
//! p    -= m * alpha / (sqrt(v) + epsilon)
//! ```
//!
//! `m` and `v` start at zero. Defaults: `lr = 1e-3, beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7`
//! (candle-nn's AdamW uses 1e-8 and weight decay 0.01, so it is not a drop-in).
//!
//! ```
//! use candle_core::{Device, Var};
//! use textrnn_train::{Adam, AdamConfig, Optimizer};
//! let w = Var::new(&[1f64], &Device::Cpu).unwrap();
//! let mut adam = Adam::new(vec![w.clone()], AdamConfig::default()).unwrap();
//! let loss = (w.as_tensor() * 3.0).unwrap().sum_all().unwrap(); // g = 3
//! adam.step(&loss.backward().unwrap()).unwrap();
//! // first step moves by ≈ lr in the gradient's direction
//! assert!((w.as_tensor().to_vec1::<f64>().unwrap()[0] - (1.0 - 1e-3)).abs() < 1e-8);
//! ```

use candle_core::{backprop::GradStore, Tensor, Var};

use super::{check_range, Optimizer};
use crate::error::Result;

/// Hyper-parameters of [`Adam`] (Keras names and defaults).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamConfig {
    /// Step size, default `1e-3`.
    pub learning_rate: f64,
    /// Decay of the first moment, default `0.9`.
    pub beta_1: f64,
    /// Decay of the second moment, default `0.999`.
    pub beta_2: f64,
    /// Added to `sqrt(v)` in the denominator, default `1e-7`.
    pub epsilon: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl AdamConfig {
    /// Rejects non-finite or out-of-range values.
    pub fn validate(&self) -> Result<()> {
        check_range(
            "optimizer.learning_rate",
            self.learning_rate,
            0.0,
            f64::INFINITY,
            false,
        )?;
        check_range("optimizer.beta_1", self.beta_1, 0.0, 1.0, false)?;
        check_range("optimizer.beta_2", self.beta_2, 0.0, 1.0, false)?;
        check_range("optimizer.epsilon", self.epsilon, 0.0, f64::INFINITY, false)
    }
}

struct Slot {
    var: Var,
    m: Tensor,
    v: Tensor,
}

/// The Adam optimizer over a fixed list of variables.
pub struct Adam {
    slots: Vec<Slot>,
    config: AdamConfig,
    iterations: u64,
}

impl Adam {
    /// Adam over the floating-point `vars` (others are ignored), with zeroed moments.
    pub fn new(vars: Vec<Var>, config: AdamConfig) -> Result<Self> {
        config.validate()?;
        let slots = vars
            .into_iter()
            .filter(|v| v.dtype().is_float())
            .map(|var| {
                let m = var.as_detached_tensor().zeros_like()?;
                let v = m.clone();
                Ok(Slot { var, m, v })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            slots,
            config,
            iterations: 0,
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }
}

impl Optimizer for Adam {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let c = self.config;
        let t = (self.iterations + 1) as f64;
        let alpha = c.learning_rate * (1.0 - c.beta_2.powf(t)).sqrt() / (1.0 - c.beta_1.powf(t));
        for slot in self.slots.iter_mut() {
            let Some(g) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let g = g.detach();
            slot.m = (&slot.m + ((&g - &slot.m)? * (1.0 - c.beta_1))?)?;
            slot.v = (&slot.v + ((g.sqr()? - &slot.v)? * (1.0 - c.beta_2))?)?;
            let denom = (slot.v.sqrt()? + c.epsilon)?;
            let update = ((&slot.m * alpha)? / denom)?;
            let p = slot.var.as_detached_tensor();
            slot.var.set(&(p - update)?)?;
        }
        self.iterations += 1;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.learning_rate = lr;
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Loss Σ c_i p_i, so the gradient is the constant vector c.
    fn linear_step(opt: &mut Adam, p: &Var, c: &[f64]) {
        let c = Tensor::new(c, &Device::Cpu).unwrap();
        let loss = (p.as_tensor() * c).unwrap().sum_all().unwrap();
        opt.step(&loss.backward().unwrap()).unwrap();
    }

    #[test]
    fn two_steps_match_hand_computation() {
        let p = Var::new(&[1.0f64, -2.0], &Device::Cpu).unwrap();
        let cfg = AdamConfig {
            learning_rate: 0.1,
            ..Default::default()
        };
        let mut opt = Adam::new(vec![p.clone()], cfg).unwrap();
        // step 1, g = (0.5, -4)
        //   m = 0.1 g = (0.05, -0.4);  v = 0.001 g² = (0.00025, 0.016)
        //   alpha = 0.1 * sqrt(0.001) / 0.1 = 0.0316227766
        //   p -= alpha m / (sqrt v + 1e-7)
        linear_step(&mut opt, &p, &[0.5, -4.0]);
        let alpha1 = 0.1 * (1.0f64 - 0.999).sqrt() / (1.0 - 0.9);
        let want1 = [
            1.0 - alpha1 * 0.05 / (0.00025f64.sqrt() + 1e-7),
            -2.0 - alpha1 * -0.4 / (0.016f64.sqrt() + 1e-7),
        ];
        // ≈ (0.9000000632, -1.9000000079): one step moves each weight by ≈ lr
        assert!((want1[0] - 0.9).abs() < 1e-6 && (want1[1] + 1.9).abs() < 1e-6);
        let got = p.as_tensor().to_vec1::<f64>().unwrap();
        for i in 0..2 {
            assert!((got[i] - want1[i]).abs() < 1e-12, "{got:?} vs {want1:?}");
        }
        // step 2, g = (1, 2)
        //   m = 0.9 m + 0.1 g = (0.145, -0.16); v = 0.999 v + 0.001 g² = (0.00124975, 0.019984)
        //   alpha = 0.1 * sqrt(1 - 0.999²) / (1 - 0.9²)
        linear_step(&mut opt, &p, &[1.0, 2.0]);
        let alpha2 = 0.1 * (1.0f64 - 0.999 * 0.999).sqrt() / (1.0 - 0.81);
        let m = [0.145, -0.16];
        let v = [0.00124975f64, 0.019984];
        let got = p.as_tensor().to_vec1::<f64>().unwrap();
        for i in 0..2 {
            let want = want1[i] - alpha2 * m[i] / (v[i].sqrt() + 1e-7);
            assert!((got[i] - want).abs() < 1e-12, "{i}: {} vs {want}", got[i]);
        }
        assert_eq!(opt.iterations(), 2);
    }

    #[test]
    fn variables_without_gradient_are_untouched() {
        let dev = Device::Cpu;
        let a = Var::new(&[1.0f32], &dev).unwrap();
        let b = Var::new(&[5.0f32], &dev).unwrap();
        let mut opt = Adam::new(vec![a.clone(), b.clone()], AdamConfig::default()).unwrap();
        let loss = (a.as_tensor() * 2.0).unwrap().sum_all().unwrap();
        opt.step(&loss.backward().unwrap()).unwrap();
        assert_eq!(b.as_tensor().to_vec1::<f32>().unwrap(), vec![5.0]);
        assert!(a.as_tensor().to_vec1::<f32>().unwrap()[0] < 1.0);
    }

    #[test]
    fn rejects_bad_hyper_parameters() {
        let bad = AdamConfig {
            beta_1: 1.0,
            ..Default::default()
        };
        assert!(Adam::new(vec![], bad).is_err());
        let bad = AdamConfig {
            learning_rate: f64::NAN,
            ..Default::default()
        };
        assert!(Adam::new(vec![], bad).is_err());
    }
}

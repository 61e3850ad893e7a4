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
//! On the CPU (f32/f64) one pass over memory updates `m`, `v` and `p` in place (a candle
//! `InplaceOp2`); elsewhere the same formula runs as tensor ops.
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

use std::sync::Mutex;

use candle_core::{
    backprop::GradStore, CpuStorage, Device, InplaceOp2, InplaceOp3, Layout, Tensor, Var,
};

use super::{check_range, invalid, Optimizer, OptimizerState, Slots, SquaredGrads};
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

/// The moments `m`, `v` of one variable.
enum Moments {
    /// f32/f64 on the CPU: plain buffers, updated together with the variable in one pass over
    /// memory ([`FusedStep`]) instead of a dozen tensor ops each writing a fresh tensor.
    Cpu(Mutex<(CpuStorage, CpuStorage)>),
    /// Elsewhere (CUDA, Metal, other dtypes): tensors updated with candle ops.
    Tensors { m: Tensor, v: Tensor },
}

impl Moments {
    fn zeros_like(var: &Var) -> candle_core::Result<Self> {
        let n = var.elem_count();
        let cpu = var.device().is_cpu() && var.is_contiguous();
        Ok(match var.dtype() {
            candle_core::DType::F32 if cpu => Moments::Cpu(Mutex::new((
                CpuStorage::F32(vec![0.0; n]),
                CpuStorage::F32(vec![0.0; n]),
            ))),
            candle_core::DType::F64 if cpu => Moments::Cpu(Mutex::new((
                CpuStorage::F64(vec![0.0; n]),
                CpuStorage::F64(vec![0.0; n]),
            ))),
            _ => {
                let m = var.as_detached_tensor().zeros_like()?;
                Moments::Tensors { v: m.clone(), m }
            }
        })
    }
}

impl Moments {
    /// `[m, v]` as tensors of the variable's shape (a copy for the CPU buffers).
    fn export(&self, var: &Var) -> candle_core::Result<Vec<Tensor>> {
        match self {
            Moments::Cpu(moments) => {
                let moments = moments
                    .lock()
                    .map_err(|_| candle_core::Error::Msg("adam: poisoned moments".into()))?;
                let tensor = |s: &CpuStorage| match s {
                    CpuStorage::F32(x) => Tensor::from_vec(x.clone(), var.shape(), &Device::Cpu),
                    CpuStorage::F64(x) => Tensor::from_vec(x.clone(), var.shape(), &Device::Cpu),
                    _ => candle_core::bail!("adam: moments are neither f32 nor f64"),
                };
                Ok(vec![tensor(&moments.0)?, tensor(&moments.1)?])
            }
            Moments::Tensors { m, v } => Ok(vec![m.clone(), v.clone()]),
        }
    }

    /// Replaces the moments with `[m, v]` (already checked to have the variable's shape and
    /// dtype).
    fn import(&mut self, saved: &[Tensor]) -> candle_core::Result<()> {
        let [m, v] = saved else {
            candle_core::bail!("adam: expected 2 state tensors per variable");
        };
        match self {
            Moments::Cpu(moments) => {
                let storage = |t: &Tensor| -> candle_core::Result<CpuStorage> {
                    let flat = t.flatten_all()?;
                    Ok(match t.dtype() {
                        candle_core::DType::F32 => CpuStorage::F32(flat.to_vec1()?),
                        candle_core::DType::F64 => CpuStorage::F64(flat.to_vec1()?),
                        other => candle_core::bail!("adam: {other:?} moments on the CPU"),
                    })
                };
                let new = (storage(m)?, storage(v)?);
                *moments
                    .get_mut()
                    .map_err(|_| candle_core::Error::Msg("adam: poisoned moments".into()))? = new;
            }
            Moments::Tensors { m: sm, v: sv } => {
                *sm = m.copy()?;
                *sv = v.copy()?;
            }
        }
        Ok(())
    }
}

/// One Adam step on a CPU variable in place: for each element, in the order of the module
/// formula (so results equal the tensor-op path), `m += (g - m)(1 - β1)`,
/// `v += (g² - v)(1 - β2)`, `p -= m·α / (√v + ε)`.
struct FusedStep<'a> {
    moments: &'a Mutex<(CpuStorage, CpuStorage)>,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    alpha: f64,
}

/// The contiguous elements of a storage under `layout`.
fn contiguous<'a, T: candle_core::WithDType>(
    s: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<&'a [T]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("adam: gradient or variable is not contiguous");
    };
    Ok(&s.as_slice::<T>()?[start..end])
}

impl FusedStep<'_> {
    /// The step on `p` with gradient `g`; `sq` replaces `g²` in `v` ([`SquaredGrads`]).
    fn run<T: AdamFloat>(
        &self,
        p: &mut [T],
        g: &[T],
        sq: Option<&[T]>,
        m: &mut [T],
        v: &mut [T],
    ) -> candle_core::Result<()> {
        if g.len() != p.len()
            || m.len() != p.len()
            || v.len() != p.len()
            || sq.is_some_and(|sq| sq.len() != p.len())
        {
            candle_core::bail!("adam: gradient, moments and variable sizes differ");
        }
        let c = |x: f64| T::from_f64(x);
        let (b1, b2, eps, alpha) = (
            c(1.0 - self.beta_1),
            c(1.0 - self.beta_2),
            c(self.epsilon),
            c(self.alpha),
        );
        // two loops, so that the usual one stays as tight as it was
        match sq {
            None => {
                for i in 0..p.len() {
                    let gi = g[i];
                    m[i] += (gi - m[i]) * b1;
                    v[i] += (gi * gi - v[i]) * b2;
                    p[i] -= (m[i] * alpha) / (v[i].sqrt() + eps);
                }
            }
            Some(sq) => {
                for i in 0..p.len() {
                    let gi = g[i];
                    m[i] += (gi - m[i]) * b1;
                    v[i] += (sq[i] - v[i]) * b2;
                    p[i] -= (m[i] * alpha) / (v[i].sqrt() + eps);
                }
            }
        }
        Ok(())
    }

    /// The step on the variable's storage `s1` with gradient `s2` and, when given, squares `s3`.
    fn apply(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        (s2, l2): (&CpuStorage, &Layout),
        s3: Option<(&CpuStorage, &Layout)>,
    ) -> candle_core::Result<()> {
        let mut moments = self
            .moments
            .lock()
            .map_err(|_| candle_core::Error::Msg("adam: poisoned moments".into()))?;
        let (m, v) = &mut *moments;
        let Some((start, end)) = l1.contiguous_offsets() else {
            candle_core::bail!("adam: variable is not contiguous");
        };
        match (s1, m, v) {
            (CpuStorage::F32(p), CpuStorage::F32(m), CpuStorage::F32(v)) => {
                let sq = s3.map(|(s, l)| contiguous::<f32>(s, l)).transpose()?;
                self.run(&mut p[start..end], contiguous::<f32>(s2, l2)?, sq, m, v)
            }
            (CpuStorage::F64(p), CpuStorage::F64(m), CpuStorage::F64(v)) => {
                let sq = s3.map(|(s, l)| contiguous::<f64>(s, l)).transpose()?;
                self.run(&mut p[start..end], contiguous::<f64>(s2, l2)?, sq, m, v)
            }
            _ => candle_core::bail!("adam: variable, gradient and moments differ in dtype"),
        }
    }
}

/// f32 and f64, the dtypes the fused step runs on.
trait AdamFloat: candle_core::WithDType {
    fn sqrt(self) -> Self;
}

impl AdamFloat for f32 {
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
}

impl AdamFloat for f64 {
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
}

impl InplaceOp2 for FusedStep<'_> {
    fn name(&self) -> &'static str {
        "textrnn-adam-step"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        self.apply(s1, l1, (s2, l2), None)
    }
}

/// The step with replaced squares: the third operand is `g²`'s replacement.
impl InplaceOp3 for FusedStep<'_> {
    fn name(&self) -> &'static str {
        "textrnn-adam-step-squares"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<()> {
        self.apply(s1, l1, (s2, l2), Some((s3, l3)))
    }
}

/// The Adam optimizer over a fixed list of variables.
pub struct Adam {
    slots: Slots<Moments>,
    config: AdamConfig,
}

impl Adam {
    /// The hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// Number of steps taken (Keras `optimizer.iterations`).
    pub fn iterations(&self) -> u64 {
        self.slots.iterations
    }

    /// The step count and `m`, `v` of every variable (copies), for a checkpoint.
    pub fn state(&self) -> candle_core::Result<OptimizerState> {
        self.slots.export(|var, moments| moments.export(var))
    }

    /// [`Optimizer::step`], the second moment `v` of the variables `squares` lists fed their
    /// replacement for `g²` ([`SquaredGrads`]).
    pub fn step_with(
        &mut self,
        grads: &GradStore,
        squares: &SquaredGrads,
    ) -> candle_core::Result<()> {
        let c = self.config;
        let t = (self.slots.iterations + 1) as f64;
        let alpha = c.learning_rate * (1.0 - c.beta_2.powf(t)).sqrt() / (1.0 - c.beta_1.powf(t));
        self.slots.step(grads, squares, |var, moments, g, sq| {
            match moments {
                Moments::Cpu(moments) if g.dtype() == var.dtype() => {
                    let step = FusedStep {
                        moments,
                        beta_1: c.beta_1,
                        beta_2: c.beta_2,
                        epsilon: c.epsilon,
                        alpha,
                    };
                    match sq {
                        Some(sq) => var.as_tensor().inplace_op3(
                            &g.contiguous()?,
                            &sq.contiguous()?,
                            &step,
                        )?,
                        None => var.as_tensor().inplace_op2(&g.contiguous()?, &step)?,
                    }
                }
                Moments::Cpu(_) => {
                    return Err(candle_core::Error::Msg(format!(
                        "adam: gradient is {:?} but the variable is {:?}",
                        g.dtype(),
                        var.dtype()
                    )));
                }
                Moments::Tensors { m, v } => {
                    *m = (&*m + ((&g - &*m)? * (1.0 - c.beta_1))?)?;
                    let sq = match sq {
                        Some(sq) => sq,
                        None => g.sqr()?,
                    };
                    *v = (&*v + ((sq - &*v)? * (1.0 - c.beta_2))?)?;
                    let denom = (v.sqrt()? + c.epsilon)?;
                    let update = ((&*m * alpha)? / denom)?;
                    let p = var.as_detached_tensor();
                    var.set(&(p - update)?)?;
                }
            }
            Ok(())
        })
    }

    /// Continues from a [`Adam::state`] of the same variables (shapes and dtypes checked).
    pub fn load_state(&mut self, state: &OptimizerState) -> candle_core::Result<()> {
        self.slots
            .import(state, 2, |_, moments, saved| moments.import(saved))
    }
}

impl Optimizer for Adam {
    type Config = AdamConfig;

    /// Adam over the floating-point `vars` (others are ignored), with zeroed moments; rejects
    /// invalid hyper-parameters.
    fn new(vars: Vec<Var>, config: AdamConfig) -> candle_core::Result<Self> {
        config.validate().map_err(invalid)?;
        Ok(Self {
            slots: Slots::new(vars, Moments::zeros_like)?,
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

    /// The fused in-place CPU step gives the same f32 values as the module formula written with
    /// tensor ops (the path non-CPU devices take), over several steps.
    #[test]
    fn fused_cpu_step_equals_the_tensor_formula() {
        let dev = Device::Cpu;
        let init: Vec<f32> = (0..37)
            .map(|i| ((i * 7919) % 97) as f32 / 31.0 - 1.5)
            .collect();
        let p = Var::new(init.as_slice(), &dev).unwrap();
        let cfg = AdamConfig::default();
        let mut opt = Adam::new(vec![p.clone()], cfg).unwrap();
        assert!(matches!(opt.slots.vars[0].1, Moments::Cpu(_)));
        let mut want = Tensor::new(init.as_slice(), &dev).unwrap();
        let (mut m, mut v) = (want.zeros_like().unwrap(), want.zeros_like().unwrap());
        for step in 1..=4 {
            let g: Vec<f32> = (0..37)
                .map(|i| (((i + step) * 104729) % 89) as f32 / 17.0 - 2.5)
                .collect();
            let gt = Tensor::new(g.as_slice(), &dev).unwrap();
            let loss = (p.as_tensor() * &gt).unwrap().sum_all().unwrap();
            opt.step(&loss.backward().unwrap()).unwrap();
            let t = step as f64;
            let alpha =
                cfg.learning_rate * (1.0 - cfg.beta_2.powf(t)).sqrt() / (1.0 - cfg.beta_1.powf(t));
            m = (&m + ((&gt - &m).unwrap() * (1.0 - cfg.beta_1)).unwrap()).unwrap();
            v = (&v + ((gt.sqr().unwrap() - &v).unwrap() * (1.0 - cfg.beta_2)).unwrap()).unwrap();
            let denom = (v.sqrt().unwrap() + cfg.epsilon).unwrap();
            want = (&want - ((&m * alpha).unwrap() / denom).unwrap()).unwrap();
            let got = p.as_tensor().to_vec1::<f32>().unwrap();
            let w = want.to_vec1::<f32>().unwrap();
            for (a, b) in got.iter().zip(&w) {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                    "step {step}: {a} vs {b}"
                );
            }
        }
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

    /// Replaced squares feed `v` only (`m` and the step's numerator keep the gradient), on the
    /// fused f64 and f32 paths alike.
    #[test]
    fn replaced_squares_feed_the_second_moment_only() {
        // g = (0.5, -4), squares (1, 10), lr 0.1, two steps with the same g and squares:
        //   t=1: m = 0.1 g, v = 0.001 s;  t=2: m = 0.19 g, v = 0.001999 s
        let alpha = |t: i32| 0.1 * (1.0 - 0.999f64.powi(t)).sqrt() / (1.0 - 0.9f64.powi(t));
        let g = [0.5f64, -4.0];
        let s = [1.0f64, 10.0];
        let mut want = [1.0f64, -2.0];
        for (t, mf, vf) in [(1, 0.1, 0.001), (2, 0.19, 0.001999)] {
            for i in 0..2 {
                want[i] -= alpha(t) * mf * g[i] / ((vf * s[i]).sqrt() + 1e-7);
            }
        }
        for dtype in [candle_core::DType::F64, candle_core::DType::F32] {
            let p = Var::from_tensor(
                &Tensor::new(&[1.0f64, -2.0], &Device::Cpu)
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap(),
            )
            .unwrap();
            let cfg = AdamConfig {
                learning_rate: 0.1,
                ..Default::default()
            };
            let mut opt = Adam::new(vec![p.clone()], cfg).unwrap();
            for _ in 0..2 {
                let c = Tensor::new(&g, &Device::Cpu)
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap();
                let loss = (p.as_tensor() * c).unwrap().sum_all().unwrap();
                let sq = Tensor::new(&s, &Device::Cpu)
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap();
                let mut squares = std::collections::HashMap::new();
                squares.insert(p.as_tensor().id(), sq);
                let squares = SquaredGrads::from_map(squares);
                opt.step_with(&loss.backward().unwrap(), &squares).unwrap();
            }
            let got = p
                .as_tensor()
                .to_dtype(candle_core::DType::F64)
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            let tol = if dtype == candle_core::DType::F64 {
                1e-12
            } else {
                1e-6
            };
            for i in 0..2 {
                assert!(
                    (got[i] - want[i]).abs() < tol,
                    "{dtype:?}: {got:?} vs {want:?}"
                );
            }
        }
    }

    #[test]
    fn squares_of_the_wrong_shape_are_refused() {
        let p = Var::new(&[1.0f64, -2.0], &Device::Cpu).unwrap();
        let mut opt = Adam::new(vec![p.clone()], AdamConfig::default()).unwrap();
        let loss = p.as_tensor().sum_all().unwrap();
        let mut squares = std::collections::HashMap::new();
        squares.insert(
            p.as_tensor().id(),
            Tensor::new(&[1.0f64], &Device::Cpu).unwrap(),
        );
        let e = opt
            .step_with(&loss.backward().unwrap(), &SquaredGrads::from_map(squares))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not fit"), "{e}");
        assert_eq!(p.as_tensor().to_vec1::<f64>().unwrap(), vec![1.0, -2.0]);
    }
}

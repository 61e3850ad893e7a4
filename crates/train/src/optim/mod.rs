//! Optimizers with Keras 3 update rules and defaults.
//!
//! candle-nn ships only SGD and AdamW (epsilon 1e-8, decoupled weight decay); Keras tutorials
//! train with `Adam` (epsilon 1e-7) or `RMSprop` (epsilon inside the square root), so both are
//! reimplemented here, one file each, as implementations of candle-nn's [`Optimizer`] trait (the
//! one optimizer trait of the workspace, re-exported here), so they drop into any candle training
//! code. [`OptimizerConfig`] is the serde form used in recipes (`name = "adam"` / `"rmsprop"`);
//! [`OptimizerConfig::build`] makes the [`AnyOptimizer`] that [`fit`](crate::fit) steps.
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
pub use candle_nn::Optimizer;
pub use config::{AnyOptimizer, OptimizerConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};

use std::collections::HashMap;

use candle_core::TensorId;
use textrnn_models::Lookup;

/// What an optimizer carries from step to step, for a training checkpoint: the number of steps
/// taken and its per-variable tensors (Adam: `m` then `v` of each variable; RMSprop: `v`), in
/// the order of the variables it updates.
#[derive(Debug, Clone)]
pub struct OptimizerState {
    /// Steps taken (Keras `optimizer.iterations`).
    pub iterations: u64,
    /// The per-variable state tensors, each with its variable's shape and dtype.
    pub slots: Vec<Tensor>,
}

use candle_core::{backprop::GradStore, Tensor, Var};

/// What replaces `g²` in an optimizer's second moment, by variable (Adam's `v`, RMSprop's mean
/// square); variables not listed use `g²`.
///
/// [`SquaredGrads::sparse`] gives Keras' update on the TensorFlow backend: there an embedding
/// table's gradient is an `IndexedSlices`, one slice per token occurrence, and Keras 3's Adam and
/// RMSprop square it slice by slice (`ops.square` keeps it sparse) before the slices of one row
/// are summed into the dense moment. A row's second moment then gets `Σ_k g_k²` over its
/// occurrences `k`, not `(Σ_k g_k)²`; the first moment and the step's numerator still see the
/// summed gradient `Σ_k g_k`. A token used many times in a batch takes smaller steps than under
/// the textbook update, one whose occurrences' gradients cancel takes larger ones.
///
/// ```
/// use candle_core::{Device, Tensor, Var};
/// use textrnn_models::Lookup;
/// use textrnn_train::SquaredGrads;
/// let table = Var::new(&[[0f32, 0.], [0., 0.], [0., 0.]], &Device::Cpu)?;
/// let ids = Tensor::new(&[2u32, 1, 2], &Device::Cpu)?;
/// let probe = Var::zeros((3, 2), candle_core::DType::F32, &Device::Cpu)?;
/// let rows = (table.as_tensor().embedding(&ids)? + probe.as_tensor())?;
/// let weights = Tensor::new(&[[1f32, 0.], [2., 1.], [3., -1.]], &Device::Cpu)?;
/// let grads = (rows * weights)?.sum_all()?.backward()?; // occurrence k's gradient: weights[k]
/// let lookup = Lookup { table: table.as_tensor().clone(), ids, probe };
/// let squares = SquaredGrads::sparse(&[lookup], &grads)?;
/// let got = squares.get(table.as_tensor()).unwrap().to_vec2::<f32>()?;
/// assert_eq!(got, vec![vec![0., 0.], vec![4., 1.], vec![10., 1.]]); // row 2: 1² + 3², 0² + 1²
/// // the summed gradient squares to (1 + 3)² = 16 and (0 - 1)² = 1
/// let dense = grads.get(table.as_tensor()).unwrap().sqr()?.to_vec2::<f32>()?;
/// assert_eq!(dense[2], vec![16., 1.]);
/// # Ok::<(), candle_core::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct SquaredGrads(HashMap<TensorId, Tensor>);

impl SquaredGrads {
    /// None: every variable uses `g²` (the textbook update).
    pub fn none() -> Self {
        Self::default()
    }

    /// For every table of `lookups`, the sum over its looked-up rows of the squares of each
    /// occurrence's gradient (the probes' gradients in `grads`), as a `(V, E)` tensor: zero for
    /// rows not looked up. Lookups of one table add up; a lookup whose probe got no gradient
    /// adds nothing.
    pub fn sparse(lookups: &[Lookup], grads: &GradStore) -> candle_core::Result<Self> {
        let mut squares: HashMap<TensorId, Tensor> = HashMap::new();
        for lookup in lookups {
            let Some(g) = grads.get(lookup.probe.as_tensor()) else {
                continue;
            };
            let sum = match squares.remove(&lookup.table.id()) {
                Some(sum) => sum,
                None => lookup.table.zeros_like()?,
            };
            let sum = sum.index_add(&lookup.ids, &g.sqr()?, 0)?;
            squares.insert(lookup.table.id(), sum);
        }
        Ok(Self(squares))
    }

    /// The given replacements, by the variable's tensor id (`var.as_tensor().id()`).
    pub fn from_map(squares: HashMap<TensorId, Tensor>) -> Self {
        Self(squares)
    }

    /// The replacement for `var`'s `g²`, if any.
    pub fn get(&self, var: &Tensor) -> Option<&Tensor> {
        self.0.get(&var.id())
    }
}

/// The variables an optimizer updates, each with its own state `S` (moments, mean squares), and
/// the number of steps taken; the walk over them is the same for every optimizer.
struct Slots<S> {
    vars: Vec<(Var, S)>,
    iterations: u64,
}

impl<S> Slots<S> {
    /// The floating-point variables among `vars` (others are not trained), each with the state
    /// `state` makes for it.
    fn new(
        vars: Vec<Var>,
        state: impl Fn(&Var) -> candle_core::Result<S>,
    ) -> candle_core::Result<Self> {
        let vars = vars
            .into_iter()
            .filter(|v| v.dtype().is_float())
            .map(|v| state(&v).map(|s| (v, s)))
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            vars,
            iterations: 0,
        })
    }

    /// Calls `update(var, state, gradient, squares)` for every variable that has a gradient in
    /// `grads`, in order, with its replacement for `g²` from `squares` if any (checked to have
    /// the variable's shape); the others are left untouched, their state too. Then counts the
    /// step.
    fn step(
        &mut self,
        grads: &GradStore,
        squares: &SquaredGrads,
        mut update: impl FnMut(&Var, &mut S, Tensor, Option<Tensor>) -> candle_core::Result<()>,
    ) -> candle_core::Result<()> {
        // every replacement is checked before any variable moves
        for (var, _) in &self.vars {
            if let Some(sq) = squares.get(var.as_tensor()) {
                check_fits("squared gradients", sq, var)?;
            }
        }
        for (var, state) in self.vars.iter_mut() {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let sq = squares.get(var.as_tensor()).map(Tensor::detach);
            update(var, state, g.detach(), sq)?;
        }
        self.iterations += 1;
        Ok(())
    }
}

impl<S> Slots<S> {
    /// The state of every variable (`per_var` tensors each, made by `export`) and the step count.
    fn export(
        &self,
        export: impl Fn(&Var, &S) -> candle_core::Result<Vec<Tensor>>,
    ) -> candle_core::Result<OptimizerState> {
        let mut slots = Vec::new();
        for (var, state) in &self.vars {
            slots.extend(export(var, state)?);
        }
        Ok(OptimizerState {
            iterations: self.iterations,
            slots,
        })
    }

    /// Continues from `state`: `per_var` tensors for each variable, each of the variable's shape
    /// and dtype, handed to `import` with the variable's own state.
    fn import(
        &mut self,
        state: &OptimizerState,
        per_var: usize,
        mut import: impl FnMut(&Var, &mut S, &[Tensor]) -> candle_core::Result<()>,
    ) -> candle_core::Result<()> {
        if state.slots.len() != self.vars.len() * per_var {
            candle_core::bail!(
                "optimizer state has {} tensors, expected {} ({per_var} for each of {} variables)",
                state.slots.len(),
                self.vars.len() * per_var,
                self.vars.len()
            );
        }
        for ((var, s), saved) in self.vars.iter_mut().zip(state.slots.chunks(per_var.max(1))) {
            for t in saved {
                check_fits("optimizer state tensor", t, var)?;
            }
            import(var, s, saved)?;
        }
        self.iterations = state.iterations;
        Ok(())
    }
}

/// An error unless `t` (`what`) has `var`'s shape and dtype.
fn check_fits(what: &str, t: &Tensor, var: &Var) -> candle_core::Result<()> {
    if t.dims() != var.dims() || t.dtype() != var.dtype() {
        candle_core::bail!(
            "{what} {:?} {:?} does not fit variable {:?} {:?}",
            t.dims(),
            t.dtype(),
            var.dims(),
            var.dtype()
        );
    }
    Ok(())
}

/// A hyper-parameter error as the error type of [`Optimizer::new`].
fn invalid(e: crate::error::Error) -> candle_core::Error {
    candle_core::Error::wrap(e)
}

/// Checks that `value` is finite and in the given range; `field` names it in the error.
fn check_range(
    field: &str,
    value: f64,
    lo: f64,
    hi: f64,
    hi_inclusive: bool,
) -> crate::error::Result<()> {
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

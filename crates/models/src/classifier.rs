//! The interface every text classifier exposes to the training loop.
//!
//! A classifier maps a batch of token ids `(batch, seq_len)` (`u32`) to logits `(batch, C)` where
//! `C = 1` for a sigmoid (binary) output and `C = n_classes` for a softmax output. Probabilities
//! are obtained with [`Output::probabilities`]; losses live in `textrnn-train`.
//!
//! ```
//! use textrnn_models::{Mode, Output};
//! use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};
//! let mut rng = ChaCha8Rng::seed_from_u64(7);
//! let training = Mode::Train(&mut rng);
//! assert!(training.is_train());
//! assert_eq!(Output::Softmax(4).n_classes(), 4);
//! ```

use candle_core::{Tensor, Var};
use rand_chacha::ChaCha8Rng;

/// Whether a forward pass is for training (dropout active, driven by a seeded RNG), evaluation
/// or inference.
pub enum Mode<'a> {
    /// Evaluation: dropout is the identity, nothing random happens; still differentiable
    /// (gradient checks differentiate through it).
    Eval,
    /// Inference: as [`Mode::Eval`], and recurrent layers run on detached weights, so their fused
    /// ops keep no activations for backward (less memory, faster) and no gradient reaches the
    /// layers' parameters. Evaluation and prediction loops use it.
    Infer,
    /// Training: dropout masks are drawn from this seeded generator.
    Train(&'a mut ChaCha8Rng),
}

impl Mode<'_> {
    /// True when dropout should be applied.
    pub fn is_train(&self) -> bool {
        matches!(self, Mode::Train(_))
    }

    /// True in [`Mode::Infer`]: nothing needs a gradient.
    pub fn is_infer(&self) -> bool {
        matches!(self, Mode::Infer)
    }

    /// The random generator in training mode, `None` in evaluation and inference.
    pub fn rng(&mut self) -> Option<&mut ChaCha8Rng> {
        match self {
            Mode::Eval | Mode::Infer => None,
            Mode::Train(rng) => Some(rng),
        }
    }
}

/// The activation of the output layer, which decides the loss and how logits become probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Output {
    /// One logit per example; `p = sigmoid(logit)` is the probability of class 1.
    Sigmoid,
    /// One logit per class; probabilities by softmax.
    Softmax(usize),
    /// Multi-label: one logit per label (`n > 1`), each label's probability its own sigmoid;
    /// an example may carry any set of the labels.
    MultiLabel(usize),
}

impl Output {
    /// Number of classes the output distinguishes (2 for a sigmoid output; the labels of a
    /// multi-label output).
    pub fn n_classes(&self) -> usize {
        match self {
            Output::Sigmoid => 2,
            Output::Softmax(n) | Output::MultiLabel(n) => *n,
        }
    }

    /// Number of logits per example `C`: 1 for a sigmoid output, else [`Output::n_classes`].
    pub fn n_logits(&self) -> usize {
        match self {
            Output::Sigmoid => 1,
            Output::Softmax(n) | Output::MultiLabel(n) => *n,
        }
    }

    /// True for a multi-label (per-label sigmoid) output.
    pub fn is_multi_label(&self) -> bool {
        matches!(self, Output::MultiLabel(_))
    }

    /// Class probabilities `(batch, n_classes)` from logits; a sigmoid output gives `[1 - p, p]`,
    /// a multi-label output one independent sigmoid per label.
    pub fn probabilities(&self, logits: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Output::Sigmoid => {
                let p = candle_nn::ops::sigmoid(logits)?;
                let q = p.affine(-1.0, 1.0)?;
                Tensor::cat(&[&q, &p], 1)
            }
            Output::Softmax(_) => candle_nn::ops::softmax_last_dim(logits),
            Output::MultiLabel(_) => candle_nn::ops::sigmoid(logits),
        }
    }
}

/// One embedding lookup of a forward pass, recorded by [`Classifier::forward_recording`]: the
/// table, the `N` ids looked up and a zero probe `(N, E)` added to the looked-up rows. After
/// backward the probe's gradient is the gradient of every occurrence, row by row: what
/// TensorFlow hands Keras' optimizers as `IndexedSlices` instead of the table's summed gradient.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The `(V, E)` table (a training variable).
    pub table: Tensor,
    /// The ids looked up, `(N)` `u32`, in the order of the probe's rows.
    pub ids: Tensor,
    /// Zeros `(N, E)` added to the looked-up rows, so that backward keeps their gradient.
    pub probe: Var,
}

/// A model that turns token ids into logits; what `textrnn-train` trains and evaluates.
pub trait Classifier {
    /// Logits `(batch, C)` for token ids `(batch, seq_len)` of dtype `u32`.
    fn forward_t(&self, tokens: &Tensor, mode: &mut Mode) -> candle_core::Result<Tensor>;

    /// [`Classifier::forward_t`], also returning every lookup of a trainable embedding table
    /// ([`Lookup`]), for an optimizer that updates tables from per-occurrence gradients. The
    /// logits are the same; the default records none.
    fn forward_recording(
        &self,
        tokens: &Tensor,
        mode: &mut Mode,
    ) -> candle_core::Result<(Tensor, Vec<Lookup>)> {
        Ok((self.forward_t(tokens, mode)?, Vec::new()))
    }

    /// The output activation (decides the loss).
    fn output(&self) -> Output;

    /// The trainable variables, in a stable order (used by optimizers and weight snapshots).
    fn vars(&self) -> Vec<Var>;
}

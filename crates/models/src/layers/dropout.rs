//! Dropout (Keras `Dropout`): in training `y = x ⊙ m / (1 − p)` with `m ~ Bernoulli(1 − p)`
//! elementwise; identity in evaluation.
//!
//! Spec (`type = "dropout"`): `rate` `p` in `[0, 1)`. Shape and mask pass through unchanged; no
//! parameters.
//!
//! Masks are drawn on the host from the seeded generator of [`Mode::Train`] (element kept when
//! `u ≥ p`, `u ~ U[0, 1)`), already scaled by `1/(1 − p)`, then uploaded; the same generator
//! state gives the same mask on every device.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};
//! use textrnn_models::{Dropout, Mode};
//! let x = Tensor::ones((4, 8), DType::F32, &Device::Cpu)?;
//! let d = Dropout::new(0.5);
//! assert_eq!(d.forward_t(&x, &mut Mode::Eval)?.to_vec2::<f32>()?, x.to_vec2::<f32>()?);
//! let mut rng = ChaCha8Rng::seed_from_u64(0);
//! let y = d.forward_t(&x, &mut Mode::Train(&mut rng))?;
//! assert!(y.flatten_all()?.to_vec1::<f32>()?.iter().all(|v| *v == 0.0 || *v == 2.0));
//! # Ok::<(), candle_core::Error>(())
//! ```

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    check_rate, BuildContext, FeatureShape, Flow, Forward, LayerKind, PlanContext, Planned, Work,
};
use crate::error::Result;
use crate::onnx::OnnxLayer;
use crate::Mode;

/// Keras `Dropout` (elementwise, training only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutSpec {
    /// Probability of zeroing an element, in `[0, 1)`.
    pub rate: f64,
}

impl LayerKind for DropoutSpec {
    fn plan(&self, cx: &PlanContext) -> Result<Planned> {
        check_rate(self.rate, "rate").map_err(|r| cx.err(r))?;
        Ok(cx.planned(cx.input, Vec::new()))
    }

    fn build(&self, _cx: BuildContext) -> Result<Arc<dyn Forward>> {
        Ok(Arc::new(Dropout::new(self.rate)))
    }

    /// Nothing: dropout is the identity in inference.
    fn to_onnx(&self, _cx: &mut OnnxLayer) -> Result<()> {
        Ok(())
    }

    /// The output and its keep mask.
    fn training_elements(&self, _input: FeatureShape, output: FeatureShape) -> Option<Work> {
        let out = output.elements()?;
        Work::of(&[out, out])
    }
}

/// Elementwise dropout with rate `p` in `[0, 1)`.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    rate: f64,
}

impl Dropout {
    /// A dropout layer with rate `rate` (validated by the spec to lie in `[0, 1)`).
    pub fn new(rate: f64) -> Self {
        Self { rate }
    }

    /// Applies dropout in training, the identity in evaluation.
    pub fn forward_t(&self, x: &Tensor, mode: &mut Mode) -> candle_core::Result<Tensor> {
        match mode.rng() {
            Some(rng) if self.rate > 0.0 => {
                let mask = keep_mask(rng, x.dims(), self.rate, x.dtype(), x.device())?;
                x.mul(&mask)
            }
            _ => Ok(x.clone()),
        }
    }
}

impl Forward for Dropout {
    fn forward_flow(&self, flow: Flow, mode: &mut Mode) -> candle_core::Result<Flow> {
        flow.map(|x| self.forward_t(x, mode))
    }
}

/// A scaled keep mask of shape `dims`: `1/(1 − rate)` where kept, 0 where dropped.
pub(crate) fn keep_mask(
    rng: &mut ChaCha8Rng,
    dims: &[usize],
    rate: f64,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let n: usize = dims.iter().product();
    let scale = (1.0 / (1.0 - rate)) as f32;
    let rate = rate as f32;
    let values: Vec<f32> = (0..n)
        .map(|_| {
            if rng.random::<f32>() >= rate {
                scale
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_vec(values, dims, &Device::Cpu)?
        .to_dtype(dtype)?
        .to_device(device)
}

//! The layers a [`crate::ModelSpec`] is built from, one file each.
//!
//! Each layer is a plain struct plus a constructor taking the `VarBuilder` last. Its parameters
//! are declared once by the file's `params` function (local names such as `"kernel"`,
//! `"forward.recurrent_kernel"`) and fetched with `vb.get(shape, name)` from those declarations,
//! so initialisation, loading and summaries can never disagree.

pub(crate) mod conv1d;
pub(crate) mod dense;
pub(crate) mod dropout;
pub(crate) mod embedding;
pub(crate) mod max_pooling1d;
pub(crate) mod recurrent;

use candle_core::Tensor;
use candle_nn::VarBuilder;

use crate::error::Result;
use crate::init::ParamSpec;

/// Fetches every declared parameter from `vb`, in declaration order.
pub(crate) fn get_all(params: &[ParamSpec], vb: &VarBuilder) -> Result<Vec<Tensor>> {
    params
        .iter()
        .map(|p| Ok(vb.get(p.shape.as_slice(), &p.path)?))
        .collect()
}

/// Takes the next declared tensor (constructors consume `get_all`'s output in order).
pub(crate) fn next(it: &mut impl Iterator<Item = Tensor>, what: &str) -> Result<Tensor> {
    it.next().ok_or_else(|| crate::Error::InvalidSpec {
        layer: what.to_string(),
        reason: "internal error: parameter declaration missing".into(),
    })
}

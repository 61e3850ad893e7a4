//! Loss weights of a training run: the recipe's `train.class_weight` resolved against the
//! training split, times the sample weights of the user's `--weight-col`.
//!
//! Training calls [`resolve`] once the training split is final (after `--limit` and the
//! held-out splits): "balanced" counts that split's classes. The per-class weights are logged
//! by class name and recorded in `config.json` as `train.class_weight = { class = weight, ... }`
//! (so `textrnn train --recipe RUN/config.json` trains with the same weights); the sample-weight
//! column stays in `data.weight_col`. Validation and test splits are never weighted.
//!
//! ```text
//! weight_i = class_weight[label_i] × sample_weight_i      (either factor 1 when absent)
//! loss     = Σ_i weight_i · l_i / B                       (Keras sum_over_batch_size)
//! ```

use textrnn_data::Dataset;
use textrnn_train::{example_weights, ClassWeight};

use crate::{Error, Recipe, Result};

/// What [`resolve`] found.
#[derive(Debug, Default)]
pub(crate) struct Weighting {
    /// The resolved class weights by class name (for `config.json`), when the recipe has any.
    pub class_weight: Option<ClassWeight>,
    /// One weight per training example, when anything is weighted.
    pub examples: Option<Vec<f32>>,
}

/// Resolves `recipe.train.class_weight` against `train` and multiplies in its sample weights.
/// Errors (before training): class weights on multi-label data, a class the data lacks, every
/// class weight 0, every example weight 0 (class weights zero exactly where the samples are).
pub(crate) fn resolve(recipe: &Recipe, train: &Dataset) -> Result<Weighting> {
    let class_weights = match &recipe.train.class_weight {
        None => None,
        Some(_) if train.is_multi_label() => {
            return Err(Error::invalid(
                "train.class_weight",
                "does not apply to multi-label data (a document carries several classes); weight rows with --weight-col instead",
            ))
        }
        Some(cw) => Some(cw.resolve(&train.class_names, &train.class_counts())?),
    };
    let examples = example_weights(
        class_weights.as_deref(),
        &train.labels,
        train.weights.as_deref(),
    );
    if let Some(w) = &examples {
        if !w.is_empty() && w.iter().all(|&v| v == 0.0) {
            return Err(Error::invalid(
                "train.class_weight",
                "every training example has weight 0 (class weight × sample weight): nothing would be learned",
            ));
        }
    }
    if let Some(cw) = &class_weights {
        tracing::info!(
            sample_weights = train.weights.is_some(),
            "class weights: {}",
            ClassWeight::describe(&train.class_names, cw)
        );
    } else if train.weights.is_some() {
        tracing::info!("sample weights from the weight column; class weights: none");
    }
    Ok(Weighting {
        class_weight: class_weights.map(|cw| {
            ClassWeight::Manual(
                train
                    .class_names
                    .iter()
                    .cloned()
                    .zip(cw.into_iter().map(f64::from))
                    .collect(),
            )
        }),
        examples,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn skewed() -> Dataset {
        // 6 negative, 2 positive; sample weights 1 except row 3 (0.5) and row 8 (2)
        let mut d = Dataset::new(
            (0..8).map(|i| format!("t{i}")).collect(),
            vec![0, 0, 0, 0, 0, 0, 1, 1],
            vec!["neg".into(), "pos".into()],
        )
        .unwrap();
        d.weights = Some(vec![1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 2.0]);
        d
    }

    fn recipe(cw: Option<ClassWeight>) -> Recipe {
        let mut r = Recipe::builtin("imdb-bigru").unwrap();
        r.train.class_weight = cw;
        r
    }

    #[test]
    fn balanced_times_sample_weights() {
        let w = resolve(&recipe(Some(ClassWeight::Balanced)), &skewed()).unwrap();
        // balanced: 8 / (2·6) = 2/3 for neg, 8 / (2·2) = 2 for pos
        let neg = (8.0f64 / 12.0) as f32;
        assert_eq!(
            w.class_weight,
            Some(ClassWeight::Manual(vec![
                ("neg".into(), f64::from(neg)),
                ("pos".into(), 2.0)
            ]))
        );
        assert_eq!(
            w.examples,
            Some(vec![neg, neg, neg * 0.5, neg, neg, neg, 2.0, 4.0])
        );
        // sample weights alone
        let w = resolve(&recipe(None), &skewed()).unwrap();
        assert_eq!(w.class_weight, None);
        assert_eq!(w.examples, skewed().weights);
        // nothing weighted
        let mut plain = skewed();
        plain.weights = None;
        assert!(resolve(&recipe(None), &plain).unwrap().examples.is_none());
    }

    #[test]
    fn refusals() {
        let e = resolve(
            &recipe(Some(ClassWeight::Manual(vec![("neutral".into(), 1.0)]))),
            &skewed(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid training config `class_weight`: class `neutral` is not in the data; its classes are: neg, pos"
        );
        // class weight 0 for neg and sample weight 0 for both positives: nothing left
        let mut d = skewed();
        d.weights = Some(vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        let e = resolve(
            &recipe(Some(ClassWeight::Manual(vec![("neg".into(), 0.0)]))),
            &d,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid train.class_weight: every training example has weight 0 (class weight × sample weight): nothing would be learned"
        );
        let multi = Dataset::multi_label(
            vec!["a".into(), "b".into()],
            vec![vec![0, 1], vec![1]],
            vec!["x".into(), "y".into()],
        )
        .unwrap();
        let e = resolve(&recipe(Some(ClassWeight::Balanced)), &multi).unwrap_err();
        assert!(
            e.to_string()
                .contains("class_weight: does not apply to multi-label data"),
            "{e}"
        );
    }
}

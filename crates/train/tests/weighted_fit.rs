//! `fit` with per-example weights: unit weights train bit for bit like no weights (validation
//! stays unweighted either way), other weights change the training loss only, and weights that
//! cannot train are refused before any update.

#![allow(clippy::unwrap_used)]

mod common;

use common::{synthetic, MeanEmbed};
use textrnn_models::Output;
use textrnn_train::{fit, ClassWeight, OptimizerConfig, TrainConfig};

fn quiet(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        verbose: 0,
        optimizer: OptimizerConfig::Adam(textrnn_train::AdamConfig {
            learning_rate: 0.05,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `(loss, val_loss)` of every epoch, as bits.
fn losses(weights: Option<Vec<f32>>) -> Vec<(u64, u64)> {
    let train = synthetic(200, 1, 2).with_weights(weights).unwrap();
    let val = synthetic(100, 2, 2);
    let model = MeanEmbed::new(Output::Sigmoid, 0, 0.0);
    let history = fit(&model, &train, Some(&val), &quiet(3), 7, &mut []).unwrap();
    history
        .records()
        .iter()
        .map(|r| {
            (
                r.logs.get("loss").unwrap().to_bits(),
                r.logs.get("val_loss").unwrap().to_bits(),
            )
        })
        .collect()
}

#[test]
fn unit_weights_change_no_bit_and_others_change_the_training_loss() {
    let plain = losses(None);
    assert_eq!(losses(Some(vec![1.0; 200])), plain);
    // doubling every weight doubles the first batch's loss; the first epoch's training loss
    // (a mean over batches) moves, the model being updated differently from then on
    let doubled = losses(Some(vec![2.0; 200]));
    assert_ne!(doubled[0].0, plain[0].0);
}

#[test]
fn weights_that_cannot_train_are_refused() {
    let model = MeanEmbed::new(Output::Sigmoid, 0, 0.0);
    let zero = synthetic(20, 1, 2)
        .with_weights(Some(vec![0.0; 20]))
        .unwrap();
    let e = fit(&model, &zero, None, &quiet(1), 1, &mut []).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid training config `weights`: every training example has weight 0 (class weight × sample weight): nothing would be learned"
    );
    // a class_weight in the config needs the split's weights
    let cfg = TrainConfig {
        class_weight: Some(ClassWeight::Balanced),
        ..quiet(1)
    };
    let e = fit(&model, &synthetic(20, 1, 2), None, &cfg, 1, &mut []).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "invalid training config `class_weight`: is set but the training split has no weights"
        ),
        "{e}"
    );
}

//! Interrupted and resumed training (`fit_with`) ends bit-identical to the same run
//! uninterrupted; checkpoints of another seed, config or model are refused; diverging epochs are
//! warned about and never kept as the best.

#![allow(clippy::unwrap_used)]

mod common;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{synthetic, MeanEmbed};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::{Classifier, Output};
use textrnn_train::{
    fit_with, AdamConfig, BatchLogs, BestCheckpoint, Callback, EarlyStoppingConfig, EncodedSplit,
    Error, FitControl, FitOutcome, History, MonitorMode, OptimizerConfig, RmsPropConfig,
    TrainConfig,
};

const SEED: u64 = 11;

/// 60 training examples (8 batches of 8, the last of 4), 30 validation examples whose labels
/// are half noise, so val_loss turns and early stopping has a best epoch to restore.
fn data() -> (EncodedSplit, EncodedSplit) {
    let mut val = synthetic(30, 22, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for l in val.labels.iter_mut().step_by(2) {
        *l = rng.random_range(0..2);
    }
    (synthetic(60, 21, 2), val)
}

/// `fit_with` on [`data`].
fn run(
    model: &dyn Classifier,
    cfg: &TrainConfig,
    seed: u64,
    callbacks: &mut [Box<dyn Callback>],
    control: &FitControl,
) -> textrnn_train::Result<FitOutcome> {
    let (train, val) = data();
    fit_with(model, &train, Some(&val), cfg, seed, callbacks, control)
}

fn config(optimizer: OptimizerConfig) -> TrainConfig {
    TrainConfig {
        epochs: 6,
        batch_size: 8,
        verbose: 0,
        optimizer,
        early_stopping: Some(EarlyStoppingConfig {
            patience: 3,
            restore_best_weights: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn adam() -> OptimizerConfig {
    OptimizerConfig::Adam(AdamConfig {
        learning_rate: 0.05,
        ..Default::default()
    })
}

fn rmsprop() -> OptimizerConfig {
    OptimizerConfig::Rmsprop(RmsPropConfig {
        learning_rate: 0.02,
        ..Default::default()
    })
}

/// The raw bits of every weight of the model.
fn weight_bits(model: &MeanEmbed) -> Vec<Vec<u32>> {
    model
        .vars()
        .iter()
        .map(|v| {
            let t = v.as_tensor().flatten_all().unwrap();
            t.to_vec1::<f32>()
                .unwrap()
                .iter()
                .map(|x| x.to_bits())
                .collect()
        })
        .collect()
}

/// A dropout model; `init` seeds its initial weights.
fn model(init: u64) -> MeanEmbed {
    MeanEmbed::new(Output::Sigmoid, init, 0.3)
}

/// Keeps the best val_loss weights in `dir/best.safetensors`.
fn best(model: &MeanEmbed, dir: &Path) -> Box<dyn Callback> {
    Box::new(
        BestCheckpoint::safetensors(
            dir.join("best.safetensors"),
            &model.varmap,
            "val_loss",
            MonitorMode::Auto,
        )
        .unwrap(),
    )
}

/// Sets the stop flag after batch `batch` of epoch `epoch`; when an epoch-`copy_at` begins,
/// copies the checkpoint aside (what a `kill -9` right then would leave behind).
struct Interrupter {
    stop: Arc<AtomicBool>,
    epoch: usize,
    batch: usize,
    copy_at: usize,
    checkpoint: PathBuf,
    copy: PathBuf,
}

impl Callback for Interrupter {
    fn on_epoch_begin(&mut self, epoch: usize) -> textrnn_train::Result<()> {
        if epoch == self.copy_at {
            std::fs::copy(&self.checkpoint, &self.copy).unwrap();
        }
        Ok(())
    }

    fn on_batch_end(&mut self, batch: usize, logs: &BatchLogs<'_>) -> textrnn_train::Result<()> {
        if logs.epoch == self.epoch && batch == self.batch {
            self.stop.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

fn completed(outcome: FitOutcome) -> History {
    match outcome {
        FitOutcome::Completed { history } => history,
        other => panic!("expected a completed run, got {other:?}"),
    }
}

/// Uninterrupted; interrupted after batch 5 of epoch 2 then resumed; resumed from the
/// checkpoint of the end of epoch 1: the same weights (bit for bit), history and best model.
fn resumed_equals_uninterrupted(optimizer: OptimizerConfig) {
    let cfg = config(optimizer);
    let dir = tempfile::tempdir().unwrap();
    let (dir_a, dir_b, dir_d) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("d"),
    );

    let a = model(3);
    let mut cbs = vec![best(&a, &dir_a)];
    let full = completed(run(&a, &cfg, SEED, &mut cbs, &FitControl::default()).unwrap());

    let checkpoint = dir_b.join("checkpoint.safetensors");
    let boundary = dir.path().join("after-epoch-1.safetensors");
    let stop = Arc::new(AtomicBool::new(false));
    let b = model(3);
    let mut cbs = vec![
        best(&b, &dir_b),
        Box::new(Interrupter {
            stop: stop.clone(),
            epoch: 2,
            batch: 4,
            copy_at: 2,
            checkpoint: checkpoint.clone(),
            copy: boundary.clone(),
        }) as Box<dyn Callback>,
    ];
    let control = FitControl {
        stop: Some(stop),
        checkpoint: Some(checkpoint.clone()),
        checkpoint_every: Some(3),
        resume: None,
    };
    let outcome = run(&b, &cfg, SEED, &mut cbs, &control).unwrap();
    let FitOutcome::Interrupted {
        history,
        epoch,
        step,
    } = outcome
    else {
        panic!("not interrupted: {outcome:?}");
    };
    assert_eq!((epoch, step, history.len()), (2, 5, 2));
    assert_eq!(history.records(), &full.records()[..2]);
    drop(cbs);

    // a fresh process: other initial weights, which the checkpoint replaces
    let c = model(99);
    let mut cbs = vec![best(&c, &dir_b)];
    let control = FitControl {
        checkpoint: Some(checkpoint.clone()),
        resume: Some(checkpoint.clone()),
        ..Default::default()
    };
    let resumed = completed(run(&c, &cfg, SEED, &mut cbs, &control).unwrap());
    assert_eq!(resumed, full);
    assert_eq!(weight_bits(&c), weight_bits(&a));
    assert_eq!(
        std::fs::read(dir_b.join("best.safetensors")).unwrap(),
        std::fs::read(dir_a.join("best.safetensors")).unwrap()
    );

    // from the epoch boundary, without writing checkpoints
    let d = model(98);
    let mut cbs = vec![best(&d, &dir_d)];
    let control = FitControl {
        resume: Some(boundary),
        ..Default::default()
    };
    let resumed = completed(run(&d, &cfg, SEED, &mut cbs, &control).unwrap());
    assert_eq!(resumed, full);
    assert_eq!(weight_bits(&d), weight_bits(&a));
}

#[test]
fn adam_resumed_mid_epoch_and_at_an_epoch_boundary_is_bit_identical() {
    resumed_equals_uninterrupted(adam());
}

#[test]
fn rmsprop_resumed_mid_epoch_and_at_an_epoch_boundary_is_bit_identical() {
    resumed_equals_uninterrupted(rmsprop());
}

#[test]
fn a_checkpoint_of_another_seed_config_or_model_is_refused() {
    let cfg = config(adam());
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint.safetensors");
    let short = TrainConfig {
        epochs: 1,
        ..cfg.clone()
    };
    let m = model(3);
    let control = FitControl {
        checkpoint: Some(checkpoint.clone()),
        ..Default::default()
    };
    run(&m, &short, SEED, &mut [], &control).unwrap();
    let before = weight_bits(&m);
    let resume = FitControl {
        resume: Some(checkpoint.clone()),
        ..Default::default()
    };
    let refused = |m: &dyn Classifier, cfg: &TrainConfig, seed: u64| match run(
        m,
        cfg,
        seed,
        &mut [],
        &resume,
    )
    .unwrap_err()
    {
        Error::Checkpoint { path, reason } => {
            assert_eq!(path, checkpoint);
            reason
        }
        other => panic!("{other}"),
    };
    assert_eq!(
        refused(&m, &short, SEED + 1),
        "belongs to seed 11, not 12: resume with the seed it was trained with"
    );
    assert_eq!(
        refused(&m, &cfg, SEED),
        "belongs to another training config (differs in `epochs`)"
    );
    let other = MeanEmbed::new(Output::Softmax(3), 3, 0.3);
    assert_eq!(
        refused(&other, &short, SEED),
        "belongs to another model (variables [1] f32, [1, 8] f32, [20, 8] f32; this model has \
         [3] f32, [3, 8] f32, [20, 8] f32)"
    );
    // nothing was touched, and `verbose` is not part of what a checkpoint belongs to
    assert_eq!(weight_bits(&m), before);
    let loud = TrainConfig {
        verbose: 2,
        ..short
    };
    let h = completed(run(&m, &loud, SEED, &mut [], &resume).unwrap());
    assert_eq!(h.len(), 1);
    let not_one = dir.path().join("plain.safetensors");
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("x".to_string(), m.vars()[0].as_tensor().clone())]),
        &not_one,
    )
    .unwrap();
    let resume = FitControl {
        resume: Some(not_one),
        ..Default::default()
    };
    let e = run(&m, &loud, SEED, &mut [], &resume).unwrap_err();
    assert!(
        e.to_string().contains("not a textrnn training checkpoint"),
        "{e}"
    );
}

#[test]
fn a_diverging_learning_rate_is_warned_about_and_never_kept_as_best() {
    let cfg = TrainConfig {
        optimizer: OptimizerConfig::Adam(AdamConfig {
            learning_rate: 1e6,
            ..Default::default()
        }),
        epochs: 3,
        ..config(adam())
    };
    let saves = Rc::new(Cell::new(0));
    let counted = saves.clone();
    let ckpt = BestCheckpoint::with_closure(
        Box::new(move |_, _| {
            counted.set(counted.get() + 1);
            Ok(())
        }),
        "val_loss",
        MonitorMode::Auto,
    )
    .unwrap();
    let m = model(3);
    let mut cbs: Vec<Box<dyn Callback>> = vec![Box::new(ckpt)];
    let h = completed(run(&m, &cfg, SEED, &mut cbs, &FitControl::default()).unwrap());
    let warned: Vec<usize> = h.warnings().map(|(e, _)| e).collect();
    // val_loss is about 1e12 from the first epoch on
    assert_eq!(warned, vec![0, 1, 2]);
    for (_, w) in h.warnings() {
        assert!(
            w.starts_with("training diverged: ")
                && w.contains("validation loss ")
                && w.contains(" is above 1000"),
            "{w}"
        );
    }
    assert_eq!(saves.get(), 0);
    let json: serde_json::Value = serde_json::from_str(&h.to_json().unwrap()).unwrap();
    assert_eq!(json["warnings"].as_array().unwrap().len(), 3);
    // early stopping kept no snapshot: the weights are the last epoch's, as without it
    let plain = model(3);
    let no_es = TrainConfig {
        early_stopping: None,
        ..cfg
    };
    run(&plain, &no_es, SEED, &mut [], &FitControl::default()).unwrap();
    assert_eq!(weight_bits(&m), weight_bits(&plain));
}

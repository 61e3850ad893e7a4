//! Behaviour of `fit`, `evaluate` and `predict_proba` on the small models of `common/`.
//!
//! Data: sequences of 8 tokens from 4..20 (0 = padding); label 1 iff token 3 occurs.

#![allow(clippy::unwrap_used)]

mod common;

use candle_core::Device;
use common::{synthetic, MeanEmbed, SEQ};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::{Classifier, Output};
use textrnn_train::{
    evaluate, fit, predict_proba, BestCheckpoint, Callback, Control, EarlyStoppingConfig,
    EpochLogs, Error, MonitorMode, OptimizerConfig, RmsPropConfig, TrainBegin, TrainConfig,
};

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

#[test]
fn learns_token_presence_to_95_percent() {
    let train = synthetic(400, 1, 2);
    let val = synthetic(200, 2, 2);
    let model = MeanEmbed::new(Output::Sigmoid, 0, 0.0);
    let started = std::time::Instant::now();
    let history = fit(&model, &train, Some(&val), &quiet(15), 42, &mut []).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let last = history.last().unwrap();
    assert_eq!(
        history.keys(),
        vec![
            "loss",
            "accuracy",
            "auc",
            "val_loss",
            "val_accuracy",
            "val_auc"
        ]
    );
    let val_acc = last.logs.get("val_accuracy").unwrap();
    assert!(
        val_acc >= 0.95,
        "val accuracy {val_acc}, history {:?}",
        history.series("val_accuracy")
    );
    let losses = history.series("loss").unwrap();
    assert!(losses[losses.len() - 1] < losses[0] * 0.5, "{losses:?}");
    assert!(secs < 20.0, "took {secs}s");

    let m = evaluate(&model, &val, 64).unwrap();
    assert_eq!(m.n, 200);
    assert!((m.accuracy - val_acc).abs() < 1e-12);
    assert!((m.loss - last.logs.get("val_loss").unwrap()).abs() < 1e-6);
    assert!(m.auc.unwrap() > 0.98);

    let p = predict_proba(&model, &val.tokens, SEQ, 7, false).unwrap();
    assert_eq!((p.n_classes, p.len()), (2, 200));
    for i in 0..p.len() {
        let r = p.row(i);
        assert!((r[0] + r[1] - 1.0).abs() < 1e-6);
    }
    let correct = p
        .classes()
        .iter()
        .zip(&val.labels)
        .filter(|(a, b)| a == b)
        .count();
    assert!((correct as f64 / 200.0 - m.accuracy).abs() < 1e-12);
}

#[test]
fn same_seed_same_history_with_dropout_and_shuffle() {
    let train = synthetic(100, 3, 2);
    let val = synthetic(40, 4, 2);
    let run = |seed: u64| {
        let model = MeanEmbed::new(Output::Sigmoid, 9, 0.3);
        let h = fit(&model, &train, Some(&val), &quiet(3), seed, &mut []).unwrap();
        let w = model.vars()[0]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        (h, w)
    };
    let (h1, w1) = run(5);
    let (h2, w2) = run(5);
    let (h3, _) = run(6);
    assert_eq!(h1, h2);
    assert_eq!(w1, w2);
    assert_ne!(h1, h3);
}

#[test]
fn softmax_model_trains_with_rmsprop() {
    let train = synthetic(300, 5, 3);
    let val = synthetic(150, 6, 3);
    let model = MeanEmbed::new(Output::Softmax(3), 1, 0.0);
    let cfg = TrainConfig {
        epochs: 20,
        verbose: 0,
        metrics: Some(vec!["accuracy".into(), "auc".into()]),
        optimizer: OptimizerConfig::Rmsprop(RmsPropConfig {
            learning_rate: 0.02,
            ..Default::default()
        }),
        ..Default::default()
    };
    let h = fit(&model, &train, Some(&val), &cfg, 1, &mut []).unwrap();
    let last = h.last().unwrap();
    assert!(
        last.logs.get("val_accuracy").unwrap() >= 0.9,
        "{:?}",
        last.logs
    );
    assert!(last.logs.get("val_auc").unwrap() >= 0.95, "{:?}", last.logs);
    let p = predict_proba(&model, &val.tokens, SEQ, 32, true).unwrap();
    assert_eq!(p.n_classes, 3);
}

/// Records events, and stops at a given epoch.
struct Recorder {
    events: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
    stop_at: usize,
}

impl Callback for Recorder {
    fn on_train_begin(&mut self, info: &TrainBegin<'_>) -> textrnn_train::Result<()> {
        self.events.borrow_mut().push(format!(
            "begin {} {}",
            info.steps_per_epoch,
            info.vars.len()
        ));
        Ok(())
    }
    fn on_epoch_begin(&mut self, epoch: usize) -> textrnn_train::Result<()> {
        self.events.borrow_mut().push(format!("epoch {epoch}"));
        Ok(())
    }
    fn on_batch_end(
        &mut self,
        batch: usize,
        logs: &textrnn_train::BatchLogs<'_>,
    ) -> textrnn_train::Result<()> {
        assert!(logs.logs.get("loss").is_some());
        self.events
            .borrow_mut()
            .push(format!("batch {batch} {}", logs.size));
        Ok(())
    }
    fn on_epoch_end(&mut self, epoch: usize, _logs: &EpochLogs) -> textrnn_train::Result<Control> {
        self.events.borrow_mut().push(format!("end {epoch}"));
        Ok(if epoch == self.stop_at {
            Control::Stop
        } else {
            Control::Continue
        })
    }
    fn on_train_end(&mut self, history: &textrnn_train::History) -> textrnn_train::Result<()> {
        self.events
            .borrow_mut()
            .push(format!("done {}", history.len()));
        Ok(())
    }
}

#[test]
fn callbacks_see_events_in_order_and_can_stop() {
    let train = synthetic(10, 7, 2);
    let model = MeanEmbed::new(Output::Sigmoid, 0, 0.0);
    let events = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut cbs: Vec<Box<dyn Callback>> = vec![Box::new(Recorder {
        events: events.clone(),
        stop_at: 1,
    })];
    let cfg = TrainConfig {
        batch_size: 4,
        ..quiet(5)
    };
    let h = fit(&model, &train, None, &cfg, 0, &mut cbs).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h.keys(), vec!["loss", "accuracy", "auc"]);
    let want = [
        "begin 3 3",
        "epoch 0",
        "batch 0 4",
        "batch 1 4",
        "batch 2 2",
        "end 0",
        "epoch 1",
        "batch 0 4",
        "batch 1 4",
        "batch 2 2",
        "end 1",
        "done 2",
    ];
    assert_eq!(*events.borrow(), want);
}

#[test]
fn early_stopping_from_config_restores_best_weights() {
    let train = synthetic(200, 8, 2);
    // validation labels are noise: val_loss stops improving early
    let mut val = synthetic(100, 9, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for l in val.labels.iter_mut() {
        *l = rng.random_range(0..2);
    }
    let model = MeanEmbed::new(Output::Sigmoid, 2, 0.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let ckpt =
        BestCheckpoint::safetensors(&path, &model.varmap, "val_loss", MonitorMode::Auto).unwrap();
    let mut cbs: Vec<Box<dyn Callback>> = vec![Box::new(ckpt)];
    let cfg = TrainConfig {
        early_stopping: Some(EarlyStoppingConfig {
            patience: 2,
            restore_best_weights: true,
            ..Default::default()
        }),
        ..quiet(30)
    };
    let h = fit(&model, &train, Some(&val), &cfg, 3, &mut cbs).unwrap();
    assert!(h.len() < 30, "did not stop: {:?}", h.series("val_loss"));
    let vl = h.series("val_loss").unwrap();
    let best = vl.iter().cloned().fold(f64::INFINITY, f64::min);
    let best_epoch = vl.iter().position(|&v| v == best).unwrap();
    // Keras: stops `patience` epochs after the best
    assert_eq!(h.len(), best_epoch + 3, "{vl:?}");
    // restored weights reproduce the best val_loss, and equal the checkpoint
    let m = evaluate(&model, &val, 32).unwrap();
    assert!((m.loss - best).abs() < 1e-6, "{} vs {best}", m.loss);
    let saved = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    let restored = model.varmap.data().lock().unwrap()["dense/kernel"]
        .as_tensor()
        .flatten_all()
        .unwrap();
    assert_eq!(
        saved["dense/kernel"]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
        restored.to_vec1::<f32>().unwrap()
    );
}

#[test]
fn invalid_inputs_are_clear_errors() {
    let train = synthetic(10, 7, 2);
    let model = MeanEmbed::new(Output::Sigmoid, 0, 0.0);
    let e = fit(
        &model,
        &train,
        None,
        &TrainConfig {
            batch_size: 0,
            ..quiet(1)
        },
        0,
        &mut [],
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidConfig { field, .. } if field == "batch_size"),
        "{e}"
    );
    let e = fit(&model, &train, None, &quiet(0), 0, &mut []).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidConfig { field, .. } if field == "epochs"),
        "{e}"
    );
    let cfg = TrainConfig {
        early_stopping: Some(EarlyStoppingConfig::default()),
        ..quiet(1)
    };
    let e = fit(&model, &train, None, &cfg, 0, &mut []).unwrap_err();
    assert!(e.to_string().contains("val_loss"), "{e}");
    let three = synthetic(10, 7, 3);
    assert!(matches!(
        fit(&model, &three, None, &quiet(1), 0, &mut []),
        Err(Error::Label { .. })
    ));
    assert!(predict_proba(&model, &[1, 2, 3], SEQ, 4, false).is_err());
}

/// Records the token rows of every training forward pass (dropout mode) of the model it wraps.
struct Recording {
    inner: MeanEmbed,
    rows: std::cell::RefCell<Vec<Vec<u32>>>,
}

impl Classifier for Recording {
    fn forward_t(
        &self,
        tokens: &candle_core::Tensor,
        mode: &mut textrnn_models::Mode,
    ) -> candle_core::Result<candle_core::Tensor> {
        if mode.rng().is_some() {
            self.rows.borrow_mut().extend(tokens.to_vec2::<u32>()?);
        }
        self.inner.forward_t(tokens, mode)
    }

    fn output(&self) -> Output {
        self.inner.output()
    }

    fn vars(&self) -> Vec<candle_core::Var> {
        self.inner.vars()
    }
}

#[test]
fn epoch_orders_are_the_rows_fit_trains_on_in_its_order() {
    // 50 rows in batches of 16: 3 full batches and a partial one of 2, reshuffled every epoch
    let train = synthetic(50, 3, 2);
    for shuffle in [true, false] {
        let cfg = TrainConfig {
            batch_size: 16,
            shuffle,
            ..quiet(3)
        };
        let model = Recording {
            inner: MeanEmbed::new(Output::Softmax(2), 1, 0.0),
            rows: Default::default(),
        };
        fit(&model, &train, None, &cfg, 11, &mut []).unwrap();
        let orders = textrnn_train::epoch_orders(&train, &cfg, 3, 11);
        assert_eq!(orders.len(), 3);
        let expected: Vec<Vec<u32>> = orders
            .iter()
            .flatten()
            .map(|&i| train.row(i).to_vec())
            .collect();
        assert_eq!(*model.rows.borrow(), expected, "shuffle {shuffle}");
        for order in &orders {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        }
        // reshuffled every epoch when shuffling, else the split's order every time
        assert_eq!(orders[0] != orders[1], shuffle);
    }
}

/// `embedding_gradients = "sparse"` in `fit`: one RMSprop step on one batch moves every
/// embedding row by `lr · G / √(0.1 · S + ε)`, with `G` the row's summed gradient and `S` the
/// sum of its occurrences' squared gradients, both computed here by hand from a recorded pass;
/// rows looked up once and every other weight move as under the dense update (which runs the
/// lookup folded: 16 × 8 = 128 tokens over 20 rows), rows looked up several times do not.
#[test]
fn sparse_embedding_gradients_feed_each_rows_occurrence_squares_to_rmsprop() {
    use candle_core::Tensor;
    use std::collections::HashMap;
    use textrnn_models::{Mode, ModelSpec, TextClassifier};
    use textrnn_train::{binary_cross_entropy_with_logits, EmbeddingGradients};

    let spec: ModelSpec = serde_json::from_str(
        r#"{"name": "s", "layers": [
            {"type": "embedding", "input_dim": 20, "output_dim": 4},
            {"type": "lstm", "units": 3},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#,
    )
    .unwrap();
    // ids 6..20 and 3, each many times; ids 2 and 4 once each
    let base = synthetic(16, 3, 2);
    let mut tokens = base.tokens.clone();
    (tokens[0], tokens[9]) = (2, 4);
    let train = textrnn_train::EncodedSplit::new(tokens, SEQ, base.labels.clone()).unwrap();
    let (lr, rho, eps) = (0.01, 0.9, 1e-7);
    let trained = |embedding_gradients| -> HashMap<String, Vec<f32>> {
        let (model, _) = TextClassifier::init(&spec, SEQ, 5, &Device::Cpu).unwrap();
        let cfg = TrainConfig {
            epochs: 1,
            batch_size: 16,
            shuffle: false,
            verbose: 0,
            optimizer: OptimizerConfig::Rmsprop(RmsPropConfig {
                learning_rate: lr,
                rho,
                epsilon: eps,
            }),
            embedding_gradients,
            ..Default::default()
        };
        fit(&model, &train, None, &cfg, 1, &mut []).unwrap();
        model
            .parameters()
            .iter()
            .map(|(k, t)| (k.clone(), t.flatten_all().unwrap().to_vec1().unwrap()))
            .collect()
    };
    let dense = trained(EmbeddingGradients::Dense);
    let sparse = trained(EmbeddingGradients::Sparse);

    // By hand, from the same initial weights on the same batch.
    let (model, _) = TextClassifier::init(&spec, SEQ, 5, &Device::Cpu).unwrap();
    let tokens = Tensor::from_vec(train.tokens.clone(), (16, SEQ), &Device::Cpu).unwrap();
    let labels = Tensor::new(train.labels.as_slice(), &Device::Cpu).unwrap();
    let (logits, lookups) = model.forward_recording(&tokens, &mut Mode::Eval).unwrap();
    let grads = binary_cross_entropy_with_logits(&logits, &labels)
        .unwrap()
        .backward()
        .unwrap();
    let lookup = &lookups[0];
    let table = lookup.table.to_vec2::<f32>().unwrap();
    let g = grads.get(&lookup.table).unwrap().to_vec2::<f32>().unwrap();
    let per_occurrence = grads
        .get(lookup.probe.as_tensor())
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let ids = lookup.ids.to_vec1::<u32>().unwrap();
    let mut s = vec![vec![0f64; 4]; 20];
    let mut count = [0usize; 20];
    for (id, row) in ids.iter().zip(&per_occurrence) {
        count[*id as usize] += 1;
        for (k, x) in row.iter().enumerate() {
            s[*id as usize][k] += f64::from(*x).powi(2);
        }
    }
    let step = |g: f64, sq: f64| lr * g / ((1.0 - rho) * sq + eps).sqrt();
    let (mut repeated_differ, mut checked_once) = (0, 0);
    for r in 0..20 {
        for k in 0..4 {
            let (e0, gi) = (f64::from(table[r][k]), f64::from(g[r][k]));
            let want = e0 - step(gi, s[r][k]);
            let got = f64::from(sparse["embedding.embeddings"][r * 4 + k]);
            assert!((got - want).abs() < 1e-6, "row {r}.{k}: {got} vs {want}");
            let dense_got = f64::from(dense["embedding.embeddings"][r * 4 + k]);
            assert!(
                (dense_got - (e0 - step(gi, gi * gi))).abs() < 1e-6,
                "dense {r}.{k}"
            );
            if count[r] == 1 {
                assert!((got - dense_got).abs() < 1e-6, "row {r} is looked up once");
                checked_once += 1;
            } else if count[r] > 1 && (got - dense_got).abs() > 1e-5 {
                repeated_differ += 1;
            }
        }
    }
    assert!(
        repeated_differ > 20 && checked_once == 8,
        "{repeated_differ} / {checked_once}"
    );
    for (name, values) in &dense {
        if name != "embedding.embeddings" {
            let diff = values
                .iter()
                .zip(&sparse[name])
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(diff < 1e-6, "{name}: {diff}");
        }
    }
}

//! `cargo xtask parity`: step-level training parity with Keras.
//!
//! For every configuration (a small model, an optimizer, a padding side), in f32 on the CPU:
//!
//! ```text
//! textrnn: TextClassifier::init(spec with dropout 0, seed)   -> OUT/<case>/init.safetensors
//!          synthetic batches (ids of varied true length, padded pre/post with 0, labels)
//!                                                            -> OUT/<case>/batches.safetensors
//!          fit (shuffle off, 1 epoch of steps × batch rows), each batch's loss (BatchLogs)
//!                                                            -> final.safetensors, losses
//! Keras:   $TEXTRNN_BENCH_PYTHON xtask/keras_parity.py OUT/<case>
//!          the twin (keras_common), the same weights, train_on_batch per batch in order
//!                                                            -> keras.json, keras_final.safetensors
//! compare: per step |ours - keras| / |keras|: the max and the step where it is worst over
//!          all steps; per parameter the max |ours - keras| and that over max |keras|
//! ```
//!
//! A case passes when the relative loss difference stays within [`LOSS_TARGET`] over the first
//! [`TARGET_STEPS`] steps (issue #16). Without a Python that imports keras the command says so
//! and exits 0 ("skipped"). `--recipe NAME_OR_PATH` runs the same on a recipe's layers,
//! optimizer, padding, maxlen and batch size (dropout zeroed, a synthetic vocabulary).
//!
//! `--recipe R --data-dir D [--seed S]` replays R's real training instead ([`RealData`]): the
//! splits `textrnn train` prepares, the initial weights of seed S, every epoch's rows in the
//! order `fit` draws them ([`textrnn::train::epoch_orders`], reshuffled each epoch, the partial
//! last batch included), and both sides' test accuracy at the end and just before the last
//! step ([`BeforeLastStep`]; a small partial last batch can move it by points). It answers
//! whether a gap between a textrnn run and a Keras run comes from the training itself or from
//! what each side draws at random (docs/results.md: on agnews-lstm-50-masked the latter).
//! `--init FILE` starts both sides from given weights instead (e.g. Keras' own seeded
//! initialisation, which `xtask/keras_init.py` writes), and `--no-keras` trains textrnn's side
//! alone: textrnn from Keras' initial weights in textrnn's batch order, without the slow
//! step-by-step Keras replay.
//!
//! Both sides update the embedding as the case says (`[train] embedding_gradients` of a recipe,
//! dense for the built-in cases). Dense: Keras' optimizer gets the embedding's gradient dense
//! (`TEXTRNN_KERAS_DENSE_GRADS=1` for the script). Sparse: Keras keeps TensorFlow's
//! `IndexedSlices`, one slice per token occurrence, and Adam and RMSprop square the slices
//! before summing duplicates, so a row's second moment gets Σ g_k² instead of (Σ g_k)²; textrnn
//! does the same ([`textrnn::train::SquaredGrads`]). `--sparse-embedding-grads` makes every
//! case sparse. That update is the one difference the harness found besides max pooling's
//! gradient on ties, which textrnn now routes as TensorFlow does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{json, Value};
use textrnn::models::{Classifier, LayerSpec, ModelSpec, Output, TextClassifier};
use textrnn::text::{pad_sequences, Padding, Truncating};
use textrnn::train::{
    AdamConfig, BatchLogs, Callback, EmbeddingGradients, EncodedSplit, OptimizerConfig,
    RmsPropConfig, TrainBegin, TrainConfig,
};
use textrnn::Recipe;

/// The issue's target: relative loss difference per step.
pub const LOSS_TARGET: f64 = 1e-4;
/// Steps the target applies to (the first 50).
pub const TARGET_STEPS: usize = 50;
/// Seed of the initial weights and of the synthetic batches.
const SEED: u64 = 7;

/// Options of `cargo xtask parity`.
pub struct Options {
    /// Optimizer steps per case (batches per epoch).
    pub steps: usize,
    /// Passes over the same batches, in the same order, on both sides (crosses epoch
    /// boundaries: the loop's per-epoch state, the optimizer's continuity).
    pub epochs: usize,
    /// Only cases whose name contains one of these.
    pub only: Vec<String>,
    /// Run on this recipe (built-in name or file) instead of the built-in configurations.
    pub recipe: Option<String>,
    /// Vocabulary size of a `--recipe` case.
    pub vocab: usize,
    /// Print the results as JSON instead of a table.
    pub json: bool,
    /// Where the case directories and `parity.json` go.
    pub out: PathBuf,
    /// Keep the case directories (weights, batches) after comparing.
    pub keep: bool,
    /// Give Keras' optimizer the embedding's gradient as TensorFlow makes it (`IndexedSlices`,
    /// one slice per token occurrence, squared slice by slice: Keras' default) instead of dense
    /// (the textbook update textrnn makes); see `keras_common._densifying`.
    pub sparse_embedding_grads: bool,
    /// With `recipe`: replay the recipe's real training on its corpus from here (see
    /// [`RealData`]) instead of synthetic batches.
    pub data_dir: Option<PathBuf>,
    /// With `data_dir`: the seed of the replayed run (default the recipe's).
    pub seed: Option<u64>,
    /// With `recipe`: start both sides from these weights (textrnn's keys, e.g. Keras' own
    /// seeded initialisation as `xtask/keras_init.py` writes it) instead of textrnn's.
    pub init: Option<PathBuf>,
    /// With `data_dir`: train textrnn's side only and report its test accuracy (no Keras, no
    /// loss comparison, none of Keras' input files written), e.g. to train textrnn from `init`
    /// in its own batch order.
    pub no_keras: bool,
}

/// How [`run_case`] trains a case, besides the case itself.
struct RunCase<'a> {
    /// Steps per epoch and epochs of a synthetic case (a replay has its recipe's).
    steps: usize,
    epochs: usize,
    /// Per-occurrence embedding gradients on both sides, whatever the case says.
    sparse_embedding_grads: bool,
    /// Initial weights from this file instead of textrnn's seeded initialisation.
    init: Option<&'a Path>,
    /// Run the Keras side and compare; textrnn's side only when false.
    keras: bool,
}

/// A recipe's real training, replayed (`--recipe R --data-dir D`): the training split exactly
/// as `textrnn train` prepares it, every epoch's rows in the order `fit` draws them with the
/// seed (partial last batch included), the recipe's epochs, and the test split both sides are
/// scored on at the end. What the synthetic cases cannot show: the real token distribution,
/// shuffling, the partial batch, a whole training's outcome.
struct RealData {
    train: EncodedSplit,
    test: Option<EncodedSplit>,
    seed: u64,
    epochs: usize,
    shuffle: bool,
}

/// One configuration: a model, its data shape and its optimizer.
struct Case {
    name: String,
    spec: ModelSpec,
    maxlen: usize,
    batch_size: usize,
    vocab: usize,
    padding: Padding,
    optimizer: OptimizerConfig,
    /// How both sides update the embedding (the recipe's `[train] embedding_gradients`; dense
    /// for the built-in cases unless `--sparse-embedding-grads`).
    embedding_gradients: EmbeddingGradients,
    /// The recipe's real data (`--data-dir`); synthetic batches when `None`.
    data: Option<RealData>,
}

/// The issue's configurations: Adam and RMSprop, sigmoid and softmax, LSTM and GRU,
/// bidirectional, stacked, Conv1D + MaxPooling1D, masked and unmasked, pre and post padding,
/// a dense relu head.
fn builtin_cases() -> Result<Vec<Case>> {
    let emb = |mask: bool| json!({"type": "embedding", "output_dim": 16, "mask_zero": mask});
    let rnn = |kind: &str, units: usize, seq: bool| json!({"type": kind, "units": units, "return_sequences": seq});
    let bi = |inner: Value| json!({"type": "bidirectional", "layer": inner});
    let sigmoid = json!({"type": "dense", "units": 1, "activation": "sigmoid"});
    let softmax = json!({"type": "dense", "units": 4, "activation": "softmax"});
    let relu = json!({"type": "dense", "units": 16, "activation": "relu"});
    let conv = json!({"type": "conv1d", "filters": 16, "kernel_size": 5, "activation": "relu"});
    let pool = json!({"type": "max_pooling1d", "pool_size": 4});
    let adam = OptimizerConfig::Adam(AdamConfig::default());
    let rmsprop = OptimizerConfig::Rmsprop(RmsPropConfig::default());
    use Padding::{Post, Pre};
    let table: Vec<(&str, Vec<Value>, OptimizerConfig, Padding, usize)> = vec![
        (
            "lstm-sigmoid-adam-post",
            vec![emb(false), rnn("lstm", 16, false), sigmoid.clone()],
            adam,
            Post,
            32,
        ),
        (
            "lstm-sigmoid-adam-pre",
            vec![emb(false), rnn("lstm", 16, false), sigmoid.clone()],
            adam,
            Pre,
            32,
        ),
        (
            "lstm-softmax-rmsprop-post",
            vec![emb(false), rnn("lstm", 16, false), softmax.clone()],
            rmsprop,
            Post,
            64,
        ),
        (
            "lstm-masked-softmax-rmsprop-post",
            vec![emb(true), rnn("lstm", 16, false), softmax.clone()],
            rmsprop,
            Post,
            64,
        ),
        (
            "lstm-masked-sigmoid-adam-pre",
            vec![emb(true), rnn("lstm", 16, false), sigmoid.clone()],
            adam,
            Pre,
            32,
        ),
        (
            "gru-sigmoid-adam-pre",
            vec![emb(false), rnn("gru", 16, false), sigmoid.clone()],
            adam,
            Pre,
            32,
        ),
        (
            "gru-masked-softmax-rmsprop-post",
            vec![emb(true), rnn("gru", 16, false), softmax.clone()],
            rmsprop,
            Post,
            64,
        ),
        (
            "bilstm-softmax-rmsprop-post",
            vec![emb(false), bi(rnn("lstm", 16, false)), softmax.clone()],
            rmsprop,
            Post,
            64,
        ),
        (
            "bilstm-masked-sigmoid-adam-post",
            vec![emb(true), bi(rnn("lstm", 16, false)), sigmoid.clone()],
            adam,
            Post,
            32,
        ),
        (
            "bigru-relu-sigmoid-adam-pre",
            vec![emb(false), bi(rnn("gru", 16, false)), relu, sigmoid.clone()],
            adam,
            Pre,
            32,
        ),
        (
            "stacked-bilstm-softmax-rmsprop-post",
            vec![
                emb(false),
                bi(rnn("lstm", 16, true)),
                bi(rnn("lstm", 8, false)),
                softmax,
            ],
            rmsprop,
            Post,
            64,
        ),
        (
            "stacked-lstm-masked-sigmoid-rmsprop-pre",
            vec![
                emb(true),
                rnn("lstm", 16, true),
                rnn("lstm", 16, false),
                sigmoid.clone(),
            ],
            rmsprop,
            Pre,
            32,
        ),
        (
            "cnn-lstm-sigmoid-adam-pre",
            vec![emb(false), conv, pool, rnn("lstm", 16, false), sigmoid],
            adam,
            Pre,
            32,
        ),
    ];
    table
        .into_iter()
        .map(|(name, layers, optimizer, padding, batch_size)| {
            let spec: ModelSpec = serde_json::from_value(json!({"name": name, "layers": layers}))
                .with_context(|| format!("parity case {name}: layers"))?;
            Ok(Case {
                name: name.to_string(),
                spec: spec.with_vocab_size(500),
                maxlen: 32,
                batch_size,
                vocab: 500,
                padding,
                optimizer,
                embedding_gradients: EmbeddingGradients::Dense,
                data: None,
            })
        })
        .collect()
}

/// The case of a recipe: its layers (dropout zeroed), optimizer, padding, maxlen and batch size.
fn recipe_case(name_or_path: &str, vocab: usize) -> Result<Case> {
    let recipe = Recipe::resolve(name_or_path)?;
    let maxlen = recipe.text.maxlen.with_context(|| {
        format!("recipe {name_or_path}: [text] maxlen is unset; parity needs a fixed length")
    })?;
    let mut spec = recipe.model.clone();
    for layer in &mut spec.layers {
        if let LayerSpec::Embedding(e) = layer {
            if !e.trainable {
                bail!("recipe {name_or_path}: a frozen embedding (trainable = false) has no Keras twin in keras_common.py");
            }
            // pretrained vectors only change the start; the parity is about the steps
            e.weights = None;
            e.input_dim = Some(vocab);
        }
    }
    Ok(Case {
        name: format!("recipe-{}", recipe.name),
        spec,
        maxlen,
        batch_size: recipe.train.batch_size,
        vocab,
        padding: recipe.text.padding,
        optimizer: recipe.train.optimizer,
        embedding_gradients: recipe.train.embedding_gradients,
        data: None,
    })
}

/// The case of a recipe's real training (see [`RealData`]), with `seed` instead of the
/// recipe's when given.
fn real_case(mut recipe: Recipe, data_dir: &Path, seed: Option<u64>) -> Result<Case> {
    let name = recipe.name.clone();
    if let Some(seed) = seed {
        recipe.seed = seed;
    }
    if recipe.train.class_weight.is_some() {
        bail!("recipe {name}: class weights have no Keras twin in keras_parity.py");
    }
    let opts = textrnn::TrainOptions {
        data: textrnn::DataOptions {
            data_dir: Some(data_dir.to_path_buf()),
            progress: false,
        },
        ..Default::default()
    };
    let prepared = textrnn::prepare_data(&recipe, &opts)
        .with_context(|| format!("preparing the data of recipe {name}"))?;
    let resolved = prepared.config.recipe();
    let mut spec = resolved.model.clone();
    let mut vocab = prepared.vocab_size;
    for layer in &mut spec.layers {
        if let LayerSpec::Embedding(e) = layer {
            if !e.trainable || e.weights.is_some() {
                bail!("recipe {name}: pretrained or frozen embeddings are not replayed");
            }
            vocab = e.input_dim.unwrap_or(vocab);
        }
    }
    Ok(Case {
        name: format!("real-{}-seed-{}", recipe.name, recipe.seed),
        spec,
        maxlen: prepared.maxlen(),
        batch_size: resolved.train.batch_size,
        vocab,
        padding: resolved.text.padding,
        optimizer: resolved.train.optimizer,
        embedding_gradients: resolved.train.embedding_gradients,
        data: Some(RealData {
            seed: recipe.seed,
            epochs: resolved.train.epochs,
            shuffle: resolved.train.shuffle,
            train: prepared.train,
            test: prepared.test,
        }),
    })
}

/// `spec` with every dropout rate (`dropout`, `recurrent_dropout`, a dropout layer's `rate`) 0.
fn without_dropout(spec: &ModelSpec) -> Result<ModelSpec> {
    fn zero(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, x) in map.iter_mut() {
                    if matches!(k.as_str(), "dropout" | "recurrent_dropout" | "rate") {
                        *x = json!(0.0);
                    } else {
                        zero(x);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(zero),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(spec)?;
    zero(&mut value);
    Ok(serde_json::from_value(value)?)
}

/// Synthetic data of `case`: `n` rows of ids in `1..vocab` whose true length varies from a
/// quarter of maxlen to maxlen, padded with 0 on the case's side; half the ids of a row come
/// from its label's slice of the vocabulary, so the labels can be learned.
fn synthetic_split(case: &Case, n: usize, n_classes: usize) -> Result<EncodedSplit> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut draw = |k: usize| (rng.next_u64() % k.max(1) as u64) as usize;
    let slice = ((case.vocab - 1) / n_classes).max(1);
    let shortest = (case.maxlen / 4).max(1);
    let mut seqs = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let label = draw(n_classes);
        let len = shortest + draw(case.maxlen - shortest + 1);
        let seq = (0..len)
            .map(|_| {
                let id = if draw(2) == 0 {
                    1 + label * slice + draw(slice)
                } else {
                    1 + draw(case.vocab - 1)
                };
                id.min(case.vocab - 1) as u32
            })
            .collect();
        seqs.push(seq);
        labels.push(label as u32);
    }
    let tokens = pad_sequences(&seqs, case.maxlen, case.padding, Truncating::Post, 0)?;
    Ok(EncodedSplit::new(tokens, case.maxlen, labels)?)
}

/// Copies the model's weights after step `last - 1` (1-based) of the run, i.e. just before
/// its last step, in [`Classifier::vars`] order.
struct BeforeLastStep {
    last: usize,
    done: usize,
    vars: Vec<candle_core::Var>,
    snapshot: Rc<RefCell<Option<Vec<Tensor>>>>,
}

impl BeforeLastStep {
    /// Keeps into `snapshot` the weights before step `last` (the run's step count).
    fn new(last: usize, snapshot: Rc<RefCell<Option<Vec<Tensor>>>>) -> Self {
        Self {
            last,
            done: 0,
            vars: Vec::new(),
            snapshot,
        }
    }
}

impl Callback for BeforeLastStep {
    fn name(&self) -> &str {
        "parity weights before the last step"
    }

    fn on_train_begin(&mut self, info: &TrainBegin<'_>) -> textrnn::train::Result<()> {
        self.vars = info.vars.to_vec();
        Ok(())
    }

    fn on_batch_end(&mut self, _batch: usize, _logs: &BatchLogs<'_>) -> textrnn::train::Result<()> {
        self.done += 1;
        if self.done + 1 == self.last {
            // detached, as `EarlyStopping`'s snapshot: a copy of values, not a graph node
            let copies = self
                .vars
                .iter()
                .map(|v| v.as_detached_tensor().copy())
                .collect::<candle_core::Result<Vec<_>>>()?;
            *self.snapshot.borrow_mut() = Some(copies);
        }
        Ok(())
    }
}

/// Collects every batch's own loss.
struct BatchLosses(Rc<RefCell<Vec<f64>>>);

impl Callback for BatchLosses {
    fn name(&self) -> &str {
        "parity batch losses"
    }

    fn on_batch_end(&mut self, _batch: usize, logs: &BatchLogs<'_>) -> textrnn::train::Result<()> {
        self.0.borrow_mut().push(logs.batch_loss);
        Ok(())
    }
}

/// How far two loss curves are apart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LossDiff {
    /// Max over the steps of `|ours - keras| / |keras|`.
    pub max_rel: f64,
    /// The step (0-based) where it is reached.
    pub worst_step: usize,
    /// Our loss at that step.
    pub ours: f64,
    /// Keras' loss at that step.
    pub keras: f64,
}

/// Compares two loss curves step by step (over the shorter one); `None` when either is empty.
/// A step where Keras' loss is 0 counts the absolute difference.
pub fn loss_diff(ours: &[f64], keras: &[f64]) -> Option<LossDiff> {
    let mut best: Option<LossDiff> = None;
    for (step, (&o, &k)) in ours.iter().zip(keras).enumerate() {
        let rel = rel_diff(o, k);
        // a NaN difference is the worst of all
        if best.is_none_or(|b| !b.max_rel.is_nan() && (rel.is_nan() || rel > b.max_rel)) {
            best = Some(LossDiff {
                max_rel: rel,
                worst_step: step,
                ours: o,
                keras: k,
            });
        }
    }
    best
}

/// `|a - b| / |b|`, or `|a - b|` when `b` is 0.
pub fn rel_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).abs();
    if b == 0.0 {
        d
    } else {
        d / b.abs()
    }
}

/// How far one final parameter is apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightDiff {
    /// Its key (`lstm.kernel`, ...).
    pub key: String,
    /// Max `|ours - keras|` over its elements.
    pub max_abs: f64,
    /// `max_abs / max |keras|` (the difference relative to the parameter's scale).
    pub rel: f64,
}

/// Compares two flattened parameters of the same shape.
pub fn weight_diff(key: &str, ours: &[f32], keras: &[f32]) -> WeightDiff {
    let max_abs = ours
        .iter()
        .zip(keras)
        .map(|(&o, &k)| (f64::from(o) - f64::from(k)).abs())
        .fold(0.0, f64::max);
    let scale = keras
        .iter()
        .map(|&k| f64::from(k).abs())
        .fold(0.0, f64::max);
    WeightDiff {
        key: key.to_string(),
        max_abs,
        rel: if scale == 0.0 {
            max_abs
        } else {
            max_abs / scale
        },
    }
}

/// Both sides' test accuracy after a replayed training, and just before its last optimizer
/// step (with a small partial last batch, that one step can move the result by points).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct TestAccuracy {
    ours: f64,
    ours_before_last_step: Option<f64>,
    keras: Option<f64>,
    keras_before_last_step: Option<f64>,
}

/// The result of one case.
#[derive(Debug, Serialize)]
struct CaseResult {
    case: String,
    layers: String,
    optimizer: &'static str,
    padding: Padding,
    batch_size: usize,
    maxlen: usize,
    steps: usize,
    /// Over every step.
    loss: Option<LossDiff>,
    /// Over the first [`TARGET_STEPS`] steps: what the target applies to.
    target_rel: Option<f64>,
    /// Max relative difference of Keras' `train_on_batch` loss from its own forward pass's
    /// loss before the step (0 when `reset_metrics` makes it report the batch's own loss).
    keras_report_check: Option<f64>,
    /// The parameter whose final values differ most (relative to its scale).
    worst_weight: Option<WeightDiff>,
    weights: Vec<WeightDiff>,
    /// Our losses and Keras'.
    ours_losses: Vec<f64>,
    keras_losses: Vec<f64>,
    /// Test accuracy of a replayed training (real data only).
    test_accuracy: Option<TestAccuracy>,
    /// Whether the Keras side ran (`--no-keras`: textrnn's side only, nothing compared).
    keras: bool,
    passed: bool,
    error: Option<String>,
}

/// Runs `cargo xtask parity`.
pub fn run(opts: Options) -> Result<()> {
    if opts.steps == 0 || opts.epochs == 0 {
        bail!("--steps and --epochs must be at least 1");
    }
    if opts.init.is_some() && opts.recipe.is_none() {
        bail!("--init gives one model's initial weights: give --recipe too");
    }
    if opts.no_keras && opts.data_dir.is_none() {
        bail!("--no-keras trains a replay's textrnn side only: give --recipe and --data-dir");
    }
    let mut cases = match (&opts.recipe, &opts.data_dir) {
        (Some(r), Some(d)) => vec![real_case(Recipe::resolve(r)?, d, opts.seed)?],
        (Some(r), None) => vec![recipe_case(r, opts.vocab)?],
        (None, Some(_)) => bail!("--data-dir replays a recipe's training: give --recipe too"),
        (None, None) => builtin_cases()?,
    };
    if !opts.only.is_empty() {
        cases.retain(|c| opts.only.iter().any(|o| c.name.contains(o.as_str())));
        if cases.is_empty() {
            bail!("--only {:?} matches no parity case", opts.only);
        }
    }
    if !opts.no_keras
        && !crate::bench::python_has(
            "keras_parity.py",
            crate::bench::KERAS_MODULES,
            "set TEXTRNN_BENCH_PYTHON to a Python with keras, tensorflow and safetensors",
        )
    {
        println!("parity: skipped (no Keras)");
        return Ok(());
    }
    let mut results = Vec::new();
    for case in &cases {
        tracing::info!(case = %case.name, "parity case");
        let dir = opts.out.join(&case.name);
        let how = RunCase {
            steps: opts.steps,
            epochs: opts.epochs,
            sparse_embedding_grads: opts.sparse_embedding_grads,
            init: opts.init.as_deref(),
            keras: !opts.no_keras,
        };
        let result = run_case(case, &how, &dir).unwrap_or_else(|e| CaseResult {
            error: Some(format!("{e:#}")),
            ..CaseResult::empty(case, opts.steps)
        });
        if !opts.keep && dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        if !opts.json {
            eprintln!("{}", row(&result));
        }
        results.push(result);
    }
    let report = serde_json::to_string_pretty(&results)?;
    let path = opts.out.join("parity.json");
    textrnn::fs::write(&path, report.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    if opts.json {
        println!("{report}");
    } else {
        println!("{}", table(&results));
        println!("(details: {})", path.display());
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.error.is_some() || (r.keras && !r.passed))
        .map(|r| r.case.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} parity cases miss the target ({LOSS_TARGET:e} relative loss over the first {TARGET_STEPS} steps): {}",
            failed.len(),
            results.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

impl CaseResult {
    fn empty(case: &Case, steps: usize) -> Self {
        CaseResult {
            case: case.name.clone(),
            layers: describe(&case.spec),
            optimizer: case.optimizer.name(),
            padding: case.padding,
            batch_size: case.batch_size,
            maxlen: case.maxlen,
            steps,
            loss: None,
            target_rel: None,
            keras_report_check: None,
            worst_weight: None,
            weights: Vec::new(),
            ours_losses: Vec::new(),
            keras_losses: Vec::new(),
            test_accuracy: None,
            keras: true,
            passed: false,
            error: None,
        }
    }
}

/// `embedding(mask)-lstm(16)-dense(1,sigmoid)`.
fn describe(spec: &ModelSpec) -> String {
    spec.layers
        .iter()
        .map(|l| match l {
            LayerSpec::Embedding(e) if e.mask_zero => "embedding(mask)".to_string(),
            LayerSpec::Bidirectional(b) => format!("bi-{}({})", b.layer.kind(), b.layer.units()),
            LayerSpec::Lstm(s) => format!("lstm({}{})", s.units, seq_flag(s.return_sequences)),
            LayerSpec::Gru(s) => format!("gru({}{})", s.units, seq_flag(s.return_sequences)),
            LayerSpec::Dense(d) => format!("dense({},{:?})", d.units, d.activation).to_lowercase(),
            other => other.kind().to_string(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn seq_flag(seq: bool) -> &'static str {
    if seq {
        ",seq"
    } else {
        ""
    }
}

/// Trains `case` in textrnn and Keras and compares them.
fn run_case(case: &Case, how: &RunCase, dir: &Path) -> Result<CaseResult> {
    let RunCase {
        steps,
        epochs,
        sparse_embedding_grads,
        init,
        keras: with_keras,
    } = *how;
    let device = Device::Cpu;
    let spec = without_dropout(&case.spec)?;
    spec.validate()?;
    let n_classes = match spec.output()? {
        Output::Sigmoid => 2,
        Output::Softmax(c) => c,
        Output::MultiLabel(_) => bail!("multi-label models are not covered by the parity harness"),
    };
    // synthetic: `steps` batches in order, the same every epoch; real: the recipe's training
    let synthetic;
    let (train, seed, epochs, shuffle, steps) = match &case.data {
        Some(d) => (
            &d.train,
            d.seed,
            d.epochs,
            d.shuffle,
            d.train.num_batches(case.batch_size),
        ),
        None => {
            let n = steps
                .checked_mul(case.batch_size)
                .context("steps × batch size overflows")?;
            synthetic = synthetic_split(case, n, n_classes)?;
            (&synthetic, SEED, epochs, false, steps)
        }
    };
    let (model, varmap) = match init {
        Some(path) => TextClassifier::load(&spec, case.maxlen, path, &device)
            .with_context(|| format!("--init {}", path.display()))?,
        None => TextClassifier::init(&spec, case.maxlen, seed, &device)?,
    };
    TextClassifier::save(&varmap, dir.join("init.safetensors"))?;
    let embedding_gradients = if sparse_embedding_grads {
        EmbeddingGradients::Sparse
    } else {
        case.embedding_gradients
    };
    let cfg = TrainConfig {
        epochs,
        batch_size: case.batch_size,
        optimizer: case.optimizer,
        shuffle,
        verbose: 0,
        embedding_gradients,
        ..TrainConfig::default()
    };
    let test = case.data.as_ref().and_then(|d| d.test.as_ref());
    if with_keras {
        // Keras' inputs: the rows in the order the loop below trains on them (one pass when
        // every epoch repeats it, else every epoch's own), the test split, the case
        let passes = if shuffle { epochs } else { 1 };
        let order: Vec<usize> = textrnn::train::epoch_orders(train, &cfg, passes, seed).concat();
        write_rows(train, &order, case.maxlen, &dir.join("batches.safetensors"))?;
        if let Some(test) = test {
            let all: Vec<usize> = (0..test.len()).collect();
            write_rows(test, &all, case.maxlen, &dir.join("test.safetensors"))?;
        }
        let case_json = json!({
            "name": case.name,
            "layers": spec.layers,
            "maxlen": case.maxlen,
            "optimizer": case.optimizer,
            "steps": steps,
            "batch_size": case.batch_size,
            "rows_per_epoch": train.len(),
            "passes": passes,
            "padding": case.padding,
            "vocab": case.vocab,
            "seed": seed,
            "epochs": epochs,
        });
        let path = dir.join("case.json");
        textrnn::fs::write(&path, serde_json::to_string_pretty(&case_json)?.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }

    // textrnn: the real training loop
    let losses = Rc::new(RefCell::new(Vec::with_capacity(steps)));
    let total = steps
        .checked_mul(epochs)
        .context("steps × epochs overflows")?;
    let before_last = Rc::new(RefCell::new(None));
    let mut callbacks: Vec<Box<dyn Callback>> = vec![Box::new(BatchLosses(losses.clone()))];
    if test.is_some() {
        // only a replay with a test split scores the weights before the last step
        callbacks.push(Box::new(BeforeLastStep::new(total, before_last.clone())));
    }
    textrnn::train::fit(&model, train, None, &cfg, seed, &mut callbacks)?;
    drop(callbacks);
    let ours_losses = losses.borrow().clone();
    TextClassifier::save(&varmap, dir.join("final.safetensors"))?;
    let ours_test_accuracy = match test {
        Some(test) => {
            let after = textrnn::train::evaluate(&model, test, case.batch_size)?.accuracy;
            // the weights just before the last step, scored the same way
            let before = match before_last.borrow().as_ref() {
                Some(tensors) => {
                    for (var, t) in model.vars().iter().zip(tensors) {
                        var.set(t)?;
                    }
                    Some(textrnn::train::evaluate(&model, test, case.batch_size)?.accuracy)
                }
                None => None,
            };
            Some((after, before))
        }
        None => None,
    };
    if !with_keras {
        return Ok(CaseResult {
            ours_losses,
            test_accuracy: ours_test_accuracy.map(|(ours, ours_before_last_step)| TestAccuracy {
                ours,
                ours_before_last_step,
                keras: None,
                keras_before_last_step: None,
            }),
            keras: false,
            ..CaseResult::empty(case, steps)
        });
    }

    run_keras(dir, embedding_gradients == EmbeddingGradients::Sparse)?;
    let keras: Value = serde_json::from_slice(
        &std::fs::read(dir.join("keras.json")).context("reading keras.json")?,
    )?;
    let floats = |key: &str| -> Vec<f64> {
        keras[key]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
            .unwrap_or_default()
    };
    let keras_losses = floats("losses");
    let forward = floats("forward_losses");
    if keras_losses.len() != total || ours_losses.len() != total {
        bail!(
            "{} textrnn and {} Keras losses for {steps} steps × {epochs} epochs",
            ours_losses.len(),
            keras_losses.len()
        );
    }
    let loss = loss_diff(&ours_losses, &keras_losses);
    let head = TARGET_STEPS.min(steps);
    let target_rel = loss_diff(&ours_losses[..head], &keras_losses[..head]).map(|d| d.max_rel);
    let keras_report_check = loss_diff(&keras_losses, &forward).map(|d| d.max_rel);
    let weights = compare_weights(
        &dir.join("final.safetensors"),
        &dir.join("keras_final.safetensors"),
    )?;
    let worst_weight = weights
        .iter()
        .max_by(|a, b| a.rel.total_cmp(&b.rel))
        .cloned();
    Ok(CaseResult {
        loss,
        target_rel,
        keras_report_check,
        worst_weight,
        weights,
        passed: target_rel.is_some_and(|r| r <= LOSS_TARGET),
        ours_losses,
        keras_losses,
        test_accuracy: ours_test_accuracy.map(|(ours, ours_before_last_step)| TestAccuracy {
            ours,
            ours_before_last_step,
            keras: keras["test_accuracy"].as_f64(),
            keras_before_last_step: keras["test_accuracy_before_last_step"].as_f64(),
        }),
        ..CaseResult::empty(case, steps)
    })
}

/// Rows `order` of `split`: `tokens` `(n, maxlen)` and `labels` `(n)`, both u32.
fn write_rows(split: &EncodedSplit, order: &[usize], maxlen: usize, path: &Path) -> Result<()> {
    let device = Device::Cpu;
    let n = order.len();
    let tokens: Vec<u32> = order.iter().flat_map(|&i| split.row(i)).copied().collect();
    let labels: Vec<u32> = order.iter().map(|&i| split.labels[i]).collect();
    let tensors = HashMap::from([
        (
            "tokens".to_string(),
            Tensor::from_vec(tokens, (n, maxlen), &device)?,
        ),
        ("labels".to_string(), Tensor::from_vec(labels, n, &device)?),
    ]);
    textrnn::fs::write_with(path, |tmp| -> Result<()> {
        candle_core::safetensors::save(&tensors, tmp)?;
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// Runs the Keras side on the case directory.
fn run_keras(dir: &Path, sparse_embedding_grads: bool) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("keras_parity.py");
    let dense = if sparse_embedding_grads { "0" } else { "1" };
    let out = std::process::Command::new(crate::bench::python())
        .env("TEXTRNN_KERAS_DENSE_GRADS", dense)
        .arg(&script)
        .arg(dir)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        bail!(
            "{} {} failed:\n{}",
            script.display(),
            dir.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

/// Every parameter of ours against Keras', by key, sorted by key.
fn compare_weights(ours: &Path, keras: &Path) -> Result<Vec<WeightDiff>> {
    let load = |p: &Path| {
        candle_core::safetensors::load(p, &Device::Cpu)
            .with_context(|| format!("reading {}", p.display()))
    };
    let ours = load(ours)?;
    let keras = load(keras)?;
    let mut keys: Vec<&String> = ours.keys().collect();
    keys.sort();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let k = keras
            .get(key)
            .with_context(|| format!("Keras' final weights lack {key}"))?;
        let o = &ours[key];
        if o.dims() != k.dims() {
            bail!("{key}: textrnn shape {:?}, Keras {:?}", o.dims(), k.dims());
        }
        let flat = |t: &Tensor| -> Result<Vec<f32>> {
            Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
        };
        out.push(weight_diff(key, &flat(o)?, &flat(k)?));
    }
    Ok(out)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.2e}"))
}

/// One line of progress for a case.
fn row(r: &CaseResult) -> String {
    match &r.error {
        Some(e) => format!("{}: error: {e}", r.case),
        None if !r.keras => format!("{}: textrnn only{}", r.case, test_accuracies(r)),
        None => format!(
            "{}: max rel loss diff {} (first {TARGET_STEPS}: {}), final weights max rel {}{}",
            r.case,
            fmt_opt(r.loss.map(|l| l.max_rel)),
            fmt_opt(r.target_rel),
            fmt_opt(r.worst_weight.as_ref().map(|w| w.rel)),
            test_accuracies(r),
        ),
    }
}

/// ", test accuracy textrnn 0.8512 (0.8490 before the last step) / Keras 0.8520 (0.8533)" of a
/// replayed training, else "".
fn test_accuracies(r: &CaseResult) -> String {
    let acc = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |a| format!("{a:.4}"));
    r.test_accuracy.map_or_else(String::new, |t| {
        format!(
            ", test accuracy textrnn {:.4} ({} before the last step) / Keras {} ({})",
            t.ours,
            acc(t.ours_before_last_step),
            acc(t.keras),
            acc(t.keras_before_last_step)
        )
    })
}

/// The results as a Markdown table.
fn table(results: &[CaseResult]) -> String {
    let mut s = String::from(
        "| case | layers | opt | pad | batch | steps | max rel loss diff | worst step (ours / keras) | max rel loss diff, first 50 | final weights: max abs diff | max rel diff (param) | Keras report check | result |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let worst = r.loss.map_or_else(
            || "-".to_string(),
            |l| format!("{} ({:.6} / {:.6})", l.worst_step + 1, l.ours, l.keras),
        );
        let max_abs = r
            .weights
            .iter()
            .map(|w| w.max_abs)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        let wrel = r
            .worst_weight
            .as_ref()
            .map_or_else(|| "-".to_string(), |w| format!("{:.2e} ({})", w.rel, w.key));
        let result = match &r.error {
            Some(e) => format!("error: {}", e.lines().next().unwrap_or("")),
            None if !r.keras => format!("textrnn only{}", test_accuracies(r)),
            None if r.passed => format!("pass{}", test_accuracies(r)),
            None => format!("MISS{}", test_accuracies(r)),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:?} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.case,
            r.layers,
            r.optimizer,
            r.padding,
            r.batch_size,
            r.steps,
            fmt_opt(r.loss.map(|l| l.max_rel)),
            worst,
            fmt_opt(r.target_rel),
            fmt_opt(max_abs),
            wrel,
            fmt_opt(r.keras_report_check),
            result
        );
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loss_diff_finds_the_worst_step_relative_to_keras() {
        // step 0: |0.70 - 0.69| / 0.69 = 0.0144927...; step 1: |0.5 - 0.4| / 0.4 = 0.25;
        // step 2: |0.30 - 0.31| / 0.31 = 0.0322580...
        let d = loss_diff(&[0.70, 0.5, 0.30], &[0.69, 0.4, 0.31]).unwrap();
        assert_eq!(d.worst_step, 1);
        assert!((d.max_rel - 0.25).abs() < 1e-12);
        assert_eq!((d.ours, d.keras), (0.5, 0.4));
        assert!((rel_diff(0.70, 0.69) - 0.01 / 0.69).abs() < 1e-15);
        // a zero Keras loss counts the absolute difference; the shorter curve bounds the steps
        assert_eq!(rel_diff(0.25, 0.0), 0.25);
        let d = loss_diff(&[1.0, 2.0], &[1.0]).unwrap();
        assert_eq!((d.max_rel, d.worst_step), (0.0, 0));
        assert!(loss_diff(&[], &[1.0]).is_none());
        // NaN is the worst
        let d = loss_diff(&[1.0, f64::NAN, 1.5], &[1.0, 1.0, 1.0]).unwrap();
        assert_eq!(d.worst_step, 1);
    }

    #[test]
    fn weight_diff_is_the_max_abs_difference_over_the_keras_scale() {
        // |1 - 1.5| = 0.5, |-2 - -2| = 0, |0.25 - 0| = 0.25; max |keras| = 2 → rel 0.25
        let d = weight_diff("dense.kernel", &[1.0, -2.0, 0.25], &[1.5, -2.0, 0.0]);
        assert_eq!(d.key, "dense.kernel");
        assert_eq!(d.max_abs, 0.5);
        assert_eq!(d.rel, 0.25);
        let z = weight_diff("dense.bias", &[0.5], &[0.0]);
        assert_eq!((z.max_abs, z.rel), (0.5, 0.5));
    }

    #[test]
    fn without_dropout_zeroes_every_rate_and_keeps_the_rest() {
        let spec: ModelSpec = serde_json::from_value(json!({"name": "m", "layers": [
            {"type": "embedding", "output_dim": 8, "input_dim": 50},
            {"type": "bidirectional", "layer": {"type": "lstm", "units": 4, "dropout": 0.2, "recurrent_dropout": 0.3}},
            {"type": "dropout", "rate": 0.5},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]}))
        .unwrap();
        let z = serde_json::to_value(without_dropout(&spec).unwrap()).unwrap();
        assert_eq!(z["layers"][1]["layer"]["dropout"], json!(0.0));
        assert_eq!(z["layers"][1]["layer"]["recurrent_dropout"], json!(0.0));
        assert_eq!(z["layers"][2]["rate"], json!(0.0));
        assert_eq!(z["layers"][1]["layer"]["units"], json!(4));
    }

    #[test]
    fn builtin_cases_are_valid_and_the_synthetic_data_is_padded_on_the_case_side() {
        let cases = builtin_cases().unwrap();
        assert!(cases.len() >= 13);
        for c in &cases {
            without_dropout(&c.spec).unwrap().validate().unwrap();
        }
        let post = cases.iter().find(|c| c.padding == Padding::Post).unwrap();
        let split = synthetic_split(post, 64, 2).unwrap();
        assert_eq!(split.len(), 64);
        // post padding: every row starts with a real id; pre padding: every row ends with one
        assert!((0..64).all(|i| split.row(i)[0] != 0));
        assert!((0..64).any(|i| split.row(i)[post.maxlen - 1] == 0));
        let pre = cases.iter().find(|c| c.padding == Padding::Pre).unwrap();
        let split = synthetic_split(pre, 64, 2).unwrap();
        assert!((0..64).all(|i| split.row(i)[pre.maxlen - 1] != 0));
        assert!(split.labels.iter().all(|&l| l < 2));
    }

    /// The weights `BeforeLastStep` keeps from a run of 3 steps are bit for bit those of the
    /// same run stopped after its first 2 steps (same seed, no shuffling).
    #[test]
    fn before_last_step_keeps_the_weights_one_step_short() {
        let case = builtin_cases().unwrap().into_iter().next().unwrap();
        let spec = without_dropout(&case.spec).unwrap();
        let n_classes = match spec.output().unwrap() {
            Output::Softmax(c) => c,
            _ => 2,
        };
        let b = case.batch_size;
        let three = synthetic_split(&case, 3 * b, n_classes).unwrap();
        let two = EncodedSplit::new(
            three.tokens[..2 * b * case.maxlen].to_vec(),
            case.maxlen,
            three.labels[..2 * b].to_vec(),
        )
        .unwrap();
        let cfg = TrainConfig {
            epochs: 1,
            batch_size: b,
            optimizer: case.optimizer,
            shuffle: false,
            verbose: 0,
            ..TrainConfig::default()
        };
        let weights = |split: &EncodedSplit, snapshot: bool| {
            let (model, _varmap) =
                TextClassifier::init(&spec, case.maxlen, SEED, &Device::Cpu).unwrap();
            let kept = Rc::new(RefCell::new(None));
            let mut callbacks: Vec<Box<dyn Callback>> =
                vec![Box::new(BeforeLastStep::new(3, kept.clone()))];
            textrnn::train::fit(&model, split, None, &cfg, SEED, &mut callbacks).unwrap();
            let tensors: Vec<Tensor> = if snapshot {
                kept.borrow().as_ref().unwrap().clone()
            } else {
                model.vars().iter().map(|v| v.as_tensor().clone()).collect()
            };
            tensors
                .iter()
                .map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
                .collect::<Vec<_>>()
        };
        // both in `Classifier::vars` order
        assert_eq!(weights(&three, true), weights(&two, false));
    }

    #[test]
    fn write_rows_writes_the_rows_in_the_given_order() {
        let split = EncodedSplit::new(vec![1, 2, 0, 3, 4, 5, 6, 0, 0], 3, vec![0, 1, 2]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.safetensors");
        write_rows(&split, &[2, 0, 2], 3, &path).unwrap();
        let t = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
        assert_eq!(
            t["tokens"].to_vec2::<u32>().unwrap(),
            vec![vec![6, 0, 0], vec![1, 2, 0], vec![6, 0, 0]]
        );
        assert_eq!(t["labels"].to_vec1::<u32>().unwrap(), vec![2, 0, 2]);
    }

    /// How a test trains a case: `steps` per epoch for one epoch, textrnn's seeded
    /// initialisation, the Keras side on.
    fn how(steps: usize, sparse_embedding_grads: bool) -> RunCase<'static> {
        RunCase {
            steps,
            epochs: 1,
            sparse_embedding_grads,
            init: None,
            keras: true,
        }
    }

    /// `--init FILE --no-keras` on a replay (no Python needed): textrnn's side alone, from the
    /// weights in the file. From the file of its own seeded initialisation it repeats the
    /// seeded run bit for bit (every loss, both test accuracies); from other weights it
    /// trains differently; a file that does not fit the model is refused, naming it.
    #[test]
    fn a_replay_trains_textrnn_alone_from_given_initial_weights() {
        let tmp = tempfile::tempdir().unwrap();
        let mut recipe = textrnn::synthetic::tiny_recipe(tmp.path(), "tiny", 3).unwrap();
        recipe.train.batch_size = 100;
        let case = real_case(recipe, tmp.path(), Some(5)).unwrap();
        let alone = |init: Option<&Path>, name: &str| {
            let how = RunCase {
                init,
                keras: false,
                ..how(0, false)
            };
            run_case(&case, &how, &tmp.path().join(name))
        };
        let seeded = alone(None, "seeded").unwrap();
        assert!(!seeded.keras && !seeded.passed && seeded.error.is_none());
        assert_eq!(seeded.ours_losses.len(), 24);
        assert!(seeded.keras_losses.is_empty());
        let t = seeded.test_accuracy.unwrap();
        assert!(t.ours_before_last_step.is_some());
        assert_eq!((t.keras, t.keras_before_last_step), (None, None));
        assert!(
            row(&seeded).contains("test accuracy textrnn"),
            "{}",
            row(&seeded)
        );
        assert!(table(std::slice::from_ref(&seeded)).contains("textrnn only"));

        let own = tmp.path().join("seeded").join("init.safetensors");
        let from_file = alone(Some(&own), "from-file").unwrap();
        assert_eq!(from_file.ours_losses, seeded.ours_losses);
        let f = from_file.test_accuracy.unwrap();
        assert_eq!(
            (f.ours, f.ours_before_last_step),
            (t.ours, t.ours_before_last_step)
        );

        // another seed's initial weights: another run
        let other = real_case(
            textrnn::synthetic::tiny_recipe(tmp.path(), "tiny", 3).unwrap(),
            tmp.path(),
            Some(6),
        )
        .unwrap();
        let (_, varmap) = TextClassifier::init(&other.spec, other.maxlen, 6, &Device::Cpu).unwrap();
        let six = tmp.path().join("six.safetensors");
        TextClassifier::save(&varmap, &six).unwrap();
        let from_six = alone(Some(&six), "from-six").unwrap();
        assert_ne!(from_six.ours_losses[0], seeded.ours_losses[0]);

        // a file of another model
        let wrong = tmp.path().join("wrong.safetensors");
        let dense = serde_json::from_value::<ModelSpec>(json!({"name": "other", "layers": [
            {"type": "embedding", "input_dim": 10, "output_dim": 4},
            {"type": "lstm", "units": 3},
            {"type": "dense", "units": 1, "activation": "sigmoid"}
        ]}))
        .unwrap();
        let (_, varmap) = TextClassifier::init(&dense, 5, 1, &Device::Cpu).unwrap();
        TextClassifier::save(&varmap, &wrong).unwrap();
        let err = format!("{:#}", alone(Some(&wrong), "wrong").unwrap_err());
        assert!(
            err.contains("--init") && err.contains("wrong.safetensors"),
            "{err}"
        );
    }

    /// `--init` needs one model and `--no-keras` a replay: both refused before any work.
    #[test]
    fn init_and_no_keras_are_refused_without_their_case() {
        let opts = |init: Option<PathBuf>, no_keras: bool, recipe: Option<&str>| Options {
            steps: 1,
            epochs: 1,
            only: Vec::new(),
            recipe: recipe.map(str::to_string),
            vocab: 100,
            json: false,
            out: PathBuf::from("target/parity-unused"),
            keep: false,
            sparse_embedding_grads: false,
            data_dir: None,
            seed: None,
            init,
            no_keras,
        };
        let err = run(opts(Some("w.safetensors".into()), false, None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--init gives one model's initial weights: give --recipe too"
        );
        let err = run(opts(None, true, Some("agnews-lstm-25"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--no-keras trains a replay's textrnn side only: give --recipe and --data-dir"
        );
    }

    /// A real-data replay end to end on a tiny corpus (4 batches an epoch, the last partial,
    /// reshuffled over 6 epochs): Keras from the same weights on the same rows follows
    /// textrnn's losses and ends at its test accuracy. Skipped without a Python with Keras.
    #[test]
    fn real_replay_agrees_with_keras_on_a_tiny_recipe() {
        if !crate::bench::python_has(
            "the replay test",
            crate::bench::KERAS_MODULES,
            "set TEXTRNN_BENCH_PYTHON to a Python with keras",
        ) {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let mut recipe = textrnn::synthetic::tiny_recipe(tmp.path(), "tiny", 3).unwrap();
        recipe.train.batch_size = 100;
        let case = real_case(recipe, tmp.path(), Some(5)).unwrap();
        let data = case.data.as_ref().unwrap();
        assert_eq!((data.seed, data.epochs, data.shuffle), (5, 6, true));
        assert_eq!(data.train.num_batches(100), 4);
        let result = run_case(&case, &how(0, false), &tmp.path().join("case")).unwrap();
        assert!(result.passed, "{result:?}");
        assert_eq!((result.steps, result.ours_losses.len()), (4, 24));
        let t = result.test_accuracy.unwrap();
        assert!((t.ours - t.keras.unwrap()).abs() <= 0.01, "{t:?}");
        let before = t.ours_before_last_step.unwrap();
        assert!(
            (before - t.keras_before_last_step.unwrap()).abs() <= 0.01,
            "{t:?}"
        );
    }

    /// With per-occurrence embedding gradients on both sides (Keras' default on TensorFlow,
    /// textrnn's `embedding_gradients = "sparse"`) the losses agree as closely as dense ones,
    /// with Adam and with RMSprop; with textrnn dense against Keras sparse they part. The
    /// case's 32 x 32 = 1024 tokens over 500 rows would run folded when dense. Skipped without
    /// a Python with Keras.
    #[test]
    fn sparse_embedding_updates_agree_with_keras() {
        if !crate::bench::python_has(
            "the sparse-update parity test",
            crate::bench::KERAS_MODULES,
            "set TEXTRNN_BENCH_PYTHON to a Python with keras",
        ) {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let cases = builtin_cases().unwrap();
        for name in ["lstm-masked-sigmoid-adam-pre", "lstm-softmax-rmsprop-post"] {
            let case = cases.iter().find(|c| c.name == name).unwrap();
            let result = run_case(case, &how(20, true), &tmp.path().join(name)).unwrap();
            assert!(result.passed, "{result:?}");
        }
        // textrnn dense, Keras sparse: the known difference shows within 20 steps
        let mut dense_vs_sparse = builtin_cases()
            .unwrap()
            .into_iter()
            .find(|c| c.name == "lstm-softmax-rmsprop-post")
            .unwrap();
        dense_vs_sparse.embedding_gradients = EmbeddingGradients::Dense;
        let dir = tmp.path().join("dense");
        let result = run_case(&dense_vs_sparse, &how(20, false), &dir).unwrap();
        assert!(result.passed, "{result:?}");
        run_keras(&dir, true).unwrap();
        let keras: Value =
            serde_json::from_slice(&std::fs::read(dir.join("keras.json")).unwrap()).unwrap();
        let keras_losses: Vec<f64> = keras["losses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let worst = loss_diff(&result.ours_losses, &keras_losses)
            .unwrap()
            .max_rel;
        assert!(
            worst > 10.0 * LOSS_TARGET,
            "dense vs sparse differ by only {worst:e}"
        );
    }
}

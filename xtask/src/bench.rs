//! `cargo xtask bench`: throughput of the recurrent layers on the tutorial shapes.
//!
//! For each shape the measured step is the recurrent layer *including* its input projection
//! (`x (B,T,E) @ kernel (E,G·u) + bias`), a Dense(1) head on the final state, binary
//! cross-entropy on random labels and, for training, `backward` plus an Adam update (the one
//! `textrnn train` uses).
//! The embedding lookup is excluded (inputs are random `(B,T,E)` activations).
//!
//! - `imdb_lstm_model` is the issue's whole model on token ids, `Embedding(5000, 32) → LSTM(100)
//!   → Dense(1)`, through `TextClassifier` (as `train`/`predict` run it, with the embedding
//!   folded into the projection); `imdb_bigru_recipe` is the default recipe's model
//!   (`recipes/imdb-bigru.toml`: BiGRU 64 with input dropout 0.2, Dense 64, Dropout 0.3), trained
//!   with its dropout; the other cases are the recurrent layer alone.
//! - `train`: forward + backward + Adam; `infer`: forward only with detached weights (nothing
//!   tracked, so the fused op keeps no activations).
//! - `fused` vs `reference` (the step-wise candle path: `Backend::Reference` for the layer
//!   cases, `TEXTRNN_FUSED=0` when the whole-model cases build their recurrent layers).
//! - FLOPs: forward `2·B·T·(E·G·u + u·G·u)` per direction, training counted as 3× forward.
//! - Peak RSS: `VmHWM` from `/proc/self/status`, reset before each measurement by writing `5` to
//!   `/proc/self/clear_refs` (Linux). The reset sets the mark to the *current* RSS, which includes
//!   memory the allocator kept from earlier cases, so later rows are upper bounds.
//! - SGEMM peak: best of a few `1024×1024×1024` f32 matmuls through candle (the `gemm` crate,
//!   all rayon threads) — the "% peak" column is the fused step's GFLOP/s over this.
//! - `--vs-torch`: runs `xtask/bench_torch.py` (PyTorch `nn.LSTM`/`nn.GRU`, same shapes, same
//!   step, 2 threads) when `python3 -c "import torch"` works and prints our/PyTorch ratios.
//! - `--vs-keras`: the same with `xtask/bench_keras.py` (Keras on TensorFlow CPU: `train_on_batch`
//!   / `predict_on_batch`, Adam, 2 intra-op threads). Both scripts run under
//!   `$TEXTRNN_BENCH_PYTHON` (default `python3`), e.g. a virtual environment's interpreter.
//! - The comparison scripts run case by case right after ours; `--rounds N` repeats the whole
//!   sequence `N` times and keeps each implementation's best rate (other load on a shared machine
//!   only ever slows a run down, so the best of interleaved rounds is the fairest ratio).
//! - `TEXTRNN_BENCH_FUSED_ONLY=1` skips the (slow) reference rows, for quick iterations;
//!   `TEXTRNN_BENCH_MODE=train` (or `infer`) runs only that mode (e.g. under a profiler).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor, Var, D};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn::models::rnn::{Backend, Cell as RnnCell, Input, Options, Outputs, Pool};
use textrnn::models::{Classifier, Mode, ModelSpec, TextClassifier};
use textrnn::train::{Adam, AdamConfig, Optimizer};
use textrnn::Recipe;

/// Selects the fused kernels or the step-wise reference for the recurrent layers built from now
/// on, through `TEXTRNN_FUSED` (which a layer reads when it is built; the bench is
/// single-threaded at this point).
fn set_fused_enabled(enabled: bool) {
    std::env::set_var("TEXTRNN_FUSED", if enabled { "1" } else { "0" });
}

/// Options of `xtask bench`.
#[derive(Clone, Debug, Default)]
pub struct BenchOpts {
    /// Also run the PyTorch script and print our/PyTorch ratios.
    pub vs_torch: bool,
    /// Also run the Keras (TensorFlow CPU) script and print our/Keras ratios.
    pub vs_keras: bool,
    /// Fewer iterations (smoke test, a few seconds per case).
    pub quick: bool,
    /// Only cases whose name contains one of these (e.g. `imdb`); all when empty.
    pub only: Vec<String>,
    /// Measure ours, PyTorch and Keras case by case this many times and keep each one's best
    /// (noise from other load only ever slows a run down); at least 1.
    pub rounds: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Cell {
    Lstm,
    Gru,
}

/// One tutorial shape.
#[derive(Clone, Copy, Debug)]
struct Case {
    name: &'static str,
    cell: Cell,
    bidirectional: bool,
    units: usize,
    emb: usize,
    len: usize,
    batch: usize,
    /// `> 0`: the whole model on random token ids, `Embedding(vocab, emb) → recurrent →
    /// Dense(1)` built from a `ModelSpec` (`TextClassifier`: the product's path, including the
    /// embedding and, at inference, its fold into the projection); `0`: the layer on `(B,T,E)`.
    vocab: usize,
    /// A built-in recipe whose model (vocabulary `vocab`) this case trains, dropout included
    /// (`Mode::Train`), instead of `Embedding → recurrent → Dense(1)`: the default recipe's
    /// step, for its epoch time (`samples/s` × the 21,250 training reviews).
    recipe: Option<&'static str>,
}

const CASES: [Case; 6] = [
    Case {
        name: "imdb_lstm",
        cell: Cell::Lstm,
        bidirectional: false,
        units: 100,
        emb: 32,
        len: 500,
        batch: 64,
        vocab: 0,
        recipe: None,
    },
    Case {
        name: "imdb_bigru",
        cell: Cell::Gru,
        bidirectional: true,
        units: 64,
        emb: 128,
        len: 200,
        batch: 256,
        vocab: 0,
        recipe: None,
    },
    Case {
        name: "agnews_lstm",
        cell: Cell::Lstm,
        bidirectional: false,
        units: 50,
        emb: 25,
        len: 50,
        batch: 512,
        vocab: 0,
        recipe: None,
    },
    Case {
        name: "tweets_lstm",
        cell: Cell::Lstm,
        bidirectional: false,
        units: 256,
        emb: 32,
        len: 40,
        batch: 512,
        vocab: 0,
        recipe: None,
    },
    Case {
        name: "imdb_lstm_model",
        cell: Cell::Lstm,
        bidirectional: false,
        units: 100,
        emb: 32,
        len: 500,
        batch: 64,
        vocab: 5000,
        recipe: None,
    },
    Case {
        name: "imdb_bigru_recipe",
        cell: Cell::Gru,
        bidirectional: true,
        units: 64,
        emb: 128,
        len: 200,
        batch: 256,
        vocab: 10000,
        recipe: Some("imdb-bigru"),
    },
];

impl Case {
    fn gates(&self) -> usize {
        match self.cell {
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
    fn dirs(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }
    /// Forward FLOPs of one batch (projection + recurrence, all directions).
    fn fwd_flops(&self) -> f64 {
        let (b, t, e, u, g) = (self.batch, self.len, self.emb, self.units, self.gates());
        (2 * b * t * (e * g * u + u * g * u) * self.dirs()) as f64
    }
}

/// Parameters of one direction.
struct Direction {
    kernel: Var,
    w_hh: Var,
    bias: Var,
    b_hh: Var,
}

struct Model {
    case: Case,
    dirs: Vec<Direction>,
    dense_w: Var,
    dense_b: Var,
    /// Fused kernels or the step-wise reference.
    backend: Backend,
    /// The fused ops' buffers, reused from one step to the next as a layer does.
    pool: Pool,
}

fn randn(shape: &[usize], scale: f64, dev: &Device) -> Result<Tensor> {
    Ok((Tensor::randn(0f32, 1f32, shape, dev)? * scale)?)
}

impl Model {
    fn new(case: Case, backend: Backend, dev: &Device) -> Result<Self> {
        let (e, u, g) = (case.emb, case.units, case.gates());
        let mut dirs = Vec::new();
        for _ in 0..case.dirs() {
            dirs.push(Direction {
                kernel: Var::from_tensor(&randn(&[e, g * u], 1.0 / (e as f64).sqrt(), dev)?)?,
                w_hh: Var::from_tensor(&randn(&[u, g * u], 1.0 / (u as f64).sqrt(), dev)?)?,
                bias: Var::from_tensor(&Tensor::zeros(g * u, DType::F32, dev)?)?,
                b_hh: Var::from_tensor(&Tensor::zeros(g * u, DType::F32, dev)?)?,
            });
        }
        let feat = u * case.dirs();
        Ok(Self {
            case,
            dirs,
            dense_w: Var::from_tensor(&randn(&[feat, 1], 1.0 / (feat as f64).sqrt(), dev)?)?,
            dense_b: Var::from_tensor(&Tensor::zeros(1, DType::F32, dev)?)?,
            backend,
            pool: Pool::new(),
        })
    }

    fn vars(&self) -> Vec<Var> {
        let mut v = vec![self.dense_w.clone(), self.dense_b.clone()];
        for d in &self.dirs {
            v.extend([d.kernel.clone(), d.w_hh.clone(), d.bias.clone()]);
            if self.case.cell == Cell::Gru {
                v.push(d.b_hh.clone());
            }
        }
        v
    }

    /// Logits `(B,1)`; `detach` runs on detached weights (inference).
    fn forward(&self, x: &Tensor, detach: bool) -> Result<Tensor> {
        let c = self.case;
        let (b, u) = (c.batch, c.units);
        let p = |v: &Var| {
            if detach {
                v.as_tensor().detach()
            } else {
                v.as_tensor().clone()
            }
        };
        let h0 = Tensor::zeros((b, u), DType::F32, x.device())?;
        let mut finals = Vec::new();
        for (k, d) in self.dirs.iter().enumerate() {
            let reverse = k == 1;
            // The layer's path: projection `x · kernel + bias` inside the fused op (reference:
            // `[x, 1] · [kernel; bias]` then the step-wise recurrence).
            let (kernel, bias, w_hh) = (p(&d.kernel), p(&d.bias), p(&d.w_hh));
            let b_hh = p(&d.b_hh);
            let cell = match c.cell {
                Cell::Lstm => RnnCell::Lstm {
                    w_hh: &w_hh,
                    h0: &h0,
                    c0: &h0,
                },
                Cell::Gru => RnnCell::Gru {
                    w_hh: &w_hh,
                    b_hh: &b_hh,
                    h0: &h0,
                },
            };
            let input = Input::Raw {
                x,
                kernel: &kernel,
                bias: &bias,
            };
            // The final state only, as a layer without `return_sequences` asks for it (at
            // inference the op then writes nothing else).
            let opts = Options {
                reverse,
                outputs: Outputs::Final,
                backend: self.backend,
                pool: Some(&self.pool),
                ..Options::default()
            };
            finals.push(textrnn::models::rnn::run(cell, input, &opts)?);
        }
        let feat = Tensor::cat(&finals, D::Minus1)?;
        Ok(feat
            .matmul(&p(&self.dense_w))?
            .broadcast_add(&p(&self.dense_b))?)
    }
}

/// Peak resident set size in MiB since the last reset.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn reset_peak_rss() {
    // Best effort: unsupported kernels simply keep the process-wide peak.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[derive(Clone, Debug)]
struct Measure {
    case: &'static str,
    imp: &'static str,
    mode: &'static str,
    samples_per_s: f64,
    ms_per_batch: f64,
    /// Process CPU milliseconds per batch (all threads).
    cpu_ms_per_batch: f64,
    gflops: f64,
    peak_mib: Option<f64>,
}

/// Runs `step` (one batch) once to warm up when `warmup`, then until `budget` is spent (at least
/// `min_iters` times).
/// Returns `(wall seconds, process CPU seconds)` per step.
fn time_it(
    mut step: impl FnMut() -> Result<()>,
    warmup: bool,
    budget: Duration,
    min_iters: usize,
) -> Result<(f64, f64)> {
    if warmup {
        step()?;
    }
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut n = 0usize;
    while n < min_iters || start.elapsed() < budget {
        step()?;
        n += 1;
    }
    let wall = start.elapsed().as_secs_f64() / n as f64;
    let cpu = cpu_seconds()
        .zip(cpu0)
        .map_or(f64::NAN, |(b, a)| (b - a) / n as f64);
    Ok((wall, cpu))
}

/// User + system CPU time of this process (all threads), from `/proc/self/stat` (Linux; clock
/// ticks of 1/100 s). On a shared machine wall time depends on the other load; CPU time per step
/// is the work done, whatever the contention.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The spec of a whole-model case: `Embedding(vocab, emb) → [Bidirectional] LSTM|GRU → Dense(1)`.
fn model_spec(case: &Case) -> Result<ModelSpec> {
    if let Some(name) = case.recipe {
        return Ok(Recipe::builtin(name)?.model.with_vocab_size(case.vocab));
    }
    let cell = match case.cell {
        Cell::Lstm => "lstm",
        Cell::Gru => "gru",
    };
    let mut rec = format!(r#"{{"type": "{cell}", "units": {}}}"#, case.units);
    if case.bidirectional {
        rec = format!(r#"{{"type": "bidirectional", "layer": {rec}}}"#);
    }
    let json = format!(
        r#"{{"name": "{}", "layers": [
            {{"type": "embedding", "input_dim": {}, "output_dim": {}}}, {rec},
            {{"type": "dense", "units": 1, "activation": "sigmoid"}}]}}"#,
        case.name, case.vocab, case.emb
    );
    serde_json::from_str(&json).context("bench model spec")
}

/// Times one training step (forward, binary cross-entropy, backward, Adam over `vars`) or one
/// inference forward; `forward(train)` returns the logits.
fn time_step(
    vars: Vec<Var>,
    train: bool,
    forward: impl Fn(bool) -> Result<Tensor>,
    labels: &Tensor,
    fused: bool,
    (budget, min_iters): (Duration, usize),
) -> Result<(f64, f64)> {
    if train {
        let mut opt = Adam::new(vars, AdamConfig::default())?;
        time_it(
            || {
                let loss =
                    candle_nn::loss::binary_cross_entropy_with_logit(&forward(true)?, labels)?;
                opt.step(&loss.backward()?)?;
                Ok(())
            },
            fused,
            budget,
            min_iters,
        )
    } else {
        time_it(
            || {
                std::hint::black_box(forward(false)?.sum_all()?.to_scalar::<f32>()?);
                Ok(())
            },
            fused,
            budget,
            min_iters,
        )
    }
}

fn measure(case: Case, fused: bool, train: bool, quick: bool) -> Result<Measure> {
    let dev = Device::Cpu;
    set_fused_enabled(fused);
    let labels = Tensor::rand(0f32, 1f32, (case.batch, 1), &dev)?
        .ge(0.5)?
        .to_dtype(DType::F32)?;
    // The reference path is ~10-100x slower: fewer iterations.
    let limits = match (quick, fused) {
        (true, _) => (Duration::from_millis(300), 1),
        (false, true) => (Duration::from_secs(3), 3),
        (false, false) => (Duration::from_secs(3), 1),
    };
    reset_peak_rss();
    let (secs, cpu_secs) = if case.vocab > 0 {
        // The whole model through `TextClassifier`: training under autograd with the model's
        // dropout drawn from a seeded generator; inference in `Mode::Infer`, as
        // `predict`/`evaluate` run it.
        let (model, varmap) = TextClassifier::init(&model_spec(&case)?, case.len, 1, &dev)?;
        let ids = (Tensor::rand(1f32, case.vocab as f32, (case.batch, case.len), &dev)?
            .floor()?
            .to_dtype(DType::U32))?;
        let rng = std::cell::RefCell::new(ChaCha8Rng::seed_from_u64(1));
        let forward = |train: bool| -> Result<Tensor> {
            Ok(if train {
                model.forward_t(&ids, &mut Mode::Train(&mut rng.borrow_mut()))?
            } else {
                model.forward_t(&ids, &mut Mode::Infer)?
            })
        };
        time_step(varmap.all_vars(), train, forward, &labels, fused, limits)?
    } else {
        let backend = if fused {
            Backend::Fused
        } else {
            Backend::Reference
        };
        let model = Model::new(case, backend, &dev)?;
        // A variable (not optimised): training also computes the input gradient, as the
        // embedding below a real recurrent layer needs it.
        let x = Var::from_tensor(&randn(&[case.batch, case.len, case.emb], 1.0, &dev)?)?;
        let forward = |train: bool| -> Result<Tensor> {
            if train {
                model.forward(x.as_tensor(), false)
            } else {
                model.forward(&x.as_tensor().detach(), true)
            }
        };
        time_step(model.vars(), train, forward, &labels, fused, limits)?
    };
    let flops = case.fwd_flops() * if train { 3.0 } else { 1.0 };
    Ok(Measure {
        case: case.name,
        imp: if fused { "fused" } else { "reference" },
        mode: if train { "train" } else { "infer" },
        samples_per_s: case.batch as f64 / secs,
        ms_per_batch: secs * 1e3,
        cpu_ms_per_batch: cpu_secs * 1e3,
        gflops: flops / secs / 1e9,
        peak_mib: peak_rss_mib(),
    })
}

/// Best GFLOP/s of a 1024³ f32 matmul through candle (`gemm`, all rayon threads).
fn sgemm_peak() -> Result<f64> {
    let dev = Device::Cpu;
    let n = 1024;
    let a = randn(&[n, n], 1.0, &dev)?;
    let b = randn(&[n, n], 1.0, &dev)?;
    let mut best = f64::MAX;
    for _ in 0..6 {
        let start = Instant::now();
        let c = a.matmul(&b)?;
        std::hint::black_box(&c);
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(2.0 * (n * n * n) as f64 / best / 1e9)
}

/// The Python interpreter for the comparison scripts: `TEXTRNN_BENCH_PYTHON` (e.g. a virtual
/// environment's `bin/python`), else `python3`.
pub(crate) fn python() -> String {
    std::env::var("TEXTRNN_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// The modules the Keras scripts that train (`keras_anchor.py`, `keras_parity.py`) import.
pub(crate) const KERAS_MODULES: &str = "keras, tensorflow, safetensors.numpy";

/// Whether the comparison script `script` can run (`module` imports); prints a note when not.
pub(crate) fn python_has(script: &str, module: &str, hint: &str) -> bool {
    let py = python();
    let importable = std::process::Command::new(&py)
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !importable {
        println!("\nnote: `{py} -c \"import {module}\"` fails here, {script} skipped ({hint}).");
    }
    importable
}

/// Runs a comparison script (`bench_torch.py`, `bench_keras.py`) on `case`; returns its
/// `(case, mode, samples/s)` rows.
fn run_python(script: &str, case: &Case, quick: bool) -> Result<Vec<(String, String, f64)>> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let mut cmd = std::process::Command::new(python());
    cmd.arg(&script).arg("--only").arg(case.name);
    if let Ok(mode) = std::env::var("TEXTRNN_BENCH_MODE") {
        cmd.arg("--mode").arg(mode);
    }
    if quick {
        cmd.arg("--quick");
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        anyhow::bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut rows = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let (Some(c), Some(m), Some(s)) = (
            v["case"].as_str(),
            v["mode"].as_str(),
            v["samples_per_s"].as_f64(),
        ) {
            rows.push((c.to_string(), m.to_string(), s));
        }
    }
    Ok(rows)
}

/// Adds `(case, mode, samples/s)` rows to `best`, keeping the higher rate per case and mode.
fn keep_best(best: &mut Vec<(String, String, f64)>, rows: Vec<(String, String, f64)>) {
    for (c, m, s) in rows {
        match best.iter_mut().find(|(bc, bm, _)| *bc == c && *bm == m) {
            Some(b) => b.2 = b.2.max(s),
            None => best.push((c, m, s)),
        }
    }
}

/// Prints our fused samples/s against another framework's.
fn print_ratios(name: &str, rows: &[Measure], other: &[(String, String, f64)]) {
    println!(
        "\n{:<15} {:<6} {:>12} {:>12} {:>11}",
        "case",
        "mode",
        "ours/s",
        format!("{name}/s"),
        format!("ours/{name}")
    );
    for m in rows.iter().filter(|m| m.imp == "fused") {
        if let Some((_, _, t)) = other.iter().find(|(c, md, _)| c == m.case && md == m.mode) {
            println!(
                "{:<15} {:<6} {:>12.1} {:>12.1} {:>10.2}x",
                m.case,
                m.mode,
                m.samples_per_s,
                t,
                m.samples_per_s / t
            );
        }
    }
}

/// Runs the benchmark and prints the table.
pub fn run(opts: BenchOpts) -> Result<()> {
    let cases: Vec<Case> = CASES
        .iter()
        .copied()
        .filter(|c| opts.only.is_empty() || opts.only.iter().any(|o| c.name.contains(o.as_str())))
        .collect();
    if cases.is_empty() {
        let names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
        anyhow::bail!(
            "no benchmark case matches {:?}; cases: {}",
            opts.only,
            names.join(", ")
        );
    }
    let threads = candle_core::utils::get_num_threads();
    let peak = sgemm_peak()?;
    println!("threads: {threads}   SGEMM 1024^3 peak (candle/gemm): {peak:.1} GFLOP/s");
    let torch = opts.vs_torch
        && python_has(
            "bench_torch.py",
            "torch",
            "Linux PyPI wheels of torch need the CUDA libraries; install a CPU build",
        );
    let keras =
        opts.vs_keras && python_has("bench_keras.py", "keras", "pip install tensorflow-cpu");
    let (mut rows, mut torch_rows, mut keras_rows) =
        (Vec::<Measure>::new(), Vec::new(), Vec::new());
    for round in 0..opts.rounds.max(1) {
        for case in &cases {
            for train in [true, false] {
                let mode = if train { "train" } else { "infer" };
                if std::env::var("TEXTRNN_BENCH_MODE").is_ok_and(|m| m != mode) {
                    continue;
                }
                for fused in [true, false] {
                    // The (slow) reference rows are measured once.
                    if !fused
                        && (round > 0 || std::env::var_os("TEXTRNN_BENCH_FUSED_ONLY").is_some())
                    {
                        continue;
                    }
                    let m = measure(*case, fused, train, opts.quick)?;
                    eprintln!(
                        "  {:<15} {:<9} {:<5} {:>9.1} samples/s",
                        m.case, m.imp, m.mode, m.samples_per_s
                    );
                    let same = |r: &Measure| r.case == m.case && r.mode == m.mode && r.imp == m.imp;
                    match rows.iter_mut().find(|r| same(r)) {
                        Some(r) if r.samples_per_s < m.samples_per_s => *r = m,
                        Some(_) => {}
                        None => rows.push(m),
                    }
                }
            }
            // The other frameworks right after ours, case by case, so a ratio compares runs
            // minutes apart at most.
            if torch {
                keep_best(
                    &mut torch_rows,
                    run_python("bench_torch.py", case, opts.quick)?,
                );
            }
            if keras {
                keep_best(
                    &mut keras_rows,
                    run_python("bench_keras.py", case, opts.quick)?,
                );
            }
        }
    }
    set_fused_enabled(true);
    println!(
        "\n{:<15} {:<6} {:<9} {:>11} {:>10} {:>10} {:>8} {:>7} {:>9} {:>9} {:>9}",
        "case",
        "mode",
        "impl",
        "samples/s",
        "ms/batch",
        "cpu-ms/b",
        "GFLOP/s",
        "%peak",
        "peakMiB",
        "fused/ref",
        "cpu-ratio"
    );
    for m in &rows {
        let reference = rows
            .iter()
            .find(|r| r.case == m.case && r.mode == m.mode && r.imp == "reference");
        let (speedup, cpu_speedup) = match (m.imp, reference) {
            ("fused", Some(r)) => (
                format!("{:.1}x", m.samples_per_s / r.samples_per_s),
                format!("{:.1}x", r.cpu_ms_per_batch / m.cpu_ms_per_batch),
            ),
            _ => (String::new(), String::new()),
        };
        println!(
            "{:<15} {:<6} {:<9} {:>11.1} {:>10.1} {:>10.1} {:>8.1} {:>6.1}% {:>9} {:>9} {:>9}",
            m.case,
            m.mode,
            m.imp,
            m.samples_per_s,
            m.ms_per_batch,
            m.cpu_ms_per_batch,
            m.gflops,
            100.0 * m.gflops / peak,
            m.peak_mib.map_or("-".to_string(), |p| format!("{p:.0}")),
            speedup,
            cpu_speedup
        );
    }
    if torch {
        print_ratios("torch", &rows, &torch_rows);
    }
    if keras {
        print_ratios("keras", &rows, &keras_rows);
    }
    Ok(())
}

//! `cargo xtask bench`: throughput of the recurrent layers on the tutorial shapes.
//!
//! For each shape the measured step is the recurrent layer *including* its input projection
//! (`x (B,T,E) @ kernel (E,G·u) + bias`), a Dense(1) head on the final state, binary
//! cross-entropy on random labels and, for training, `backward` plus an AdamW update.
//! The embedding lookup is excluded (inputs are random `(B,T,E)` activations).
//!
//! - `train`: forward + backward + AdamW; `infer`: forward only with detached weights (nothing
//!   tracked, so the fused op keeps no activations).
//! - `fused` vs `reference` (the step-wise candle path, selected with `TEXTRNN_FUSED=0`).
//! - FLOPs: forward `2·B·T·(E·G·u + u·G·u)` per direction, training counted as 3× forward.
//! - Peak RSS: `VmHWM` from `/proc/self/status`, reset before each measurement by writing `5` to
//!   `/proc/self/clear_refs` (Linux). The reset sets the mark to the *current* RSS, which includes
//!   memory the allocator kept from earlier cases, so later rows are upper bounds.
//! - SGEMM peak: best of a few `1024×1024×1024` f32 matmuls through candle (the `gemm` crate,
//!   all rayon threads) — the "% peak" column is the fused step's GFLOP/s over this.
//! - `--vs-torch`: runs `xtask/bench_torch.py` (PyTorch `nn.LSTM`/`nn.GRU`, same shapes, same
//!   step, 2 threads) when `python3 -c "import torch"` works and prints our/PyTorch ratios.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use textrnn::models::{gru_sequence, lstm_sequence};

/// Selects the fused kernels or the step-wise reference through `TEXTRNN_FUSED`, which
/// `textrnn_models::recurrent::fused_enabled` reads at each call (the bench is single-threaded at
/// this point). Switch to `recurrent::set_fused_enabled` once `textrnn_models` exports it.
fn set_fused_enabled(enabled: bool) {
    std::env::set_var("TEXTRNN_FUSED", if enabled { "1" } else { "0" });
}

/// Options of `xtask bench`.
#[derive(Clone, Debug, Default)]
pub struct BenchOpts {
    /// Also run the PyTorch script and print our/PyTorch ratios.
    pub vs_torch: bool,
    /// Fewer iterations (smoke test, a few seconds per case).
    pub quick: bool,
    /// Only cases whose name contains one of these (e.g. `imdb`); all when empty.
    pub only: Vec<String>,
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
}

const CASES: [Case; 4] = [
    Case {
        name: "imdb_lstm",
        cell: Cell::Lstm,
        bidirectional: false,
        units: 100,
        emb: 32,
        len: 500,
        batch: 64,
    },
    Case {
        name: "imdb_bigru",
        cell: Cell::Gru,
        bidirectional: true,
        units: 64,
        emb: 128,
        len: 200,
        batch: 256,
    },
    Case {
        name: "agnews_lstm",
        cell: Cell::Lstm,
        bidirectional: false,
        units: 50,
        emb: 25,
        len: 50,
        batch: 512,
    },
    Case {
        name: "tweets_lstm",
        cell: Cell::Lstm,
        bidirectional: false,
        units: 256,
        emb: 32,
        len: 40,
        batch: 512,
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
}

fn randn(shape: &[usize], scale: f64, dev: &Device) -> Result<Tensor> {
    Ok((Tensor::randn(0f32, 1f32, shape, dev)? * scale)?)
}

impl Model {
    fn new(case: Case, dev: &Device) -> Result<Self> {
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
        let (b, t, e, u, g) = (c.batch, c.len, c.emb, c.units, c.gates());
        let p = |v: &Var| {
            if detach {
                v.as_tensor().detach()
            } else {
                v.as_tensor().clone()
            }
        };
        let h0 = Tensor::zeros((b, u), DType::F32, x.device())?;
        // [x, 1] · [kernel; bias]: the bias gradient comes out of the matmul backward instead
        // of a (B·T, G·u) column reduction, which candle does slowly on the CPU.
        let ones = Tensor::ones((b * t, 1), DType::F32, x.device())?;
        let x2 = Tensor::cat(&[&x.reshape((b * t, e))?, &ones], 1)?;
        let mut finals = Vec::new();
        for (k, d) in self.dirs.iter().enumerate() {
            let reverse = k == 1;
            let kernel = Tensor::cat(&[p(&d.kernel), p(&d.bias).unsqueeze(0)?], 0)?;
            let xproj = x2.matmul(&kernel)?.reshape((b, t, g * u))?;
            let out = match c.cell {
                Cell::Lstm => lstm_sequence(&xproj, &p(&d.w_hh), &h0, &h0, None, None, reverse)?,
                Cell::Gru => {
                    gru_sequence(&xproj, &p(&d.w_hh), &p(&d.b_hh), &h0, None, None, reverse)?
                }
            };
            let last = if reverse { 0 } else { t - 1 };
            finals.push(out.narrow(1, last, 1)?.squeeze(1)?);
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
    gflops: f64,
    peak_mib: Option<f64>,
}

/// Runs `step` (one batch) once to warm up when `warmup`, then until `budget` is spent (at least
/// `min_iters` times).
fn time_it(
    mut step: impl FnMut() -> Result<()>,
    warmup: bool,
    budget: Duration,
    min_iters: usize,
) -> Result<f64> {
    if warmup {
        step()?;
    }
    let start = Instant::now();
    let mut n = 0usize;
    while n < min_iters || start.elapsed() < budget {
        step()?;
        n += 1;
    }
    Ok(start.elapsed().as_secs_f64() / n as f64)
}

fn measure(case: Case, fused: bool, train: bool, quick: bool) -> Result<Measure> {
    let dev = Device::Cpu;
    set_fused_enabled(fused);
    let model = Model::new(case, &dev)?;
    let x = randn(&[case.batch, case.len, case.emb], 1.0, &dev)?;
    let labels = Tensor::rand(0f32, 1f32, (case.batch, 1), &dev)?
        .ge(0.5)?
        .to_dtype(DType::F32)?;
    // The reference path is ~10-100x slower: fewer iterations.
    let (budget, min_iters) = match (quick, fused) {
        (true, _) => (Duration::from_millis(300), 1),
        (false, true) => (Duration::from_secs(3), 3),
        (false, false) => (Duration::from_secs(3), 1),
    };
    reset_peak_rss();
    let secs = if train {
        let mut opt = AdamW::new(
            model.vars(),
            ParamsAdamW {
                lr: 1e-3,
                ..Default::default()
            },
        )?;
        time_it(
            || {
                let logits = model.forward(&x, false)?;
                let loss = candle_nn::loss::binary_cross_entropy_with_logit(&logits, &labels)?;
                opt.backward_step(&loss)?;
                Ok(())
            },
            fused,
            budget,
            min_iters,
        )?
    } else {
        time_it(
            || {
                let logits = model.forward(&x, true)?;
                std::hint::black_box(logits.sum_all()?.to_scalar::<f32>()?);
                Ok(())
            },
            fused,
            budget,
            min_iters,
        )?
    };
    let flops = case.fwd_flops() * if train { 3.0 } else { 1.0 };
    Ok(Measure {
        case: case.name,
        imp: if fused { "fused" } else { "reference" },
        mode: if train { "train" } else { "infer" },
        samples_per_s: case.batch as f64 / secs,
        ms_per_batch: secs * 1e3,
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

/// PyTorch results: (case, mode) -> samples/s.
fn run_torch(cases: &[Case], quick: bool) -> Result<Option<Vec<(String, String, f64)>>> {
    let has_torch = std::process::Command::new("python3")
        .args(["-c", "import torch"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_torch {
        println!("\nnote: --vs-torch: `python3 -c \"import torch\"` fails here, PyTorch comparison skipped");
        println!("      (PyPI only offers the CUDA build of torch for Linux; install a CPU wheel and rerun).");
        return Ok(None);
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench_torch.py");
    let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(&script).arg("--only").arg(names.join(","));
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
    Ok(Some(rows))
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
    let mut rows = Vec::new();
    for case in &cases {
        for train in [true, false] {
            for fused in [true, false] {
                let m = measure(*case, fused, train, opts.quick)?;
                eprintln!(
                    "  {:<12} {:<9} {:<5} {:>9.1} samples/s",
                    m.case, m.imp, m.mode, m.samples_per_s
                );
                rows.push(m);
            }
        }
    }
    set_fused_enabled(true);
    println!(
        "\n{:<12} {:<6} {:<9} {:>11} {:>10} {:>8} {:>7} {:>9} {:>9}",
        "case", "mode", "impl", "samples/s", "ms/batch", "GFLOP/s", "%peak", "peakMiB", "fused/ref"
    );
    for m in &rows {
        let reference = rows
            .iter()
            .find(|r| r.case == m.case && r.mode == m.mode && r.imp == "reference")
            .map_or(f64::NAN, |r| r.samples_per_s);
        let speedup = if m.imp == "fused" {
            format!("{:.1}x", m.samples_per_s / reference)
        } else {
            String::new()
        };
        println!(
            "{:<12} {:<6} {:<9} {:>11.1} {:>10.1} {:>8.1} {:>6.1}% {:>9} {:>9}",
            m.case,
            m.mode,
            m.imp,
            m.samples_per_s,
            m.ms_per_batch,
            m.gflops,
            100.0 * m.gflops / peak,
            m.peak_mib.map_or("-".to_string(), |p| format!("{p:.0}")),
            speedup
        );
    }
    if opts.vs_torch {
        if let Some(torch) = run_torch(&cases, opts.quick)? {
            println!(
                "\n{:<12} {:<6} {:>12} {:>12} {:>10}",
                "case", "mode", "ours/s", "torch/s", "ours/torch"
            );
            for m in rows.iter().filter(|m| m.imp == "fused") {
                if let Some((_, _, t)) = torch.iter().find(|(c, md, _)| c == m.case && md == m.mode)
                {
                    println!(
                        "{:<12} {:<6} {:>12.1} {:>12.1} {:>9.2}x",
                        m.case,
                        m.mode,
                        m.samples_per_s,
                        t,
                        m.samples_per_s / t
                    );
                }
            }
        }
    }
    Ok(())
}

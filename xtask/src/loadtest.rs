//! `cargo xtask loadtest`: `textrnn serve` under concurrent clients, against offline
//! `textrnn predict --file` and (with `--vs-python`) a FastAPI + PyTorch server of the same run.
//!
//! 1. Builds the release binary (`cargo build --release -p cli`).
//! 2. The run: `--run DIR`, else the default recipe (imdb-bigru) trained for one epoch on the
//!    embedded IMDB sample into `target/loadtest/imdb-bigru` (reused when it opens: throughput
//!    depends on the architecture, not on the accuracy).
//! 3. The texts, one IMDB review per request: `--texts FILE` (any file `predict --file` reads),
//!    else the test reviews of `../shared/datasets` when it is there, else the embedded sample's;
//!    `--reviews` of them, evenly spaced through the split (both classes).
//! 4. Offline: `textrnn predict RUN --file reviews.jsonl --output offline.jsonl` on the same
//!    reviews; its own rows/s (model loaded, process start excluded) and the wall-clock rate.
//! 5. Each server is started on loopback (`listening on http://IP:PORT` on its stdout, then
//!    `GET /readyz` 200) and, for each `--clients` count, driven by that many threads with a
//!    blocking HTTP client (one keep-alive connection each): `--warmup` requests per client
//!    (not counted), then requests until `--duration-s` has passed or `--max-requests` were
//!    sent, whichever comes first. Recorded: latency of every successful request (sorted for
//!    p50/p95/p99; memory bounded by `--max-requests`), texts/s, errors by kind (HTTP status,
//!    transport error, malformed answer).
//! 6. `--vs-python`: when `$TEXTRNN_BENCH_PYTHON` (default `python3`) imports torch, fastapi,
//!    uvicorn and tokenizers, `xtask/serve_torch.py` serves the same run (2 torch threads). Before
//!    it is measured, `serve_torch.py --check` must reproduce textrnn's padded ids on
//!    [`PARITY_IDS`] texts exactly and its probabilities within [`PARITY_TOLERANCE`] on
//!    [`PARITY_PROBS`] texts. Ratios ours/python for throughput and p99 follow the tables.
//!
//! The issue's targets (2-core machine, default recipe) are checked and printed: at 64 clients
//! at least half the offline rate and 3x the Python server; p99 under 250 ms at 8 clients;
//! no errors. `--json` prints the whole report as one JSON object instead.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;
use textrnn::data::imdb::load_imdb;
use textrnn::data::{DataConfig, LoadOptions};
use textrnn::predict_file::{read_file, PredictFileOptions};
use textrnn::{DataOptions, Recipe, Run, TrainOptions};

use crate::bench::{python, python_has};
use crate::sample::workspace_root;

/// Texts whose padded ids the Python server must reproduce exactly.
pub const PARITY_IDS: usize = 300;
/// Texts whose probabilities the Python server must reproduce.
pub const PARITY_PROBS: usize = 100;
/// Largest absolute difference allowed between textrnn's and torch's probabilities.
pub const PARITY_TOLERANCE: f64 = 1e-4;
/// Most requests one client level may send (bounds the latency vector).
pub const MAX_REQUESTS_LIMIT: usize = 10_000_000;
/// How long a server may take to print its address and answer `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Per-request timeout of the clients (a slower answer counts as a transport error).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of a server's stderr kept to explain a failure.
const LOG_TAIL_LINES: usize = 40;

/// Options of `cargo xtask loadtest`.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Run directory to serve (default: imdb-bigru trained for 1 epoch on the embedded IMDB
    /// sample into target/loadtest/imdb-bigru, reused when present).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Measured seconds per client level, at most.
    #[arg(long, default_value_t = 10.0)]
    pub duration_s: f64,
    /// Measured requests per client level, at most.
    #[arg(long, default_value_t = 20_000)]
    pub max_requests: usize,
    /// Concurrent client counts.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    pub clients: Vec<usize>,
    /// Requests per client before measuring (not counted).
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Texts to send (a file `predict --file` reads; default: IMDB test reviews from
    /// ../shared/datasets, else the embedded sample's).
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    /// How many texts to use (requests cycle through them).
    #[arg(long, default_value_t = 5_000)]
    pub reviews: usize,
    /// Passed to `textrnn serve --max-batch`.
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Passed to `textrnn serve --max-wait-ms`.
    #[arg(long)]
    pub max_wait_ms: Option<u64>,
    /// Also serve the run from xtask/serve_torch.py (FastAPI + PyTorch, under
    /// $TEXTRNN_BENCH_PYTHON) and print ratios.
    #[arg(long)]
    pub vs_python: bool,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// One client level against one server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    /// Concurrent clients.
    pub clients: usize,
    /// Measured requests (successful or not).
    pub requests: usize,
    /// Successful requests (one text each).
    pub ok: usize,
    /// Measured wall-clock seconds.
    pub seconds: f64,
    /// Successful texts per second.
    pub texts_per_s: f64,
    /// Latency percentiles of the successful requests, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest successful request.
    pub max_ms: f64,
    /// Failed requests by kind (`HTTP 503`, `transport ConnectionFailed`, `bad response`).
    pub errors: BTreeMap<String, usize>,
    /// CPU seconds the server process used while measured (Linux `/proc`; `None` elsewhere).
    pub server_cpu_s: Option<f64>,
    /// CPU seconds this load generator used while measured (its clients share the machine).
    pub client_cpu_s: Option<f64>,
}

impl Level {
    /// All failed requests.
    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
}

/// One server's levels.
#[derive(Debug, Serialize)]
struct ServerReport {
    server: String,
    command: String,
    levels: Vec<Level>,
}

/// Offline `predict --file` on the same texts.
#[derive(Debug, Serialize)]
struct Offline {
    rows: usize,
    /// The rate `predict` reports (reading, predicting, writing; model load excluded).
    rows_per_s: Option<f64>,
    /// Rows over the whole process' wall-clock time.
    wall_rows_per_s: f64,
    wall_seconds: f64,
}

impl Offline {
    /// The rate the targets compare with: `predict`'s own, else the wall-clock one.
    fn rate(&self) -> f64 {
        self.rows_per_s.unwrap_or(self.wall_rows_per_s)
    }
}

/// What `serve_torch.py --check` found.
#[derive(Debug, Serialize, serde::Deserialize)]
struct Parity {
    texts: usize,
    id_mismatches: usize,
    probabilities_checked: usize,
    max_abs_diff: f64,
    #[serde(default)]
    first_mismatch: Option<serde_json::Value>,
}

/// ours/python at one client count.
#[derive(Debug, Serialize)]
struct Ratio {
    clients: usize,
    throughput: f64,
    p99: f64,
}

/// One of the issue's targets.
#[derive(Debug, Serialize)]
struct Target {
    what: String,
    measured: String,
    met: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    run_dir: String,
    texts_source: String,
    texts: usize,
    cpus: usize,
    offline: Offline,
    servers: Vec<ServerReport>,
    parity: Option<Parity>,
    python_skipped: Option<String>,
    ratios: Vec<Ratio>,
    targets: Vec<Target>,
}

/// Runs the load test (see the module docs).
pub fn run(opts: Options) -> Result<()> {
    ensure!(
        opts.duration_s > 0.0 && opts.duration_s.is_finite(),
        "--duration-s must be a positive number of seconds, not {}",
        opts.duration_s
    );
    ensure!(
        (1..=MAX_REQUESTS_LIMIT).contains(&opts.max_requests),
        "--max-requests must be in 1..={MAX_REQUESTS_LIMIT}, not {}",
        opts.max_requests
    );
    ensure!(
        !opts.clients.is_empty() && opts.clients.iter().all(|&c| (1..=4096).contains(&c)),
        "--clients must list client counts in 1..=4096, e.g. 1,8,64"
    );
    ensure!(opts.reviews > 0, "--reviews must be at least 1");
    if let Some(dir) = &opts.run {
        ensure!(dir.is_dir(), "--run {}: not a run directory", dir.display());
    }
    let root = workspace_root();
    let work = target_dir(&root).join("loadtest");
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let bin = build_release(&root)?;

    let run_dir = match &opts.run {
        Some(dir) => dir.clone(),
        None => default_run(&work.join("imdb-bigru"))?,
    };
    let name = run_dir
        .canonicalize()
        .with_context(|| format!("resolving the run directory {}", run_dir.display()))?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("{} has no last path component", run_dir.display()))?;
    let (texts, texts_source) = load_texts(&opts, &root)?;
    tracing::info!(texts = texts.len(), source = %texts_source, "texts");
    let reviews = work.join("reviews.jsonl");
    textrnn::fs::write(&reviews, jsonl_texts(&texts)?.as_bytes())?;

    let offline = measure_offline(&bin, &run_dir, &reviews, &work.join("offline.jsonl"))?;
    tracing::info!(rows_per_s = offline.rate(), "offline predict --file");

    let bodies = Arc::new(
        texts
            .iter()
            .map(|t| serde_json::to_string(&serde_json::json!({ "texts": [t] })))
            .collect::<serde_json::Result<Vec<String>>>()?,
    );
    let mut servers = Vec::new();
    let mut ours = Command::new(&bin);
    ours.arg("serve")
        .arg(&run_dir)
        .args(["--host", "127.0.0.1", "--port", "0"]);
    if let Some(n) = opts.max_batch {
        ours.arg("--max-batch").arg(n.to_string());
    }
    if let Some(ms) = opts.max_wait_ms {
        ours.arg("--max-wait-ms").arg(ms.to_string());
    }
    servers.push(drive_server("textrnn serve", ours, &name, &bodies, &opts)?);

    let (mut parity, mut python_skipped) = (None, None);
    if opts.vs_python {
        let script = root.join("xtask/serve_torch.py");
        if python_has(
            "serve_torch.py",
            "torch, fastapi, uvicorn, tokenizers",
            "pip install torch fastapi uvicorn tokenizers",
        ) {
            let found = check_parity(&run_dir, &texts, &script, &work.join("parity.jsonl"))?;
            ensure!(
                found.id_mismatches == 0 && found.max_abs_diff <= PARITY_TOLERANCE,
                "serve_torch.py does not reproduce the run (texts {}, id mismatches {}, max |p diff| {:.3e} > {PARITY_TOLERANCE:e}?); first mismatch: {}",
                found.texts,
                found.id_mismatches,
                found.max_abs_diff,
                found.first_mismatch.as_ref().map_or_else(|| "-".to_string(), |v| v.to_string())
            );
            parity = Some(found);
            let mut py = Command::new(python());
            py.arg(&script).arg(&run_dir).args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--threads",
                "2",
            ]);
            servers.push(drive_server(
                "FastAPI + PyTorch",
                py,
                &name,
                &bodies,
                &opts,
            )?);
        } else {
            python_skipped = Some(format!(
                "{} cannot import torch, fastapi, uvicorn and tokenizers",
                python()
            ));
        }
    }

    let ratios = match servers.as_slice() {
        [ours, python] => ratios(&ours.levels, &python.levels),
        _ => Vec::new(),
    };
    let targets = targets(&offline, &servers, &ratios);
    let report = Report {
        run_dir: run_dir.display().to_string(),
        texts_source,
        texts: texts.len(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        offline,
        servers,
        parity,
        python_skipped,
        ratios,
        targets,
    };
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

/// The cargo target directory (`CARGO_TARGET_DIR`, else `target/` in the workspace).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// `cargo build --release -p cli`; the path of the `textrnn` binary.
fn build_release(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    tracing::info!("cargo build --release -p cli");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "cli"])
        .current_dir(root)
        .status()
        .with_context(|| format!("running {} build", cargo.to_string_lossy()))?;
    ensure!(
        status.success(),
        "cargo build --release -p cli failed ({status})"
    );
    let bin = target_dir(root).join("release").join("textrnn");
    ensure!(bin.is_file(), "{} was not built", bin.display());
    Ok(bin)
}

/// The default recipe trained for one epoch on the embedded IMDB sample into `dir`; an existing
/// run there is reused when it opens.
fn default_run(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        match Run::open(dir) {
            Ok(_) => {
                tracing::info!(run = %dir.display(), "reusing the cached run");
                return Ok(dir.to_path_buf());
            }
            Err(e) => {
                tracing::warn!("retraining {}: {e}", dir.display());
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("clearing {}", dir.display()))?;
            }
        }
    }
    let mut recipe = Recipe::builtin("imdb-bigru")?;
    recipe.data = DataConfig::ImdbSample;
    recipe.train.epochs = 1;
    tracing::info!(run = %dir.display(), "training imdb-bigru for 1 epoch on the embedded IMDB sample");
    let opts = TrainOptions {
        data: DataOptions {
            data_dir: None,
            progress: false,
        },
        out: Some(dir.to_path_buf()),
        ..TrainOptions::default()
    };
    textrnn::train_run(&recipe, &opts).context("training the load-test run")?;
    Ok(dir.to_path_buf())
}

/// The request texts and where they came from (see the module docs).
fn load_texts(opts: &Options, root: &Path) -> Result<(Vec<String>, String)> {
    if let Some(path) = &opts.texts {
        let mut texts = Vec::new();
        for row in read_file(path, &PredictFileOptions::default())? {
            let (_, text) = row?;
            if !text.trim().is_empty() {
                texts.push(text);
                if texts.len() == opts.reviews {
                    break;
                }
            }
        }
        ensure!(
            !texts.is_empty(),
            "{} holds no non-empty text",
            path.display()
        );
        return Ok((texts, path.display().to_string()));
    }
    let shared = root.join("../shared/datasets");
    let (test, source) = if shared.join("aclImdb_v1_labeled.tar.gz").is_file()
        || shared.join("aclImdb_v1.tar.gz").is_file()
        || shared.join("aclImdb").is_dir()
    {
        // Only the shared directory: no environment, no cache, no network.
        let mut load =
            LoadOptions::isolated(shared.join(".textrnn-no-cache")).with_data_dir(&shared);
        load.hub.enabled = false;
        let corpus = load_imdb(None, &load)
            .with_context(|| format!("reading IMDB from {}", shared.display()))?;
        let source = format!("IMDB test reviews ({})", corpus.source);
        (corpus.test, source)
    } else {
        let corpus = textrnn::data::imdb_sample::load_imdb_sample()?;
        (
            corpus.test,
            "embedded IMDB sample, test reviews".to_string(),
        )
    };
    let test = test.context("the IMDB corpus has no test split")?;
    let texts = evenly_spaced(&test.texts, opts.reviews);
    ensure!(!texts.is_empty(), "no IMDB test review found ({source})");
    Ok((texts, source))
}

/// `n` items spread evenly over `items` (all of them when `n >= len`), in order.
pub fn evenly_spaced(items: &[String], n: usize) -> Vec<String> {
    if n >= items.len() {
        return items.to_vec();
    }
    (0..n).map(|i| items[i * items.len() / n].clone()).collect()
}

/// One `{"text": ...}` JSON line per text.
fn jsonl_texts(texts: &[String]) -> Result<String> {
    let mut out = String::new();
    for t in texts {
        out.push_str(&serde_json::to_string(&serde_json::json!({ "text": t }))?);
        out.push('\n');
    }
    Ok(out)
}

/// `textrnn predict RUN --file reviews --output out`, timed.
fn measure_offline(bin: &Path, run_dir: &Path, reviews: &Path, out: &Path) -> Result<Offline> {
    let start = Instant::now();
    let output = Command::new(bin)
        .arg("-q")
        .arg("predict")
        .arg(run_dir)
        .arg("--file")
        .arg(reviews)
        .arg("--output")
        .arg(out)
        .output()
        .with_context(|| format!("running {} predict", bin.display()))?;
    let wall = start.elapsed().as_secs_f64();
    ensure!(
        output.status.success(),
        "textrnn predict --file failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let written =
        std::fs::read_to_string(out).with_context(|| format!("reading {}", out.display()))?;
    let rows = written.lines().filter(|l| !l.trim().is_empty()).count();
    Ok(Offline {
        rows,
        rows_per_s: reported_rate(&String::from_utf8_lossy(&output.stdout)),
        wall_rows_per_s: rows as f64 / wall.max(1e-9),
        wall_seconds: wall,
    })
}

/// The `(N rows/s)` that `predict --output` prints in its summary line, when there.
pub fn reported_rate(stdout: &str) -> Option<f64> {
    let end = stdout.find(" rows/s)")?;
    let start = stdout[..end].rfind('(')? + 1;
    stdout[start..end].trim().replace(',', "").parse().ok()
}

/// Writes textrnn's padded ids (first [`PARITY_IDS`] texts) and probabilities (first
/// [`PARITY_PROBS`]) to `file` and runs `serve_torch.py --check` on them.
fn check_parity(run_dir: &Path, texts: &[String], script: &Path, file: &Path) -> Result<Parity> {
    let run = Run::open(run_dir)?;
    let recipe = run.config().recipe();
    let maxlen = run.config().maxlen();
    let sample = &texts[..texts.len().min(PARITY_IDS)];
    let cleaned = recipe.text.pipeline()?.apply_all(sample);
    let ids = recipe.text.encode(run.tokenizer(), maxlen, &cleaned)?;
    let n_probs = sample.len().min(PARITY_PROBS);
    let preds = run.predict(&sample[..n_probs], 256, false)?;
    let classes = preds.n_classes;
    let mut lines = String::new();
    for (i, text) in sample.iter().enumerate() {
        let probs = (i < n_probs).then(|| &preds.probs[i * classes..(i + 1) * classes]);
        let row = serde_json::json!({
            "text": text,
            "ids": &ids[i * maxlen..(i + 1) * maxlen],
            "probabilities": probs,
        });
        lines.push_str(&serde_json::to_string(&row)?);
        lines.push('\n');
    }
    textrnn::fs::write(file, lines.as_bytes())?;
    let out = Command::new(python())
        .arg(script)
        .arg(run_dir)
        .arg("--check")
        .arg(file)
        .output()
        .with_context(|| format!("running {} --check", script.display()))?;
    ensure!(
        out.status.success(),
        "{} --check failed ({}): {}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let parity: Parity = serde_json::from_str(line).with_context(|| {
        format!(
            "reading the report of {} --check: {line:?}",
            script.display()
        )
    })?;
    tracing::info!(
        texts = parity.texts,
        id_mismatches = parity.id_mismatches,
        max_abs_diff = parity.max_abs_diff,
        "serve_torch.py parity"
    );
    Ok(parity)
}

/// A started server, killed when dropped.
struct Server {
    child: Child,
    url: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// Starts `cmd`, waits for its `listening on URL` line and for `GET URL/readyz` to answer 200.
    fn start(label: &str, mut cmd: Command) -> Result<Self> {
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {label}: {shown}"))?;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut sent = false;
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    match listening_url(&line) {
                        Some(url) if !sent => sent = tx.send(url).is_ok(),
                        _ => keep_tail(&log, line),
                    }
                }
            });
        }
        if let Some(stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    keep_tail(&log, line);
                }
            });
        }
        let mut server = Server {
            child,
            url: String::new(),
            log,
        };
        server.url = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(url) => url,
            Err(_) => bail!(
                "{label} printed no `listening on http://...` line within {} s{}",
                READY_TIMEOUT.as_secs(),
                server.exit_and_log()
            ),
        };
        let agent = agent();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(resp) = agent.get(&format!("{}/readyz", server.url)).call() {
                if resp.status() == 200 {
                    break;
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "{label} never answered 200 on /readyz{}",
                    server.exit_and_log()
                );
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!("{label} exited ({status}){}", server.exit_and_log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        tracing::info!(url = %server.url, "{label} ready");
        Ok(server)
    }

    /// The exit status (when exited) and the last lines of output, for an error message.
    fn exit_and_log(&mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(s)) => format!(" (exited: {s})"),
            _ => String::new(),
        };
        let tail = self
            .log
            .lock()
            .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        format!("{status}; its last output:\n{tail}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Best effort: the server may already have exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appends `line` to a bounded tail.
fn keep_tail(log: &Mutex<VecDeque<String>>, line: String) {
    if let Ok(mut log) = log.lock() {
        if log.len() == LOG_TAIL_LINES {
            log.pop_front();
        }
        log.push_back(line);
    }
}

/// The URL of a `listening on http://IP:PORT` line, without a trailing slash.
pub fn listening_url(line: &str) -> Option<String> {
    let url = line.trim().strip_prefix("listening on ")?.trim();
    (url.starts_with("http://") && url.len() > "http://".len())
        .then(|| url.trim_end_matches('/').to_string())
}

/// A blocking HTTP client with one keep-alive connection.
fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(REQUEST_TIMEOUT)
        .max_idle_connections_per_host(1)
        .build()
}

/// Starts a server, drives it at every client level, stops it.
fn drive_server(
    label: &str,
    cmd: Command,
    model: &str,
    bodies: &Arc<Vec<String>>,
    opts: &Options,
) -> Result<ServerReport> {
    let command = format!("{cmd:?}");
    let server = Server::start(label, cmd)?;
    let endpoint = format!("{}/v1/models/{model}/predict", server.url);
    let mut levels = Vec::new();
    for &clients in &opts.clients {
        let level = drive(
            &endpoint,
            bodies,
            clients,
            opts.warmup,
            Duration::from_secs_f64(opts.duration_s),
            opts.max_requests,
            Some(server.child.id()),
        )?;
        tracing::info!(
            clients,
            requests = level.requests,
            texts_per_s = format!("{:.1}", level.texts_per_s),
            p99_ms = format!("{:.1}", level.p99_ms),
            errors = level.error_count(),
            "{label}"
        );
        levels.push(level);
    }
    drop(server);
    Ok(ServerReport {
        server: label.to_string(),
        command,
        levels,
    })
}

/// What one client thread measured.
#[derive(Default)]
struct ClientTally {
    latencies_us: Vec<u32>,
    requests: usize,
    errors: BTreeMap<String, usize>,
}

/// `clients` threads POST `bodies` (cycling) to `endpoint`: `warmup` requests each, then until
/// `duration` has passed or `max_requests` were sent in all. `server` is the server's process
/// id, for its CPU time.
pub fn drive(
    endpoint: &str,
    bodies: &Arc<Vec<String>>,
    clients: usize,
    warmup: usize,
    duration: Duration,
    max_requests: usize,
    server: Option<u32>,
) -> Result<Level> {
    ensure!(!bodies.is_empty(), "no request body to send");
    let issued = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(clients + 1));
    let mut handles = Vec::with_capacity(clients);
    for c in 0..clients {
        let (endpoint, bodies) = (endpoint.to_string(), Arc::clone(bodies));
        let (issued, barrier) = (Arc::clone(&issued), Arc::clone(&barrier));
        handles.push(std::thread::spawn(move || {
            let agent = agent();
            for w in 0..warmup {
                // Warm-up answers are not counted, failed or not.
                let _ = request(&agent, &endpoint, &bodies[(c + w * clients) % bodies.len()]);
            }
            barrier.wait();
            let deadline = Instant::now() + duration;
            let mut tally = ClientTally::default();
            while Instant::now() < deadline {
                let i = issued.fetch_add(1, Ordering::Relaxed);
                if i >= max_requests {
                    break;
                }
                let start = Instant::now();
                let outcome = request(&agent, &endpoint, &bodies[i % bodies.len()]);
                let micros = start.elapsed().as_micros();
                tally.requests += 1;
                match outcome {
                    Ok(()) => tally
                        .latencies_us
                        .push(u32::try_from(micros).unwrap_or(u32::MAX)),
                    Err(kind) => *tally.errors.entry(kind).or_default() += 1,
                }
            }
            tally
        }));
    }
    barrier.wait();
    let start = Instant::now();
    let cpu_before = (cpu_seconds(server), cpu_seconds(None));
    let mut all = ClientTally::default();
    for h in handles {
        let t = h
            .join()
            .map_err(|_| anyhow::anyhow!("a load-test client thread panicked"))?;
        all.latencies_us.extend(t.latencies_us);
        all.requests += t.requests;
        for (k, n) in t.errors {
            *all.errors.entry(k).or_default() += n;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let used = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    let mut level = summarize(clients, all, seconds);
    level.server_cpu_s = server.and_then(|_| used(cpu_before.0, cpu_seconds(server)));
    level.client_cpu_s = used(cpu_before.1, cpu_seconds(None));
    Ok(level)
}

/// User + system CPU seconds of process `pid` (`None`: this one) so far, from `/proc/PID/stat`
/// (Linux; `None` where it cannot be read).
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_string(),
        |p| format!("/proc/{p}/stat"),
    );
    parse_cpu_seconds(&std::fs::read_to_string(path).ok()?)
}

/// User + system CPU seconds from the text of a `/proc/PID/stat` file.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    // Fields after the parenthesised command name: state is the first, utime the 12th, stime
    // the 13th (`man 5 proc`), in clock ticks of USER_HZ = 100 on Linux.
    let mut fields = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Percentiles and rates of a level.
fn summarize(clients: usize, mut tally: ClientTally, seconds: f64) -> Level {
    tally.latencies_us.sort_unstable();
    let ms = |q: f64| percentile_us(&tally.latencies_us, q) / 1000.0;
    Level {
        clients,
        requests: tally.requests,
        ok: tally.latencies_us.len(),
        seconds,
        texts_per_s: tally.latencies_us.len() as f64 / seconds.max(1e-9),
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: ms(1.0),
        errors: tally.errors,
        server_cpu_s: None,
        client_cpu_s: None,
    }
}

/// Nearest-rank percentile `q` (0..=1) of sorted values; 0 when empty.
pub fn percentile_us(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One prediction request; `Err(kind)` names what went wrong.
fn request(agent: &ureq::Agent, endpoint: &str, body: &str) -> std::result::Result<(), String> {
    match agent
        .post(endpoint)
        .set("Content-Type", "application/json")
        .send_string(body)
    {
        Ok(resp) => {
            let text = resp
                .into_string()
                .map_err(|e| format!("transport {:?}", e.kind()))?;
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) if one_ok_prediction(&v) => Ok(()),
                _ => Err("bad response".to_string()),
            }
        }
        Err(ureq::Error::Status(code, resp)) => {
            // Read the body so that the connection can be reused.
            let mut sink = Vec::new();
            let _ = resp.into_reader().take(1 << 20).read_to_end(&mut sink);
            Err(format!("HTTP {code}"))
        }
        Err(ureq::Error::Transport(t)) => Err(format!("transport {:?}", t.kind())),
    }
}

/// Whether an answer holds exactly one prediction with status `ok`.
fn one_ok_prediction(v: &serde_json::Value) -> bool {
    v["predictions"]
        .as_array()
        .is_some_and(|p| p.len() == 1 && p[0]["status"] == "ok")
}

/// ours/python at every client count both have.
fn ratios(ours: &[Level], python: &[Level]) -> Vec<Ratio> {
    ours.iter()
        .filter_map(|o| {
            let p = python.iter().find(|p| p.clients == o.clients)?;
            Some(Ratio {
                clients: o.clients,
                throughput: o.texts_per_s / p.texts_per_s.max(1e-9),
                p99: o.p99_ms / p.p99_ms.max(1e-9),
            })
        })
        .collect()
}

/// The issue's targets, for the levels that were measured.
fn targets(offline: &Offline, servers: &[ServerReport], ratios: &[Ratio]) -> Vec<Target> {
    let mut out = Vec::new();
    let Some(ours) = servers.first() else {
        return out;
    };
    if let Some(l) = ours.levels.iter().find(|l| l.clients == 64) {
        let share = l.texts_per_s / offline.rate().max(1e-9);
        out.push(Target {
            what: "64 clients: throughput >= 0.5 x offline predict --file".into(),
            measured: format!(
                "{:.1} / {:.1} texts/s = {share:.2}",
                l.texts_per_s,
                offline.rate()
            ),
            met: share >= 0.5,
        });
    }
    if let Some(r) = ratios.iter().find(|r| r.clients == 64) {
        out.push(Target {
            what: "64 clients: throughput >= 3 x FastAPI + PyTorch".into(),
            measured: format!("{:.2}x", r.throughput),
            met: r.throughput >= 3.0,
        });
    }
    if let Some(l) = ours.levels.iter().find(|l| l.clients == 8) {
        out.push(Target {
            what: "8 clients: p99 < 250 ms".into(),
            measured: format!("{:.1} ms", l.p99_ms),
            met: l.p99_ms < 250.0,
        });
    }
    let errors: usize = ours.levels.iter().map(Level::error_count).sum();
    out.push(Target {
        what: "no errors (textrnn serve, every level)".into(),
        measured: errors.to_string(),
        met: errors == 0,
    });
    out
}

/// The report as Markdown tables.
fn render(r: &Report) -> String {
    let cpu = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nRun {} ; {} texts ({}) ; {} CPU threads\n",
        r.run_dir, r.texts, r.texts_source, r.cpus
    );
    let _ = writeln!(
        s,
        "Offline `textrnn predict --file`: {} rows, {} rows/s as reported ({:.1} rows/s over the process' {:.2} s)\n",
        r.offline.rows,
        r.offline
            .rows_per_s
            .map_or_else(|| "-".to_string(), |v| format!("{v:.1}")),
        r.offline.wall_rows_per_s,
        r.offline.wall_seconds
    );
    if let Some(p) = &r.parity {
        let _ = writeln!(
            s,
            "serve_torch.py parity: ids identical on {} texts ({} mismatches); probabilities on {} texts, max |diff| {:.2e}\n",
            p.texts, p.id_mismatches, p.probabilities_checked, p.max_abs_diff
        );
    }
    if let Some(why) = &r.python_skipped {
        let _ = writeln!(s, "FastAPI + PyTorch skipped: {why}\n");
    }
    let _ = writeln!(
        s,
        "| server | clients | requests | texts/s | p50 ms | p95 ms | p99 ms | errors | CPU s server / clients |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---|---:|");
    for server in &r.servers {
        for l in &server.levels {
            let errors = if l.errors.is_empty() {
                "0".to_string()
            } else {
                l.errors
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} / {} |",
                server.server,
                l.clients,
                l.requests,
                l.texts_per_s,
                l.p50_ms,
                l.p95_ms,
                l.p99_ms,
                errors,
                cpu(l.server_cpu_s),
                cpu(l.client_cpu_s)
            );
        }
    }
    if !r.ratios.is_empty() {
        let _ = writeln!(
            s,
            "\n| clients | throughput ours/python | p99 ours/python |\n|---:|---:|---:|"
        );
        for x in &r.ratios {
            let _ = writeln!(s, "| {} | {:.2}x | {:.2} |", x.clients, x.throughput, x.p99);
        }
    }
    if !r.targets.is_empty() {
        let _ = writeln!(s, "\nTargets:");
        for t in &r.targets {
            let _ = writeln!(
                s,
                "- [{}] {}: {}",
                if t.met { "met" } else { "MISSED" },
                t.what,
                t.measured
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write as _;
    use std::net::TcpListener;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile_us(&v, 0.50), 50.0);
        assert_eq!(percentile_us(&v, 0.95), 95.0);
        assert_eq!(percentile_us(&v, 0.99), 99.0);
        assert_eq!(percentile_us(&v, 1.0), 100.0);
        assert_eq!(percentile_us(&v, 0.0), 1.0);
        assert_eq!(percentile_us(&[7], 0.99), 7.0);
        assert_eq!(percentile_us(&[], 0.5), 0.0);
    }

    #[test]
    fn listening_line_and_reported_rate_parse() {
        assert_eq!(
            listening_url("listening on http://127.0.0.1:40123\n").as_deref(),
            Some("http://127.0.0.1:40123")
        );
        assert_eq!(
            listening_url("listening on http://[::1]:80/").as_deref(),
            Some("http://[::1]:80")
        );
        assert_eq!(listening_url("INFO starting"), None);
        assert_eq!(listening_url("listening on http://"), None);
        assert_eq!(
            reported_rate("Predicted 2 rows (0 empty texts) in 0.0 s (377 rows/s); wrote o.jsonl"),
            Some(377.0)
        );
        assert_eq!(reported_rate("Predicted 2 rows"), None);
    }

    #[test]
    fn cpu_seconds_parse_proc_stat() {
        // A command name with spaces and parentheses; utime 250 and stime 75 ticks.
        let stat = "42 (a (b) c) S 1 2 3 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 1 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.25));
        assert_eq!(parse_cpu_seconds("42 (x) S 1"), None);
        #[cfg(target_os = "linux")]
        assert!(cpu_seconds(None).is_some_and(|s| s >= 0.0));
    }

    #[test]
    fn evenly_spaced_keeps_order_and_spreads() {
        let items: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        assert_eq!(evenly_spaced(&items, 3), ["0", "3", "6"]);
        assert_eq!(evenly_spaced(&items, 20), items);
    }

    /// A stub of `textrnn serve`'s predict route: HTTP/1.1 keep-alive, answers `status` with
    /// `body` to every request.
    fn stub(status: u16, body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    loop {
                        let mut length = 0usize;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            let lower = line.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap();
                            }
                        }
                        let mut req = vec![0; length];
                        reader.read_exact(&mut req).unwrap();
                        let answer = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if conn.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        format!("http://{addr}/v1/models/m/predict")
    }

    fn bodies() -> Arc<Vec<String>> {
        Arc::new(vec![
            r#"{"texts":["a"]}"#.into(),
            r#"{"texts":["b"]}"#.into(),
        ])
    }

    #[test]
    fn drive_stops_at_max_requests_and_counts_ok() {
        let url = stub(
            200,
            r#"{"model":"m","predictions":[{"label":"pos","status":"ok"}]}"#,
        );
        let level = drive(&url, &bodies(), 4, 2, Duration::from_secs(60), 50, None).unwrap();
        assert_eq!(level.clients, 4);
        assert_eq!(level.requests, 50);
        assert_eq!(level.ok, 50);
        assert!(level.errors.is_empty());
        assert!(level.p50_ms <= level.p95_ms && level.p95_ms <= level.p99_ms);
        assert!(level.texts_per_s > 0.0);
    }

    #[test]
    fn drive_counts_errors_by_kind() {
        let busy = stub(503, r#"{"error":"queue full"}"#);
        let level = drive(&busy, &bodies(), 2, 0, Duration::from_secs(60), 10, None).unwrap();
        assert_eq!((level.requests, level.ok), (10, 0));
        assert_eq!(level.errors, BTreeMap::from([("HTTP 503".to_string(), 10)]));
        let wrong = stub(200, r#"{"predictions":[]}"#);
        let level = drive(&wrong, &bodies(), 1, 0, Duration::from_secs(60), 3, None).unwrap();
        assert_eq!(
            level.errors,
            BTreeMap::from([("bad response".to_string(), 3)])
        );
        // Nobody listens on a freshly closed port.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/v1/models/m/predict");
        let level = drive(&url, &bodies(), 1, 0, Duration::from_secs(60), 2, None).unwrap();
        assert_eq!(
            level.errors,
            BTreeMap::from([("transport ConnectionFailed".to_string(), 2)])
        );
    }

    #[test]
    fn drive_stops_at_the_deadline() {
        let url = stub(
            200,
            r#"{"model":"m","predictions":[{"label":"pos","status":"ok"}]}"#,
        );
        let level = drive(
            &url,
            &bodies(),
            2,
            0,
            Duration::from_millis(200),
            1_000_000_000,
            None,
        )
        .unwrap();
        assert!(level.seconds < 5.0, "{}", level.seconds);
        assert!(level.requests > 0 && level.requests < 1_000_000_000);
    }
}

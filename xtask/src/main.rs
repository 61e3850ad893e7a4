//! Developer tasks: `cargo xtask experiments` (the tutorials' experiment matrix),
//! `cargo xtask bench` (recurrent-kernel benchmarks) and `cargo xtask imdb-sample` (the IMDB
//! sample bundled in textrnn-data) and `cargo xtask loadtest` (`textrnn serve` under concurrent
//! clients, against offline predict and a FastAPI + PyTorch server).

mod bench;
mod experiments;
mod loadtest;
mod multilabel;
mod parity;
mod sample;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// textrnn developer tasks.
#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the tutorial recipes end to end and write results.md / results.json.
    Experiments {
        /// Only these recipes (repeatable).
        #[arg(long)]
        only: Vec<String>,
        /// Every recipe on a small slice (1 epoch, ~2,000 training examples): minutes, not hours.
        #[arg(long)]
        quick: bool,
        /// Where the corpora are (default: ../shared/datasets when it exists, else TEXTRNN_DATA_DIR / cache / download).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Output directory for run directories and the results table.
        #[arg(long, default_value = "experiments")]
        out: PathBuf,
        /// Seed for every recipe (default: each recipe's own); with --seeds, the first seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Run each recipe this many times, with seeds S, S+1, ... (S = --seed, default 1), and
        /// add a table of the test metrics' mean, standard deviation, min and max.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
        seeds: Option<u64>,
        /// Train every recipe for this many epochs (e.g. to match the tutorial's number of
        /// optimizer steps on a smaller sample).
        #[arg(long)]
        epochs: Option<usize>,
        /// Also train each recipe and seed in Keras on the same splits (xtask/keras_anchor.py,
        /// run by $TEXTRNN_BENCH_PYTHON, default python3) and show both side by side, with
        /// issue #16's targets and, with --seeds, the standard error of the mean difference.
        #[arg(long)]
        vs_keras: bool,
    },
    /// Benchmark fused vs reference recurrent kernels on the tutorial shapes.
    Bench {
        /// Also run the same shapes in PyTorch (when importable) and print ratios.
        #[arg(long)]
        vs_torch: bool,
        /// Also run the same shapes in Keras/TensorFlow (when importable) and print ratios.
        #[arg(long)]
        vs_keras: bool,
        /// Fewer iterations.
        #[arg(long)]
        quick: bool,
        /// Only shapes whose name contains one of these.
        #[arg(long)]
        only: Vec<String>,
        /// Measure ours, PyTorch and Keras case by case this many times and report each one's
        /// best (a shared machine's noise only slows runs down).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        rounds: u32,
    },
    /// Write datasets/imdb-sample.jsonl.gz, the balanced IMDB sample bundled in the binary, from
    /// the original corpus (offline; see the `[sample]` section of datasets/imdb.toml).
    ImdbSample {
        /// Where aclImdb_v1.tar.gz, aclImdb_v1_labeled.tar.gz or aclImdb/ is (default:
        /// TEXTRNN_DATA_DIR, else ../shared/datasets beside the workspace).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Training reviews, half of each class.
        #[arg(long, default_value_t = textrnn::data::imdb_sample::SAMPLE_TRAIN)]
        train: usize,
        /// Test reviews, half of each class.
        #[arg(long, default_value_t = textrnn::data::imdb_sample::SAMPLE_TEST)]
        test: usize,
        /// Seed of the draw.
        #[arg(long, default_value_t = textrnn::data::imdb_sample::SAMPLE_SEED)]
        seed: u64,
        /// Output file (default: datasets/imdb-sample.jsonl.gz in the workspace).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load-test `textrnn serve` at 1, 8 and 64 concurrent clients (one IMDB review per request)
    /// against offline `textrnn predict --file` and, with --vs-python, a FastAPI + PyTorch server
    /// of the same run; stops by itself.
    Loadtest(loadtest::Options),
    /// Step-level Keras parity: train small models (or a recipe's) in textrnn and in Keras
    /// from the same weights on the same batches and compare every step's loss and the final
    /// weights (f32, CPU, dropout off); fails when a loss differs by more than 1e-4 relative in
    /// the first 50 steps. Skipped (exit 0) without a Python with keras
    /// (`TEXTRNN_BENCH_PYTHON`).
    Parity {
        /// Optimizer steps per configuration (batches per epoch).
        #[arg(long, default_value_t = 50)]
        steps: usize,
        /// Passes over the same batches in the same order, on both sides.
        #[arg(long, default_value_t = 1)]
        epochs: usize,
        /// Only configurations whose name contains one of these (repeatable).
        #[arg(long)]
        only: Vec<String>,
        /// Run on a recipe's layers, optimizer, padding, maxlen and batch size instead (a
        /// built-in name or a recipe file); dropout is zeroed, the vocabulary synthetic.
        #[arg(long)]
        recipe: Option<String>,
        /// Vocabulary size (embedding input_dim) of a --recipe configuration.
        #[arg(long, default_value_t = 1000)]
        vocab: usize,
        /// Print the results as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Where the configurations' files and parity.json go.
        #[arg(long, default_value = "target/parity")]
        out: PathBuf,
        /// Keep every configuration's weights, batches and losses after comparing.
        #[arg(long)]
        keep: bool,
        /// Update the embedding from per-occurrence gradients on both sides, as Keras does on
        /// TensorFlow by default (the second moment sums each occurrence's squared gradient;
        /// textrnn's `[train] embedding_gradients = "sparse"`), in every case; otherwise each
        /// case uses its recipe's setting (dense for the built-in cases).
        #[arg(long)]
        sparse_embedding_grads: bool,
        /// With --recipe: replay the recipe's real training on its corpus from this folder (its
        /// prepared splits, epochs, shuffled order and partial last batch; dropout zeroed) and
        /// score both sides on the test split, at the end and just before the last step;
        /// --steps, --epochs and --vocab are then unused.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// With --data-dir: the seed of the replayed run (default the recipe's).
        #[arg(long)]
        seed: Option<u64>,
        /// With --recipe: start both sides from these weights (a safetensors file under
        /// textrnn's keys, e.g. Keras' own seeded initialisation written by
        /// xtask/keras_init.py) instead of textrnn's seeded initialisation.
        #[arg(long, value_name = "FILE")]
        init: Option<PathBuf>,
        /// With --data-dir: train textrnn's side only and report its test accuracy, at the end
        /// and just before the last step (no Keras, nothing compared, no batches written).
        #[arg(long)]
        no_keras: bool,
    },
    /// Write a multi-label corpus made from AG News (texts of two topics joined, carrying both,
    /// mixed with single texts) as JSON Lines with label lists; see xtask/src/multilabel.rs.
    MultilabelAgnews {
        /// Directory holding AG News' train.csv and test.csv.
        #[arg(long, default_value = "../shared/datasets/ag_news_csv")]
        data_dir: PathBuf,
        /// Output directory (train.jsonl, test.jsonl, recipe.toml).
        #[arg(long)]
        out: PathBuf,
        /// Share of rows pairing two texts of different topics.
        #[arg(long, default_value_t = 0.5)]
        pairs: f64,
        /// Seed of the draw.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    textrnn::configure_allocator();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let command = Cli::parse().command;
    // As the `textrnn` binary: subnormals flushed unless TEXTRNN_SUBNORMALS=keep.
    if let Err(err) = textrnn::Subnormals::from_env().and_then(textrnn::configure_subnormals) {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    let result = textrnn::with_subnormal_mode(|| match command {
        Command::Experiments {
            only,
            quick,
            data_dir,
            out,
            seed,
            seeds,
            epochs,
            vs_keras,
        } => experiments::run(experiments::Options {
            only,
            quick,
            data_dir,
            out,
            seed,
            seeds,
            epochs,
            vs_keras,
        }),
        Command::Bench {
            vs_torch,
            vs_keras,
            quick,
            only,
            rounds,
        } => bench::run(bench::BenchOpts {
            vs_torch,
            vs_keras,
            quick,
            only,
            rounds: rounds as usize,
        }),
        Command::ImdbSample {
            data_dir,
            train,
            test,
            seed,
            out,
        } => sample::run(sample::Options {
            data_dir,
            train,
            test,
            seed,
            out,
        }),
        Command::Loadtest(opts) => loadtest::run(opts),
        Command::Parity {
            steps,
            epochs,
            only,
            recipe,
            vocab,
            json,
            out,
            keep,
            sparse_embedding_grads,
            data_dir,
            seed,
            init,
            no_keras,
        } => parity::run(parity::Options {
            steps,
            epochs,
            only,
            recipe,
            vocab,
            json,
            out,
            keep,
            sparse_embedding_grads,
            data_dir,
            seed,
            init,
            no_keras,
        }),
        Command::MultilabelAgnews {
            data_dir,
            out,
            pairs,
            seed,
        } => multilabel::run(multilabel::Options {
            data_dir,
            out,
            pairs,
            seed,
        }),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

//! Developer tasks: `cargo xtask experiments` (the tutorials' experiment matrix) and
//! `cargo xtask bench` (recurrent-kernel benchmarks).

mod bench;
mod experiments;

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
        /// Seed for every recipe (default: each recipe's own).
        #[arg(long)]
        seed: Option<u64>,
        /// Train every recipe for this many epochs (e.g. to match the tutorial's number of
        /// optimizer steps on a smaller sample).
        #[arg(long)]
        epochs: Option<usize>,
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
}

fn main() -> ExitCode {
    textrnn::configure_allocator();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let result = match Cli::parse().command {
        Command::Experiments {
            only,
            quick,
            data_dir,
            out,
            seed,
            epochs,
        } => experiments::run(experiments::Options {
            only,
            quick,
            data_dir,
            out,
            seed,
            epochs,
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

//! `textrnn`: train, evaluate, tune thresholds, predict, explain, plot, report and summarise
//! recurrent text classifiers.
//!
//! A thin layer over the `textrnn` crate: it parses arguments, sets up logging and prints
//! tables (or JSON with `--json`). Every subcommand has `--help`.

mod args;
mod commands;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    restore_default_sigpipe();
    textrnn::configure_allocator();
    let cli = args::Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let configured = textrnn::Subnormals::from_env().and_then(textrnn::configure_subnormals);
    if let Err(err) = configured {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    match textrnn::with_subnormal_mode(|| commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            match err.downcast_ref::<textrnn::Error>() {
                // The shell's convention for a command ended by Ctrl-C.
                Some(textrnn::Error::Interrupted { .. }) => ExitCode::from(130),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`textrnn predict ... | head -1`) would
/// panic; restoring the default action makes the process end quietly, like other Unix tools.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

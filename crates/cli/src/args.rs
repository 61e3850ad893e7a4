//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Train, evaluate, explain and serve recurrent-network text classifiers.
///
/// Start with `textrnn train` (the IMDB BiGRU tutorial recipe), then `textrnn evaluate runs/imdb-bigru`
/// and `textrnn predict runs/imdb-bigru "a wonderful film"`.
#[derive(Debug, Parser)]
#[command(name = "textrnn", version, about, long_about)]
pub struct Cli {
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors on stderr; no progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a recipe (default: imdb-bigru), evaluate it on the test split and save a run directory.
    Train(TrainArgs),
    /// Re-evaluate a saved run on its test split.
    Evaluate(EvaluateArgs),
    /// Predict labels for texts given as arguments, with --file, or on standard input.
    Predict(PredictArgs),
    /// Print a Keras-style model summary of a run or a recipe.
    Summary(SummaryArgs),
    /// List the built-in recipes.
    Recipes(JsonFlag),
}

/// `--json`.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Where the corpus is.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Directory holding the corpus files (e.g. aclImdb_v1.tar.gz, ag_news_csv/, airline_tweets/Tweets.csv).
    #[arg(long, env = "TEXTRNN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A built-in recipe name (see `textrnn recipes`) or a recipe file (.toml).
    #[arg(long, default_value = "imdb-bigru")]
    pub recipe: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Run directory (default: runs/<recipe name>, with a -N suffix if it exists).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override the number of epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override the batch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Override the padded sequence length (Keras maxlen).
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Override the vocabulary size (Keras num_words).
    #[arg(long)]
    pub vocab_size: Option<usize>,
    /// Override the learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed for shuffling, splits, initialisation and dropout.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Train on at most this many examples (stratified subsample), for a quick try.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Use a GPU when built with --features cuda or metal.
    #[arg(long)]
    pub gpu: bool,
    /// Print the final metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The run directory written by `train`.
    pub run_dir: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// `predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The run directory written by `train`.
    pub run_dir: PathBuf,
    /// Texts to classify (none: read --file, or standard input, one text per line).
    pub texts: Vec<String>,
    /// A file with one text per line.
    #[arg(long, short)]
    pub file: Option<PathBuf>,
    /// Batch size for large inputs.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Print JSON (one object per input) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// A run directory (or use --recipe).
    pub run_dir: Option<PathBuf>,
    /// A built-in recipe name or recipe file.
    #[arg(long, conflicts_with = "run_dir")]
    pub recipe: Option<String>,
    /// Vocabulary size to assume for a recipe without num_words.
    #[arg(long, default_value_t = 20_000)]
    pub vocab_size: usize,
    /// Sequence length to assume for a recipe without maxlen.
    #[arg(long, default_value_t = 100)]
    pub max_len: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Train, evaluate, explain and serve recurrent-network text classifiers.
///
/// Start with `textrnn train` (the IMDB BiGRU tutorial recipe), then `textrnn evaluate runs/imdb-bigru`
/// and `textrnn predict runs/imdb-bigru "a wonderful film"`. Afterwards: `tune-threshold` (binary
/// runs), `explain` (why a text got its label), `plot` and `report` (one HTML page of the run).
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
    /// Re-evaluate a saved run on its test split: accuracy, ROC AUC, loss, confusion matrix and
    /// classification report.
    Evaluate(EvaluateArgs),
    /// Choose the decision threshold of a binary run on its validation split and save it as
    /// threshold.json (used by predict, evaluate, plot and report from then on).
    TuneThreshold(TuneThresholdArgs),
    /// Predict labels for texts given as arguments, with --file, or on standard input.
    Predict(PredictArgs),
    /// Explain why the model gives a text its label (LIME: which words matter, and how much).
    Explain(ExplainArgs),
    /// Redraw the plots of a run (history, confusion matrix, ROC and precision-recall curves).
    Plot(PlotArgs),
    /// Write a self-contained HTML report of a run (metrics, plots, explained examples).
    Report(ReportArgs),
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
#[command(
    after_help = "The test split is re-created from the run's recipe and seed, so the corpus must be \
available (as for train). Binary runs predict the second class when its probability is at least \
the threshold: --threshold, else threshold.json (from tune-threshold), else 0.5."
)]
pub struct EvaluateArgs {
    /// The run directory written by `train`.
    pub run_dir: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Decision threshold on the probability of the second class (binary runs only, 0..1).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// `tune-threshold`.
#[derive(Debug, Args)]
#[command(
    after_help = "Without a constraint the threshold with the best F1 is chosen. Examples:\n  \
textrnn tune-threshold runs/imdb-bigru\n  \
textrnn tune-threshold runs/imdb-bigru --min-precision 0.9   # best recall with precision >= 0.9\n  \
textrnn tune-threshold runs/imdb-bigru --min-recall 0.95     # best precision with recall >= 0.95\n\
Delete RUN_DIR/threshold.json to go back to 0.5."
)]
pub struct TuneThresholdArgs {
    /// The run directory written by `train` (a binary classifier with a validation split).
    pub run_dir: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Maximise recall among thresholds whose validation precision is at least P (0..1).
    #[arg(long, value_name = "P", conflicts_with = "min_recall")]
    pub min_precision: Option<f64>,
    /// Maximise precision among thresholds whose validation recall is at least R (0..1).
    #[arg(long, value_name = "R")]
    pub min_recall: Option<f64>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `explain`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example: textrnn explain runs/imdb-bigru \"a wonderful film with a boring ending\" --html why.html\n\
Positive weights push towards the explained class, negative ones against it."
)]
pub struct ExplainArgs {
    /// The run directory written by `train`.
    pub run_dir: PathBuf,
    /// The text to explain.
    pub text: String,
    /// Class to explain, by name or index (default: the predicted class).
    #[arg(long)]
    pub label: Option<String>,
    /// Number of perturbed texts LIME predicts (more: steadier weights, slower).
    #[arg(long, default_value_t = 5000)]
    pub num_samples: usize,
    /// Number of words to show.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Seed of the random perturbations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Texts per model call.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page with the highlighted text to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `plot`.
#[derive(Debug, Args)]
#[command(
    after_help = "Writes RUN_DIR/plots/{history,confusion,roc,pr}.{png,svg}. The test probabilities \
come from RUN_DIR/test_predictions.json (written by train); without it the test split is re-created."
)]
pub struct PlotArgs {
    /// The run directory written by `train`.
    pub run_dir: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
}

/// `report`.
#[derive(Debug, Args)]
#[command(
    after_help = "The page embeds its images and has no external resources: open it in any browser, \
mail it or archive it. Examples are explained with --lime-samples perturbations (1000 by default, \
fewer than explain's 5000, for speed). The test split is re-created, so the corpus must be available."
)]
pub struct ReportArgs {
    /// The run directory written by `train`.
    pub run_dir: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output file (default: RUN_DIR/report.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Number of test examples to explain (about half wrongly classified, half correctly).
    #[arg(long, default_value_t = 4)]
    pub examples: usize,
    /// LIME perturbations per example.
    #[arg(long, default_value_t = 1000)]
    pub lime_samples: usize,
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

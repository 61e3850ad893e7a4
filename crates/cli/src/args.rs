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
    /// Let commands that read a run use an unfinished one (interrupted, failed or killed) with
    /// the last weights it saved.
    #[arg(long, global = true)]
    pub allow_incomplete: bool,
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
    /// Calibrate a run's probabilities: fit temperature scaling on its validation split and save
    /// calibration.json (applied by predict, evaluate, tune-threshold, explain, report, serve and
    /// export from then on).
    Calibrate(CalibrateArgs),
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
    /// Check a data set before training on it: rows, class balance, empty texts, duplicates and
    /// conflicting labels, train/test leakage, token lengths against maxlen, OOV rate.
    Check(CheckArgs),
    /// Serve runs over HTTP: predict (dynamically batched) and explain, with /healthz, /readyz
    /// and Prometheus /metrics; SIGTERM or Ctrl-C finishes the requests in flight and exits.
    Serve(ServeArgs),
    /// Export a run for use outside textrnn: the model as ONNX (token ids in, probabilities out)
    /// with a tokenizer.json for Hugging Face `tokenizers` and the cleaning steps as data.
    Export(ExportArgs),
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

/// The user's own data files (`train` and `check`); `--train` replaces the recipe's data.
#[derive(Debug, Args, Clone, Default)]
pub struct FileArgs {
    /// Training file: CSV, TSV, JSON Lines or Parquet (format from the extension, delimiter sniffed
    /// for .csv/.txt). Replaces the recipe's data; without --test a stratified 10% test split is
    /// held out, without --validation a stratified 15% of the rest.
    #[arg(long, value_name = "FILE")]
    pub train: Option<PathBuf>,
    /// Validation file (same format and columns as --train).
    #[arg(long, value_name = "FILE", requires = "train")]
    pub validation: Option<PathBuf>,
    /// Test file (same format and columns as --train).
    #[arg(long, value_name = "FILE", requires = "train")]
    pub test: Option<PathBuf>,
    /// Column (or JSON field) of the --train file holding a sample weight per row: a number of
    /// at least 0 that multiplies the row's loss (Keras sample_weight). Validation and test
    /// metrics stay unweighted.
    #[arg(long, value_name = "NAME", requires = "train")]
    pub weight_col: Option<String>,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

/// Which columns of a labelled file hold the text and the label, and its format (`train`,
/// `check` and `evaluate --file`).
#[derive(Debug, Args, Clone, Default)]
pub struct ColumnArgs {
    /// Column (or JSON field) holding the text [default: text].
    #[arg(long, value_name = "NAME")]
    pub text_col: Option<String>,
    /// Column (or JSON field) holding the label [default: label].
    #[arg(long, value_name = "NAME")]
    pub label_col: Option<String>,
    /// File format, when the extension does not say it.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Multi-label data: the separator between the labels of one label cell (e.g. ","); each
    /// label is trimmed. A JSON Lines label that is a list of strings needs no separator.
    #[arg(long, value_name = "SEP")]
    pub label_sep: Option<String>,
}

impl ColumnArgs {
    /// Whether any of the flags was given.
    pub fn any(&self) -> bool {
        self.text_col.is_some()
            || self.label_col.is_some()
            || self.format.is_some()
            || self.label_sep.is_some()
    }
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Comma-separated values with a header row (the delimiter is sniffed).
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// JSON Lines: one object per line.
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

/// `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A built-in recipe name (see `textrnn recipes`) or a recipe file (.toml). With --train, its
    /// model and training settings are used and its data section is replaced.
    #[arg(long, default_value = "imdb-bigru")]
    pub recipe: String,
    #[command(flatten)]
    pub files: FileArgs,
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
    /// Class weights (Keras class_weight), overriding the recipe's: `balanced` (n_samples /
    /// (n_classes * count) over the training split) or LABEL=W,LABEL=W (unnamed classes weigh 1).
    #[arg(long, value_name = "balanced|LABEL=W,...")]
    pub class_weight: Option<textrnn::train::ClassWeight>,
    /// Train on at most this many examples (stratified subsample), for a quick try.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Use a GPU when built with --features cuda or metal.
    #[arg(long)]
    pub gpu: bool,
    /// Continue an interrupted (or killed) run from its last checkpoint, with the recipe, data
    /// and seed it was started with.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["train", "out", "epochs", "batch_size", "max_len", "vocab_size", "lr", "seed", "class_weight", "limit"])]
    pub resume: Option<PathBuf>,
    /// Also write the resume checkpoint every N training steps (it is written after every epoch).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// Print the final metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `evaluate`.
#[derive(Debug, Args)]
#[command(
    after_help = "The test split is the one stored in the run directory (data/test.jsonl.gz); runs \
trained before splits were stored re-create it from the corpus. --file evaluates on any labelled \
file instead. Binary runs predict the second class when its probability is at least \
the threshold: --threshold, else threshold.json (from tune-threshold), else 0.5."
)]
pub struct EvaluateArgs {
    /// The run directory written by `train`.
    pub run_dir: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Evaluate on this labelled file (CSV, TSV, JSON Lines or Parquet) instead of the run's
    /// test split.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub columns: ColumnArgs,
    /// Decision threshold on the probability of the second class (binary runs only, 0..1).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// `calibrate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Fits one temperature T on the validation split (data/validation.jsonl.gz) by minimising \
the negative log-likelihood of activation(logits / T), and prints the negative log-likelihood (NLL) and \
the expected calibration error (ECE, 15 equal-width bins of the top-label confidence; every \
(example, label) pair for multi-label runs) before and after, on the validation and the test split. \
Running it again refits from the model's own logits. Delete RUN_DIR/calibration.json to go back \
to uncalibrated probabilities."
)]
pub struct CalibrateArgs {
    /// The run directory written by `train` (with a validation split).
    pub run_dir: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Print JSON instead of a table.
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

/// `export`.
#[derive(Debug, Args)]
#[command(
    after_help = "Writes model.onnx (input `input_ids` int64 [batch, maxlen], output `probabilities` float32 \
[batch, classes]), tokenizer.json and cleaning.json into RUN_DIR/export/ (or beside --out), and says \
which cleaning steps tokenizer.json cannot express."
)]
pub struct ExportArgs {
    /// The run directory written by `train`.
    pub run_dir: PathBuf,
    /// Export format (only `onnx`).
    #[arg(long, default_value = "onnx")]
    pub format: String,
    /// The model file (default: RUN_DIR/export/model.onnx); its directory must exist, and
    /// tokenizer.json and cleaning.json are written beside it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The run directory written by `train`.
    pub run_dir: PathBuf,
    /// Texts to classify (none: read --file, or standard input, one text per line).
    #[arg(conflicts_with = "file")]
    pub texts: Vec<String>,
    /// A CSV, TSV, JSON Lines or Parquet file (format from the extension), or plain text with
    /// one input per line. Exactly one result per input row, in input order; an empty text gets
    /// a row with status "empty text".
    #[arg(long, short, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Column (or JSON field) of --file holding the text [default: text].
    #[arg(long, value_name = "NAME", requires = "file")]
    pub text_col: Option<String>,
    /// Column (or JSON field) of --file passed through as each result's id [default: the
    /// 1-based row number].
    #[arg(long, value_name = "NAME", requires = "file")]
    pub id_col: Option<String>,
    /// Write the results to FILE (.csv, .jsonl or .parquet; written atomically) and print a
    /// one-line summary instead.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Batch size for large inputs.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Print JSON Lines (one object per input) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `check`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
textrnn check --train reviews.csv --test holdout.csv\n  \
textrnn check --recipe agnews-lstm-25 --json\n\
Texts are compared after the recipe's normalisation (cleaning, lower-casing, punctuation filters), \
the splits are made as train makes them (without --test, the same stratified hold-out), and \
token lengths use the recipe's tokenizer fitted as train fits it. With --strict the command fails \
when a validation or test text is also in train, or a text occurs with two labels.")]
pub struct CheckArgs {
    /// A built-in recipe name or a recipe file (.toml): its data, split and text settings. With
    /// --train, its data section is replaced.
    #[arg(long, default_value = "imdb-bigru")]
    pub recipe: String,
    #[command(flatten)]
    pub files: FileArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Examples (ids, duplicate groups, overlapping texts) listed per finding.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    /// Exit with an error when there is leakage (train/validation or train/test overlap) or
    /// a text with conflicting labels.
    #[arg(long)]
    pub strict: bool,
    /// Print JSON instead of tables.
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

/// `serve`.
#[derive(Debug, Args)]
#[command(after_help = "Routes:\n  \
POST /v1/models/NAME/predict   {\"texts\": [\"...\", ...]} -> one prediction per text, as predict --json\n  \
POST /v1/models/NAME/explain   {\"text\": \"...\", \"label\"?, \"num_samples\"?, \"top\"?, \"seed\"?} -> LIME\n  \
GET  /v1/models                the models: classes, recipe, test metrics, threshold\n  \
GET  /healthz, /readyz, /metrics (Prometheus)\n\
Once every model is loaded and the socket is bound, one line `listening on http://IP:PORT` is \
printed to standard output. Errors are JSON {\"error\": \"...\"}: 400 bad request, 404 unknown \
model or route, 413 body too large, 503 (with Retry-After) queue full, 504 over --timeout-ms.")]
pub struct ServeArgs {
    /// Run directories written by `train`; each model is named after its directory's last path
    /// component.
    #[arg(required = true, value_name = "RUN_DIR")]
    pub run_dirs: Vec<PathBuf>,
    /// The model's name in the URLs, when serving one run [default: its directory name].
    #[arg(long)]
    pub name: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the line printed at start says which).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Texts per forward pass at most: texts of concurrent requests are grouped up to this.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// How long a batch waits for more texts after its first one arrived (milliseconds).
    #[arg(long, default_value_t = 5)]
    pub max_wait_ms: u64,
    /// Texts waiting per model at most; a request that does not fit is answered 503 at once.
    #[arg(long, default_value_t = 1024)]
    pub queue: usize,
    /// Request body limit (B, KiB, MiB, GiB, kB, MB, GB); larger bodies are answered 413.
    #[arg(long, default_value = "8MiB", value_parser = textrnn_serve::parse_size)]
    pub max_body: usize,
    /// Texts per predict request at most.
    #[arg(long, default_value_t = 1024)]
    pub max_texts: usize,
    /// Per-request time limit, queueing and inference included (milliseconds); 504 beyond it.
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,
    /// Inference threads per model (each runs one forward pass at a time, and a forward pass
    /// already uses every core).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

//! One function per subcommand: load, call the library, print.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use textrnn::data::table_writer::OutputFormat;
use textrnn::eval::Objective;
use textrnn::predict_file::{self, PredictFileOptions};
use textrnn::train::OptimizerConfig;
use textrnn::{DataOptions, ExplainOptions, Limits, Recipe, ReportOptions, Run, TrainOptions};

use textrnn::data::table::{FileFormat, TableSpec};
use textrnn::data::UserFiles;

use crate::args::{
    CalibrateArgs, CheckArgs, Cli, Command, DataArgs, EvaluateArgs, ExplainArgs, ExportArgs,
    FileArgs, FormatArg, PlotArgs, PredictArgs, ReportArgs, ServeArgs, SummaryArgs, TrainArgs,
    TuneThresholdArgs,
};
use crate::output;

/// Dispatches to the subcommand.
pub fn run(cli: Cli) -> Result<()> {
    ALLOW_INCOMPLETE.store(cli.allow_incomplete, std::sync::atomic::Ordering::Relaxed);
    let progress = !cli.quiet;
    match cli.command {
        Command::Train(args) => train(args, progress),
        Command::Evaluate(args) => evaluate(args, progress),
        Command::TuneThreshold(args) => tune_threshold(args, progress),
        Command::Calibrate(args) => calibrate(args, progress),
        Command::Predict(args) => predict(args, progress),
        Command::Explain(args) => explain(args, progress),
        Command::Plot(args) => plot(args, progress),
        Command::Report(args) => report(args, progress),
        Command::Summary(args) => summary(args),
        Command::Check(args) => check(args, progress),
        Command::Serve(args) => serve(args),
        Command::Export(args) => export(args),
        Command::Recipes(flag) => {
            output::print_recipes(flag.json);
            Ok(())
        }
    }
}

/// Applies the command-line overrides; the values are checked once, when training starts.
fn apply_overrides(recipe: &mut Recipe, args: &TrainArgs) -> Result<()> {
    if let Some(e) = args.epochs {
        recipe.train.epochs = e;
    }
    if let Some(b) = args.batch_size {
        recipe.train.batch_size = b;
    }
    if let Some(m) = args.max_len {
        recipe.text.maxlen = Some(m);
    }
    if let Some(v) = args.vocab_size {
        recipe.text.num_words = Some(v);
    }
    if let Some(lr) = args.lr {
        if !(lr > 0.0 && lr.is_finite()) {
            bail!("invalid --lr {lr}: must be a positive number");
        }
        match &mut recipe.train.optimizer {
            OptimizerConfig::Adam(c) => c.learning_rate = lr,
            OptimizerConfig::Rmsprop(c) => c.learning_rate = lr,
        }
    }
    if let Some(s) = args.seed {
        recipe.seed = s;
    }
    if let Some(cw) = &args.class_weight {
        recipe.train.class_weight = Some(cw.clone());
    }
    Ok(())
}

fn train(args: TrainArgs, progress: bool) -> Result<()> {
    if args.checkpoint_every == Some(0) {
        bail!("invalid --checkpoint-every 0: must be at least 1");
    }
    let stop = interrupt_flag()?;
    if let Some(dir) = &args.resume {
        let opts = TrainOptions {
            data: data_options(&args.data, progress),
            gpu: args.gpu,
            stop: Some(stop),
            checkpoint_every: args.checkpoint_every,
            ..TrainOptions::default()
        };
        let outcome = textrnn::resume_run(dir, &opts)
            .with_context(|| format!("resuming run {}", dir.display()))?;
        let recipe = Run::open(&outcome.dir)
            .map(|r| r.config().recipe().clone())
            .with_context(|| format!("opening run {}", outcome.dir.display()))?;
        return output::print_train_outcome(&recipe, &outcome, args.json);
    }
    let mut recipe = recipe_with_files(&args.recipe, &args.files)?;
    apply_overrides(&mut recipe, &args)?;
    let opts = TrainOptions {
        data: data_options(&args.data, progress),
        out: args.out.clone(),
        limits: Limits {
            limit_train: args.limit,
            limit_test: args.limit,
        },
        gpu: args.gpu,
        stop: Some(stop),
        checkpoint_every: args.checkpoint_every,
    };
    let outcome = textrnn::train_run(&recipe, &opts)
        .with_context(|| format!("training recipe {}", recipe.name))?;
    output::print_train_outcome(&recipe, &outcome, args.json)
}

/// A flag set by the first Ctrl-C or SIGTERM: training finishes its batch, saves a checkpoint
/// and stops. A second signal ends the process at once (exit status 130).
fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so it sees the flag as the earlier signal left it.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))
            .context("installing the Ctrl-C handler")?;
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the Ctrl-C handler")?;
    }
    Ok(stop)
}

/// The data files of `--train` (none without it).
pub(crate) fn user_files(files: &FileArgs) -> Option<UserFiles> {
    let train = files.train.clone()?;
    let defaults = UserFiles::default();
    Some(UserFiles {
        train,
        validation: files.validation.clone(),
        test: files.test.clone(),
        text_col: files.columns.text_col.clone().unwrap_or(defaults.text_col),
        label_col: files
            .columns
            .label_col
            .clone()
            .unwrap_or(defaults.label_col),
        format: files.columns.format.map(file_format),
        weight_col: files.weight_col.clone(),
        label_sep: files.columns.label_sep.clone(),
        ..UserFiles::default()
    })
}

/// The data crate's format for `--format`.
pub(crate) fn file_format(f: FormatArg) -> FileFormat {
    match f {
        FormatArg::Csv => FileFormat::Csv,
        FormatArg::Tsv => FileFormat::Tsv,
        FormatArg::Jsonl => FileFormat::Jsonl,
        FormatArg::Parquet => FileFormat::Parquet,
    }
}

/// `--allow-incomplete`, set once from the command line before any run is opened.
static ALLOW_INCOMPLETE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn open_run(dir: &std::path::Path) -> Result<Run> {
    let allow = ALLOW_INCOMPLETE.load(std::sync::atomic::Ordering::Relaxed);
    Run::open_with(dir, allow).with_context(|| format!("opening run {}", dir.display()))
}

fn data_options(data: &DataArgs, progress: bool) -> DataOptions {
    DataOptions {
        data_dir: data.data_dir.clone(),
        progress,
    }
}

fn evaluate(args: EvaluateArgs, progress: bool) -> Result<()> {
    if args.file.is_none() && args.columns.any() {
        bail!("--text-col, --label-col, --label-sep and --format apply to --file FILE");
    }
    let run = open_run(&args.run_dir)?;
    let metrics = match &args.file {
        Some(path) => {
            let spec = TableSpec {
                format: args.columns.format.map(file_format),
                text_col: args
                    .columns
                    .text_col
                    .clone()
                    .unwrap_or_else(|| "text".into()),
                label_col: Some(
                    args.columns
                        .label_col
                        .clone()
                        .unwrap_or_else(|| "label".into()),
                ),
                // A multi-label run reads the file with its training separator unless told.
                label_sep: args
                    .columns
                    .label_sep
                    .clone()
                    .or_else(|| run.config().label_sep().map(str::to_string)),
                ..TableSpec::default()
            };
            textrnn::evaluate_file(&run, path, &spec, args.threshold, progress)
                .with_context(|| format!("evaluating on {}", path.display()))?
        }
        None => textrnn::evaluate(&run, &data_options(&args.data, progress), args.threshold)
            .context("evaluating on the test split")?,
    };
    output::print_test_metrics(run.config().recipe(), &metrics, args.json)
}

fn tune_threshold(args: TuneThresholdArgs, progress: bool) -> Result<()> {
    let objective = match (args.min_precision, args.min_recall) {
        (Some(p), _) => Objective::MinPrecision(p),
        (None, Some(r)) => Objective::MinRecall(r),
        (None, None) => Objective::MaxF1,
    };
    let run = open_run(&args.run_dir)?;
    let data = data_options(&args.data, progress);
    if run.multi_label() {
        let thresholds = textrnn::tune_label_thresholds(&run, &data, objective)
            .context("tuning one threshold per label on the validation split")?;
        return output::print_label_thresholds(&run, &thresholds, args.json);
    }
    let choice = textrnn::tune_threshold(&run, &data, objective)
        .context("tuning the decision threshold on the validation split")?;
    output::print_threshold(&run, &choice, args.json)
}

fn calibrate(args: CalibrateArgs, progress: bool) -> Result<()> {
    let run = open_run(&args.run_dir)?;
    let outcome = textrnn::calibrate(&run, &data_options(&args.data, progress))
        .context("calibrating on the validation split")?;
    if let Some(warning) = &outcome.warning {
        tracing::warn!("{warning}");
    }
    output::print_calibration(&outcome, args.json)
}

fn explain(args: ExplainArgs, progress: bool) -> Result<()> {
    if args.num_samples < 2 {
        bail!(
            "invalid --num-samples {}: must be at least 2",
            args.num_samples
        );
    }
    if args.top == 0 || args.batch_size == 0 {
        bail!("invalid --top / --batch-size: must be at least 1");
    }
    let run = open_run(&args.run_dir)?;
    let label = args
        .label
        .as_deref()
        .map(|l| run.class_index(l))
        .transpose()
        .context("choosing the class to explain")?;
    let opts = ExplainOptions {
        label,
        num_samples: args.num_samples,
        top: args.top,
        seed: args.seed,
        batch_size: args.batch_size,
        progress,
    };
    let explanation = textrnn::explain(&run, &args.text, &opts).context("explaining the text")?;
    if let Some(path) = &args.html {
        let html = explanation.to_html(&args.text, run.class_names(), &explanation.predicted_proba);
        textrnn::fs::write(path, html.as_bytes())?;
    }
    output::print_explanation(
        &run,
        &args.text,
        &explanation,
        args.json,
        args.html.as_deref(),
    )
}

fn plot(args: PlotArgs, progress: bool) -> Result<()> {
    let run = open_run(&args.run_dir)?;
    let written =
        textrnn::plot(&run, &data_options(&args.data, progress)).context("drawing the plots")?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}

/// `export`: the format is checked before the run is opened, and everything before a file is
/// written.
fn export(args: ExportArgs) -> Result<()> {
    let format: textrnn::ExportFormat = args.format.parse()?;
    let run = open_run(&args.run_dir)?;
    let opts = textrnn::ExportOptions {
        format,
        out: args.out,
    };
    let summary = textrnn::export(&run, &opts)
        .with_context(|| format!("exporting {}", args.run_dir.display()))?;
    output::print_export(&summary, args.json)
}

fn report(args: ReportArgs, progress: bool) -> Result<()> {
    if args.lime_samples < 2 {
        bail!(
            "invalid --lime-samples {}: must be at least 2",
            args.lime_samples
        );
    }
    let run = open_run(&args.run_dir)?;
    let opts = ReportOptions {
        out: args.out.clone(),
        examples: args.examples,
        lime_samples: args.lime_samples,
        ..ReportOptions::default()
    };
    let path = textrnn::report(&run, &data_options(&args.data, progress), &opts)
        .context("writing the report")?;
    println!("Report written to {}", path.display());
    Ok(())
}

/// `predict`: texts from the arguments, --file or standard input, one result per input in input
/// order, printed chunk by chunk (table or JSON Lines) or written to --output.
fn predict(args: PredictArgs, progress: bool) -> Result<()> {
    if args.batch_size == 0 {
        bail!("invalid --batch-size 0: must be at least 1");
    }
    if let Some(out) = &args.output {
        // A bad extension is refused before the input is read or the model loaded.
        OutputFormat::from_path(out)?;
    }
    let opts = PredictFileOptions {
        text_col: args.text_col.clone().unwrap_or_else(|| "text".into()),
        id_col: args.id_col.clone(),
        batch_size: args.batch_size,
        progress: progress && args.texts.is_empty(),
        ..PredictFileOptions::default()
    };
    let inputs: Box<dyn Iterator<Item = predict_file::Input>> = if !args.texts.is_empty() {
        Box::new(
            args.texts
                .clone()
                .into_iter()
                .enumerate()
                .map(|(i, text)| Ok(((i + 1).to_string(), text))),
        )
    } else if let Some(path) = &args.file {
        Box::new(predict_file::read_file(path, &opts)?)
    } else {
        predict_file::read_lines(std::io::stdin().lock(), "standard input")?
    };
    let mut inputs = inputs.peekable();
    if inputs.peek().is_none() {
        bail!(
            "nothing to predict: give texts as arguments, --file FILE, or lines on standard input"
        );
    }
    let run = open_run(&args.run_dir)?;
    if let Some(out) = &args.output {
        // The first Ctrl-C stops the reading: the temporary output is removed, nothing appears.
        let stop = interrupt_flag()?;
        let inputs = inputs.map(|input| {
            if stop.load(Ordering::SeqCst) {
                Err(textrnn::Error::Io {
                    path: out.clone(),
                    source: std::io::ErrorKind::Interrupted.into(),
                })
            } else {
                input
            }
        });
        let written = textrnn::write_predictions(&run, inputs, out, &opts);
        if written.is_err() && stop.load(Ordering::SeqCst) {
            bail!("interrupted: {} was not written", out.display());
        }
        let summary = written.with_context(|| format!("predicting into {}", out.display()))?;
        return output::print_predict_summary(&summary, out, args.json);
    }
    let threshold = run
        .decision_threshold(None)
        .context("reading threshold.json")?;
    let mut first = true;
    textrnn::predict_rows(&run, inputs, &opts, |chunk| {
        output::print_predictions(&run, chunk, threshold, args.json, first);
        first = false;
        Ok(())
    })
    .context("predicting")?;
    Ok(())
}

/// The recipe `name` (a built-in name or a file), its data replaced by `--train` files when
/// given; column and format flags without `--train` are an error.
fn recipe_with_files(name: &str, files: &FileArgs) -> Result<Recipe> {
    let mut recipe = Recipe::resolve(name).with_context(|| format!("loading recipe {name}"))?;
    if let Some(user) = user_files(files) {
        recipe
            .use_files(user)
            .context("using the --train/--validation/--test files")?;
    } else if files.columns.any() {
        bail!("--text-col, --label-col, --label-sep and --format apply to --train files; give --train FILE");
    }
    Ok(recipe)
}

fn check(args: CheckArgs, progress: bool) -> Result<()> {
    let recipe = recipe_with_files(&args.recipe, &args.files)?;
    let opts = textrnn::CheckOptions {
        data: data_options(&args.data, progress),
        examples: args.examples,
    };
    let report = textrnn::check(&recipe, &opts)
        .with_context(|| format!("checking the data of recipe {}", recipe.name))?;
    output::print_check(&report, args.json)?;
    let failures = report.strict_failures();
    if args.strict && !failures.is_empty() {
        bail!(
            "--strict: {} problem(s): {}",
            failures.len(),
            failures
                .iter()
                .map(|w| w.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(())
}

fn summary(args: SummaryArgs) -> Result<()> {
    let (recipe, from): (Recipe, String) = match (&args.run_dir, &args.recipe) {
        (Some(dir), _) => (
            open_run(dir)?.config().recipe().clone(),
            dir.display().to_string(),
        ),
        (None, Some(r)) => (
            Recipe::resolve(r).with_context(|| format!("loading recipe {r}"))?,
            r.clone(),
        ),
        (None, None) => (Recipe::builtin("imdb-bigru")?, "imdb-bigru".to_string()),
    };
    output::print_summary(&recipe, &from, args.vocab_size, args.max_len, args.json)
}

/// `serve`: opens every run (a bad one fails before anything is bound), then serves until
/// SIGTERM or Ctrl-C; `listening on http://IP:PORT` goes to standard output once ready.
fn serve(args: ServeArgs) -> Result<()> {
    let opts = textrnn_serve::ServeOptions {
        host: args.host,
        port: args.port,
        max_batch: args.max_batch,
        max_wait: std::time::Duration::from_millis(args.max_wait_ms),
        queue: args.queue,
        max_body: args.max_body,
        max_texts: args.max_texts,
        timeout: std::time::Duration::from_millis(args.timeout_ms),
        threads: args.threads,
    };
    opts.validate()?;
    let allow = ALLOW_INCOMPLETE.load(Ordering::Relaxed);
    let models = textrnn_serve::open_models(&args.run_dirs, args.name.as_deref(), allow)
        .context("opening the runs to serve")?;
    textrnn_serve::serve(models, opts, |addr| {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        // The one line a supervisor or a load test waits for.
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    })
    .context("serving")
}

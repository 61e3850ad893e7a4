//! One function per subcommand: load, call the library, print.

use std::io::BufRead;

use anyhow::{bail, Context, Result};
use textrnn::eval::Objective;
use textrnn::train::OptimizerConfig;
use textrnn::{DataOptions, ExplainOptions, Limits, Recipe, ReportOptions, Run, TrainOptions};

use crate::args::{
    Cli, Command, DataArgs, EvaluateArgs, ExplainArgs, PlotArgs, PredictArgs, ReportArgs,
    SummaryArgs, TrainArgs, TuneThresholdArgs,
};
use crate::output;

/// Dispatches to the subcommand.
pub fn run(cli: Cli) -> Result<()> {
    let progress = !cli.quiet;
    match cli.command {
        Command::Train(args) => train(args, progress),
        Command::Evaluate(args) => evaluate(args, progress),
        Command::TuneThreshold(args) => tune_threshold(args, progress),
        Command::Predict(args) => predict(args, progress),
        Command::Explain(args) => explain(args, progress),
        Command::Plot(args) => plot(args, progress),
        Command::Report(args) => report(args, progress),
        Command::Summary(args) => summary(args),
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
    Ok(())
}

fn train(args: TrainArgs, progress: bool) -> Result<()> {
    let mut recipe =
        Recipe::resolve(&args.recipe).with_context(|| format!("loading recipe {}", args.recipe))?;
    apply_overrides(&mut recipe, &args)?;
    let opts = TrainOptions {
        data: data_options(&args.data, progress),
        out: args.out.clone(),
        limits: Limits {
            limit_train: args.limit,
            limit_test: args.limit,
        },
        gpu: args.gpu,
    };
    let outcome = textrnn::train_run(&recipe, &opts)
        .with_context(|| format!("training recipe {}", recipe.name))?;
    output::print_train_outcome(&recipe, &outcome, args.json)
}

fn open_run(dir: &std::path::Path) -> Result<Run> {
    Run::open(dir).with_context(|| format!("opening run {}", dir.display()))
}

fn data_options(data: &DataArgs, progress: bool) -> DataOptions {
    DataOptions {
        data_dir: data.data_dir.clone(),
        progress,
    }
}

fn evaluate(args: EvaluateArgs, progress: bool) -> Result<()> {
    let run = open_run(&args.run_dir)?;
    let metrics = textrnn::evaluate(&run, &data_options(&args.data, progress), args.threshold)
        .context("evaluating on the test split")?;
    output::print_test_metrics(run.config().recipe(), &metrics, args.json)
}

fn tune_threshold(args: TuneThresholdArgs, progress: bool) -> Result<()> {
    let objective = match (args.min_precision, args.min_recall) {
        (Some(p), _) => Objective::MinPrecision(p),
        (None, Some(r)) => Objective::MinRecall(r),
        (None, None) => Objective::MaxF1,
    };
    let run = open_run(&args.run_dir)?;
    let choice = textrnn::tune_threshold(&run, &data_options(&args.data, progress), objective)
        .context("tuning the decision threshold on the validation split")?;
    output::print_threshold(&run, &choice, args.json)
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

fn read_lines(reader: impl BufRead, origin: &str) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("{origin}: line {}", i + 1))?;
        if !line.trim().is_empty() {
            texts.push(line);
        }
    }
    Ok(texts)
}

fn predict(args: PredictArgs, progress: bool) -> Result<()> {
    let texts = if !args.texts.is_empty() {
        args.texts.clone()
    } else if let Some(path) = &args.file {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        read_lines(std::io::BufReader::new(f), &path.display().to_string())?
    } else {
        read_lines(std::io::stdin().lock(), "standard input")?
    };
    if texts.is_empty() {
        bail!(
            "nothing to predict: give texts as arguments, --file FILE, or lines on standard input"
        );
    }
    if args.batch_size == 0 {
        bail!("invalid --batch-size 0: must be at least 1");
    }
    let run = open_run(&args.run_dir)?;
    let threshold = run
        .decision_threshold(None)
        .context("reading threshold.json")?;
    let preds = run
        .predict(
            &texts,
            args.batch_size,
            progress && texts.len() > args.batch_size,
        )
        .context("predicting")?;
    output::print_predictions(&run, &texts, &preds, threshold, args.json)
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

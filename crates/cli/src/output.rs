//! Human-readable tables and `--json` output.

use anyhow::{Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use serde_json::json;
use textrnn::eval::{Explanation, ThresholdChoice};
use textrnn::{
    CalibrateOutcome, CalibrationMetrics, CheckReport, DecisionThreshold, LabelThresholds,
    PredictSummary, PredictedRow, PredictionRecord, Recipe, Run, SplitCalibration, TestMetrics,
    TrainOutcome, BUILTIN_RECIPES,
};

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.iter().map(Cell::new).collect::<Vec<_>>());
    t
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.4}"))
}

/// The built-in recipes.
pub fn print_recipes(json: bool) {
    let recipes: Vec<Recipe> = BUILTIN_RECIPES
        .iter()
        .filter_map(|(name, _)| Recipe::builtin(name).ok())
        .collect();
    if json {
        let list: Vec<_> = recipes
            .iter()
            .map(
                |r| json!({"name": r.name, "description": r.description, "published": r.published}),
            )
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return;
    }
    let mut t = table(&["recipe", "published accuracy", "description"]);
    for r in &recipes {
        t.add_row(vec![
            Cell::new(&r.name),
            Cell::new(fmt_opt(r.published.as_ref().and_then(|p| p.accuracy))),
            Cell::new(&r.description),
        ]);
    }
    println!("{t}");
}

/// Test metrics beside the tutorial's published numbers.
pub fn print_test_metrics(recipe: &Recipe, m: &TestMetrics, json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(m).context("serialising metrics")?
        );
        return Ok(());
    }
    let published = recipe.published.clone().unwrap_or_default();
    // Published numbers are for the full corpus; beside another test set they only orient.
    let published_header = if m.data.starts_with("SAMPLE") {
        "published (full test set)"
    } else {
        "published"
    };
    let mut t = table(&["test metric", "textrnn", published_header]);
    t.add_row(vec![
        // A multi-label run's accuracy is the subset accuracy (the whole label set right).
        Cell::new(if m.multi_label.is_some() {
            "subset accuracy"
        } else {
            "accuracy"
        }),
        Cell::new(format!("{:.4}", m.accuracy)),
        Cell::new(fmt_opt(published.accuracy)),
    ]);
    if m.auc.is_some() || published.auc.is_some() {
        t.add_row(vec![
            Cell::new("ROC AUC"),
            Cell::new(fmt_opt(m.auc)),
            Cell::new(fmt_opt(published.auc)),
        ]);
    }
    t.add_row(vec![
        Cell::new("loss"),
        Cell::new(format!("{:.4}", m.loss)),
        Cell::new(fmt_opt(published.loss)),
    ]);
    if m.data.is_empty() {
        println!("Test split: {} examples", m.n);
    } else {
        println!("Test split: {} examples ({})", m.n, m.data);
    }
    if let Some(th) = &m.threshold {
        println!("Decision threshold: {}", th.describe());
    }
    println!("{t}");
    if let Some(cm) = &m.confusion_matrix {
        println!();
        println!("Confusion matrix (rows: true class, columns: predicted class):");
        print!("{cm}");
    }
    if let Some(report) = &m.classification_report {
        println!();
        println!("Classification report:");
        print!("{report}");
    }
    if let Some(report) = &m.multi_label {
        println!();
        println!("Multi-label report (label j predicted when p_j >= its threshold):");
        print!("{report:.4}");
    }
    if let Some(c) = &m.calibration {
        println!();
        print_calibration_metrics(c);
    }
    Ok(())
}

/// NLL and ECE of the test probabilities before and after calibration (once, marked
/// uncalibrated, for a run without calibration).
fn print_calibration_metrics(c: &CalibrationMetrics) {
    println!("Calibration (ECE: {}):", c.describe());
    let mut t = table(&["probabilities", "NLL", "ECE"]);
    let row = |t: &mut Table, name: String, s: &SplitCalibration| {
        t.add_row(vec![
            Cell::new(name),
            Cell::new(format!("{:.4}", s.nll)),
            Cell::new(format!("{:.4}", s.ece)),
        ]);
    };
    match (c.temperature, &c.calibrated) {
        (Some(temp), Some(after)) => {
            row(&mut t, "uncalibrated".into(), &c.uncalibrated);
            row(&mut t, format!("calibrated (T = {temp:.4})"), after);
            println!("{t}");
        }
        _ => {
            row(&mut t, "uncalibrated".into(), &c.uncalibrated);
            println!("{t}");
            println!("The run is not calibrated (`textrnn calibrate RUN_DIR` fits a temperature on its validation split).");
        }
    }
}

/// What `calibrate` fitted and its effect on the validation and test splits.
pub fn print_calibration(o: &CalibrateOutcome, json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(o).context("serialising the calibration")?
        );
        return Ok(());
    }
    let c = &o.calibration;
    println!(
        "Temperature scaling: T = {:.4}, fitted on {} {} examples; saved to {}",
        c.temperature,
        c.n,
        c.fitted_on,
        o.path.display()
    );
    println!("ECE: {} bins, {}", c.ece_bins, c.ece_kind.describe());
    let mut t = table(&[
        "split",
        "examples",
        "NLL before",
        "NLL after",
        "ECE before",
        "ECE after",
    ]);
    for (name, s) in [
        ("validation", Some(&c.validation)),
        ("test", c.test.as_ref()),
    ] {
        if let Some(s) = s {
            t.add_row(vec![
                Cell::new(name),
                Cell::new(s.n),
                Cell::new(format!("{:.4}", s.nll_before)),
                Cell::new(format!("{:.4}", s.nll_after)),
                Cell::new(format!("{:.4}", s.ece_before)),
                Cell::new(format!("{:.4}", s.ece_after)),
            ]);
        }
    }
    println!("{t}");
    for p in o
        .plots
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
    {
        println!("Reliability diagram: {}", p.display());
    }
    Ok(())
}

/// The threshold chosen by `tune-threshold`.
pub fn print_threshold(run: &Run, c: &ThresholdChoice, json: bool) -> Result<()> {
    let file = run.dir().join("threshold.json");
    if json {
        let mut v = serde_json::to_value(c).context("serialising threshold")?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("file".into(), json!(file));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&v).context("serialising threshold")?
        );
        return Ok(());
    }
    let positive = run
        .class_names()
        .get(1)
        .cloned()
        .unwrap_or_else(|| "1".into());
    println!(
        "Threshold {:.4} ({}) on the validation split: predict `{positive}` when its probability is at least {:.4}.",
        c.threshold, c.objective, c.threshold
    );
    let mut t = table(&["validation metric", "value"]);
    for (k, v) in [
        ("threshold", c.threshold),
        ("precision", c.precision),
        ("recall", c.recall),
        ("F1", c.f1),
        ("accuracy", c.accuracy),
    ] {
        t.add_row(vec![
            Cell::new(k),
            Cell::new(format!("{v:.4}")).set_alignment(CellAlignment::Right),
        ]);
    }
    println!("{t}");
    println!(
        "Saved to {}; predict, evaluate, plot and report use it from now on (delete the file to go back to 0.5).",
        file.display()
    );
    Ok(())
}

/// The per-label thresholds chosen by `tune-threshold` on a multi-label run.
pub fn print_label_thresholds(run: &Run, t: &LabelThresholds, json: bool) -> Result<()> {
    let file = run.dir().join("threshold.json");
    if json {
        let mut v = serde_json::to_value(t).context("serialising thresholds")?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("file".into(), json!(file));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&v).context("serialising thresholds")?
        );
        return Ok(());
    }
    let objective = t
        .labels
        .first()
        .map_or_else(String::new, |l| l.choice.objective.to_string());
    println!(
        "One threshold per label ({objective}) on the validation split: a label is predicted when its probability is at least its threshold."
    );
    let mut table = table(&["label", "threshold", "precision", "recall", "F1"]);
    for l in &t.labels {
        let c = &l.choice;
        let mut row = vec![Cell::new(&l.label)];
        row.extend(
            [c.threshold, c.precision, c.recall, c.f1]
                .map(|v| Cell::new(format!("{v:.4}")).set_alignment(CellAlignment::Right)),
        );
        table.add_row(row);
    }
    println!("{table}");
    println!(
        "Saved to {}; predict, evaluate and report use them from now on (delete the file to go back to 0.5).",
        file.display()
    );
    Ok(())
}

/// A LIME explanation: the words with their weights.
pub fn print_explanation(
    run: &Run,
    text: &str,
    e: &Explanation,
    json: bool,
    html: Option<&std::path::Path>,
) -> Result<()> {
    let classes = run.class_names();
    let name = |k: usize| classes.get(k).cloned().unwrap_or_else(|| k.to_string());
    if json {
        let probs: serde_json::Map<String, serde_json::Value> = e
            .predicted_proba
            .iter()
            .enumerate()
            .map(|(k, v)| (name(k), json!(v)))
            .collect();
        let v = json!({
            "text": text,
            "label": name(e.label),
            "label_index": e.label,
            "probabilities": probs,
            "words": e.words,
            "intercept": e.intercept,
            "local_prediction": e.local_pred,
            "score": e.score,
            "num_samples": e.num_samples,
            "num_words": e.num_words,
            "html": html,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).context("serialising explanation")?
        );
        return Ok(());
    }
    let p = e.predicted_proba.get(e.label).copied().unwrap_or(f32::NAN);
    println!(
        "Explaining class `{}` (model probability {p:.4}); positive weights push towards it, negative against.",
        name(e.label)
    );
    println!(
        "Local linear model: intercept {:.4}, prediction {:.4}, R^2 {:.4} ({} perturbations of {} distinct words).",
        e.intercept, e.local_pred, e.score, e.num_samples, e.num_words
    );
    let mut t = table(&["#", "word", "weight"]);
    for (i, w) in e.words.iter().enumerate() {
        t.add_row(vec![
            Cell::new(i + 1),
            Cell::new(&w.word),
            Cell::new(format!("{:+.4}", w.weight)).set_alignment(CellAlignment::Right),
        ]);
    }
    println!("{t}");
    if let Some(path) = html {
        println!("HTML written to {}", path.display());
    }
    Ok(())
}

/// What `train` prints at the end.
pub fn print_train_outcome(recipe: &Recipe, o: &TrainOutcome, json: bool) -> Result<()> {
    if json {
        let v = json!({
            "run_dir": o.dir,
            "epochs_run": o.epochs_run,
            "train_seconds": o.train_seconds,
            "train_size": o.sizes.0,
            "validation_size": o.sizes.1,
            "test_size": o.sizes.2,
            "parameters": o.parameters,
            "test": o.test,
            "plots": o.dir.join("plots"),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).context("serialising outcome")?
        );
        return Ok(());
    }
    println!(
        "Trained {} for {} epochs in {:.1}s ({} train / {} validation examples, {} parameters).",
        recipe.name, o.epochs_run, o.train_seconds, o.sizes.0, o.sizes.1, o.parameters
    );
    if let Some(m) = &o.test {
        print_test_metrics(recipe, m, false)?;
    }
    println!(
        "Run saved in {} (plots in {}).",
        o.dir.display(),
        o.dir.join("plots").display()
    );
    Ok(())
}

/// One row per input of a chunk, in input order: id, label and probability (binary runs decide
/// at `threshold`), or JSON Lines with every class's probability and the status. `first`: the
/// first chunk (the threshold line is printed once); each later chunk is a table of its own, so
/// memory stays bounded on large inputs.
pub fn print_predictions(
    run: &Run,
    rows: &[PredictedRow],
    threshold: Option<DecisionThreshold>,
    json: bool,
    first: bool,
) {
    let classes = run.class_names();
    let name = |k: usize| classes.get(k).cloned().unwrap_or_else(|| k.to_string());
    if json {
        for row in rows {
            // The record `textrnn serve` returns, with the input's id and text.
            let mut v = json!(PredictionRecord::new(
                row.prediction.as_ref(),
                classes,
                threshold
            ));
            if let Some(obj) = v.as_object_mut() {
                obj.insert("id".into(), json!(row.id));
                obj.insert("text".into(), json!(row.text));
            }
            println!("{v}");
        }
        return;
    }
    if let Some(t) = threshold.filter(|t| first && t.source != textrnn::ThresholdSource::Default) {
        println!(
            "Decision threshold: {} — `{}` when its probability is at least {:.4}.",
            t.describe(),
            name(1),
            t.value
        );
    }
    // Multi-label runs: the decided label set and every label's probability (one column each).
    let multi = run.multi_label();
    let mut header: Vec<String> = vec!["id".into(), if multi { "labels" } else { "label" }.into()];
    if multi {
        header.extend(classes.iter().map(|c| format!("p({c})")));
    } else {
        header.push("probability".into());
    }
    header.push("text".into());
    let mut t = table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for row in rows {
        let shown: String = if row.text.trim().is_empty() {
            "(empty text)".into()
        } else if row.text.chars().count() > 70 {
            row.text.chars().take(67).chain("...".chars()).collect()
        } else {
            row.text.clone()
        };
        let prob = |k: usize| {
            row.prediction
                .as_ref()
                .and_then(|p| p.probs.get(k))
                .map_or_else(|| "-".into(), |v| format!("{v:.4}"))
        };
        let mut cells = vec![Cell::new(&row.id)];
        match &row.prediction {
            Some(p) if multi => {
                let set: Vec<String> = p.labels.iter().flatten().map(|&k| name(k)).collect();
                cells.push(Cell::new(if set.is_empty() {
                    "(none)".to_string()
                } else {
                    set.join(", ")
                }));
            }
            Some(p) => cells.push(Cell::new(name(p.label))),
            None => cells.push(Cell::new("-")),
        }
        let columns: Vec<usize> = if multi {
            (0..classes.len()).collect()
        } else {
            row.prediction
                .as_ref()
                .map(|p| p.label)
                .into_iter()
                .collect()
        };
        if columns.is_empty() {
            cells.push(Cell::new("-").set_alignment(CellAlignment::Right));
        }
        for k in columns {
            cells.push(Cell::new(prob(k)).set_alignment(CellAlignment::Right));
        }
        cells.push(Cell::new(shown));
        t.add_row(cells);
    }
    println!("{t}");
}

/// The one-line summary of `predict --output` (or its JSON object).
pub fn print_predict_summary(s: &PredictSummary, out: &std::path::Path, json: bool) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(s).context("serialising the summary")?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("rows_per_sec".into(), json!(s.rows_per_sec()));
            obj.insert("output".into(), json!(out.display().to_string()));
        }
        println!("{v}");
        return Ok(());
    }
    println!(
        "Predicted {} rows ({} empty texts) in {:.1} s ({:.0} rows/s); wrote {}",
        s.rows,
        s.empty,
        s.seconds,
        s.rows_per_sec(),
        out.display()
    );
    Ok(())
}

/// Keras-style summary of a recipe's model.
pub fn print_summary(
    recipe: &Recipe,
    from: &str,
    vocab: usize,
    maxlen: usize,
    json: bool,
) -> Result<()> {
    let vocab = recipe.text.num_words.unwrap_or(vocab);
    let maxlen = recipe.text.maxlen.unwrap_or(maxlen);
    let spec = recipe.model.clone().with_vocab_size(vocab);
    let summary = spec
        .summary(maxlen)
        .with_context(|| format!("summarising {from}"))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).context("serialising summary")?
        );
    } else {
        println!("{summary}");
        println!("Input: {maxlen} token ids per text (index 0 is padding).");
        if let Some(textrnn::models::LayerSpec::Embedding(e)) = recipe.model.layers.first() {
            if let Some(weights) = &e.weights {
                println!(
                    "Embedding: pretrained vectors from {} ({}).",
                    weights.display(),
                    if e.trainable {
                        "trainable"
                    } else {
                        "frozen, trainable = false"
                    }
                );
            }
        }
    }
    Ok(())
}

/// `count (share%)`.
fn count_share(count: usize, share: f64) -> String {
    format!("{count} ({})", textrnn::check::percent(share))
}

/// What `check` found: files, splits, classes, overlap and the warnings.
pub fn print_check(r: &CheckReport, json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(r).context("serialising the check")?
        );
        return Ok(());
    }
    let sizes: Vec<String> = r
        .splits
        .iter()
        .map(|s| format!("{} {}", s.split, s.rows))
        .collect();
    println!(
        "Data of recipe {} ({}): {} classes; rows: {}.",
        r.recipe,
        r.source,
        r.classes.len(),
        sizes.join(", ")
    );
    let tok = &r.tokenizer;
    println!(
        "Tokenizer fitted on {}: {} words, num_words {}, maxlen {} ({}).",
        match tok.fit_on {
            textrnn::FitOn::Train => "train",
            textrnn::FitOn::TrainAndTest => "train and test",
        },
        tok.words,
        tok.num_words
            .map_or_else(|| "all".into(), |n| n.to_string()),
        tok.maxlen,
        if tok.maxlen_from_data {
            "longest train text + 1"
        } else {
            "from the recipe"
        }
    );
    if !r.files.is_empty() {
        let mut t = table(&["split", "file", "format", "rows", "not UTF-8"]);
        for f in &r.files {
            t.add_row(vec![
                Cell::new(&f.split),
                Cell::new(f.path.display()),
                Cell::new(f.format),
                Cell::new(f.rows).set_alignment(CellAlignment::Right),
                Cell::new(f.non_utf8.count).set_alignment(CellAlignment::Right),
            ]);
        }
        println!("{t}");
    }
    let mut t = table(&[
        "split",
        "rows",
        "empty",
        "no words",
        "repeated rows",
        "conflicting texts",
        "tokens p50/90/95/99/max",
        "> maxlen",
        "OOV",
    ]);
    for s in &r.splits {
        let lengths = s.lengths.as_ref().map_or_else(
            || ("-".to_string(), "-".to_string()),
            |l| {
                (
                    format!("{}/{}/{}/{}/{}", l.p50, l.p90, l.p95, l.p99, l.max),
                    count_share(l.truncated, l.truncated_share),
                )
            },
        );
        let right = |c: Cell| c.set_alignment(CellAlignment::Right);
        t.add_row(vec![
            Cell::new(&s.split),
            right(Cell::new(s.rows)),
            right(Cell::new(s.empty_texts.count)),
            right(Cell::new(s.no_words.count)),
            right(Cell::new(s.duplicates.extra_rows)),
            right(Cell::new(s.conflicting_duplicates.texts)),
            right(Cell::new(lengths.0)),
            right(Cell::new(lengths.1)),
            right(Cell::new(s.oov.as_ref().map_or_else(
                || "-".into(),
                |o| textrnn::check::percent(o.rate),
            ))),
        ]);
    }
    println!("{t}");
    let mut header = vec!["class"];
    header.extend(r.splits.iter().map(|s| s.split.as_str()));
    let mut t = table(&header);
    for (k, class) in r.classes.iter().enumerate() {
        let mut row = vec![Cell::new(class)];
        row.extend(r.splits.iter().map(|s| {
            let cell = s
                .classes
                .get(k)
                .map_or_else(String::new, |c| count_share(c.count, c.share));
            Cell::new(cell).set_alignment(CellAlignment::Right)
        }));
        t.add_row(row);
    }
    println!("{t}");
    if !r.overlaps.is_empty() {
        let mut t = table(&["overlap", "rows", "distinct texts", "other label", "e.g."]);
        for o in &r.overlaps {
            let example = o.examples.first().map_or_else(String::new, |e| {
                let train: Vec<&str> = e.train.iter().map(|t| t.id.as_str()).collect();
                format!(
                    "{} id {} = train id {}: {}",
                    o.split,
                    e.row.id,
                    train.join(", "),
                    e.text
                )
            });
            t.add_row(vec![
                Cell::new(format!("train/{}", o.split)),
                Cell::new(count_share(o.rows, o.share)).set_alignment(CellAlignment::Right),
                Cell::new(o.texts).set_alignment(CellAlignment::Right),
                Cell::new(o.conflicting).set_alignment(CellAlignment::Right),
                Cell::new(example),
            ]);
        }
        println!("{t}");
    }
    if r.warnings.is_empty() {
        println!("No problems found.");
    } else {
        println!("Warnings:");
        for w in &r.warnings {
            println!("- {}", w.message);
        }
    }
    Ok(())
}

/// What `export` wrote (or its JSON object).
pub fn print_export(s: &textrnn::ExportSummary, json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string(s).context("serialising the export summary")?
        );
        return Ok(());
    }
    println!(
        "Wrote {} ({} bytes, ONNX opset {})",
        s.model.display(),
        s.model_bytes,
        s.opset
    );
    println!("  input  {}", s.input);
    println!("  output {} (classes: {})", s.output, s.classes.join(", "));
    println!("Wrote {} (Hugging Face tokenizers)", s.tokenizer.display());
    println!(
        "Wrote {} (the cleaning steps as data)",
        s.cleaning.display()
    );
    if s.unexpressed.is_empty() {
        println!("tokenizer.json expresses every cleaning step.");
    } else {
        println!(
            "Not expressed in tokenizer.json (apply them before encoding; defined in {}): {}",
            s.cleaning.display(),
            s.unexpressed.join(", ")
        );
    }
    Ok(())
}

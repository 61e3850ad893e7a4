//! Human-readable tables and `--json` output.

use anyhow::{Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use serde_json::json;
use textrnn::eval::{Explanation, Predictions, ThresholdChoice};
use textrnn::{DecisionThreshold, Recipe, Run, TestMetrics, TrainOutcome, BUILTIN_RECIPES};

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
    let mut t = table(&["test metric", "textrnn", "published"]);
    t.add_row(vec![
        Cell::new("accuracy"),
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
    println!("Test split: {} examples", m.n);
    if let Some(th) = &m.threshold {
        println!("Decision threshold: {}", th.describe());
    }
    println!("{t}");
    println!();
    println!("Confusion matrix (rows: true class, columns: predicted class):");
    print!("{}", m.confusion_matrix);
    println!();
    println!("Classification report:");
    print!("{}", m.classification_report);
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

/// One row per input: label and probability (binary runs decide at `threshold`).
pub fn print_predictions(
    run: &Run,
    texts: &[String],
    preds: &Predictions,
    threshold: Option<DecisionThreshold>,
    json: bool,
) -> Result<()> {
    let classes = run.class_names();
    let c = preds.n_classes;
    let decided = preds.decide(threshold.map(|t| t.value));
    let rows: Vec<(usize, f32, &[f32])> = (0..texts.len())
        .map(|i| {
            let p = &preds.probs[i * c..(i + 1) * c];
            let best = decided.get(i).map_or(0, |&k| k as usize);
            (best, p.get(best).copied().unwrap_or(f32::NAN), p)
        })
        .collect();
    let name = |k: usize| classes.get(k).cloned().unwrap_or_else(|| k.to_string());
    if json {
        for (text, (best, prob, p)) in texts.iter().zip(&rows) {
            let probs: serde_json::Map<String, serde_json::Value> = p
                .iter()
                .enumerate()
                .map(|(k, v)| (name(k), json!(v)))
                .collect();
            let mut v = json!({"text": text, "label": name(*best), "probability": prob, "probabilities": probs});
            if let (Some(t), Some(obj)) = (threshold, v.as_object_mut()) {
                obj.insert("threshold".into(), json!(t.value));
                obj.insert("threshold_source".into(), json!(t.source));
            }
            println!("{v}");
        }
        return Ok(());
    }
    if let Some(t) = threshold.filter(|t| t.source != textrnn::ThresholdSource::Default) {
        println!(
            "Decision threshold: {} — `{}` when its probability is at least {:.4}.",
            t.describe(),
            name(1),
            t.value
        );
    }
    let mut t = table(&["#", "label", "probability", "text"]);
    for (i, (text, (best, prob, _))) in texts.iter().zip(&rows).enumerate() {
        let shown: String = if text.chars().count() > 70 {
            text.chars().take(67).chain("...".chars()).collect()
        } else {
            text.clone()
        };
        t.add_row(vec![
            Cell::new(i + 1),
            Cell::new(name(*best)),
            Cell::new(format!("{prob:.4}")).set_alignment(CellAlignment::Right),
            Cell::new(shown),
        ]);
    }
    println!("{t}");
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
    }
    Ok(())
}

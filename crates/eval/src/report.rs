//! One self-contained HTML page summarising a run: recipe, model, training curves, evaluation
//! (metrics, classification report, confusion matrix, ROC/PR curves) and LIME explanations.
//!
//! Inputs are plain data gathered by the caller in a [`RunReport`]; missing parts are simply
//! left out of the page. Figures are embedded as `data:image/png;base64,...` images, styles are
//! inline, and there are no scripts or external resources, so the file can be mailed or
//! archived as is.
//!
//! ```
//! use textrnn_eval::{render_html, RunReport};
//! let report = RunReport {
//!     run_name: "imdb-lstm".into(),
//!     history: vec![("loss".into(), vec![0.6, 0.4]), ("val_loss".into(), vec![0.55, 0.5])],
//!     metrics: vec![("test accuracy".into(), 0.87)],
//!     ..RunReport::default()
//! };
//! let html = render_html(&report).unwrap();
//! assert!(html.contains("data:image/png;base64,") && html.contains("imdb-lstm"));
//! ```

use std::fmt::Write;
use std::path::Path;

use base64::Engine;

use crate::explain::{class_name, escape_html, probability_bars, EXPLAIN_CSS};
use crate::plot::{confusion_figure, history_figure, pr_figure, reliability_figure, roc_figure};
use crate::{
    ClassificationReport, ConfusionMatrix, Explanation, Figure, MultiLabelReport, NamedCurve,
    PrCurve, Reliability, Result, RocCurve,
};

/// One example shown with its prediction and (optionally) its LIME explanation.
#[derive(Debug, Clone, Default)]
pub struct ExplainedExample {
    /// The input text.
    pub text: String,
    /// True class index.
    pub true_label: usize,
    /// Predicted class index.
    pub predicted_label: usize,
    /// Predicted probabilities of every class.
    pub probs: Vec<f32>,
    /// The explanation, if one was computed.
    pub explanation: Option<Explanation>,
}

/// Everything the report shows; every part is optional (empty or `None` = left out).
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Run name (page title).
    pub run_name: String,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
    /// The recipe as pretty JSON or TOML text.
    pub recipe: String,
    /// The model summary table.
    pub model_summary: String,
    /// Headline numbers, e.g. `("test accuracy", 0.87)`, `("ROC AUC", 0.93)`.
    pub metrics: Vec<(String, f64)>,
    /// Training history series `(name, per-epoch values)`, `val_` prefix for validation.
    pub history: Vec<(String, Vec<f64>)>,
    /// The classification report on the test set.
    pub classification: Option<ClassificationReport>,
    /// The confusion matrix on the test set.
    pub confusion: Option<ConfusionMatrix>,
    /// ROC curves (one per class, or one for a binary model).
    pub roc: Vec<NamedCurve<RocCurve>>,
    /// Precision-recall curves.
    pub pr: Vec<NamedCurve<PrCurve>>,
    /// Examples with their explanations, correct and wrong ones.
    pub examples: Vec<ExplainedExample>,
    /// The multi-label report on the test set (per-label scores and the thresholds used), for a
    /// multi-label model.
    pub multi_label: Option<MultiLabelReport>,
    /// Reliability data of the test set, e.g. `("uncalibrated", ..)` and
    /// `("calibrated, T = 1.300", ..)`: drawn as one reliability diagram with each one's ECE.
    pub reliability: Vec<(String, Reliability)>,
    /// The text shown with the reliability diagram (what the ECE bins, whether the run is
    /// calibrated).
    pub reliability_note: String,
}

const CSS: &str = r#"
:root { --accent: #1f5fa8; --muted: #666; --line: #e2e2e2; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222; margin: 0; background: #f4f5f7; line-height: 1.5; }
header { background: #1d2b3a; color: #fff; padding: 1.4em 2em; }
header h1 { margin: 0; font-size: 1.6em; }
header p { margin: 0.3em 0 0; color: #c9d3de; }
nav { background: #fff; border-bottom: 1px solid var(--line); padding: 0.6em 2em; position: sticky; top: 0; z-index: 1; }
nav a { margin-right: 1.2em; color: var(--accent); text-decoration: none; font-size: 0.95em; }
main { max-width: 1250px; margin: 0 auto; padding: 1em 2em 3em; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1em 1.5em 1.4em; margin: 1.2em 0; }
h2 { margin-top: 0.2em; font-size: 1.3em; border-bottom: 2px solid var(--accent); padding-bottom: 0.2em; display: inline-block; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
table.data { border-collapse: collapse; margin: 0.6em 0; font-size: 0.93em; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 4px 12px; text-align: right; font-variant-numeric: tabular-nums; }
table.data th:first-child, table.data td:first-child { text-align: left; }
table.data thead th { background: #f0f3f7; }
table.data tr.avg td { background: #fafbfc; font-style: italic; }
.cards { display: flex; flex-wrap: wrap; gap: 1em; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 0.6em 1.2em; min-width: 10em; background: #fbfcfe; }
.card .v { font-size: 1.5em; font-weight: 600; color: var(--accent); }
.card .k { color: var(--muted); font-size: 0.85em; }
.figs { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 0.85em; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 0.8em 1em; overflow-x: auto; font-size: 0.85em; }
.warn { color: #8a5a00; background: #fff8e1; border: 1px solid #f3d37a; border-radius: 4px; padding: 0.3em 0.8em; margin: 0.4em 0; }
.example { border-top: 1px solid var(--line); padding-top: 0.6em; margin-top: 1em; }
.badge { display: inline-block; border-radius: 10px; padding: 0 0.7em; font-size: 0.85em; font-weight: 600; }
.badge.ok { background: #e3f4e8; color: #1a7f37; } .badge.bad { background: #fde8e8; color: #c62828; }
"#;

fn img(figure: &Figure, alt: &str, caption: &str) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(&figure.png);
    let (w, h) = figure.size;
    format!(
        r#"<figure><img src="data:image/png;base64,{data}" width="{w}" height="{h}" alt="{alt}"><figcaption>{caption}</figcaption></figure>"#,
        alt = escape_html(alt),
        caption = escape_html(caption)
    )
}

fn classification_table(report: &ClassificationReport) -> String {
    let mut t = String::from(
        r#"<table class="data"><thead><tr><th>class</th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr></thead><tbody>"#,
    );
    for c in &report.classes {
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>",
            escape_html(&c.name),
            c.precision,
            c.recall,
            c.f1,
            c.support
        );
    }
    let _ = write!(
        t,
        r#"<tr class="avg"><td>accuracy</td><td></td><td></td><td>{:.4}</td><td>{}</td></tr>"#,
        report.accuracy,
        report.support()
    );
    for (name, a) in [
        ("macro avg", &report.macro_avg),
        ("weighted avg", &report.weighted_avg),
    ] {
        let _ = write!(
            t,
            r#"<tr class="avg"><td>{name}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>"#,
            a.precision, a.recall, a.f1, a.support
        );
    }
    t.push_str("</tbody></table>");
    for w in &report.warnings {
        let _ = write!(t, r#"<div class="warn">⚠ {}</div>"#, escape_html(w));
    }
    t
}

/// The multi-label report as an HTML table: one row per label (with its ROC AUC and threshold),
/// the micro and macro averages, subset accuracy and Hamming loss.
fn multilabel_table(report: &MultiLabelReport) -> String {
    let mut t = String::from(
        r#"<table class="data"><thead><tr><th>label</th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th><th>ROC AUC</th><th>threshold</th></tr></thead><tbody>"#,
    );
    let num = |v: f64| format!("{v:.4}");
    for r in &report.per_label {
        let auc = r.roc_auc.map_or_else(|| "–".to_string(), num);
        let cells = [
            escape_html(&r.label),
            num(r.precision),
            num(r.recall),
            num(r.f1),
            r.support.to_string(),
            auc,
            num(r.threshold),
        ];
        push_row(&mut t, "", &cells);
    }
    let support = report.support().to_string();
    for (name, a) in [
        ("micro avg", &report.micro),
        ("macro avg", &report.macro_avg),
    ] {
        let cells = [
            name.to_string(),
            num(a.precision),
            num(a.recall),
            num(a.f1),
            support.clone(),
        ];
        push_row(&mut t, "avg", &cells);
    }
    let pairs = report.n * report.per_label.len();
    for (name, value, count) in [
        ("subset accuracy", report.subset_accuracy, report.n),
        ("Hamming loss", report.hamming_loss, pairs),
    ] {
        let cells = [
            name.to_string(),
            String::new(),
            String::new(),
            num(value),
            count.to_string(),
        ];
        push_row(&mut t, "avg", &cells);
    }
    t.push_str("</tbody></table>");
    let absent: Vec<String> = report
        .per_label
        .iter()
        .filter(|r| r.support == 0)
        .map(|r| escape_html(&r.label))
        .collect();
    if !absent.is_empty() {
        let _ = write!(
            t,
            r#"<div class="warn">⚠ recall is ill-defined and set to 0.0 for labels with no true samples: {}</div>"#,
            absent.join(", ")
        );
    }
    t
}

/// Appends one table row of already escaped cells, with `class` on the row unless empty.
fn push_row(t: &mut String, class: &str, cells: &[String]) {
    if class.is_empty() {
        t.push_str("<tr>");
    } else {
        let _ = write!(t, r#"<tr class="{class}">"#);
    }
    for c in cells {
        let _ = write!(t, "<td>{c}</td>");
    }
    t.push_str("</tr>");
}

fn confusion_table(cm: &ConfusionMatrix) -> String {
    let mut t = String::from(r#"<table class="data"><thead><tr><th>true \ predicted</th>"#);
    for name in &cm.class_names {
        let _ = write!(t, "<th>{}</th>", escape_html(name));
    }
    t.push_str("</tr></thead><tbody>");
    for (name, row) in cm.class_names.iter().zip(&cm.counts) {
        let _ = write!(t, "<tr><td>{}</td>", escape_html(name));
        for c in row {
            let _ = write!(t, "<td>{c}</td>");
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// Renders the report as one HTML document (see the module docs).
pub fn render_html(report: &RunReport) -> Result<String> {
    let mut sections: Vec<(&str, &str, String)> = Vec::new();

    if !report.metrics.is_empty() {
        let mut s = String::from(r#"<div class="cards">"#);
        for (k, v) in &report.metrics {
            let _ = write!(
                s,
                r#"<div class="card"><div class="v">{v:.4}</div><div class="k">{}</div></div>"#,
                escape_html(k)
            );
        }
        s.push_str("</div>");
        sections.push(("summary", "Summary", s));
    }
    if !report.history.is_empty() {
        let fig = history_figure(&report.history)?;
        let s = img(
            &fig,
            "training history",
            "Loss and metrics per epoch, training and validation.",
        );
        sections.push(("history", "Training history", s));
    }
    let mut eval = String::new();
    if let Some(ml) = &report.multi_label {
        let _ = write!(
            eval,
            "<h3>Multi-label report</h3><p>Each label is predicted when its probability reaches its threshold; undefined ratios (0/0) count as 0.</p>{}<details><summary>text version</summary><pre>{}</pre></details>",
            multilabel_table(ml),
            escape_html(&format!("{ml:.4}"))
        );
    }
    if let Some(cr) = &report.classification {
        let _ = write!(
            eval,
            "<h3>Classification report</h3>{}<details><summary>text version</summary><pre>{}</pre></details>",
            classification_table(cr),
            escape_html(&cr.clone().with_digits(4).to_string())
        );
    }
    if let Some(cm) = &report.confusion {
        let fig = confusion_figure(cm)?;
        let _ = write!(
            eval,
            r#"<h3>Confusion matrix</h3><div class="figs">{}<div>{}</div></div>"#,
            img(
                &fig,
                "confusion matrix",
                "Rows: true class; columns: predicted class."
            ),
            confusion_table(cm)
        );
    }
    let mut curves = String::new();
    if !report.roc.is_empty() {
        curves.push_str(&img(
            &roc_figure(&report.roc)?,
            "ROC curve",
            "ROC curve (one vs rest).",
        ));
    }
    if !report.pr.is_empty() {
        curves.push_str(&img(
            &pr_figure(&report.pr)?,
            "precision-recall curve",
            "Precision-recall curve (one vs rest).",
        ));
    }
    if !curves.is_empty() {
        let _ = write!(
            eval,
            r#"<h3>ROC and precision-recall</h3><div class="figs">{curves}</div>"#
        );
    }
    if !report.reliability.is_empty() {
        let series: Vec<(&str, &Reliability)> = report
            .reliability
            .iter()
            .map(|(name, r)| (name.as_str(), r))
            .collect();
        let mut rows = String::from(
            r#"<table class="data"><thead><tr><th>probabilities</th><th>ECE</th><th>binned</th></tr></thead><tbody>"#,
        );
        for (name, r) in &series {
            push_row(
                &mut rows,
                "",
                &[escape_html(name), format!("{:.4}", r.ece), r.n.to_string()],
            );
        }
        rows.push_str("</tbody></table>");
        let _ = write!(
            eval,
            r#"<h3>Calibration</h3><p>{}</p><div class="figs">{}<div>{rows}</div></div>"#,
            escape_html(&report.reliability_note),
            img(
                &reliability_figure(&series)?,
                "reliability diagram",
                "Per bin: mean confidence against accuracy; the diagonal is perfect calibration."
            ),
        );
    }
    if !eval.is_empty() {
        sections.push(("evaluation", "Evaluation", eval));
    }
    if !report.examples.is_empty() {
        let mut s = String::from(
            "<p>Single predictions explained with LIME: the words whose removal changes the probability of the explained class most.</p>",
        );
        for (i, ex) in report.examples.iter().enumerate() {
            let ok = ex.true_label == ex.predicted_label;
            let _ = write!(
                s,
                r#"<div class="example"><h3>Example {} <span class="badge {}">{}</span></h3><p>true: <b>{}</b> · predicted: <b>{}</b></p>"#,
                i + 1,
                if ok { "ok" } else { "bad" },
                if ok { "correct" } else { "wrong" },
                escape_html(&class_name(&report.class_names, ex.true_label)),
                escape_html(&class_name(&report.class_names, ex.predicted_label)),
            );
            match &ex.explanation {
                Some(e) => s.push_str(&e.html_fragment(&ex.text, &report.class_names, &ex.probs)),
                None => {
                    let _ = write!(
                        s,
                        r#"<div class="lime"><div class="lime-text">{}</div>{}</div>"#,
                        escape_html(&ex.text),
                        probability_bars(&report.class_names, &ex.probs, ex.predicted_label)
                    );
                }
            }
            s.push_str("</div>");
        }
        sections.push(("examples", "Explained examples", s));
    }
    if !report.model_summary.is_empty() {
        let s = format!("<pre>{}</pre>", escape_html(&report.model_summary));
        sections.push(("model", "Model", s));
    }
    if !report.recipe.is_empty() {
        let s = format!("<pre>{}</pre>", escape_html(&report.recipe));
        sections.push(("recipe", "Recipe", s));
    }

    let title = escape_html(&report.run_name);
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title} — textrnn report</title>\n<style>{CSS}{EXPLAIN_CSS}</style>\n</head>\n<body>\n<header><h1>{title}</h1><p>textrnn run report</p></header>\n<nav>"
    );
    for (id, heading, _) in &sections {
        let _ = write!(html, "<a href=\"#{id}\">{heading}</a>");
    }
    html.push_str("</nav>\n<main>\n");
    for (id, heading, body) in &sections {
        let _ = write!(
            html,
            "<section id=\"{id}\"><h2>{heading}</h2>\n{body}\n</section>\n"
        );
    }
    html.push_str("</main>\n</body>\n</html>\n");
    Ok(html)
}

/// Renders the report and writes it to `path` atomically.
pub fn write_report(report: &RunReport, path: &Path) -> Result<()> {
    let html = render_html(report)?;
    textrnn_fs::write(path, html.as_bytes())?;
    Ok(())
}

//! Builds a report from synthetic data, opens it in headless Chromium, keeps a screenshot and
//! checks through the DOM that every image decoded and no error event fired.
//!
//! Skipped (with a message) when `/usr/bin/chromium` is absent. Artifacts go to
//! `$TEXTRNN_ARTIFACTS/report` or `target/test-artifacts/report`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use textrnn_eval::{
    argmax_labels, classification_report, confusion_matrix, precision_recall_curves, roc_curves,
};
use textrnn_eval::{write_report, ExplainedExample, RunReport};
use textrnn_eval::{BoxError, LimeConfig, LimeTextExplainer};

const CHROMIUM: &str = "/usr/bin/chromium";

mod common;

fn artifacts() -> PathBuf {
    common::artifacts("report")
}

/// A 4-class topic "model": each class has a few cue words.
fn topic_probs(text: &str) -> Vec<f32> {
    let cues: [&[&str]; 4] = [
        &["election", "minister", "war", "un"],
        &["match", "goal", "season", "coach"],
        &["shares", "profit", "market", "bank"],
        &["software", "nasa", "chip", "internet"],
    ];
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
    let mut scores: Vec<f32> = cues
        .iter()
        .map(|cue| 0.2 + cue.iter().filter(|w| words.contains(w)).count() as f32)
        .collect();
    let sum: f32 = scores.iter().sum();
    scores.iter_mut().for_each(|s| *s /= sum);
    scores
}

fn synthetic_report() -> RunReport {
    let class_names: Vec<String> = ["World", "Sports", "Business", "Sci/Tech"]
        .map(String::from)
        .to_vec();
    let texts = [
        ("Minister wins election after war of words", 0),
        ("Coach praises season after late goal in the match", 1),
        ("Bank shares rise as market cheers profit", 2),
        ("NASA tests new chip for internet satellites", 3),
        ("UN minister meets coach before the match", 0),
        ("Software market shares fall on bank profit warning", 3),
        ("Internet election ads: minister criticised", 0),
        ("Goal-line chip technology for the season", 1),
    ];
    let mut probs = Vec::new();
    let mut labels = Vec::new();
    for i in 0..120 {
        let (text, label) = texts[i % texts.len()];
        let mut p = topic_probs(text);
        // deterministic jitter so curves are not degenerate
        let j = ((i * 13) % 7) as f32 * 0.01;
        p[(label + 1) % 4] += j;
        let s: f32 = p.iter().sum();
        p.iter_mut().for_each(|v| *v /= s);
        probs.extend(p);
        labels.push(label as u32);
    }
    let pred = argmax_labels(&probs, 4).unwrap();
    let classification = classification_report(&labels, &pred, &class_names).unwrap();
    let confusion = confusion_matrix(&labels, &pred, &class_names).unwrap();

    let explainer = LimeTextExplainer::new(LimeConfig {
        num_samples: 500,
        seed: 3,
        ..LimeConfig::default()
    });
    let mut predict = |batch: &[String]| -> Result<Vec<Vec<f32>>, BoxError> {
        Ok(batch.iter().map(|t| topic_probs(t)).collect())
    };
    let examples = [texts[0], texts[2], texts[4], texts[5]]
        .iter()
        .map(|&(text, label)| {
            let probs = topic_probs(text);
            let explanation = explainer.explain(text, &mut predict, None).unwrap();
            ExplainedExample {
                text: text.to_string(),
                true_label: label,
                predicted_label: explanation.label,
                probs,
                explanation: Some(explanation),
            }
        })
        .collect();

    RunReport {
        run_name: "ag_news-bilstm <synthetic>".into(),
        class_names: class_names.clone(),
        recipe: "name = \"ag_news-bilstm\"\nseed = 42\n\n[train]\nepochs = 5\nbatch_size = 64\n".into(),
        model_summary: "Model: \"ag_news-bilstm\"\n Layer (type)            Output Shape        Param #\n embedding (Embedding)   (None, 100, 64)     640000\n".into(),
        metrics: vec![
            ("test accuracy".into(), classification.accuracy),
            ("macro F1".into(), classification.macro_avg.f1),
        ],
        history: vec![
            ("loss".into(), vec![1.2, 0.8, 0.6, 0.5, 0.45]),
            ("accuracy".into(), vec![0.5, 0.7, 0.8, 0.84, 0.86]),
            ("val_loss".into(), vec![1.0, 0.75, 0.62, 0.6, 0.61]),
            ("val_accuracy".into(), vec![0.62, 0.74, 0.79, 0.8, 0.8]),
        ],
        roc: roc_curves(&probs, 4, &labels, &class_names).unwrap(),
        pr: precision_recall_curves(&probs, 4, &labels, &class_names).unwrap(),
        classification: Some(classification),
        confusion: Some(confusion),
        examples,
        ..RunReport::default()
    }
}

/// Collects error events (resource errors included, via capture) and, on load, writes into
/// `<pre id="status">` how many images there are, how many failed to decode, and the errors.
const PROBE: &str = r#"<script>
window.__errs = [];
window.addEventListener('error', function (e) {
  window.__errs.push(e.message || ('resource ' + ((e.target && (e.target.src || e.target.href)) || '?').slice(0, 60)));
}, true);
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).length;
  var pre = document.createElement('pre');
  pre.id = 'status';
  pre.textContent = 'images=' + imgs.length + ' broken=' + broken + ' errors=' + window.__errs.length + ' ' + window.__errs.join(' | ');
  document.body.appendChild(pre);
});
</script>"#;

/// Runs Chromium with the common flags; stdout and stderr go to files (a DOM dump with
/// embedded images is larger than a pipe buffer). Returns (stdout, stderr).
fn chromium(args: &[&str], profile: &Path) -> (String, String) {
    let out_path = profile.join("stdout.txt");
    let err_path = profile.join("stderr.txt");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("user-data").display()
        ))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    while child.try_wait().expect("wait chromium").is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default(),
    )
}

#[test]
fn report_renders_in_chromium() {
    let dir = artifacts();
    let report = synthetic_report();
    let path = dir.join("report.html");
    write_report(&report, &path).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(
        !html.contains("<script"),
        "the report itself has no scripts"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
    assert!(
        html.contains("ag_news-bilstm &lt;synthetic&gt;"),
        "titles are escaped"
    );
    assert_eq!(html.matches("data:image/png;base64,").count(), 4);
    for heading in [
        "Summary",
        "Training history",
        "Evaluation",
        "Explained examples",
        "Model",
        "Recipe",
    ] {
        assert!(
            html.contains(&format!("<h2>{heading}</h2>")),
            "section {heading}"
        );
    }
    assert!(
        html.contains("badge ok") && html.contains("badge bad"),
        "correct and wrong examples"
    );

    if !Path::new(CHROMIUM).exists() {
        println!(
            "skipping the browser check: {CHROMIUM} is not installed (apt-get install chromium)"
        );
        return;
    }
    let probed = dir.join("report-probe.html");
    std::fs::write(
        &probed,
        html.replacen("<head>", &format!("<head>\n{PROBE}"), 1),
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", probed.canonicalize().unwrap().display());

    let shot = dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let (_, stderr) = chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
            &url,
        ],
        profile.path(),
    );
    assert!(shot.exists(), "no screenshot: {stderr}");
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);

    let (dom, stderr) = chromium(
        &["--virtual-time-budget=5000", "--dump-dom", &url],
        profile.path(),
    );
    let status = dom
        .split("<pre id=\"status\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("no status in the DOM dump; stderr: {stderr}"));
    println!("browser status: {status}; screenshot at {}", shot.display());
    assert!(status.starts_with("images=4 broken=0 errors=0"), "{status}");
}

//! Temperature scaling of a tiny trained run end to end: `calibrate` writes `calibration.json`,
//! `Run::open` loads it, every probability is `activation(logits / T)`, `evaluate` shows the
//! ECE before and after, re-calibrating refits from the model's own logits, thresholds record
//! the temperature they were tuned under, and a run without a validation split is refused.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use textrnn::eval::Objective;
use textrnn::{synthetic, Calibration, DataOptions, Run, TrainOptions};

/// The tiny keyword recipe trained for 2 epochs only (6 epochs separate its validation split
/// perfectly, which leaves temperature scaling without a finite optimum), once for the file.
fn base_run() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("calibration-base");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        let mut recipe = synthetic::tiny_recipe(&dir, "tiny", 5).unwrap();
        recipe.train.epochs = 2;
        let out = dir.join("tiny");
        let opts = TrainOptions {
            out: Some(out.clone()),
            ..TrainOptions::default()
        };
        textrnn::train_run(&recipe, &opts).unwrap();
        out
    })
}

/// A fresh copy of the base run for one test (tests change their run).
fn run_copy(name: &str) -> PathBuf {
    let to = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("calibration-{name}"));
    if to.exists() {
        std::fs::remove_dir_all(&to).unwrap();
    }
    copy_dir(base_run(), &to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "run.lock" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn data() -> DataOptions {
    DataOptions::default()
}

const TEXTS: [&str; 4] = [
    "the film was wonderful and the music superb",
    "a boring plot with a dreadful ending",
    "the actor was quite really the story",
    "excellent scene but awful cast",
];

#[test]
fn calibrate_saves_the_temperature_and_every_probability_uses_it() {
    let dir = run_copy("main");
    let run = Run::open(&dir).unwrap();
    assert!(run.calibration().is_none());
    assert_eq!(run.temperature(), 1.0);

    // Before: evaluate shows the ECE once, uncalibrated.
    let before = textrnn::evaluate(&run, &data(), None).unwrap();
    let c = before.calibration.as_ref().expect("calibration metrics");
    assert_eq!(c.temperature, None);
    assert!(c.calibrated.is_none());
    assert_eq!(c.bins, 15);
    assert_eq!(c.uncalibrated.reliability.n, 100);
    assert_eq!(c.uncalibrated.ece, c.uncalibrated.reliability.ece);
    let texts: Vec<String> = TEXTS.iter().map(|t| t.to_string()).collect();
    let plain = run.predict(&texts, 8, false).unwrap();

    let outcome = textrnn::calibrate(&run, &data()).unwrap();
    let cal = &outcome.calibration;
    assert_eq!(outcome.path, dir.join("calibration.json"));
    assert_eq!(
        (cal.method.as_str(), cal.fitted_on.as_str()),
        ("temperature", "validation")
    );
    assert_eq!(cal.n, 60, "15% of the 400 training rows");
    assert_eq!(cal.validation.n, 60);
    assert_eq!(cal.ece_bins, 15);
    let t = cal.temperature;
    assert!(t.is_finite() && t > 0.0 && t != 1.0, "T = {t}");
    assert!(cal.validation.nll_after <= cal.validation.nll_before);
    let test = cal.test.expect("test scores");
    assert_eq!(test.n, 100);
    assert_eq!(
        test.nll_before, c.uncalibrated.nll,
        "the same uncalibrated test NLL as evaluate"
    );
    assert_eq!(test.ece_before, c.uncalibrated.ece);
    assert!(dir.join("plots/reliability.png").is_file());
    assert!(outcome.warning.is_none(), "no threshold.json to warn about");
    let saved: Calibration =
        serde_json::from_str(&std::fs::read_to_string(&outcome.path).unwrap()).unwrap();
    assert_eq!(&saved, cal);

    // Reopened: the run's probabilities are sigmoid(logits / T), through the one code path.
    let run = Run::open(&dir).unwrap();
    assert_eq!(run.temperature(), t);
    let calibrated = run.predict(&texts, 8, false).unwrap();
    let cleaned: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
    let tokens = run
        .config()
        .recipe()
        .text
        .encode(run.tokenizer(), run.config().maxlen(), &cleaned)
        .unwrap();
    let logits =
        textrnn::train::predict_logits(run.model(), &tokens, run.config().maxlen(), 8, false)
            .unwrap();
    assert_eq!(calibrated, logits.probabilities(t).unwrap());
    assert_eq!(plain, logits.probabilities(1.0).unwrap());
    for (i, &z) in logits.values.iter().enumerate() {
        let p = 1.0 / (1.0 + (-f64::from(z) / t).exp());
        assert!((f64::from(calibrated.probs[2 * i + 1]) - p).abs() < 1e-6);
        assert!((f64::from(calibrated.probs[2 * i]) - (1.0 - p)).abs() < 1e-6);
    }

    // Evaluate: before and after on the test split, the same numbers as calibration.json.
    let after = textrnn::evaluate(&run, &data(), None).unwrap();
    let c = after.calibration.as_ref().unwrap();
    assert_eq!(c.temperature, Some(t));
    let calibrated_scores = c.calibrated.as_ref().unwrap();
    assert_eq!(
        (c.uncalibrated.nll, c.uncalibrated.ece),
        (test.nll_before, test.ece_before)
    );
    assert_eq!(
        (calibrated_scores.nll, calibrated_scores.ece),
        (test.nll_after, test.ece_after)
    );
    // The arg-max class never changes under a temperature; the loss is the calibrated one.
    assert_eq!(after.accuracy, before.accuracy);
    assert!(
        (after.loss - test.nll_after).abs() < 1e-4,
        "{} vs {}",
        after.loss,
        test.nll_after
    );

    // Calibrating again refits from the model's own logits: the same temperature, not T^2.
    let again = textrnn::calibrate(&run, &data()).unwrap();
    assert_eq!(again.calibration, *cal);

    // The report shows the reliability diagram and both ECEs; plot redraws the diagram.
    let options = textrnn::ReportOptions {
        examples: 0,
        ..textrnn::ReportOptions::default()
    };
    std::fs::remove_file(dir.join("plots/reliability.png")).unwrap();
    let html = std::fs::read_to_string(textrnn::report(&run, &data(), &options).unwrap()).unwrap();
    for row in [
        format!(
            "<tr><td>uncalibrated</td><td>{:.4}</td><td>100</td></tr>",
            test.ece_before
        ),
        format!(
            "<tr><td>calibrated, T = {t:.3}</td><td>{:.4}</td><td>100</td></tr>",
            test.ece_after
        ),
    ] {
        assert!(html.contains(&row), "{row} missing");
    }
    assert!(html.contains("alt=\"reliability diagram\""));
    let drawn = textrnn::plot(&run, &data()).unwrap();
    assert!(drawn.contains(&dir.join("plots/reliability.png")));
}

#[test]
fn thresholds_record_their_calibration_and_calibrate_warns_about_stale_ones() {
    let dir = run_copy("threshold");
    let run = Run::open(&dir).unwrap();
    textrnn::tune_threshold(&run, &data(), Objective::MaxF1).unwrap();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("threshold.json")).unwrap())
            .unwrap();
    assert_eq!(file["calibration_temperature"], serde_json::Value::Null);

    let outcome = textrnn::calibrate(&run, &data()).unwrap();
    let warning = outcome.warning.expect("a stale threshold warning");
    assert!(
        warning.contains("tuned on uncalibrated probabilities")
            && warning.contains("re-run `textrnn tune-threshold"),
        "{warning}"
    );

    let run = Run::open(&dir).unwrap();
    let choice = textrnn::tune_threshold(&run, &data(), Objective::MaxF1).unwrap();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("threshold.json")).unwrap())
            .unwrap();
    let t = outcome.calibration.temperature;
    assert_eq!(file["calibration_temperature"].as_f64(), Some(t));
    assert_eq!(file["threshold"].as_f64(), Some(choice.threshold));
    // Still readable as the run's threshold, and no warning once tuned under this temperature.
    assert_eq!(
        run.decision_threshold(None).unwrap().unwrap().value,
        choice.threshold
    );
    assert!(textrnn::calibrate(&run, &data()).unwrap().warning.is_none());
}

#[test]
fn a_run_without_a_validation_split_is_refused_before_any_work() {
    let dir = run_copy("no-validation");
    std::fs::remove_file(dir.join("data/validation.jsonl.gz")).unwrap();
    let run = Run::open(&dir).unwrap();
    let err = textrnn::calibrate(&run, &data()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "run directory {}: the run has no validation split (its recipe's [split] made none and the data had none); retrain with a validation split, e.g. --validation FILE or [split] kind = \"random\", validation = 0.2",
            dir.display()
        )
    );
    assert!(!dir.join("calibration.json").exists());
}

#[test]
fn a_broken_calibration_file_is_named_when_the_run_opens() {
    let dir = run_copy("broken");
    std::fs::write(
        dir.join("calibration.json"),
        r#"{"method": "temperature", "temperature": -1.0, "fitted_on": "validation", "n": 1,
            "ece_kind": "top_label", "ece_bins": 15,
            "validation": {"n": 1, "nll_before": 1, "nll_after": 1, "ece_before": 0, "ece_after": 0}}"#,
    )
    .unwrap();
    let err = Run::open(&dir).err().expect("refused").to_string();
    assert_eq!(
        err,
        format!(
            "run directory {}: calibration.json: temperature -1 is not a finite number above 0 (run `textrnn calibrate` again)",
            dir.display()
        )
    );
}

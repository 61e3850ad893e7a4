//! Multi-label runs end to end: a generated corpus whose texts carry 1-3 of 4 labels (a cue word
//! per label) in a CSV label column separated by `,`, trained with a tiny model; then metrics,
//! predictions, per-label thresholds, evaluation on a JSONL file with label lists, and LIME on a
//! chosen label.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use textrnn::eval::Objective;
use textrnn::synthetic::{multi_label_corpus, write_multi_label_csv};
use textrnn::{DataOptions, ExplainOptions, Recipe, Run, TrainOptions};

fn recipe(dir: &Path) -> Recipe {
    let train = dir.join("train.csv");
    let test = dir.join("test.csv");
    write_multi_label_csv(&train, &multi_label_corpus(600, 11)).unwrap();
    write_multi_label_csv(&test, &multi_label_corpus(150, 12)).unwrap();
    // The output layer is written binary: training fits it to Dense(4, sigmoid).
    let toml = format!(
        r#"name = "tags"
seed = 3
[data]
corpus = "csv"
train = {train:?}
test = {test:?}
label_sep = ","
[split]
kind = "random"
validation = 0.2
[text]
num_words = 100
maxlen = 16
[model]
layers = [
  {{ type = "embedding", output_dim = 16 }},
  {{ type = "lstm", units = 16 }},
  {{ type = "dense", units = 1, activation = "sigmoid" }},
]
[train]
epochs = 8
batch_size = 32
optimizer = {{ name = "adam", learning_rate = 0.02 }}
"#
    );
    Recipe::from_toml(&toml, "tags.toml").unwrap()
}

#[test]
fn multi_label_run_trains_predicts_tunes_and_explains() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let opts = TrainOptions {
        out: Some(out.clone()),
        ..TrainOptions::default()
    };
    let outcome = textrnn::train_run(&recipe(tmp.path()), &opts).unwrap();

    // metrics.json: the multi-label report at 0.5, micro F1 >= 0.9.
    let test = outcome.test.unwrap();
    let report = test.multi_label.as_ref().unwrap();
    assert_eq!(report.n, 150);
    assert!(report.micro.f1 >= 0.9, "micro F1 {}", report.micro.f1);
    assert_eq!(test.accuracy, report.subset_accuracy);
    assert!(test.confusion_matrix.is_none() && test.classification_report.is_none());
    assert!(report.per_label.iter().all(|r| r.threshold == 0.5));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert!(metrics.get("multi_label").is_some());
    assert!(metrics.get("confusion_matrix").is_none());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("test_predictions.json")).unwrap())
            .unwrap();
    assert_eq!(saved["multi_label"], true);
    assert_eq!(saved["targets"].as_array().unwrap().len(), 150 * 4);

    let run = Run::open(&out).unwrap();
    assert!(run.multi_label());
    assert_eq!(
        run.class_names(),
        ["music", "politics", "science", "sports"]
    );
    assert_eq!(run.config().label_sep(), Some(","));
    assert_eq!(run.label_thresholds().unwrap(), vec![0.5; 4]);
    // A binary-only option is refused with the reason.
    let e = run.decision_threshold(Some(0.3)).unwrap_err().to_string();
    assert!(e.contains("multi-label"), "{e}");

    // predict: the label set and every label's probability.
    let texts = ["the goal and the album", "a vote", "   "];
    let preds = textrnn::predict_texts(&run, &texts, 8, None).unwrap();
    let first = preds[0].as_ref().unwrap();
    assert_eq!(first.labels.as_deref(), Some(&[0, 3][..]));
    assert_eq!(first.probs.len(), 4);
    let record = textrnn::PredictionRecord::new(preds[1].as_ref(), run.class_names(), None);
    assert_eq!(record.labels, Some(vec!["politics".to_string()]));
    assert_eq!(record.probabilities.as_ref().unwrap().len(), 4);
    assert!(preds[2].is_none());
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["labels"], serde_json::json!(["politics"]));

    // tune-threshold: one threshold per label on the validation split, used from then on.
    let data = DataOptions::default();
    let tuned = textrnn::tune_label_thresholds(&run, &data, Objective::MaxF1).unwrap();
    let names: Vec<&str> = tuned.labels.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(names, ["music", "politics", "science", "sports"]);
    assert_eq!(run.label_thresholds().unwrap(), tuned.values());
    let reopened = Run::open(&out).unwrap();
    let m = textrnn::evaluate(&reopened, &data, None).unwrap();
    let rows = &m.multi_label.as_ref().unwrap().per_label;
    let used: Vec<f64> = rows.iter().map(|r| r.threshold).collect();
    assert_eq!(used, tuned.values());
    // threshold.json is read once, when the run opens: an open run (serve's) keeps deciding
    // with what it read, while a newly opened one sees the file as it is now.
    let saved = std::fs::read(out.join("threshold.json")).unwrap();
    std::fs::remove_file(out.join("threshold.json")).unwrap();
    assert_eq!(reopened.label_thresholds().unwrap(), tuned.values());
    let again = textrnn::predict_texts(&reopened, &texts, 8, None).unwrap();
    let first_again = again[0].as_ref().unwrap();
    let decided: Vec<usize> = (0..4)
        .filter(|&j| f64::from(first_again.probs[j]) >= tuned.values()[j])
        .collect();
    assert_eq!(first_again.labels.as_deref(), Some(&decided[..]));
    assert_eq!(
        Run::open(&out).unwrap().label_thresholds().unwrap(),
        vec![0.5; 4]
    );
    std::fs::write(out.join("threshold.json"), saved).unwrap();
    // The binary tuner refuses a multi-label run.
    let e = textrnn::tune_threshold(&run, &data, Objective::MaxF1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("multi-label"), "{e}");

    // evaluate --file on JSON Lines with label lists (rows of one label are sets of one).
    let jsonl = tmp.path().join("extra.jsonl");
    std::fs::write(
        &jsonl,
        "{\"text\": \"the goal was a physics match\", \"label\": [\"sports\", \"science\"]}\n\
         {\"text\": \"a guitar concert\", \"label\": \"music\"}\n",
    )
    .unwrap();
    let spec = textrnn::data::TableSpec {
        label_col: Some("label".into()),
        ..Default::default()
    };
    let m = textrnn::evaluate_file(&reopened, &jsonl, &spec, None, false).unwrap();
    assert_eq!(m.multi_label.as_ref().unwrap().n, 2);

    // explain --label: LIME on the chosen label's probability; unknown labels are named.
    let label = run.class_index("science").unwrap();
    assert_eq!(label, 2);
    let opts = ExplainOptions {
        label: Some(label),
        num_samples: 50,
        ..ExplainOptions::default()
    };
    let explanation = textrnn::explain(&run, "the atom and the goal", &opts).unwrap();
    assert_eq!(explanation.label, 2);
    let e = run.class_index("cooking").unwrap_err().to_string();
    assert!(
        e.contains("not one of the run's labels: music, politics, science, sports"),
        "{e}"
    );
}

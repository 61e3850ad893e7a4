//! Pretrained word vectors through the whole pipeline: a GloVe file written here, a recipe
//! naming it relative to itself, training, the run's table and `config.json`, frozen tables
//! (`trainable = false`) staying bit-identical (folded into the recurrent layer or not, and
//! across an interruption and resume), and bad files refused before training.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use candle_core::{Device, Tensor};
use textrnn::{synthetic, Recipe, TrainOptions};
use textrnn_models::{Classifier, TextClassifier};

/// Words given a vector (the first six are in the corpus; `zzz` is not), 4 values each.
const WORDS: &[&str] = &[
    "wonderful",
    "awful",
    "the",
    "film",
    "excellent",
    "terrible",
    "zzz",
];

fn vector(i: usize) -> [f32; 4] {
    let i = i as f32;
    [0.5 + i, -0.25 * i, 1.0 / (i + 3.0), 2.0]
}

/// Writes the corpus, the vectors file and a recipe (its `weights` relative to the recipe),
/// and loads the recipe.
fn setup(dir: &Path, trainable: bool, between: &str) -> Recipe {
    synthetic::write_csv(&dir.join("train.csv"), &synthetic::keyword_corpus(200, 1)).unwrap();
    synthetic::write_csv(&dir.join("test.csv"), &synthetic::keyword_corpus(60, 2)).unwrap();
    std::fs::create_dir_all(dir.join("vectors")).unwrap();
    let mut glove = String::new();
    for (i, w) in WORDS.iter().enumerate() {
        let v = vector(i);
        glove.push_str(&format!(
            "{w} {:?} {:?} {:?} {:?}\n",
            v[0], v[1], v[2], v[3]
        ));
    }
    std::fs::write(dir.join("vectors/glove.txt"), glove).unwrap();
    let toml = format!(
        r#"
name = "vectors"
seed = 3
[data]
corpus = "csv"
train = "train.csv"
test = "test.csv"
text_col = "text"
label_col = "label"
[split]
kind = "random"
validation = 0.2
[text]
num_words = 100
maxlen = 16
[model]
layers = [
  {{ type = "embedding", output_dim = 4, weights = "vectors/glove.txt", trainable = {trainable} }},
  {between}
  {{ type = "gru", units = 8 }},
  {{ type = "dense", units = 1, activation = "sigmoid" }},
]
[train]
epochs = 2
batch_size = 32
optimizer = {{ name = "adam", learning_rate = 0.02 }}
"#
    );
    std::fs::write(dir.join("recipe.toml"), toml).unwrap();
    Recipe::load(&dir.join("recipe.toml")).unwrap()
}

fn opts(out: &Path) -> TrainOptions {
    TrainOptions {
        out: Some(out.to_path_buf()),
        ..TrainOptions::default()
    }
}

fn tensors(path: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

fn rows(t: &Tensor) -> Vec<Vec<f32>> {
    t.to_vec2::<f32>().unwrap()
}

/// The table the run started from: the model's seeded initialisation with the vectors' rows.
fn initial_table(run: &Path) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let config = textrnn::RunConfig::load(&run.join("config.json")).unwrap();
    let recipe = config.recipe();
    let (model, _) =
        TextClassifier::init(&recipe.model, config.maxlen(), recipe.seed, &Device::Cpu).unwrap();
    let init = rows(&model.parameters()[0].1);
    let tok = textrnn_text::KerasTokenizer::load(run.join("tokenizer.json")).unwrap();
    let mut table = init.clone();
    for (i, w) in WORDS.iter().enumerate() {
        if let Some(id) = tok.id(w) {
            table[id as usize] = vector(i).to_vec();
        }
    }
    (init, table)
}

/// Exact coverage of the test split: its words are all in the vocabulary (no truncation at 16).
fn expected_test_share(dir: &Path) -> (usize, usize) {
    let found: HashSet<&str> = WORDS[..6].iter().copied().collect();
    let rows = synthetic::keyword_corpus(60, 2);
    let words: Vec<&str> = rows.iter().flat_map(|(t, _)| t.split(' ')).collect();
    let _ = dir;
    (
        words.iter().filter(|w| found.contains(*w)).count(),
        words.len(),
    )
}

#[test]
fn frozen_vectors_stay_bit_identical_and_are_reported() {
    // Directly under the GRU the lookup is folded into its projection; after a dropout layer
    // it is not: both keep the table frozen.
    for between in ["", r#"{ type = "dropout", rate = 0.1 },"#] {
        let tmp = tempfile::tempdir().unwrap();
        let recipe = setup(tmp.path(), false, between);
        let out = tmp.path().join("run");
        textrnn::train_run(&recipe, &opts(&out)).unwrap();

        let (init, table) = initial_table(&out);
        let saved = tensors(&out.join("model.safetensors"));
        assert_eq!(rows(&saved["embedding.embeddings"]), table, "{between}");
        // Missing rows (row 0 included) are the seeded Keras draw, uniform(-0.05, 0.05).
        let tok = textrnn_text::KerasTokenizer::load(out.join("tokenizer.json")).unwrap();
        let have: HashSet<u32> = WORDS.iter().filter_map(|w| tok.id(w)).collect();
        assert_eq!(have.len(), 6);
        for (id, row) in init.iter().enumerate() {
            if !have.contains(&(id as u32)) {
                assert_eq!(&table[id], row);
                assert!(row.iter().all(|v| v.abs() <= 0.05));
            }
        }
        // The other weights trained.
        let config = textrnn::RunConfig::load(&out.join("config.json")).unwrap();
        let (fresh, _) = TextClassifier::init(
            &config.recipe().model,
            config.maxlen(),
            config.recipe().seed,
            &Device::Cpu,
        )
        .unwrap();
        for (name, t) in &fresh.parameters()[1..] {
            assert_ne!(
                saved[name].flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                "{name} did not train"
            );
        }
        // No training variable (so no gradient step, no optimizer state) for the table.
        let (loaded, _) = TextClassifier::load(
            &config.recipe().model,
            config.maxlen(),
            out.join("model.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(loaded.vars().len(), fresh.parameters().len() - 1);
        assert!(loaded.vars().iter().all(|v| v.dims() != [31, 4]));
        let summary = config.recipe().model.summary(16).unwrap();
        assert_eq!(summary.non_trainable_params, 31 * 4);
        assert_eq!(summary.trainable_params + 31 * 4, summary.total_params);

        // Coverage in config.json: 6 of the 30 vocabulary words; the test tokens counted here.
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap())
                .unwrap();
        let report = &json["pretrained_vectors"];
        assert_eq!(report["format"], "glove");
        assert_eq!(report["records"], 7);
        assert_eq!(report["trainable"], false);
        assert_eq!(
            report["vocabulary"],
            serde_json::json!({"found": 6, "total": 30})
        );
        assert_eq!(report["vocabulary_share"], 0.2);
        let (found, total) = expected_test_share(tmp.path());
        assert_eq!(
            report["test_tokens"],
            serde_json::json!({"found": found, "total": total})
        );
        assert_eq!(
            report["file"],
            tmp.path().join("vectors/glove.txt").display().to_string()
        );
        // The run predicts without the vectors file.
        std::fs::remove_file(tmp.path().join("vectors/glove.txt")).unwrap();
        let run = textrnn::Run::open(&out).unwrap();
        assert_eq!(
            run.predict(&["wonderful film".into()], 8, false)
                .unwrap()
                .probs
                .len(),
            2
        );
    }
}

#[test]
fn trainable_vectors_train() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = setup(tmp.path(), true, "");
    let out = tmp.path().join("run");
    textrnn::train_run(&recipe, &opts(&out)).unwrap();
    let (_, table) = initial_table(&out);
    let saved = rows(&tensors(&out.join("model.safetensors"))["embedding.embeddings"]);
    let tok = textrnn_text::KerasTokenizer::load(out.join("tokenizer.json")).unwrap();
    let id = tok.id("wonderful").unwrap() as usize;
    assert_eq!(table[id], vector(0).to_vec());
    assert_ne!(saved[id], table[id], "a trainable table changes");
    let summary = recipe
        .model
        .clone()
        .with_vocab_size(31)
        .summary(16)
        .unwrap();
    assert_eq!(summary.non_trainable_params, 0);
}

#[test]
fn frozen_run_resumes_bit_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = setup(tmp.path(), false, "");
    let whole = tmp.path().join("whole");
    textrnn::train_run(&recipe, &opts(&whole)).unwrap();

    let parts = tmp.path().join("parts");
    let stop = Arc::new(AtomicBool::new(true)); // stop after the first batch
    let interrupted = textrnn::train_run(
        &recipe,
        &TrainOptions {
            stop: Some(stop),
            ..opts(&parts)
        },
    );
    assert!(matches!(
        interrupted,
        Err(textrnn::Error::Interrupted { .. })
    ));
    // The checkpoint holds no weight and no optimizer state of the frozen (31, 4) table.
    let checkpoint = tensors(&parts.join("checkpoint.safetensors"));
    assert!(checkpoint.keys().any(|k| k.starts_with("optimizer/")));
    assert!(checkpoint.values().all(|t| t.dims() != [31, 4]));
    textrnn::resume_run(&parts, &TrainOptions::default()).unwrap();
    let a = tensors(&whole.join("model.safetensors"));
    let b = tensors(&parts.join("model.safetensors"));
    for (name, t) in &a {
        let bits = |t: &Tensor| -> Vec<u32> {
            t.flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(t), bits(&b[name]), "{name}");
    }

    // Vectors changed under an interrupted frozen run: resuming is refused.
    let again = tmp.path().join("again");
    let stop = Arc::new(AtomicBool::new(true));
    let _ = textrnn::train_run(
        &recipe,
        &TrainOptions {
            stop: Some(stop),
            ..opts(&again)
        },
    );
    std::fs::write(tmp.path().join("vectors/glove.txt"), "wonderful 1 1 1 1\n").unwrap();
    let err = textrnn::resume_run(&again, &TrainOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("which have changed since"),
        "{err}"
    );
}

#[test]
fn bad_vectors_fail_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let mut recipe = setup(tmp.path(), false, "");
    let glove = tmp.path().join("vectors/glove.txt");
    if let textrnn_models::LayerSpec::Embedding(e) = &mut recipe.model.layers[0] {
        e.output_dim = 8;
    }
    let out = tmp.path().join("run");
    let err = textrnn::train_run(&recipe, &opts(&out)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}, line 1: the vectors have 4 values but the embedding's output_dim is 8; set output_dim = 4 or use vectors of size 8",
            glove.display()
        )
    );
    assert!(!out.exists(), "no run directory for a refused recipe");

    std::fs::write(&glove, "the 1 2 3 4\nfilm 1 2 3\n").unwrap();
    let recipe = setup_keep(tmp.path());
    let err = textrnn::train_run(&recipe, &opts(&out)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}, line 2: the row of \"film\" has 3 values, expected 4 (as on line 1)",
            glove.display()
        )
    );
}

/// The recipe written by [`setup`], loaded again (the files as they are now).
fn setup_keep(dir: &Path) -> Recipe {
    Recipe::load(&dir.join("recipe.toml")).unwrap()
}

//! End to end through the library: a generated corpus, a recipe, training, the run directory,
//! reloading and predicting. Runs in seconds on 2 cores, no network, no ../shared.

use std::path::Path;

use textrnn::{synthetic, DataOptions, Recipe, Run, TrainOptions};

/// A small recipe over CSV files: Embedding(vocab, 16) -> Bidirectional(GRU(16)) -> Dense(1, sigmoid).
pub fn tiny_recipe(dir: &Path, epochs: usize) -> Recipe {
    let train = dir.join("train.csv");
    let test = dir.join("test.csv");
    synthetic::write_csv(&train, &synthetic::keyword_corpus(400, 1)).expect("write train.csv");
    synthetic::write_csv(&test, &synthetic::keyword_corpus(200, 2)).expect("write test.csv");
    let toml = format!(
        r#"
name = "tiny"
seed = 7
[data]
corpus = "csv"
train = {train:?}
test = {test:?}
text_col = "text"
label_col = "label"
[split]
kind = "random"
validation = 0.15
[text]
num_words = 100
maxlen = 16
[model]
layers = [
  {{ type = "embedding", output_dim = 16 }},
  {{ type = "bidirectional", layer = {{ type = "gru", units = 16 }} }},
  {{ type = "dense", units = 1, activation = "sigmoid" }},
]
[train]
epochs = {epochs}
batch_size = 32
optimizer = {{ name = "adam", learning_rate = 0.01 }}
"#
    );
    Recipe::from_toml(&toml, "tiny.toml").expect("tiny recipe parses")
}

#[test]
fn train_reload_predict_round_trip() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let recipe = tiny_recipe(tmp.path(), 8);
    let out = tmp.path().join("run");
    let opts = TrainOptions {
        out: Some(out.clone()),
        ..TrainOptions::default()
    };
    let outcome = textrnn::train_run(&recipe, &opts).expect("training succeeds");
    let test = outcome.test.clone().expect("the recipe has a test split");
    assert!(
        test.accuracy >= 0.95,
        "test accuracy {} < 0.95",
        test.accuracy
    );
    assert_eq!(outcome.sizes, (340, 60, 200));

    for file in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "history.csv",
        "history.json",
        "metrics.json",
        "test_predictions.json",
        "plots/history.png",
        "plots/confusion.svg",
        "plots/roc.png",
        "plots/pr.png",
    ] {
        assert!(
            out.join(file).is_file(),
            "{file} missing from the run directory"
        );
    }
    // tokenizer.json loads in Hugging Face tokenizers as it is.
    tokenizers::Tokenizer::from_file(out.join("tokenizer.json"))
        .expect("HF tokenizers loads tokenizer.json");

    // Reloaded, the run gives exactly the same test metrics as right after training.
    let run = Run::open(&out).expect("run reloads");
    let mut again = textrnn::evaluate(&run, &DataOptions::default(), None).expect("evaluate");
    // evaluate adds the calibration metrics (uncalibrated here), which training leaves out.
    let calibration = again.calibration.take().expect("calibration metrics");
    assert_eq!(calibration.temperature, None);
    assert_eq!(again, test);

    let preds = run
        .predict(
            &["a wonderful film".into(), "an awful boring movie".into()],
            8,
            false,
        )
        .expect("predict");
    assert_eq!(preds.n_classes, 2);
    assert!(
        preds.probs[1] > 0.5,
        "positive text scored {}",
        preds.probs[1]
    );
    assert!(
        preds.probs[3] < 0.5,
        "negative text scored {}",
        preds.probs[3]
    );
}

#[test]
fn same_seed_same_history() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let recipe = tiny_recipe(tmp.path(), 2);
    let run = |name: &str| {
        let opts = TrainOptions {
            out: Some(tmp.path().join(name)),
            ..TrainOptions::default()
        };
        textrnn::train_run(&recipe, &opts).expect("training succeeds")
    };
    let (a, b) = (run("a"), run("b"));
    assert_eq!(a.test, b.test);
    let read = |name: &str| {
        std::fs::read(tmp.path().join(name).join("model.safetensors")).expect("weights")
    };
    assert_eq!(
        read("a"),
        read("b"),
        "same seed must give bit-identical weights"
    );
}

#[test]
fn builtin_recipes_parse_and_match_keras_counts() {
    // Keras model.summary() totals for the tutorial architectures.
    let expected: &[(&str, usize)] = &[
        ("imdb-bigru", 1_362_817),
        ("imdb-lstm100", 213_301),
        ("imdb-cnn-lstm", 216_405),
    ];
    for (name, total) in expected {
        let recipe = Recipe::builtin(name).expect("built-in recipe parses");
        let spec = recipe
            .model
            .clone()
            .with_vocab_size(recipe.text.num_words.expect("num_words"));
        let summary = spec
            .summary(recipe.text.maxlen.expect("maxlen"))
            .expect("summary");
        assert_eq!(summary.total_params, *total, "{name}");
    }
    for (name, _) in textrnn::BUILTIN_RECIPES {
        Recipe::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn unknown_recipe_key_is_named() {
    let err = Recipe::from_toml(
        "name = \"x\"\nbogus = 1\n[data]\ncorpus = \"imdb\"\n[model]\nlayers = []\n",
        "x.toml",
    )
    .expect_err("unknown key rejected");
    assert!(err.to_string().contains("bogus"), "{err}");
}

#[test]
fn broken_run_directories_are_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let recipe = tiny_recipe(tmp.path(), 1);
    let out = tmp.path().join("run");
    let opts = TrainOptions {
        out: Some(out.clone()),
        ..TrainOptions::default()
    };
    textrnn::train_run(&recipe, &opts).expect("training succeeds");
    // A truncated model file must not load.
    let model = out.join("model.safetensors");
    let bytes = std::fs::read(&model).expect("weights");
    std::fs::write(&model, &bytes[..bytes.len() / 2]).expect("truncate");
    let err = Run::open(&out).err().expect("truncated weights rejected");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    // A missing tokenizer is named.
    std::fs::remove_file(out.join("tokenizer.json")).expect("remove");
    let err = Run::open(&out).err().expect("missing tokenizer rejected");
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
}

/// Writes an extracted `aclImdb/` tree (IMDB's own layout) from the keyword corpus.
fn write_imdb_dir(root: &Path) {
    for (split, seed) in [("train", 21), ("test", 22)] {
        for (i, (text, label)) in synthetic::keyword_corpus(200, seed).iter().enumerate() {
            let dir = root.join("aclImdb").join(split).join(label);
            std::fs::create_dir_all(&dir).expect("mkdir");
            let rating = if label == "pos" { 8 } else { 2 };
            std::fs::write(dir.join(format!("{i}_{rating}.txt")), text).expect("review");
        }
    }
}

#[test]
fn keras_validation_split_of_a_builtin_corpus_sees_both_classes() {
    // The IMDB reader groups reviews by label; Keras' validation_split takes the last fraction.
    // Like keras.datasets.imdb.load_data, the corpus is shuffled first, so the validation set
    // holds both classes and its AUC is defined.
    let tmp = tempfile::tempdir().expect("tempdir");
    write_imdb_dir(tmp.path());
    let toml = format!(
        r#"
name = "imdb-keras-split"
[data]
corpus = "imdb"
data_dir = {:?}
[split]
kind = "keras"
validation = 0.2
[text]
num_words = 100
maxlen = 16
[model]
layers = [
  {{ type = "embedding", output_dim = 8 }},
  {{ type = "lstm", units = 8 }},
  {{ type = "dense", units = 1, activation = "sigmoid" }},
]
[train]
epochs = 1
batch_size = 32
"#,
        tmp.path()
    );
    let recipe = Recipe::from_toml(&toml, "imdb-keras-split.toml").expect("recipe parses");
    let opts = TrainOptions {
        out: Some(tmp.path().join("run")),
        ..TrainOptions::default()
    };
    let outcome = textrnn::train_run(&recipe, &opts).expect("training succeeds");
    assert_eq!(outcome.sizes, (160, 40, 200));
    let val_auc = outcome
        .history
        .series("val_auc")
        .expect("val_auc is logged");
    assert!(
        val_auc.iter().all(|a| a.is_finite()),
        "validation AUC undefined (one class only): {val_auc:?}"
    );
}

//! A run's pieces are cross-checked when it is opened: each mismatched, edited or damaged file
//! is refused with an error naming it. One tiny run is trained once and copied for each case.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use textrnn::integrity::{
    check_files, check_run, check_run_with_memory, check_weights_finite, read_test_predictions,
    read_threshold,
};
use textrnn::text::{KerasTokenizer, TokenizerConfig};
use textrnn::{synthetic, Recipe, Run, RunConfig, TrainOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// 8 GiB: the memory the checks are run against, so results do not depend on the machine.
const MEMORY: Option<u64> = Some(8 << 30);

/// The one trained run (1 epoch of the tiny recipe), made on first use.
fn trained() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let train = tmp.path().join("train.csv");
        let test = tmp.path().join("test.csv");
        synthetic::write_csv(&train, &synthetic::keyword_corpus(200, 1)).expect("train.csv");
        synthetic::write_csv(&test, &synthetic::keyword_corpus(60, 2)).expect("test.csv");
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
validation = 0.2
[text]
num_words = 100
maxlen = 12
[model]
layers = [
  {{ type = "embedding", output_dim = 8 }},
  {{ type = "gru", units = 4 }},
  {{ type = "dense", units = 1, activation = "sigmoid" }},
]
[train]
epochs = 1
batch_size = 32
"#
        );
        let recipe = Recipe::from_toml(&toml, "tiny.toml").expect("recipe");
        let out = tmp.path().join("run");
        let opts = TrainOptions {
            out: Some(out.clone()),
            ..TrainOptions::default()
        };
        textrnn::train_run(&recipe, &opts).expect("training succeeds");
        (tmp, out)
    })
    .1
}

/// A fresh copy of the trained run.
fn copy_run() -> Result<(tempfile::TempDir, PathBuf), Box<dyn std::error::Error>> {
    fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let target = to.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                copy(&entry.path(), &target)?;
            } else {
                std::fs::copy(entry.path(), &target)?;
            }
        }
        Ok(())
    }
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("run");
    copy(trained(), &dir)?;
    Ok((tmp, dir))
}

/// The checks `Run::open` runs before loading the weights, on the run as it is on disk.
fn check(dir: &Path) -> textrnn::Result<()> {
    check_files(dir)?;
    let config = RunConfig::load(&dir.join("config.json"))?;
    let tokenizer = KerasTokenizer::load(dir.join("tokenizer.json"))?;
    check_run_with_memory(dir, &config, &tokenizer, MEMORY)
}

/// The error message of `result`, which must be an error.
fn message<T>(result: textrnn::Result<T>) -> Result<String, String> {
    match result {
        Ok(_) => Err("accepted".into()),
        Err(e) => Ok(e.to_string()),
    }
}

/// `config.json` with `edit` applied.
fn edit_config(dir: &Path, edit: impl FnOnce(&mut Value)) -> TestResult {
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    edit(&mut config);
    std::fs::write(&path, serde_json::to_string_pretty(&config)?)?;
    Ok(())
}

fn input_dim(dir: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let config: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json"))?)?;
    Ok(config["model"]["layers"][0]["input_dim"]
        .as_u64()
        .ok_or("no input_dim")? as usize)
}

/// A tokenizer fitted on `texts` with `num_words`, saved over the run's; its vocabulary size.
fn replace_tokenizer(
    dir: &Path,
    num_words: Option<usize>,
    texts: &[String],
) -> Result<usize, Box<dyn std::error::Error>> {
    let config = TokenizerConfig {
        num_words,
        ..TokenizerConfig::default()
    };
    let tokenizer = KerasTokenizer::fit(&config, texts.iter().map(String::as_str))?;
    tokenizer.save(dir.join("tokenizer.json"))?;
    Ok(tokenizer.vocab_size())
}

/// The cases, under one name so that `cargo test integrity` selects them.
mod integrity {
    use super::*;

    #[test]
    fn an_intact_run_passes_every_check() -> TestResult {
        let (_tmp, dir) = copy_run()?;
        check(&dir)?;
        let config = RunConfig::load(&dir.join("config.json"))?;
        let tokenizer = KerasTokenizer::load(dir.join("tokenizer.json"))?;
        check_run(&dir, &config, &tokenizer)?;
        let run = Run::open(&dir)?;
        check_weights_finite(&dir, run.model())?;
        let preds = read_test_predictions(
            &dir.join("test_predictions.json"),
            run.class_names(),
            run.n_classes(),
        )?;
        assert_eq!(preds.labels.len(), 60);
        Ok(())
    }

    #[test]
    fn another_runs_tokenizer_is_refused() -> TestResult {
        let (_tmp, dir) = copy_run()?;
        let rows = input_dim(&dir)?;
        // A smaller vocabulary: silently wrong ids.
        let texts: Vec<String> = synthetic::keyword_corpus(50, 3)
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        let vocab = replace_tokenizer(&dir, Some(rows / 2), &texts)?;
        assert!(vocab < rows);
        assert_eq!(
        message(check(&dir))?,
        format!(
            "run directory {}: tokenizer.json is not this run's: its vocabulary has {vocab} ids but the run was trained with {rows} (input_dim in config.json)",
            dir.display(),
        )
    );
        // A larger one: ids past the embedding table.
        let words: Vec<String> = (0..3 * rows).map(|i| format!("w{i}")).collect();
        assert_eq!(
            replace_tokenizer(&dir, None, &[words.join(" ")])?,
            3 * rows + 1
        );
        assert_eq!(
        message(check(&dir))?,
        format!(
            "run directory {}: tokenizer.json is not this run's: it produces token ids up to {} but the embedding of model.safetensors has {rows} rows (input_dim in config.json)",
            dir.display(),
            3 * rows
        )
    );
        Ok(())
    }

    #[test]
    fn a_threshold_out_of_range_or_not_a_file_is_refused() -> TestResult {
        let (_tmp, dir) = copy_run()?;
        let path = dir.join("threshold.json");
        for (value, shown) in [("5.0", "5"), ("-1.0", "-1")] {
            std::fs::write(
                &path,
                format!(
                    r#"{{"threshold": {value}, "precision": 0.5, "recall": 0.5, "f1": 0.5, "accuracy": 0.5, "objective": {{"type": "max_f1"}}}}"#
                ),
            )?;
            let expected = format!(
            "run directory {}: threshold.json: threshold {shown} is not a probability in [0, 1]",
            dir.display()
        );
            assert_eq!(message(check(&dir))?, expected);
            assert_eq!(message(read_threshold(&path))?, expected);
        }
        // A bound of the objective out of range is refused too.
        std::fs::write(
            &path,
            r#"{"threshold": 0.4, "precision": 0.5, "recall": 0.5, "f1": 0.5, "accuracy": 0.5, "objective": {"type": "min_precision", "value": 1.5}}"#,
        )?;
        assert!(message(check(&dir))?
            .ends_with("threshold.json: objective.value 1.5 is not a probability in [0, 1]"));
        std::fs::write(
            &path,
            r#"{"threshold": 0.4, "precision": 0.5, "recall": 0.5, "f1": 0.5, "accuracy": 0.5, "objective": {"type": "max_f1"}}"#,
        )?;
        check(&dir)?;

        // A directory.
        std::fs::remove_file(&path)?;
        std::fs::create_dir(&path)?;
        assert_eq!(
            message(check(&dir))?,
            format!(
                "run directory {}: threshold.json is a directory, not a regular file",
                dir.display()
            )
        );
        std::fs::remove_dir(&path)?;

        // A FIFO: refused without opening it (which would block).
        let made = std::process::Command::new("mkfifo").arg(&path).status()?;
        assert!(made.success(), "mkfifo failed");
        assert_eq!(
            message(check(&dir))?,
            format!(
                "run directory {}: threshold.json is a FIFO, not a regular file",
                dir.display()
            )
        );
        assert!(message(read_threshold(&path))?
            .ends_with("threshold.json is a FIFO, not a regular file"));
        Ok(())
    }

    #[test]
    fn non_finite_weights_are_refused() -> TestResult {
        let (_tmp, dir) = copy_run()?;
        let path = dir.join("model.safetensors");
        let mut tensors = candle_core::safetensors::load(&path, &candle_core::Device::Cpu)?;
        let kernel = tensors.get("gru.kernel").ok_or("no gru.kernel")?;
        let mut values = kernel.flatten_all()?.to_vec1::<f32>()?;
        values[3] = f32::NAN;
        values[5] = f32::INFINITY;
        let shape = kernel.dims().to_vec();
        tensors.insert(
            "gru.kernel".into(),
            candle_core::Tensor::from_vec(values, shape, &candle_core::Device::Cpu)?,
        );
        candle_core::safetensors::save(&tensors, &path)?;
        // The header still fits; the loaded values do not.
        check(&dir)?;
        // Run::open loads the weights and refuses them.
        assert_eq!(
            message(Run::open(&dir).map(|_| ()))?,
            format!(
                "run directory {}: model.safetensors: tensor `gru.kernel` has 2 NaN or infinite values of 96; the weights are broken (train the run again)",
                dir.display()
            )
        );
        Ok(())
    }

    #[test]
    fn classes_that_do_not_match_the_output_layer_are_refused() -> TestResult {
        let (_tmp, dir) = copy_run()?;
        edit_config(&dir, |c| {
            c["classes"] = serde_json::json!(["neg", "pos", "other"]);
        })?;
        let msg = message(check(&dir))?;
        assert_eq!(
        msg,
        format!(
            "run directory {}: config.json lists 3 classes [neg, pos, other] but the output layer of model.safetensors predicts 2",
            dir.display()
        )
    );
        Ok(())
    }

    #[test]
    fn an_edited_input_dim_or_units_is_refused_before_allocation() -> TestResult {
        let (_tmp, dir) = copy_run()?;
        let rows = input_dim(&dir)?;
        // A billion-row embedding would take 32 GB: refused from the header alone.
        edit_config(&dir, |c| {
            c["model"]["layers"][0]["input_dim"] = 1_000_000_000.into();
        })?;
        let model = dir.join("model.safetensors");
        assert_eq!(
        message(check(&dir))?,
        format!(
            "run directory {}: model.safetensors does not match config.json: tensor `embedding.embeddings` in {} has shape [{rows}, 8], the model expects [1000000000, 8]",
            dir.display(),
            model.display()
        )
    );
        // Run::open refuses it too (the model crate checks the header before reading the data).
        assert!(message(Run::open(&dir))?.contains(&format!(
            "has shape [{rows}, 8], the model expects [1000000000, 8]"
        )));

        let (_tmp, dir) = copy_run()?;
        edit_config(&dir, |c| {
            c["model"]["layers"][1]["units"] = 5.into();
        })?;
        assert!(message(check(&dir))?.ends_with(&format!(
            "tensor `gru.kernel` in {} has shape [8, 12], the model expects [8, 15]",
            dir.join("model.safetensors").display()
        )));
        Ok(())
    }

    #[test]
    fn an_edited_maxlen_is_refused_before_allocation() -> TestResult {
        let (_tmp, dir) = copy_run()?;
        // Too large to count as one tensor: refused from the sizes alone.
        edit_config(&dir, |c| {
            c["text"]["maxlen"] = 1_000_000_000_000u64.into();
        })?;
        let msg = message(check(&dir))?;
        assert!(
        msg.starts_with(&format!(
            "run directory {}: config.json: invalid model spec at layer 0 (embedding): one example's activation ([1000000000000] -> [1000000000000, 8]) has 8000000000000 values",
            dir.display()
        )),
        "{msg}"
    );
        // Countable, but more than the machine holds for a single example.
        edit_config(&dir, |c| {
            c["text"]["maxlen"] = 1_000_000_000u64.into();
        })?;
        let msg = message(check(&dir))?;
        assert!(
        msg.starts_with(&format!(
            "run directory {}: config.json: not enough memory: predicting with maxlen 1000000000 (config.json) needs about",
            dir.display()
        )) && msg.contains("more than the 8.0 GiB of memory available"),
        "{msg}"
    );
        Ok(())
    }

    #[test]
    fn a_truncated_weights_file_is_refused() -> TestResult {
        let (_tmp, dir) = copy_run()?;
        let path = dir.join("model.safetensors");
        let bytes = std::fs::read(&path)?;
        std::fs::write(&path, &bytes[..bytes.len() - 100])?;
        let msg = message(check(&dir))?;
        assert!(
        msg.starts_with(&format!(
            "run directory {}: model.safetensors does not match config.json: invalid safetensors file {}: truncated: the header declares",
            dir.display(),
            path.display()
        )),
        "{msg}"
    );
        Ok(())
    }

    #[test]
    fn test_predictions_out_of_range_are_refused() -> TestResult {
        let (_tmp, dir) = copy_run()?;
        let path = dir.join("test_predictions.json");
        let mut preds: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let classes: Vec<String> = serde_json::from_value(preds["class_names"].clone())?;
        preds["probs"][0] = 7.5.into();
        std::fs::write(&path, serde_json::to_string(&preds)?)?;
        assert_eq!(
        message(read_test_predictions(&path, &classes, 2))?,
        format!(
            "run directory {}: test_predictions.json: row 1, class 0: probability 7.5 is not in [0, 1]",
            dir.display()
        )
    );
        // Rows that do not sum to 1, a label out of range, another run's classes, a wrong shape.
        preds["probs"][0] = 0.75.into();
        preds["probs"][1] = 0.75.into();
        std::fs::write(&path, serde_json::to_string(&preds)?)?;
        assert!(message(read_test_predictions(&path, &classes, 2))?
            .ends_with("test_predictions.json: row 1: probabilities sum to 1.5, not 1"));
        preds["probs"][1] = 0.25.into();
        preds["labels"][0] = 2.into();
        std::fs::write(&path, serde_json::to_string(&preds)?)?;
        assert!(message(read_test_predictions(&path, &classes, 2))?
            .ends_with("test_predictions.json: row 1: label 2 is not a class index (0..2)"));
        preds["labels"][0] = 0.into();
        std::fs::write(&path, serde_json::to_string(&preds)?)?;
        read_test_predictions(&path, &classes, 2)?;
        let others = vec!["a".to_string(), "b".to_string()];
        assert!(message(read_test_predictions(&path, &others, 2))?
            .contains("test_predictions.json: class names"));
        preds["probs"].as_array_mut().ok_or("probs")?.truncate(3);
        std::fs::write(&path, serde_json::to_string(&preds)?)?;
        assert!(
        message(read_test_predictions(&path, &classes, 2))?.ends_with(
            "test_predictions.json: 3 probabilities for 60 labels of 2 classes (expected 60 x 2)"
        )
    );
        Ok(())
    }
}

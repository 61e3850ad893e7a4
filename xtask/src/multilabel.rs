//! `cargo xtask multilabel-agnews`: a multi-label corpus made from AG News, for measuring
//! multi-label training on real text. Each output row is either one AG News text with its one
//! topic, or two texts of different topics joined by a space, carrying both topics (`--pairs`
//! is the share of paired rows). Rows are written as JSON Lines with the labels as a JSON list
//! (`{"text": "...", "label": ["Sports", "World"]}`), which `textrnn train --train` reads as
//! multi-label data without a separator. The train and test files are drawn from AG News'
//! train and test files separately, so no text is in both. Deterministic for a seed.
//!
//! ```text
//! cargo xtask multilabel-agnews --out DIR      # DIR/{train.jsonl, test.jsonl, recipe.toml}
//! textrnn train --recipe DIR/recipe.toml --train DIR/train.jsonl --test DIR/test.jsonl
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use textrnn::data::ag_news::read_ag_news_csv;
use textrnn::data::Dataset;

/// Options of `cargo xtask multilabel-agnews`.
#[derive(Debug)]
pub struct Options {
    /// Directory holding AG News' `train.csv` and `test.csv` (`ag_news_csv/`).
    pub data_dir: PathBuf,
    /// Output directory (gets `train.jsonl` and `test.jsonl`).
    pub out: PathBuf,
    /// Share of output rows that pair two texts of different topics.
    pub pairs: f64,
    /// Seed of the draw.
    pub seed: u64,
}

/// A uniform draw in [0, 1) from the generator.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The JSON Lines rows made from `ds` (see the module docs).
fn rows(ds: &Dataset, pairs: f64, rng: &mut ChaCha8Rng) -> Result<(String, usize, usize)> {
    let n = ds.len();
    // A seeded permutation (Fisher-Yates), then texts are consumed in that order.
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let (mut out, mut singles, mut paired) = (String::new(), 0, 0);
    let mut k = 0;
    while k < n {
        let a = order[k];
        k += 1;
        let mut texts = vec![ds.texts[a].as_str()];
        let mut labels = vec![ds.class_names[ds.labels[a] as usize].as_str()];
        if unit(rng) < pairs {
            // The next text of another topic joins it.
            if let Some(pos) = order[k..]
                .iter()
                .position(|&b| ds.labels[b] != ds.labels[a])
            {
                let b = order[k + pos];
                order.swap(k, k + pos);
                k += 1;
                texts.push(ds.texts[b].as_str());
                labels.push(ds.class_names[ds.labels[b] as usize].as_str());
            }
        }
        labels.sort_unstable();
        if labels.len() == 2 {
            paired += 1;
        } else {
            singles += 1;
        }
        let row = serde_json::json!({ "text": texts.join(" "), "label": labels });
        writeln!(out, "{row}").context("formatting a row")?;
    }
    Ok((out, singles, paired))
}

/// Writes `train.jsonl`, `test.jsonl` and `recipe.toml` into `opts.out` and prints their counts.
pub fn run(opts: Options) -> Result<()> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    for name in ["train", "test"] {
        let src: &Path = &opts.data_dir.join(format!("{name}.csv"));
        let ds = read_ag_news_csv(src).with_context(|| format!("reading {}", src.display()))?;
        let (body, singles, paired) = rows(&ds, opts.pairs, &mut rng)?;
        let dst = opts.out.join(format!("{name}.jsonl"));
        textrnn::fs::write(&dst, body.as_bytes())
            .with_context(|| format!("writing {}", dst.display()))?;
        println!(
            "{}: {} rows ({singles} single-topic, {paired} paired) from {} AG News texts",
            dst.display(),
            singles + paired,
            ds.len()
        );
    }
    let recipe = opts.out.join("recipe.toml");
    textrnn::fs::write(&recipe, RECIPE.as_bytes())
        .with_context(|| format!("writing {}", recipe.display()))?;
    println!(
        "{}: the model measured in the README (its data is replaced by --train/--test)",
        recipe.display()
    );
    Ok(())
}

/// The recipe of the README's multi-label measurement: `textrnn train --recipe recipe.toml
/// --train train.jsonl --test test.jsonl` (the `[data]` section is replaced by the files).
const RECIPE: &str = r#"name = "agnews-multilabel"
description = "AG News pairs (two topics) mixed with single texts: Embedding(32) -> Bidirectional(GRU(32)) -> Dense(4, sigmoid), length 80"
seed = 42

[data]
corpus = "ag_news"

[text]
maxlen = 80
num_words = 20000
padding = "post"
truncating = "post"

[model]
layers = [
  { type = "embedding", output_dim = 32 },
  { type = "bidirectional", layer = { type = "gru", units = 32 } },
  { type = "dense", units = 4, activation = "sigmoid" },
]

[train]
epochs = 4
batch_size = 128
optimizer = { name = "adam", learning_rate = 0.003 }
early_stopping = { monitor = "val_loss", patience = 1, restore_best_weights = true }
"#;

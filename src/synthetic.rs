//! Small synthetic corpora whose labels follow from words in fixed lists: for tests, demos and
//! smoke runs that must not need the real corpora or the network.
//!
//! Each text has 4-12 filler words and, at a random position, one or two cue words; a text is
//! `pos` when its cues come from [`POSITIVE_CUES`], `neg` when they come from [`NEGATIVE_CUES`].
//!
//! ```
//! let rows = textrnn::synthetic::keyword_corpus(10, 7);
//! assert_eq!(rows.len(), 10);
//! assert!(rows.iter().all(|(_, label)| label == "pos" || label == "neg"));
//! ```

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Words that make a text positive.
pub const POSITIVE_CUES: &[&str] = &[
    "wonderful",
    "excellent",
    "superb",
    "delightful",
    "brilliant",
];
/// Words that make a text negative.
pub const NEGATIVE_CUES: &[&str] = &["awful", "terrible", "boring", "dreadful", "horrible"];
const FILLER: &[&str] = &[
    "the", "film", "movie", "plot", "actor", "was", "and", "a", "story", "scene", "with", "of",
    "director", "music", "ending", "it", "this", "really", "quite", "cast",
];

/// `n` (text, label) rows with labels `pos`/`neg`, balanced, deterministic for a seed.
pub fn keyword_corpus(n: usize, seed: u64) -> Vec<(String, String)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let positive = i % 2 == 0;
            let cues = if positive {
                POSITIVE_CUES
            } else {
                NEGATIVE_CUES
            };
            let len = rng.random_range(4..=12);
            let mut words: Vec<&str> = (0..len)
                .map(|_| FILLER[rng.random_range(0..FILLER.len())])
                .collect();
            for _ in 0..rng.random_range(1..=2) {
                let at = rng.random_range(0..=words.len());
                words.insert(at, cues[rng.random_range(0..cues.len())]);
            }
            let label = if positive { "pos" } else { "neg" };
            (words.join(" "), label.to_string())
        })
        .collect()
}

/// Writes rows as a CSV file with header `text,label`.
pub fn write_csv(path: &std::path::Path, rows: &[(String, String)]) -> std::io::Result<()> {
    let mut out = String::from("text,label\n");
    for (text, label) in rows {
        out.push_str(&format!("\"{}\",{}\n", text.replace('"', "\"\""), label));
    }
    std::fs::write(path, out)
}

/// Writes multi-label rows (as [`multi_label_corpus`] makes them) as a CSV file with header
/// `text,label`, each row's labels joined by `", "` (read back with `label_sep = ","`).
pub fn write_multi_label_csv(
    path: &std::path::Path,
    rows: &[(String, Vec<String>)],
) -> std::io::Result<()> {
    let mut out = String::from("text,label\n");
    for (text, labels) in rows {
        out.push_str(&format!(
            "\"{}\",\"{}\"\n",
            text.replace('"', "\"\""),
            labels.join(", ").replace('"', "\"\"")
        ));
    }
    std::fs::write(path, out)
}

/// A small recipe over keyword corpora written into `dir` (`train.csv`: 400 rows from `seed`,
/// `test.csv`: 100 rows from `seed + 1`): Embedding(16) -> LSTM(16) -> Dense(1, sigmoid), 100
/// words, maxlen 16, 15% of train held out for validation, 6 epochs of Adam at 0.01. It trains
/// in about a second: for tests and demos that need a real run.
///
/// ```no_run
/// let dir = std::path::Path::new("/tmp/tiny");
/// let recipe = textrnn::synthetic::tiny_recipe(dir, "tiny", 1)?;
/// let opts = textrnn::TrainOptions { out: Some(dir.join("run")), ..Default::default() };
/// textrnn::train_run(&recipe, &opts)?;
/// # Ok::<(), textrnn::Error>(())
/// ```
pub fn tiny_recipe(dir: &std::path::Path, name: &str, seed: u64) -> crate::Result<crate::Recipe> {
    let train = dir.join("train.csv");
    let test = dir.join("test.csv");
    for (path, rows, seed) in [(&train, 400, seed), (&test, 100, seed.wrapping_add(1))] {
        write_csv(path, &keyword_corpus(rows, seed)).map_err(|e| crate::Error::io(path, e))?;
    }
    let toml = format!(
        r#"name = {name:?}
seed = {seed}
[data]
corpus = "csv"
train = {train:?}
test = {test:?}
[split]
kind = "random"
validation = 0.15
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
epochs = 6
batch_size = 32
optimizer = {{ name = "adam", learning_rate = 0.01 }}
"#
    );
    crate::Recipe::from_toml(&toml, &format!("{name}.toml"))
}

/// Trains [`tiny_recipe`] into `dir/name` (removing what a previous call left in `dir`) and
/// returns the run directory, for tests that need a trained run.
pub fn train_tiny_run(
    dir: &std::path::Path,
    name: &str,
    seed: u64,
) -> crate::Result<std::path::PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let recipe = tiny_recipe(dir, name, seed)?;
    let out = dir.join(name);
    let opts = crate::TrainOptions {
        out: Some(out.clone()),
        ..crate::TrainOptions::default()
    };
    crate::train_run(&recipe, &opts)?;
    Ok(out)
}

/// Labels of [`multi_label_corpus`], each with the words that signal it.
pub const MULTI_LABEL_CUES: &[(&str, &[&str])] = &[
    ("sports", &["goal", "match", "league"]),
    ("politics", &["vote", "senate", "election"]),
    ("science", &["atom", "physics", "genome"]),
    ("music", &["guitar", "album", "concert"]),
];

/// `n` multi-label rows: each text carries 1-3 of the [`MULTI_LABEL_CUES`] labels (each label
/// signalled by one of its words at a random position among 4-10 filler words); the labels of a
/// row are listed in label order. Deterministic for a seed.
///
/// ```
/// let rows = textrnn::synthetic::multi_label_corpus(20, 3);
/// assert_eq!(rows.len(), 20);
/// assert!(rows.iter().all(|(_, labels)| (1..=3).contains(&labels.len())));
/// ```
pub fn multi_label_corpus(n: usize, seed: u64) -> Vec<(String, Vec<String>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let len = rng.random_range(4..=10);
            let mut words: Vec<&str> = (0..len)
                .map(|_| FILLER[rng.random_range(0..FILLER.len())])
                .collect();
            let k = rng.random_range(1..=3);
            let mut chosen: Vec<usize> = Vec::with_capacity(k);
            while chosen.len() < k {
                let j = rng.random_range(0..MULTI_LABEL_CUES.len());
                if !chosen.contains(&j) {
                    chosen.push(j);
                }
            }
            chosen.sort_unstable();
            for &j in &chosen {
                let cues = MULTI_LABEL_CUES[j].1;
                let at = rng.random_range(0..=words.len());
                words.insert(at, cues[rng.random_range(0..cues.len())]);
            }
            let labels = chosen
                .iter()
                .map(|&j| MULTI_LABEL_CUES[j].0.to_string())
                .collect();
            (words.join(" "), labels)
        })
        .collect()
}

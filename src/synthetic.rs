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

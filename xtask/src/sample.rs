//! `cargo xtask imdb-sample`: writes `datasets/imdb-sample.jsonl.gz`, the IMDB sample bundled in
//! textrnn-data ([`textrnn::data::imdb_sample`]), from the original corpus in a data directory.
//! Offline: nothing is downloaded. The same corpus, counts and seed give the same bytes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use textrnn::data::imdb::load_imdb;
use textrnn::data::imdb_sample::{decode_sample, draw_sample, encode_sample};
use textrnn::data::{download::sha256_file, LoadOptions};

/// Options of `cargo xtask imdb-sample`.
#[derive(Debug)]
pub struct Options {
    /// Where the corpus is; `None`: `TEXTRNN_DATA_DIR`, else `../shared/datasets` beside the workspace.
    pub data_dir: Option<PathBuf>,
    /// Training reviews to draw (half per class).
    pub train: usize,
    /// Test reviews to draw (half per class).
    pub test: usize,
    /// Seed of the draw.
    pub seed: u64,
    /// Output file; `None`: `datasets/imdb-sample.jsonl.gz` in the workspace.
    pub out: Option<PathBuf>,
}

/// The workspace root (this crate's parent directory).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Draws the sample, writes it atomically, reads it back and prints counts, size and sha256.
pub fn run(opts: Options) -> Result<()> {
    let data_dir = opts
        .data_dir
        .or_else(|| std::env::var_os("TEXTRNN_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| workspace_root().join("../shared/datasets"));
    let out = opts
        .out
        .unwrap_or_else(|| workspace_root().join("datasets/imdb-sample.jsonl.gz"));

    // Only `data_dir`: no environment, no cache, no Hub, no network.
    let mut load =
        LoadOptions::isolated(data_dir.join(".textrnn-no-cache")).with_data_dir(&data_dir);
    load.hub.enabled = false;
    let corpus = load_imdb(None, &load)
        .with_context(|| format!("reading IMDB from {} (offline)", data_dir.display()))?;
    let source = Path::new(&corpus.source);
    let source_sha = if source.is_file() {
        sha256_file(source)?
    } else {
        "-".to_string()
    };

    let records = draw_sample(&corpus, opts.train, opts.test, opts.seed)?;
    let bytes = encode_sample(&records)?;
    textrnn::fs::write(&out, &bytes)?;

    // Read the file back as the embedded loader would.
    let back = decode_sample(&std::fs::read(&out)?, &out.display().to_string())?;
    if back != records {
        bail!("{} does not read back as written", out.display());
    }
    let count = |split: &str, label: &str| {
        records
            .iter()
            .filter(|r| r.split == split && r.label == label)
            .count()
    };
    println!("source  {} (sha256 {source_sha})", corpus.source);
    println!("seed    {}", opts.seed);
    for split in ["train", "test"] {
        println!(
            "{split:<7} {} reviews: neg {}, pos {}",
            count(split, "neg") + count(split, "pos"),
            count(split, "neg"),
            count(split, "pos")
        );
    }
    let text_bytes: usize = records.iter().map(|r| r.text.len()).sum();
    println!("text    {text_bytes} bytes");
    println!("wrote   {} ({} bytes)", out.display(), bytes.len());
    println!("sha256  {}", sha256_file(&out)?);
    Ok(())
}

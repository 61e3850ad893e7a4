//! Streams a word-vectors file into a 10,000-word vocabulary (`w0` .. `w9999`) and prints the
//! coverage and the time taken: the memory check of `docs` (peak RSS stays near the vocabulary's
//! rows, whatever the file size).
//!
//! ```text
//! cargo run -p textrnn-text --example read_vectors -- gen FILE ROWS DIM   # write a GloVe file
//! cargo run -p textrnn-text --example read_vectors -- read FILE DIM
//! ```

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use textrnn_text::{KerasTokenizer, TokenizerConfig, VectorsOptions, WordVectors};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen", file, rows, dim] => {
            let (rows, dim): (usize, usize) = (rows.parse()?, dim.parse()?);
            let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
            for r in 0..rows {
                write!(out, "w{r}")?;
                for d in 0..dim {
                    write!(
                        out,
                        " {:.4}",
                        ((r * 31 + d * 7) % 2001) as f32 / 1000.0 - 1.0
                    )?;
                }
                writeln!(out)?;
            }
        }
        ["read", file, dim] => {
            let words: Vec<String> = (0..10_000).map(|i| format!("w{i}")).collect();
            let tok = KerasTokenizer::fit(&TokenizerConfig::default(), [words.join(" ")])?;
            let started = Instant::now();
            let opts = VectorsOptions {
                dim: Some(dim.parse()?),
                ..Default::default()
            };
            let v = WordVectors::read(Path::new(file), &tok, &opts)?;
            println!(
                "{} records, format {}, {} of {} words found, {:.2} s",
                v.records(),
                v.format().name(),
                v.coverage().found,
                v.coverage().total,
                started.elapsed().as_secs_f64()
            );
        }
        _ => return Err("usage: read_vectors gen FILE ROWS DIM | read FILE DIM".into()),
    }
    Ok(())
}

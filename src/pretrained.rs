//! Pretrained word vectors for a recipe's embedding (`weights = "PATH"`, `trainable`).
//!
//! Training does three things with them, all from [`crate::train_run`]:
//! 1. [`check`], right after the recipe is validated and before any data is read: the file
//!    exists, its header (or first row) is well formed, and its vector size equals the
//!    embedding's `output_dim` ([`textrnn_text::probe_vectors`]);
//! 2. [`load`], once the tokenizer is fitted and the splits encoded: the file is streamed and the
//!    rows of the tokenizer's words kept ([`WordVectors`]); the coverage (vocabulary words found,
//!    and the share of the encoded test split's non-padding tokens whose word was found) is logged
//!    and saved as `pretrained_vectors` in the run's `config.json` ([`VectorsReport`]);
//! 3. [`apply`], after the model is initialised: the found rows overwrite the embedding table.
//!    Every other row, padding row 0 included, keeps the model's seeded Keras initialisation:
//!    uniform(-0.05, 0.05) drawn in f64 from `ChaCha8Rng::seed_from_u64(recipe.seed)` on the stream
//!    of the FNV-1a hash of `embedding.embeddings`, row-major, every row drawn (found rows too, then
//!    overwritten), so a missing row has the value it has in a run without vectors.
//!
//! The saved `model.safetensors` carries the table, so predicting, serving and exporting need
//! nothing more. With `trainable = false` the table stays as loaded: a resumed run reads the
//! file again and refuses it when its vectors changed ([`VectorsReport::checksum`]).

use std::path::PathBuf;

use candle_core::Tensor;
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use textrnn_models::{EmbeddingSpec, LayerSpec, ModelSpec};
use textrnn_text::{
    probe_vectors, Coverage, KerasTokenizer, VectorsFormat, VectorsOptions, WordVectors,
};

use crate::{Error, Result};

/// The key of the embedding table (the embedding is always the first layer).
const EMBEDDING_KEY: &str = "embedding.embeddings";

/// What training read from a vectors file, saved in `config.json` as `pretrained_vectors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorsReport {
    /// The vectors file.
    pub file: PathBuf,
    /// Its format, as detected.
    pub format: VectorsFormat,
    /// The vector size.
    pub dim: usize,
    /// Rows (records) in the file.
    pub records: usize,
    /// Whether training updated the table.
    pub trainable: bool,
    /// Vocabulary words (embedding rows but padding) that have a vector.
    pub vocabulary: Coverage,
    /// `vocabulary.found / vocabulary.total`.
    pub vocabulary_share: f64,
    /// Non-padding tokens of the encoded test split whose word has a vector (no test split: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_tokens: Option<Coverage>,
    /// `test_tokens.found / test_tokens.total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_token_share: Option<f64>,
    /// [`WordVectors::checksum`] of the rows kept, as 16 hex digits.
    pub checksum: String,
}

/// The embedding of `model` when it names a vectors file.
fn pretrained(model: &ModelSpec) -> Option<(&EmbeddingSpec, &PathBuf)> {
    model.layers.iter().find_map(|layer| match layer {
        LayerSpec::Embedding(e) => e.weights.as_ref().map(|w| (e, w)),
        _ => None,
    })
}

fn options(embedding: &EmbeddingSpec) -> VectorsOptions {
    VectorsOptions {
        format: VectorsFormat::Auto,
        dim: Some(embedding.output_dim),
    }
}

/// Checks the vectors file of `model`'s embedding, if any (see the module docs): cheap, it
/// reads the header and the first record.
pub(crate) fn check(model: &ModelSpec) -> Result<()> {
    if let Some((embedding, path)) = pretrained(model) {
        let info = probe_vectors(path, &options(embedding))?;
        tracing::debug!(file = %path.display(), format = info.format.name(), dim = info.dim, "vectors file checked");
    }
    Ok(())
}

/// Reads the vectors of `tokenizer`'s words for `model`'s embedding, if it names a file, and
/// reports the coverage of the vocabulary and of `test_tokens` (an encoded split, padding 0).
pub(crate) fn load(
    model: &ModelSpec,
    tokenizer: &KerasTokenizer,
    test_tokens: Option<&[u32]>,
) -> Result<Option<(WordVectors, VectorsReport)>> {
    let Some((embedding, path)) = pretrained(model) else {
        return Ok(None);
    };
    let vectors = WordVectors::read(path, tokenizer, &options(embedding))?;
    let vocabulary = vectors.coverage();
    let test = test_tokens.map(|t| vectors.token_coverage(t));
    let report = VectorsReport {
        file: path.clone(),
        format: vectors.format(),
        dim: vectors.dim(),
        records: vectors.records(),
        trainable: embedding.trainable,
        vocabulary,
        vocabulary_share: vocabulary.share(),
        test_tokens: test,
        test_token_share: test.map(|c| c.share()),
        checksum: format!("{:016x}", vectors.checksum()),
    };
    tracing::info!(
        file = %path.display(),
        format = report.format.name(),
        records = report.records,
        trainable = report.trainable,
        "pretrained vectors: {} of {} vocabulary words found ({:.1}%){}",
        vocabulary.found,
        vocabulary.total,
        100.0 * vocabulary.share(),
        test.map_or(String::new(), |c| format!(
            ", {:.1}% of the test tokens ({} of {})",
            100.0 * c.share(),
            c.found,
            c.total
        ))
    );
    Ok(Some((vectors, report)))
}

/// Writes the found vectors into the embedding table of `varmap` (a model initialised from
/// the recipe); the other rows keep their values.
pub(crate) fn apply(vectors: &WordVectors, varmap: &VarMap) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| Error::invalid("model", "the model's variables are poisoned"))?;
    let var = data.get(EMBEDDING_KEY).ok_or_else(|| {
        Error::invalid(
            "model",
            format!("the model has no {EMBEDDING_KEY} for the pretrained vectors"),
        )
    })?;
    let table = var.as_tensor();
    let mut values = table.flatten_all()?.to_vec1::<f32>()?;
    vectors.apply(&mut values)?;
    var.set(&Tensor::from_vec(values, table.dims(), table.device())?.to_dtype(table.dtype())?)?;
    Ok(())
}

/// On resume: with a frozen table (`trainable = false`) the vectors read again must be those
/// training started from (`before`, from `config.json`); a trainable table comes back from the
/// checkpoint, so its file may differ. The reason when they differ.
pub(crate) fn check_unchanged(
    before: Option<&VectorsReport>,
    now: Option<&VectorsReport>,
) -> std::result::Result<(), String> {
    match (before, now) {
        (Some(b), Some(n)) if !b.trainable && b.checksum != n.checksum => Err(format!(
            "was trained with frozen vectors from {}, which have changed since (checksum {} now {}); resuming needs the same vectors",
            b.file.display(),
            b.checksum,
            n.checksum
        )),
        _ => Ok(()),
    }
}

//! Sizes are counted with checked arithmetic and bounded before anything is allocated; a
//! weights file is checked against the spec from its header alone.

mod common;

use candle_core::Device;
use common::{spec, TestResult};
use textrnn_models::{
    check_memory, read_weights_header, save_weights, Error, ModelSpec, TextClassifier,
    MAX_TENSOR_ELEMENTS, SEQ_LEN_METADATA,
};

/// The built-in `imdb-bigru` model with `units` GRU units.
fn bigru(units: u64) -> Result<ModelSpec, serde_json::Error> {
    spec(&format!(
        r#"[{{"type": "embedding", "input_dim": 10000, "output_dim": 128}},
            {{"type": "bidirectional", "layer": {{"type": "gru", "units": {units}}}}},
            {{"type": "dense", "units": 64, "activation": "relu"}},
            {{"type": "dropout", "rate": 0.3}},
            {{"type": "dense", "units": 1, "activation": "sigmoid"}}]"#
    ))
}

fn invalid_spec(result: Result<impl std::fmt::Debug, Error>) -> Result<(String, String), String> {
    match result {
        Err(Error::InvalidSpec { layer, reason }) => Ok((layer, reason)),
        other => Err(format!("expected InvalidSpec, got {other:?}")),
    }
}

#[test]
fn summary_of_huge_units_is_an_error_not_a_wrapped_count() -> TestResult {
    assert_eq!(bigru(64)?.summary(200)?.total_params, 1_362_817);
    // 1e8 units: 3e16 values in the recurrent kernel, far above the per-tensor bound.
    let (layer, reason) = invalid_spec(bigru(100_000_000)?.summary(200))?;
    assert_eq!(layer, "layer 1 (bidirectional)");
    assert_eq!(
        reason,
        format!(
            "parameter `bidirectional.forward.recurrent_kernel` of shape [100000000, 300000000] has \
             30000000000000000 values, more than the {MAX_TENSOR_ELEMENTS} (2^36, 256 GiB as f32) one \
             tensor may hold; reduce the sizes"
        )
    );
    // Units whose gate count overflows usize: a clear error, no panic in debug builds.
    let (layer, reason) = invalid_spec(bigru(u64::MAX / 4)?.summary(200))?;
    assert_eq!(layer, "layer 1 (bidirectional)");
    assert_eq!(
        reason,
        format!(
            "gru: units {} is too large (its gate sizes overflow)",
            u64::MAX / 4
        )
    );
    // A wide dense layer whose kernel product overflows.
    let wide = spec(&format!(
        r#"[{{"type": "embedding", "input_dim": 100, "output_dim": {big}}},
            {{"type": "lstm", "units": 4}},
            {{"type": "dense", "units": 1, "activation": "sigmoid"}}]"#,
        big = u64::MAX / 2
    ))?;
    let (layer, reason) = invalid_spec(wide.summary(10))?;
    assert_eq!(layer, "layer 0 (embedding)");
    assert!(
        reason.contains("more values than a 64-bit count holds"),
        "{reason}"
    );
    Ok(())
}

#[test]
fn summary_of_a_huge_maxlen_is_an_error() -> TestResult {
    let (layer, reason) = invalid_spec(bigru(64)?.summary(usize::MAX))?;
    assert_eq!(layer, "layer 0 (embedding)");
    assert_eq!(
        reason,
        format!(
            "one example's activation ([{}] -> [{}, 128]) has more values than a 64-bit count holds; reduce the sizes",
            usize::MAX,
            usize::MAX
        )
    );
    // maxlen 1e9: 1.28e11 embedded values per example.
    let (layer, reason) = invalid_spec(bigru(64)?.summary(1_000_000_000))?;
    assert_eq!(layer, "layer 0 (embedding)");
    assert!(reason.contains("has 128000000000 values"), "{reason}");
    // Without a length (validate) nothing is counted per example.
    bigru(64)?.validate()?;
    Ok(())
}

#[test]
fn memory_estimate_counts_and_bounds() -> TestResult {
    let m = bigru(64)?.memory_estimate(200, 32)?;
    assert_eq!(m.parameters, 1_362_817);
    assert_eq!(m.bytes_params, 4 * 1_362_817);
    assert_eq!(m.bytes_optimizer, 12 * 1_362_817);
    // Per example: tokens 200, embedding 200·128, BiGRU 2·(2·200·192 + 2·200·64) + 128,
    // dense 2·64, dropout 2·64, output 2·1.
    let per_example = 200 + 25_600 + 2 * (2 * 38_400 + 2 * 12_800) + 128 + 128 + 128 + 2;
    assert_eq!(m.bytes_activations, 32 * 4 * per_example);
    // The largest: one direction's gate projection (200·192) for the batch.
    assert_eq!(m.largest_activation_bytes, 32 * 4 * 38_400);
    assert_eq!(
        m.total_bytes(),
        m.bytes_params + m.bytes_optimizer + m.bytes_activations
    );

    // Fits; more than half; too large. Unknown memory never refuses.
    let total = m.total_bytes();
    assert_eq!(m.check(Some(total * 4))?, None);
    let warning = m.check(Some(total + total / 2))?.ok_or("no warning")?;
    assert!(warning.contains("more than half of the"), "{warning}");
    match m.check(Some(total - 1)) {
        Err(e @ Error::Memory { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with(
                    "not enough memory: training with batch_size 32 and maxlen 200 (1362817 parameters"
                ),
                "{msg}"
            );
        }
        other => return Err(format!("expected Memory, got {other:?}").into()),
    }
    assert_eq!(m.check(None)?, None);
    assert_eq!(check_memory(u64::MAX, None, "x")?, None);

    // A batch size that overflows the byte count is an error, not a wrapped number.
    match bigru(64)?.memory_estimate(200, usize::MAX) {
        Err(e @ Error::Memory { .. }) => {
            assert!(e.to_string().contains("overflows a 64-bit byte count"))
        }
        other => return Err(format!("expected Memory, got {other:?}").into()),
    }
    // maxlen 1e7 fits the per-tensor bound per example but not a 1 TiB machine at batch 32.
    let huge = bigru(64)?.memory_estimate(10_000_000, 32)?;
    assert!(huge.check(Some(1 << 40)).is_err());
    Ok(())
}

/// A saved tiny model and its file.
fn saved(
    dir: &std::path::Path,
) -> Result<(ModelSpec, std::path::PathBuf, Vec<u8>), Box<dyn std::error::Error>> {
    let s = spec(
        r#"[{"type": "embedding", "input_dim": 30, "output_dim": 4},
            {"type": "lstm", "units": 3},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
    )?;
    let path = dir.join("model.safetensors");
    let (_, vm) = TextClassifier::init(&s, 8, 1, &Device::Cpu)?;
    TextClassifier::save(&vm, &path)?;
    let bytes = std::fs::read(&path)?;
    Ok((s, path, bytes))
}

fn safetensors_reason(result: Result<impl std::fmt::Debug, Error>) -> Result<String, String> {
    match result {
        Err(e @ Error::Safetensors { .. }) => Ok(e.to_string()),
        other => Err(format!("expected Safetensors, got {other:?}")),
    }
}

#[test]
fn weights_header_is_checked_without_reading_the_data() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (s, path, bytes) = saved(dir.path())?;
    let header = s.check_weights(8, &path)?;
    assert_eq!(header.tensors.len(), 6);
    assert_eq!(header.tensors["lstm.kernel"].shape, vec![4, 12]);
    assert_eq!(header.tensors["lstm.kernel"].dtype, "F32");
    let data: usize = (30 * 4 + 4 * 12 + 3 * 12 + 12 + 3 + 1) * 4;
    assert_eq!(header.data_bytes, data as u64);
    // The header length and JSON come first, then exactly the data.
    let header_len = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    assert_eq!(bytes.len(), 8 + header_len + data);

    // Truncated by one byte, or by all of its data.
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 1])?;
    let msg = safetensors_reason(s.check_weights(8, &cut))?;
    assert!(msg.contains("cut.safetensors"), "{msg}");
    assert!(
        msg.ends_with(&format!(
            "truncated: the header declares {data} bytes of tensor data but the file holds {}",
            data - 1
        )),
        "{msg}"
    );
    std::fs::write(&cut, &bytes[..8 + header_len])?;
    assert!(safetensors_reason(read_weights_header(&cut))?.contains("but the file holds 0"));
    // Trailing bytes after the data.
    let mut padded = bytes.clone();
    padded.extend_from_slice(&[0; 3]);
    std::fs::write(&cut, &padded)?;
    assert!(
        safetensors_reason(read_weights_header(&cut))?.ends_with(&format!(
            "3 bytes follow the {data} bytes of tensor data the header declares"
        ))
    );
    // A header length far beyond the file (a crafted length is never allocated).
    let mut crafted = u64::MAX.to_le_bytes().to_vec();
    crafted.extend_from_slice(b"{}");
    std::fs::write(&cut, &crafted)?;
    assert!(
        safetensors_reason(read_weights_header(&cut))?.contains("more than the 100000000 accepted")
    );
    let mut crafted = 1_000_000u64.to_le_bytes().to_vec();
    crafted.extend_from_slice(b"{}");
    std::fs::write(&cut, &crafted)?;
    assert!(safetensors_reason(read_weights_header(&cut))?.contains("truncated: the header alone"));
    // Not a regular file.
    assert!(safetensors_reason(read_weights_header(dir.path()))?.contains("not a regular file"));
    Ok(())
}

#[test]
fn weights_that_do_not_fit_the_spec_are_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (s, path, bytes) = saved(dir.path())?;
    // Another vocabulary size (an edited input_dim): refused from the header.
    let edited: ModelSpec = serde_json::from_str(
        &serde_json::to_string(&s)?.replace(r#""input_dim":30"#, r#""input_dim":1000000000"#),
    )?;
    match edited.check_weights(8, &path) {
        Err(Error::ShapeMismatch {
            name,
            expected,
            found,
            path: p,
        }) => {
            assert_eq!(name, "embedding.embeddings");
            assert_eq!((expected, found), (vec![1_000_000_000, 4], vec![30, 4]));
            assert_eq!(p, path);
        }
        other => return Err(format!("expected ShapeMismatch, got {other:?}").into()),
    }
    // Loading refuses it the same way, before reading the data.
    assert!(matches!(
        TextClassifier::load(&edited, 8, &path, &Device::Cpu),
        Err(Error::ShapeMismatch { .. })
    ));
    // Another dtype: the header rewritten to F16 with the same byte ranges halved is refused.
    let header_len = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    let json = std::str::from_utf8(&bytes[8..8 + header_len])?;
    let mut value: serde_json::Value = serde_json::from_str(json)?;
    value["dense.bias"]["dtype"] = "I32".into();
    let json = serde_json::to_vec(&value)?;
    let mut other = (json.len() as u64).to_le_bytes().to_vec();
    other.extend_from_slice(&json);
    other.extend_from_slice(&bytes[8 + header_len..]);
    let other_path = dir.path().join("i32.safetensors");
    std::fs::write(&other_path, &other)?;
    let msg = safetensors_reason(s.check_weights(8, &other_path))?;
    assert!(
        msg.ends_with("tensor `dense.bias` is I32, the model expects F32"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn weights_saved_with_their_sequence_length_refuse_another() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (s, path, _) = saved(dir.path())?;
    let (_, vm) = TextClassifier::load(&s, 8, &path, &Device::Cpu)?;
    let tensors: std::collections::HashMap<String, candle_core::Tensor> = vm
        .data()
        .lock()
        .map_err(|_| "lock")?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let meta = std::collections::BTreeMap::from([(SEQ_LEN_METADATA.to_string(), "8".to_string())]);
    let tagged = dir.path().join("tagged.safetensors");
    save_weights(&tensors, &meta, &tagged)?;
    // The same tensors as the original file, plus the metadata.
    let (a, b) = (read_weights_header(&tagged)?, read_weights_header(&path)?);
    assert_eq!(
        (a.tensors.len(), a.data_bytes),
        (b.tensors.len(), b.data_bytes)
    );
    assert_eq!(a.metadata, meta);
    s.check_weights(8, &tagged)?;
    TextClassifier::load(&s, 8, &tagged, &Device::Cpu)?;
    let msg = safetensors_reason(s.check_weights(12, &tagged))?;
    assert!(
        msg.ends_with(
            "the weights were trained for sequences of 8 tokens, the configuration says 12"
        ),
        "{msg}"
    );
    Ok(())
}

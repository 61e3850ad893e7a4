//! The header of a safetensors weights file, read and checked without reading the tensors.
//!
//! A safetensors file is an 8-byte little-endian header length `N`, `N` bytes of JSON (each
//! tensor's `dtype`, `shape` and `data_offsets` into the data that follows, and an optional
//! `__metadata__` map of strings), then the tensor data. [`read_weights_header`] reads only the
//! length and the JSON (at most [`MAX_HEADER_BYTES`]) and checks that the tensors tile the data
//! exactly and that the file holds all of it, so a truncated or padded file is refused before
//! anything is allocated for it. [`ModelSpec::check_weights`] then compares the tensors with the
//! parameters a spec declares: every one present, `F32`, with exactly the declared shape.
//!
//! ```
//! use textrnn_models::{ModelSpec, TextClassifier};
//! let spec: ModelSpec = serde_json::from_str(r#"{"name": "m", "layers": [
//!   {"type": "embedding", "input_dim": 50, "output_dim": 4},
//!   {"type": "gru", "units": 2},
//!   {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#)?;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("model.safetensors");
//! let (_, varmap) = TextClassifier::init(&spec, 6, 1, &candle_core::Device::Cpu)?;
//! TextClassifier::save(&varmap, &path)?;
//! let header = spec.check_weights(6, &path)?;
//! assert_eq!(header.tensors["embedding.embeddings"].shape, vec![50, 4]);
//! // The same file does not fit a spec with another vocabulary size.
//! let other = serde_json::from_str::<ModelSpec>(&serde_json::to_string(&spec)?.replace("50", "60"))?;
//! assert!(other.check_weights(6, &path).unwrap_err().to_string().contains("[60, 4]"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::{DType, Tensor};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::spec::ModelSpec;

/// The largest header accepted (the limit of the `safetensors` crate).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The `__metadata__` key that records the sequence length the weights were trained for; when
/// present, [`ModelSpec::check_weights`] compares it with the configuration's.
pub const SEQ_LEN_METADATA: &str = "textrnn.seq_len";

/// One tensor's entry in the header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorHeader {
    /// Element type (`"F32"`, `"BF16"`, ...).
    pub dtype: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Byte range `[begin, end)` in the data section.
    pub data_offsets: [u64; 2],
}

/// The parsed, checked header of a safetensors file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsHeader {
    /// Tensors by key.
    pub tensors: BTreeMap<String, TensorHeader>,
    /// The `__metadata__` map (empty when absent).
    pub metadata: BTreeMap<String, String>,
    /// Bytes of tensor data after the header.
    pub data_bytes: u64,
}

/// Bytes per element of a safetensors dtype.
fn dtype_bytes(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => 1,
        "U16" | "I16" | "F16" | "BF16" => 2,
        "U32" | "I32" | "F32" => 4,
        "U64" | "I64" | "F64" => 8,
        _ => return None,
    })
}

/// Reads and checks the header of the safetensors file at `path` (see the module docs).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Safetensors`] naming the file when it is
/// not a regular file, its header is too long, not JSON or inconsistent, or the file is shorter
/// or longer than the header says.
pub fn read_weights_header(path: &Path) -> Result<WeightsHeader> {
    let bad = |reason: String| Error::Safetensors {
        path: path.to_path_buf(),
        reason,
    };
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    // Opening a FIFO would block, reading a device would never end: regular files only.
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let file_len = meta.len();
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|_| bad(format!("{file_len} bytes is too short for a header")))?;
    let header_len = u64::from_le_bytes(len);
    if header_len > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "header of {header_len} bytes, more than the {MAX_HEADER_BYTES} accepted"
        )));
    }
    let data_bytes = file_len.checked_sub(8 + header_len).ok_or_else(|| {
        bad(format!(
            "truncated: the header alone should take {header_len} bytes but the file holds {}",
            file_len - 8
        ))
    })?;
    // Bounded by MAX_HEADER_BYTES and by the file's length.
    let mut json = Vec::with_capacity(header_len as usize);
    file.take(header_len).read_to_end(&mut json).map_err(io)?;
    let mut entries: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&json).map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
    let metadata = match entries.remove("__metadata__") {
        Some(m) => serde_json::from_value(m)
            .map_err(|e| bad(format!("__metadata__ is not a map of strings: {e}")))?,
        None => BTreeMap::new(),
    };
    let mut tensors = BTreeMap::new();
    for (name, value) in entries {
        let t: TensorHeader =
            serde_json::from_value(value).map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
        let size = dtype_bytes(&t.dtype)
            .ok_or_else(|| bad(format!("tensor `{name}` has unknown dtype {}", t.dtype)))?;
        let bytes = t
            .shape
            .iter()
            .try_fold(size, |n, d| n.checked_mul(*d as u64))
            .ok_or_else(|| bad(format!("tensor `{name}` of shape {:?} overflows", t.shape)))?;
        let [begin, end] = t.data_offsets;
        if end.checked_sub(begin) != Some(bytes) {
            return Err(bad(format!(
                "tensor `{name}` ({} {:?}) needs {bytes} bytes but its data_offsets [{begin}, {end}] span {}",
                t.dtype,
                t.shape,
                end.saturating_sub(begin)
            )));
        }
        tensors.insert(name, t);
    }
    // The tensors must tile the data section from 0 without gaps or overlaps, and the file
    // must hold exactly that data.
    let mut ranges: Vec<(&str, [u64; 2])> = tensors
        .iter()
        .map(|(n, t)| (n.as_str(), t.data_offsets))
        .collect();
    ranges.sort_by_key(|(_, r)| *r);
    let mut at = 0u64;
    for (name, [begin, end]) in ranges {
        if begin != at {
            return Err(bad(format!(
                "tensor `{name}` starts at byte {begin} of the data, expected {at} (a gap or an overlap)"
            )));
        }
        at = end;
    }
    if at > data_bytes {
        return Err(bad(format!(
            "truncated: the header declares {at} bytes of tensor data but the file holds {data_bytes}"
        )));
    }
    if at < data_bytes {
        return Err(bad(format!(
            "{} bytes follow the {at} bytes of tensor data the header declares",
            data_bytes - at
        )));
    }
    Ok(WeightsHeader {
        tensors,
        metadata,
        data_bytes,
    })
}

impl ModelSpec {
    /// Checks the weights file at `path` against this spec at `seq_len` without loading it:
    /// the header is read ([`read_weights_header`]) and every declared parameter must be there
    /// as `F32` with exactly its declared shape; a [`SEQ_LEN_METADATA`] entry must equal
    /// `seq_len`. Extra tensors are allowed (loading ignores them).
    ///
    /// # Errors
    /// Those of [`read_weights_header`]; [`Error::MissingTensor`], [`Error::ShapeMismatch`] or
    /// [`Error::Safetensors`] (dtype, sequence length) naming the file and the tensor.
    pub fn check_weights(&self, seq_len: usize, path: &Path) -> Result<WeightsHeader> {
        let header = read_weights_header(path)?;
        let file = || -> PathBuf { path.to_path_buf() };
        for p in self.param_specs(seq_len)? {
            let t = header
                .tensors
                .get(&p.path)
                .ok_or_else(|| Error::MissingTensor {
                    path: file(),
                    name: p.path.clone(),
                })?;
            if t.shape != p.shape {
                return Err(Error::ShapeMismatch {
                    path: file(),
                    name: p.path,
                    expected: p.shape,
                    found: t.shape.clone(),
                });
            }
            if t.dtype != "F32" {
                return Err(Error::Safetensors {
                    path: file(),
                    reason: format!("tensor `{}` is {}, the model expects F32", p.path, t.dtype),
                });
            }
        }
        if let Some(saved) = header.metadata.get(SEQ_LEN_METADATA) {
            if saved.parse::<usize>().ok() != Some(seq_len) {
                return Err(Error::Safetensors {
                    path: file(),
                    reason: format!(
                        "the weights were trained for sequences of {saved} tokens, the configuration says {seq_len}"
                    ),
                });
            }
        }
        Ok(header)
    }
}

/// One tensor's f32 bytes, as the `safetensors` writer takes them.
struct F32View {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl safetensors::View for F32View {
    fn dtype(&self) -> safetensors::Dtype {
        safetensors::Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes `tensors` (as f32) to `path` as safetensors with `metadata` in its header (e.g.
/// [`SEQ_LEN_METADATA`], so that [`ModelSpec::check_weights`] can compare the sequence length),
/// atomically and durably ([`textrnn_fs::write_with`]).
///
/// ```
/// use std::collections::{BTreeMap, HashMap};
/// use textrnn_models::{read_weights_header, save_weights, SEQ_LEN_METADATA};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("w.safetensors");
/// let t = candle_core::Tensor::ones((2, 3), candle_core::DType::F32, &candle_core::Device::Cpu)?;
/// let meta = BTreeMap::from([(SEQ_LEN_METADATA.to_string(), "12".to_string())]);
/// save_weights(&HashMap::from([("w".to_string(), t)]), &meta, &path)?;
/// let header = read_weights_header(&path)?;
/// assert_eq!((header.tensors["w"].shape.clone(), header.metadata), (vec![2, 3], meta));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_weights(
    tensors: &HashMap<String, Tensor>,
    metadata: &BTreeMap<String, String>,
    path: &Path,
) -> Result<()> {
    let mut views = BTreeMap::new();
    for (name, t) in tensors {
        let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        views.insert(
            name.as_str(),
            F32View {
                shape: t.dims().to_vec(),
                bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            },
        );
    }
    let info: HashMap<String, String> = metadata.clone().into_iter().collect();
    let info = (!info.is_empty()).then_some(info);
    textrnn_fs::write_with(path, |tmp| {
        safetensors::serialize_to_file(views, info, tmp).map_err(|e| Error::Safetensors {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    })
}

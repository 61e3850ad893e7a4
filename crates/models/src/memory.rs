//! What a model needs in memory, computed from its spec before anything is allocated.
//!
//! Every count is checked arithmetic: a size that would wrap around is an error, never a wrong
//! number. Planning ([`ModelSpec::summary`], [`ModelSpec::param_specs`]) already refuses any
//! single parameter or per-example activation above [`MAX_TENSOR_ELEMENTS`]; the
//! [`MemoryEstimate`] of [`ModelSpec::memory_estimate`] adds the batch and is compared with the
//! machine's memory ([`available_memory`]) by [`MemoryEstimate::check`] before training: an
//! error above it, a warning above half of it.
//!
//! The estimate (f32 throughout): parameters; gradients and optimizer state as three more
//! copies of them (a gradient and Adam's two moments; RMSprop keeps one); activations as the
//! per-layer tensors one training example keeps for the backward pass (the output, plus a
//! recurrent layer's input projections, gates and states per step, a convolution's gathered
//! windows, a dropout mask), times the batch size, plus the `u32` token ids.
//!
//! ```
//! use textrnn_models::ModelSpec;
//! let spec: ModelSpec = serde_json::from_str(r#"{"name": "lstm", "layers": [
//!   {"type": "embedding", "input_dim": 5000, "output_dim": 32},
//!   {"type": "lstm", "units": 100},
//!   {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#)?;
//! let m = spec.memory_estimate(500, 64)?;
//! assert_eq!(m.parameters, 213_301);
//! assert_eq!(m.bytes_params, 4 * 213_301);
//! assert_eq!(m.bytes_optimizer, 3 * 4 * 213_301);
//! // One example: tokens 500 (u32), embedding 500·32, LSTM 2·500·400 + 2·500·100 + 100, dense 2·1.
//! assert_eq!(m.bytes_activations, 64 * 4 * (500 + 16_000 + 500_100 + 2));
//! assert!(m.check(Some(1 << 40))?.is_none());
//! assert!(m.check(Some(1 << 20)).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::Serialize;

use crate::error::{Error, Result};
use crate::spec::ModelSpec;

/// The most values one parameter or one example's activation tensor may hold: 2^36 (256 GiB as
/// f32), beyond any machine this crate trains on. Planning refuses larger sizes, so parameter
/// counts and shapes of a planned spec never overflow.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 36;

/// Bytes per value (f32 weights and activations, u32 token ids).
const VALUE_BYTES: u64 = 4;

/// Copies of the parameters that training adds: the gradient and up to two optimizer moments.
const OPTIMIZER_COPIES: u64 = 3;

/// The memory a model needs to train on batches of `batch_size` sequences of `seq_len` tokens
/// ([`ModelSpec::memory_estimate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryEstimate {
    /// Input length `T`.
    pub seq_len: usize,
    /// Sequences per batch.
    pub batch_size: usize,
    /// Number of parameters.
    pub parameters: u64,
    /// The parameters as f32.
    pub bytes_params: u64,
    /// Gradients and optimizer state (three copies of the parameters).
    pub bytes_optimizer: u64,
    /// Activations a training batch keeps for the backward pass, and the token ids.
    pub bytes_activations: u64,
    /// The largest single activation tensor of a batch.
    pub largest_activation_bytes: u64,
}

impl MemoryEstimate {
    /// Parameters, gradients, optimizer state and activations: what training needs.
    pub fn total_bytes(&self) -> u64 {
        // Each part is below 2^64 / 8 (see `ModelSpec::memory_estimate`), so the sum fits.
        self.bytes_params + self.bytes_optimizer + self.bytes_activations
    }

    /// Parameters and the activations of a batch without gradients or optimizer: an upper
    /// bound of what prediction needs.
    pub fn inference_bytes(&self) -> u64 {
        self.bytes_params + self.bytes_activations
    }

    /// Compares [`Self::total_bytes`] with `available` bytes of memory (`None`: unknown, always
    /// fine): an [`Error::Memory`] above it, a warning (returned, for the caller to log) above
    /// half of it, `None` otherwise.
    pub fn check(&self, available: Option<u64>) -> Result<Option<String>> {
        check_memory(
            self.total_bytes(),
            available,
            &format!(
                "training with batch_size {} and maxlen {} ({} parameters: {} of weights, {} of gradients and optimizer state, {} of activations)",
                self.batch_size,
                self.seq_len,
                self.parameters,
                format_bytes(self.bytes_params),
                format_bytes(self.bytes_optimizer),
                format_bytes(self.bytes_activations)
            ),
        )
    }
}

/// Compares `needed` bytes for `what` with `available` (`None`: unknown, always fine): an
/// [`Error::Memory`] above it, a warning message above half of it, `None` otherwise.
///
/// ```
/// use textrnn_models::check_memory;
/// assert!(check_memory(10, Some(100), "x")?.is_none());
/// assert!(check_memory(60, Some(100), "x")?.unwrap().contains("more than half"));
/// assert!(check_memory(101, Some(100), "x").is_err());
/// assert!(check_memory(u64::MAX, None, "x")?.is_none());
/// # Ok::<(), textrnn_models::Error>(())
/// ```
pub fn check_memory(needed: u64, available: Option<u64>, what: &str) -> Result<Option<String>> {
    let Some(available) = available else {
        return Ok(None);
    };
    if needed > available {
        return Err(Error::Memory {
            reason: format!(
                "{what} needs about {}, more than the {} of memory available; reduce the batch size, the sequence length or the layer sizes",
                format_bytes(needed),
                format_bytes(available)
            ),
        });
    }
    Ok((needed > available / 2).then(|| {
        format!(
            "{what} needs about {}, more than half of the {} of memory available",
            format_bytes(needed),
            format_bytes(available)
        )
    }))
}

impl ModelSpec {
    /// The memory training needs on batches of `batch_size` sequences of `seq_len` tokens (see
    /// the [module docs](crate::memory)); validates the spec. A count that overflows 64 bits is
    /// an [`Error::Memory`], a tensor above [`MAX_TENSOR_ELEMENTS`] an [`Error::InvalidSpec`].
    pub fn memory_estimate(&self, seq_len: usize, batch_size: usize) -> Result<MemoryEstimate> {
        let plans = self.plan(seq_len)?;
        let overflow = || {
            Error::Memory {
            reason: format!(
                "the model's memory for batch_size {batch_size} and maxlen {seq_len} overflows a 64-bit byte count; reduce the sizes"
            ),
        }
        };
        let mut parameters = 0u64;
        // The token ids `(B, T)` are the first activation.
        let mut per_example = seq_len as u64;
        let mut largest = seq_len as u64;
        for plan in &plans {
            for p in &plan.params {
                parameters = parameters
                    .checked_add(p.checked_numel().ok_or_else(overflow)? as u64)
                    .ok_or_else(overflow)?;
            }
            per_example = per_example
                .checked_add(plan.work.total as u64)
                .ok_or_else(overflow)?;
            largest = largest.max(plan.work.largest as u64);
        }
        // Bytes of `n` values for the whole batch, kept below 2^61 so that sums cannot wrap.
        let bytes = |n: u64, copies: u64| -> Result<u64> {
            n.checked_mul(copies)
                .and_then(|n| n.checked_mul(VALUE_BYTES))
                .filter(|b| *b < 1 << 61)
                .ok_or_else(overflow)
        };
        let batch = batch_size as u64;
        Ok(MemoryEstimate {
            seq_len,
            batch_size,
            parameters,
            bytes_params: bytes(parameters, 1)?,
            bytes_optimizer: bytes(parameters, OPTIMIZER_COPIES)?,
            bytes_activations: bytes(per_example.checked_mul(batch).ok_or_else(overflow)?, 1)?,
            largest_activation_bytes: bytes(largest.checked_mul(batch).ok_or_else(overflow)?, 1)?,
        })
    }
}

/// The memory available to a new allocation, in bytes: `MemAvailable` of `/proc/meminfo` on
/// Linux; `None` elsewhere or when it cannot be read.
pub fn available_memory() -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// `MemAvailable` (kB) of a `/proc/meminfo` text, in bytes.
fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut fields = line.split_whitespace().skip(1);
    let kib: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") | None => kib.checked_mul(1024),
        Some(_) => None,
    }
}

/// `1536` → `"1.5 KiB"`; bytes in binary units, one decimal.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_parsing() {
        let text = "MemTotal:       16318412 kB\nMemFree:          512000 kB\nMemAvailable:    8000000 kB\n";
        assert_eq!(parse_meminfo(text), Some(8_000_000 * 1024));
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_meminfo("MemAvailable: lots kB\n"), None);
    }

    #[test]
    fn bytes_are_formatted_in_binary_units() {
        assert_eq!(format_bytes(0), "0 bytes");
        assert_eq!(format_bytes(1023), "1023 bytes");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(3 << 30), "3.0 GiB");
        assert_eq!(format_bytes(u64::MAX), "16.0 EiB");
    }
}

//! Keras `pad_sequences`: turn ragged id sequences into one row-major `N x maxlen` matrix.
//!
//! For a sequence `s` of length `L`:
//! - `L > maxlen`: keep the last `maxlen` ids ([`Truncating::Pre`], Keras default) or the first
//!   `maxlen` ([`Truncating::Post`]);
//! - `L < maxlen`: fill `maxlen - L` slots with `value` before ([`Padding::Pre`], Keras default)
//!   or after ([`Padding::Post`]) the ids.
//!
//! Output shape: `(N, maxlen)` flattened row-major, i.e. row `i` is `out[i*maxlen..(i+1)*maxlen]`.
//!
//! ```
//! use textrnn_text::{pad_sequences, Padding, Truncating};
//!
//! let seqs = vec![vec![1, 2, 3], vec![4]];
//! let out = pad_sequences(&seqs, 2, Padding::Pre, Truncating::Pre, 0)?;
//! assert_eq!(out, vec![2, 3, /* row 2 */ 0, 4]);
//! # Ok::<(), textrnn_text::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where padding values go when a sequence is shorter than `maxlen` (Keras `padding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// Pad at the start (Keras default).
    #[default]
    Pre,
    /// Pad at the end.
    Post,
}

/// Which end is cut when a sequence is longer than `maxlen` (Keras `truncating`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Truncating {
    /// Drop ids from the start, keeping the last `maxlen` (Keras default).
    #[default]
    Pre,
    /// Drop ids from the end, keeping the first `maxlen`.
    Post,
}

/// Pads/truncates every sequence to `maxlen` and returns them as one row-major `N x maxlen`
/// buffer, exactly as `keras.preprocessing.sequence.pad_sequences(seqs, maxlen, padding=..,
/// truncating=.., value=..)`.
///
/// # Errors
/// [`Error::InvalidConfig`] when `maxlen` is 0.
///
/// ```
/// use textrnn_text::{pad_sequences, Padding, Truncating};
///
/// let out = pad_sequences(&[vec![5, 6, 7]], 2, Padding::Post, Truncating::Post, 0)?;
/// assert_eq!(out, vec![5, 6]);
/// # Ok::<(), textrnn_text::Error>(())
/// ```
pub fn pad_sequences(
    seqs: &[Vec<u32>],
    maxlen: usize,
    padding: Padding,
    truncating: Truncating,
    value: u32,
) -> Result<Vec<u32>> {
    if maxlen == 0 {
        return Err(Error::invalid("maxlen", "must be at least 1"));
    }
    // `N x maxlen` ids: counted without overflow and reserved fallibly, so an absurd maxlen is
    // an error instead of a wrapped size or an aborting allocation.
    let too_large = || {
        Error::invalid(
            "maxlen",
            format!(
                "{} sequences of {maxlen} token ids do not fit in memory",
                seqs.len()
            ),
        )
    };
    let total = seqs.len().checked_mul(maxlen).ok_or_else(too_large)?;
    let mut out = Vec::new();
    out.try_reserve_exact(total).map_err(|_| too_large())?;
    for seq in seqs {
        let kept: &[u32] = if seq.len() > maxlen {
            match truncating {
                Truncating::Pre => &seq[seq.len() - maxlen..],
                Truncating::Post => &seq[..maxlen],
            }
        } else {
            seq
        };
        let fill = maxlen - kept.len();
        match padding {
            Padding::Pre => {
                out.extend(std::iter::repeat_n(value, fill));
                out.extend_from_slice(kept);
            }
            Padding::Post => {
                out.extend_from_slice(kept);
                out.extend(std::iter::repeat_n(value, fill));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// One sequence longer than maxlen, one shorter, one exact, one empty.
    fn seqs() -> Vec<Vec<u32>> {
        vec![vec![1, 2, 3, 4, 5], vec![6, 7], vec![8, 9, 10], vec![]]
    }

    // Expected values are what Keras prints for
    // pad_sequences([[1,2,3,4,5],[6,7],[8,9,10],[]], maxlen=3, padding=P, truncating=T).
    #[test]
    fn pre_pre() {
        let out = pad_sequences(&seqs(), 3, Padding::Pre, Truncating::Pre, 0).unwrap();
        assert_eq!(out, vec![3, 4, 5, 0, 6, 7, 8, 9, 10, 0, 0, 0]);
    }

    #[test]
    fn pre_post() {
        let out = pad_sequences(&seqs(), 3, Padding::Pre, Truncating::Post, 0).unwrap();
        assert_eq!(out, vec![1, 2, 3, 0, 6, 7, 8, 9, 10, 0, 0, 0]);
    }

    #[test]
    fn post_pre() {
        let out = pad_sequences(&seqs(), 3, Padding::Post, Truncating::Pre, 0).unwrap();
        assert_eq!(out, vec![3, 4, 5, 6, 7, 0, 8, 9, 10, 0, 0, 0]);
    }

    #[test]
    fn post_post() {
        let out = pad_sequences(&seqs(), 3, Padding::Post, Truncating::Post, 0).unwrap();
        assert_eq!(out, vec![1, 2, 3, 6, 7, 0, 8, 9, 10, 0, 0, 0]);
    }

    #[test]
    fn custom_value_and_empty_input() {
        let out = pad_sequences(&[vec![1]], 3, Padding::Pre, Truncating::Pre, 9).unwrap();
        assert_eq!(out, vec![9, 9, 1]);
        assert!(pad_sequences(&[], 4, Padding::Pre, Truncating::Pre, 0)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn maxlen_zero_is_an_error() {
        let err = pad_sequences(&seqs(), 0, Padding::Pre, Truncating::Pre, 0).unwrap_err();
        assert!(err.to_string().contains("maxlen"), "{err}");
    }

    #[test]
    fn an_absurd_maxlen_is_an_error_not_an_abort() {
        let seqs = seqs();
        // The count overflows; the count fits but its bytes do not.
        for maxlen in [usize::MAX, usize::MAX / 8] {
            let err = pad_sequences(&seqs, maxlen, Padding::Pre, Truncating::Pre, 0).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid config field `maxlen`: 4 sequences of {maxlen} token ids do not fit in memory")
            );
        }
    }

    #[test]
    fn serde_names_are_keras_names() {
        assert_eq!(serde_json::to_string(&Padding::Post).unwrap(), "\"post\"");
        let t: Truncating = serde_json::from_str("\"pre\"").unwrap();
        assert_eq!(t, Truncating::Pre);
        assert_eq!(Padding::default(), Padding::Pre);
    }
}

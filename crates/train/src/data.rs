//! Encoded examples and mini-batching.
//!
//! An [`EncodedSplit`] holds `N` padded sequences row-major (`tokens.len() == N * seq_len`) and
//! `N` labels. [`EncodedSplit::batches`] visits the examples in order, or in a permutation drawn
//! from a seeded `ChaCha8Rng` (Fisher–Yates), and yields [`Batch`]es of
//! `tokens: (b, seq_len) u32` and `labels: (b) u32` tensors (and `weights: (b) f32` when the
//! split carries per-example loss weights) on a device, `b = batch_size` except
//! for a last partial batch, which is included (Keras). One gather per batch builds each tensor;
//! candle-datasets' `Batcher` was measured against this and not adopted (`docs/ARCHITECTURE.md`
//! says why).
//!
//! ```
//! use candle_core::Device;
//! use textrnn_train::EncodedSplit;
//! let split = EncodedSplit::new(vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 2, vec![0, 1, 0, 1, 1]).unwrap();
//! let sizes: Vec<usize> = split
//!     .batches(2, None, &Device::Cpu).unwrap()
//!     .map(|b| b.unwrap().len())
//!     .collect();
//! assert_eq!(sizes, vec![2, 2, 1]);
//! ```

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// Token ids and labels of one split, ready for batching.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EncodedSplit {
    /// `N * seq_len` token ids, row-major (one padded sequence per row).
    pub tokens: Vec<u32>,
    /// Length of every sequence.
    pub seq_len: usize,
    /// `N` labels, indices into the class names.
    pub labels: Vec<u32>,
    /// `N` per-example loss weights (class weight × sample weight; finite, `>= 0`), for the
    /// training split only; `None`: every example weighs 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f32>>,
    /// Multi-label splits: `N * n` multi-hot targets (1.0 where example `i` carries label `j`,
    /// row-major), the binary cross-entropy's targets; `labels[i]` is then example `i`'s first
    /// label. `None` for single-label splits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<f32>>,
}

impl EncodedSplit {
    /// A validated split.
    pub fn new(tokens: Vec<u32>, seq_len: usize, labels: Vec<u32>) -> Result<Self> {
        let split = Self {
            tokens,
            seq_len,
            labels,
            weights: None,
            targets: None,
        };
        split.validate()?;
        Ok(split)
    }

    /// The split as multi-label data with `N * n_labels` multi-hot `targets` (0 or 1), validated.
    pub fn with_targets(mut self, targets: Vec<f32>, n_labels: usize) -> Result<Self> {
        if n_labels == 0 || targets.len() != self.labels.len() * n_labels {
            return Err(Error::Shape(format!(
                "EncodedSplit: {} targets for {} examples of {n_labels} labels",
                targets.len(),
                self.labels.len()
            )));
        }
        if let Some(row) = targets.iter().position(|&t| t != 0.0 && t != 1.0) {
            return Err(Error::Shape(format!(
                "EncodedSplit: target {row} is {}; multi-hot targets are 0 or 1",
                targets[row]
            )));
        }
        self.targets = Some(targets);
        self.validate()?;
        Ok(self)
    }

    /// Labels per example of a multi-label split (`None` for single-label splits or no rows).
    pub fn n_targets(&self) -> Option<usize> {
        let t = self.targets.as_ref()?;
        (!self.labels.is_empty()).then(|| t.len() / self.labels.len())
    }

    /// The split with per-example loss `weights` (`None`: unweighted), validated.
    pub fn with_weights(mut self, weights: Option<Vec<f32>>) -> Result<Self> {
        self.weights = weights;
        self.validate()?;
        Ok(self)
    }

    /// Checks `seq_len > 0`, `tokens.len() == labels.len() * seq_len` and, when present, one
    /// finite weight `>= 0` per example.
    pub fn validate(&self) -> Result<()> {
        if let Some(w) = &self.weights {
            if w.len() != self.labels.len() {
                return Err(Error::Shape(format!(
                    "EncodedSplit: {} weights for {} labels",
                    w.len(),
                    self.labels.len()
                )));
            }
            if let Some(row) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(Error::Shape(format!(
                    "EncodedSplit: the weight of row {row} is {}; weights must be finite and >= 0",
                    w[row]
                )));
            }
        }
        if self.seq_len == 0 {
            return Err(Error::Shape(
                "EncodedSplit: seq_len must be at least 1".into(),
            ));
        }
        if self.tokens.len() != self.labels.len() * self.seq_len {
            return Err(Error::Shape(format!(
                "EncodedSplit: {} tokens for {} labels of seq_len {} (expected {})",
                self.tokens.len(),
                self.labels.len(),
                self.seq_len,
                self.labels.len() * self.seq_len
            )));
        }
        Ok(())
    }

    /// Checks every label is below `n_classes`.
    pub fn check_labels(&self, n_classes: usize) -> Result<()> {
        match self.labels.iter().position(|&l| l as usize >= n_classes) {
            Some(row) => Err(Error::Label {
                row,
                label: self.labels[row],
                n_classes,
            }),
            None => Ok(()),
        }
    }

    /// Number of examples `N`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The token ids of example `i`.
    pub fn row(&self, i: usize) -> &[u32] {
        &self.tokens[i * self.seq_len..(i + 1) * self.seq_len]
    }

    /// Number of batches of `batch_size` (the last one may be partial).
    pub fn num_batches(&self, batch_size: usize) -> usize {
        self.len().div_ceil(batch_size.max(1))
    }

    /// The rows [`batches`](Self::batches) visits, in its order: `0..N`, or a permutation drawn
    /// from `shuffle` (Fisher–Yates).
    pub fn order(&self, shuffle: Option<&mut ChaCha8Rng>) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        if let Some(rng) = shuffle {
            order.shuffle(rng);
        }
        order
    }

    /// Mini-batches in order, or shuffled with `shuffle`; see the module docs.
    pub fn batches(
        &self,
        batch_size: usize,
        shuffle: Option<&mut ChaCha8Rng>,
        device: &Device,
    ) -> Result<Batches<'_>> {
        self.validate()?;
        if batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        Ok(Batches {
            split: self,
            order: self.order(shuffle),
            batch_size,
            pos: 0,
            device: device.clone(),
        })
    }
}

/// One mini-batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Token ids `(b, seq_len)`, `u32`.
    pub tokens: Tensor,
    /// Labels `(b)`, `u32`.
    pub labels: Tensor,
    /// The same labels on the host (for metrics).
    pub label_values: Vec<u32>,
    /// Per-example loss weights `(b)` `f32`, when the split has weights.
    pub weights: Option<Tensor>,
    /// Multi-label targets `(b, n)` `f32` (multi-hot), when the split has targets.
    pub targets: Option<Tensor>,
    /// The same targets on the host, row-major (empty for single-label splits).
    pub target_values: Vec<f32>,
    /// Row of each example in the split.
    pub indices: Vec<usize>,
}

impl Batch {
    /// Number of examples `b`.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// True for an empty batch (never yielded by [`Batches`]).
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// What the loss compares the logits with: the multi-hot targets `(b, n)` of a multi-label
    /// batch, else the labels `(b)`.
    pub fn loss_targets(&self) -> &Tensor {
        self.targets.as_ref().unwrap_or(&self.labels)
    }
}

/// Iterator over the mini-batches of an [`EncodedSplit`].
pub struct Batches<'a> {
    split: &'a EncodedSplit,
    order: Vec<usize>,
    batch_size: usize,
    pos: usize,
    device: Device,
}

impl Batches<'_> {
    /// The visiting order of the examples for this pass.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Passes over the next `n` batches without building them (a resumed epoch skips the
    /// batches it already trained on).
    pub(crate) fn skip_batches(&mut self, n: usize) {
        self.pos = self
            .pos
            .saturating_add(n.saturating_mul(self.batch_size))
            .min(self.order.len());
    }

    fn make(&self, indices: &[usize]) -> Result<Batch> {
        let s = self.split;
        let mut tokens = Vec::with_capacity(indices.len() * s.seq_len);
        for &i in indices {
            tokens.extend_from_slice(s.row(i));
        }
        let label_values: Vec<u32> = indices.iter().map(|&i| s.labels[i]).collect();
        let weights = match &s.weights {
            Some(w) => {
                let picked: Vec<f32> = indices.iter().map(|&i| w[i]).collect();
                Some(Tensor::new(picked.as_slice(), &self.device)?)
            }
            None => None,
        };
        let (targets, target_values) = match (&s.targets, s.n_targets()) {
            (Some(t), Some(n)) => {
                let mut picked = Vec::with_capacity(indices.len() * n);
                for &i in indices {
                    picked.extend_from_slice(&t[i * n..(i + 1) * n]);
                }
                let tensor = Tensor::from_slice(&picked, (indices.len(), n), &self.device)?;
                (Some(tensor), picked)
            }
            _ => (None, Vec::new()),
        };
        Ok(Batch {
            tokens: Tensor::from_vec(tokens, (indices.len(), s.seq_len), &self.device)?,
            labels: Tensor::new(label_values.as_slice(), &self.device)?,
            label_values,
            weights,
            targets,
            target_values,
            indices: indices.to_vec(),
        })
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.order.len() {
            return None;
        }
        let end = (self.pos + self.batch_size).min(self.order.len());
        let batch = self.make(&self.order[self.pos..end]);
        self.pos = end;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.order.len() - self.pos).div_ceil(self.batch_size);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batches<'_> {}

/// Token tensor `(rows, seq_len)` for rows `start..end` of a row-major token buffer.
pub(crate) fn token_rows(
    tokens: &[u32],
    seq_len: usize,
    start: usize,
    end: usize,
    device: &Device,
) -> Result<Tensor> {
    let slice = &tokens[start * seq_len..end * seq_len];
    Ok(Tensor::from_slice(slice, (end - start, seq_len), device)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn split(n: usize) -> EncodedSplit {
        let tokens = (0..n as u32).flat_map(|i| [i, i + 100]).collect();
        EncodedSplit::new(tokens, 2, (0..n as u32).map(|i| i % 2).collect()).unwrap()
    }

    #[test]
    fn validation_rejects_inconsistent_lengths() {
        assert!(matches!(
            EncodedSplit::new(vec![1, 2, 3], 2, vec![0, 1]),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            EncodedSplit::new(vec![], 0, vec![]),
            Err(Error::Shape(_))
        ));
        assert!(split(3).check_labels(2).is_ok());
        assert!(matches!(
            split(3).check_labels(1),
            Err(Error::Label {
                row: 1,
                label: 1,
                ..
            })
        ));
    }

    #[test]
    fn batches_keep_rows_together_and_include_the_partial_last() {
        let s = split(5);
        let dev = Device::Cpu;
        let batches: Vec<Batch> = s
            .batches(2, None, &dev)
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
        assert_eq!(batches.len(), 3);
        assert_eq!(s.num_batches(2), 3);
        assert_eq!(batches[2].tokens.dims(), &[1, 2]);
        assert_eq!(
            batches[1].tokens.to_vec2::<u32>().unwrap(),
            vec![vec![2, 102], vec![3, 103]]
        );
        assert_eq!(batches[1].labels.to_vec1::<u32>().unwrap(), vec![0, 1]);
        assert!(s.batches(0, None, &dev).is_err());
    }

    #[test]
    fn weights_are_validated_and_follow_their_rows_into_batches() {
        let s = split(3);
        let e = s.clone().with_weights(Some(vec![1.0, 2.0])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape mismatch: EncodedSplit: 2 weights for 3 labels"
        );
        let e = s
            .clone()
            .with_weights(Some(vec![1.0, -0.5, 1.0]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape mismatch: EncodedSplit: the weight of row 1 is -0.5; weights must be finite and >= 0"
        );
        assert!(s
            .clone()
            .with_weights(Some(vec![1.0, f32::NAN, 1.0]))
            .is_err());
        let w = s.with_weights(Some(vec![0.5, 2.0, 3.0])).unwrap();
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for b in w.batches(2, Some(&mut rng), &dev).unwrap() {
            let b = b.unwrap();
            let got = b.weights.unwrap().to_vec1::<f32>().unwrap();
            let want: Vec<f32> = b.indices.iter().map(|&i| [0.5, 2.0, 3.0][i]).collect();
            assert_eq!(got, want);
        }
        assert!(split(2)
            .batches(2, None, &dev)
            .unwrap()
            .all(|b| b.unwrap().weights.is_none()));
    }

    #[test]
    fn shuffling_is_a_seeded_permutation() {
        let s = split(50);
        let dev = Device::Cpu;
        let mut r1 = ChaCha8Rng::seed_from_u64(3);
        let mut r2 = ChaCha8Rng::seed_from_u64(3);
        let o1 = s.batches(7, Some(&mut r1), &dev).unwrap().order().to_vec();
        let o2 = s.batches(7, Some(&mut r2), &dev).unwrap().order().to_vec();
        assert_eq!(o1, o2);
        assert_ne!(o1, (0..50).collect::<Vec<_>>());
        let mut sorted = o1.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        // tokens and labels stay paired
        for b in s.batches(7, Some(&mut r1), &dev).unwrap() {
            let b = b.unwrap();
            let rows = b.tokens.to_vec2::<u32>().unwrap();
            for (k, &i) in b.indices.iter().enumerate() {
                assert_eq!(rows[k][0] as usize, i);
                assert_eq!(b.label_values[k], (i % 2) as u32);
            }
        }
    }
}

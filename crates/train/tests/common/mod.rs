//! The small models and data the integration tests train: an embedding-mean classifier with
//! seeded weights and optional dropout, and sequences of 8 tokens from 4..20 (0 = padding) whose
//! label says whether token 3 (class 1) or 5 (class 2) occurs.

#![allow(dead_code, clippy::unwrap_used)]

use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::{Embedding, Linear, VarBuilder, VarMap};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textrnn_models::{Classifier, Mode, Output};
use textrnn_train::EncodedSplit;

pub const VOCAB: usize = 20;
pub const SEQ: usize = 8;

/// Embedding → mean over time → (dropout) → dense; logits (B, C).
pub struct MeanEmbed {
    emb: Embedding,
    out: Linear,
    output: Output,
    pub varmap: VarMap,
    dropout: f32,
}

impl MeanEmbed {
    pub fn new(output: Output, seed: u64, dropout: f32) -> Self {
        let mut varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let dim = 8;
        let c = output.n_logits();
        // seeded init (candle's CPU RNG cannot be seeded)
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut uniform =
            |n: usize, a: f32| -> Vec<f32> { (0..n).map(|_| rng.random_range(-a..a)).collect() };
        let e = Tensor::from_vec(uniform(VOCAB * dim, 0.05), (VOCAB, dim), &Device::Cpu).unwrap();
        let w = Tensor::from_vec(uniform(c * dim, 0.5), (c, dim), &Device::Cpu).unwrap();
        let emb_w = vb
            .get_with_hints(
                (VOCAB, dim),
                "embedding/embeddings",
                candle_nn::Init::Const(0.0),
            )
            .unwrap();
        let out_w = vb
            .get_with_hints((c, dim), "dense/kernel", candle_nn::Init::Const(0.0))
            .unwrap();
        let out_b = vb
            .get_with_hints(c, "dense/bias", candle_nn::Init::Const(0.0))
            .unwrap();
        varmap.set_one("embedding/embeddings", &e).unwrap();
        varmap.set_one("dense/kernel", &w).unwrap();
        Self {
            emb: Embedding::new(emb_w, dim),
            out: Linear::new(out_w, Some(out_b)),
            output,
            varmap,
            dropout,
        }
    }
}

impl Classifier for MeanEmbed {
    fn forward_t(&self, tokens: &Tensor, mode: &mut Mode) -> candle_core::Result<Tensor> {
        let h = self.emb.forward(tokens)?.mean(1)?; // (B, dim)
        let h = match mode.rng() {
            Some(rng) if self.dropout > 0.0 => {
                let keep = 1.0 - self.dropout;
                let mask: Vec<f32> = (0..h.elem_count())
                    .map(|_| {
                        if rng.random::<f32>() < keep {
                            1.0 / keep
                        } else {
                            0.0
                        }
                    })
                    .collect();
                h.mul(&Tensor::from_vec(mask, h.shape(), h.device())?)?
            }
            _ => h,
        };
        self.out.forward(&h)
    }

    fn output(&self) -> Output {
        self.output
    }

    fn vars(&self) -> Vec<Var> {
        let data = self.varmap.data().lock().unwrap();
        let mut named: Vec<_> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named.into_iter().map(|(_, v)| v).collect()
    }
}

/// `n` sequences; about half contain token 3 (label 1). `classes = 3` adds label 2 for token 5
/// without token 3.
pub fn synthetic(n: usize, seed: u64, classes: u32) -> EncodedSplit {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tokens = Vec::with_capacity(n * SEQ);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let mut row: Vec<u32> = (0..SEQ)
            .map(|_| rng.random_range(6..VOCAB as u32))
            .collect();
        let kind = rng.random_range(0..classes);
        if kind == 1 {
            row[rng.random_range(0..SEQ)] = 3;
        } else if kind == 2 {
            row[rng.random_range(0..SEQ)] = 5;
        }
        labels.push(kind);
        tokens.extend(row);
    }
    EncodedSplit::new(tokens, SEQ, labels).unwrap()
}

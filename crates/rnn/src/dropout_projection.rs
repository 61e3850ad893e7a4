//! The input projection of a recurrent layer directly above an embedding, under the layer's input
//! dropout, without projecting the `B·T` embedded steps:
//! `xproj[b, t] = (embeddings[ids[b, t]] ⊙ keep[b]) · kernel + bias`, with `keep[b]` the row's
//! keep mask (0 or `s = 1/(1−p)` per feature, fixed across time as Keras draws it).
//!
//! With `D_b` the features row `b` drops, `(e ⊙ keep_b)·K = s·e·K − s·e[D_b]·K[D_b]`, so the op
//! (a candle `CustomOp2` on `embeddings (V,E)` and `[kernel; bias] (E+1,G)`):
//! 1. projects the vocabulary once, `table = s·embeddings·K + bias` `(V,G)` (only the rows of
//!    ids the batch uses);
//! 2. per batch row, copies `table[ids[b,t]]` for every step and subtracts the correction
//!    `s·A_b·K[D_b]`, `A_b = embeddings[ids_b][:, D_b]` `(T,|D_b|)`: one small GEMM per row, a
//!    fraction `p` of the unfolded projection's work.
//!
//! The fused recurrences run the same computation inside their own op (`OpInput::Embeddings`), so
//! the `(B,T,G)` projection and its gradient stay buffers of the op instead of graph tensors.
//!
//! Backward from `dX = d xproj` `(B,T,G)`: `dtable` = `dX` scattered onto the ids' rows, then
//! `d embeddings = s·dtable·Kᵀ`, `dK = s·embeddingsᵀ·dtable`, `d bias = Σ rows of dtable` (`(V,·)`
//! GEMMs), minus the corrections `s·A_bᵀ·dX_b` on `dK[D_b]` and `s·dX_b·K[D_b]ᵀ` on the
//! embedding entries `(ids[b,t], D_b)`. Batch rows run in one chunk per rayon thread (each with
//! its own `dK` part, summed in chunk order); the embedding corrections are added in row order.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use crate::grads::{project_bwd, scatter_rows, split_vocab};
use crate::matrix::{mat, mat_mut, matmul, Mat};
use crate::parallel::{gemm_threads, rows_per_chunk, run_chunks, zeros};
use crate::pool::{Buffers, Pool};
use crate::real::Real;
use crate::storage::{cpu_slice, with_slice};

/// The projection's data besides the weights: the batch's token ids, the dropped features of each
/// batch row and the keep scale `s`. Only the vocabulary rows the batch uses are projected: `used`
/// lists them (ascending) and `local` holds each token's index into that list.
#[derive(Debug)]
pub(crate) struct DropoutFold {
    /// The distinct ids of the batch, ascending (each `< V`, checked before the op runs).
    used: Vec<u32>,
    /// `B·T` indices into `used`.
    local: Vec<u32>,
    b: usize,
    t: usize,
    /// `E`, the embedding width.
    features: usize,
    /// Per batch row, the indices of the features its keep mask zeroes (ascending).
    dropped: Vec<Vec<usize>>,
    scale: f64,
}

impl DropoutFold {
    /// `ids` `(B·T)` already checked against the vocabulary; `keep` `(B,E)` the rows' scaled keep
    /// masks: every entry 0 or one common scale (an error otherwise). `None` keeps every feature
    /// of an embedding `features` wide (the layer's projection without dropout).
    pub(crate) fn new(
        what: &str,
        ids: &[u32],
        (b, t): (usize, usize),
        keep: Option<&Tensor>,
        features: usize,
    ) -> Result<Self> {
        let (e, dropped, scale) = match keep {
            None => (features, vec![Vec::new(); b], 1.0),
            Some(keep) => {
                let e = keep.dim(1)?;
                let keep = keep
                    .to_dtype(candle_core::DType::F64)?
                    .flatten_all()?
                    .to_vec1::<f64>()?;
                let scale = keep.iter().copied().find(|&k| k != 0.0).unwrap_or(1.0);
                if let Some(k) = keep.iter().find(|&&k| k != 0.0 && k != scale) {
                    candle_core::bail!(
                        "{what}: keep must hold 0 or one scale 1/(1-p), found both {scale} and {k}"
                    );
                }
                let dropped = keep
                    .chunks(e.max(1))
                    .map(|row| (0..e).filter(|&j| row[j] == 0.0).collect())
                    .collect();
                (e, dropped, scale)
            }
        };
        let end = ids.iter().map(|&id| id as usize + 1).max().unwrap_or(0);
        let mut slot = vec![u32::MAX; end];
        for &id in ids {
            slot[id as usize] = 0;
        }
        let mut used = Vec::new();
        for (id, s) in slot.iter_mut().enumerate() {
            if *s == 0 {
                *s = used.len() as u32;
                used.push(id as u32);
            }
        }
        let local = ids.iter().map(|&id| slot[id as usize]).collect();
        Ok(Self {
            used,
            local,
            b,
            t,
            features: e,
            dropped,
            scale,
        })
    }

    /// `E`, the embedding width.
    pub(crate) fn features(&self) -> usize {
        self.features
    }

    /// The distinct token ids of the batch, ascending.
    pub(crate) fn used(&self) -> &[u32] {
        &self.used
    }

    /// `B·T`, the number of tokens.
    pub(crate) fn tokens(&self) -> usize {
        self.local.len()
    }

    /// Runs a fused op's forward pass `fwd(ids, rows)` on its input terms: the table of the used
    /// vocabulary rows, read by `ids` ([`Self::local`]), when no feature is dropped; else the
    /// corrected `xproj` rows ([`Self::project`]) with `ids` `None`. The buffer goes back to
    /// `bufs` afterwards.
    pub(crate) fn with_input<T: Real, R>(
        &self,
        bufs: Buffers<'_>,
        emb: &[T],
        kb: &[T],
        g: usize,
        fwd: impl FnOnce(Option<&[u32]>, &[T]) -> R,
    ) -> R {
        let (ids, rows) = if self.drops_nothing() {
            (Some(&self.local[..]), self.table(bufs, emb, kb, g))
        } else {
            (None, self.project(bufs, emb, kb, g))
        };
        let out = fwd(ids, &rows);
        bufs.give(rows);
        out
    }

    /// Whether no feature is dropped (then `xproj[b, t] = table[local[b·T + t]]`).
    pub(crate) fn drops_nothing(&self) -> bool {
        self.dropped.iter().all(Vec::is_empty)
    }

    /// `table = s·embeddings[used]·kernel + bias` `(|used|·G)` from `emb (V·E)` and
    /// `kb = [kernel; bias] ((E+1)·G)`, in a buffer from `bufs`.
    fn table<T: Real>(&self, bufs: Buffers<'_>, emb: &[T], kb: &[T], g: usize) -> Vec<T> {
        let e = kb.len() / g - 1;
        self.table_of_rows(bufs, &self.used_rows(emb, e), kb, g)
    }

    /// [`Self::table`] from the used embedding rows `(|used|·E)`.
    fn table_of_rows<T: Real>(&self, bufs: Buffers<'_>, emb: &[T], kb: &[T], g: usize) -> Vec<T> {
        let e = kb.len() / g - 1;
        let s = T::from_f64(self.scale);
        let (k, bias) = kb.split_at(e * g);
        let v = self.used.len();
        let mut table = bufs.take(v * g);
        matmul(
            mat_mut(&mut table, v, g),
            false,
            mat(emb, v, e),
            mat(k, e, g),
            gemm_threads(),
        );
        for row in table.chunks_mut(g.max(1)) {
            for (x, &c) in row.iter_mut().zip(bias) {
                *x = s * *x + c;
            }
        }
        table
    }

    /// `xproj` `(B·T·G)` from `emb (V·E)` and `kb = [kernel; bias] ((E+1)·G)`, in a buffer from
    /// `bufs`.
    pub(crate) fn project<T: Real>(
        &self,
        bufs: Buffers<'_>,
        emb: &[T],
        kb: &[T],
        g: usize,
    ) -> Vec<T> {
        let (b, t) = (self.b, self.t);
        let e = kb.len() / g - 1;
        let s = T::from_f64(self.scale);
        let k = &kb[..e * g];
        let emb = self.used_rows(emb, e);
        let table = self.table_of_rows(bufs, &emb, kb, g);
        // Every row is copied from the table before its correction accumulates onto it.
        let mut out = bufs.take(b * t * g);
        let rows = rows_per_chunk(b);
        let chunks: Vec<(usize, &mut [T])> = out
            .chunks_mut((rows * t * g).max(1))
            .enumerate()
            .map(|(c, o)| (c * rows, o))
            .collect();
        run_chunks(chunks, |(first, out)| {
            let (mut a, mut kd) = (Vec::new(), Vec::new());
            for (r, out) in out.chunks_mut((t * g).max(1)).enumerate() {
                let row = first + r;
                let ids = &self.local[row * t..(row + 1) * t];
                for (o, &id) in out.chunks_mut(g.max(1)).zip(ids) {
                    let id = id as usize;
                    o.copy_from_slice(&table[id * g..(id + 1) * g]);
                }
                let dropped = &self.dropped[row];
                if dropped.is_empty() {
                    continue;
                }
                gather_dropped(&emb, e, ids, dropped, &mut a);
                // `−s·K[D_b]`, so the GEMM accumulates the subtraction.
                neg_scaled_rows(k, g, dropped, s, &mut kd);
                let nd = dropped.len();
                matmul(mat_mut(out, t, g), true, mat(&a, t, nd), mat(&kd, nd, g), 1);
            }
        });
        bufs.give(table);
        out
    }

    /// `(d embeddings (V·E), d[kernel; bias] ((E+1)·G))` from `dx = d xproj` (scratch goes
    /// back to `bufs`).
    pub(crate) fn project_bwd<T: Real>(
        &self,
        bufs: Buffers<'_>,
        emb: &[T],
        kb: &[T],
        dx: &[T],
        g: usize,
    ) -> (Vec<T>, Vec<T>) {
        let e = kb.len() / g - 1;
        let vocab = emb.len() / e.max(1);
        let s = T::from_f64(self.scale);
        let k = &kb[..e * g];
        let emb = self.used_rows(emb, e);
        let v = self.used.len();
        let dtable = scatter_rows(dx, &self.local, v, g);
        let (mut dkb, demb) = project_bwd(&emb, kb, &dtable, v, (e, g), true);
        let mut demb = demb.unwrap_or_default();
        for x in dkb[..e * g].iter_mut().chain(demb.iter_mut()) {
            *x = s * *x;
        }
        if !self.drops_nothing() {
            self.subtract_corrections(&emb, k, dx, (&mut dkb[..e * g], &mut demb));
        }
        // Back to the whole vocabulary: unused rows get no gradient.
        let mut full = zeros(vocab * e);
        for (&id, row) in self.used.iter().zip(demb.chunks(e.max(1))) {
            full[id as usize * e..(id as usize + 1) * e].copy_from_slice(row);
        }
        bufs.give(dtable);
        (full, dkb)
    }

    /// Subtracts the dropped features' shares from `dK` (`E·G`) and from the used rows'
    /// embedding gradient `demb` (`|used|·E`), given the used embedding rows `emb`, the kernel
    /// `k` and `dx = d xproj`.
    fn subtract_corrections<T: Real>(
        &self,
        emb: &[T],
        k: &[T],
        dx: &[T],
        (dk_all, demb): (&mut [T], &mut [T]),
    ) {
        let t = self.t;
        let e = self.features;
        let g = k.len() / e.max(1);
        let v = self.used.len();
        let s = T::from_f64(self.scale);
        // Per chunk of batch rows: its part of `dK` and each row's `(T,|D_b|)` embedding
        // correction, both already multiplied by `−s`.
        let rows = rows_per_chunk(self.b);
        let chunk_len = (rows * t * g).max(1);
        let mut parts: Vec<(Vec<T>, Vec<Vec<T>>)> = dx
            .chunks(chunk_len)
            .map(|_| (vec![T::ZERO; e * g], Vec::new()))
            .collect();
        let chunks: Vec<_> = dx
            .chunks(chunk_len)
            .zip(parts.iter_mut())
            .enumerate()
            .map(|(c, (dx, part))| (c * rows, dx, part))
            .collect();
        run_chunks(chunks, |(first, dx, (dk, dembs))| {
            let (mut a, mut kd, mut tmp) = (Vec::new(), Vec::new(), Vec::new());
            for (r, dx) in dx.chunks((t * g).max(1)).enumerate() {
                let row = first + r;
                let dropped = &self.dropped[row];
                let nd = dropped.len();
                let mut da = vec![T::ZERO; t * nd];
                if nd > 0 {
                    let ids = &self.local[row * t..(row + 1) * t];
                    gather_dropped(emb, e, ids, dropped, &mut a);
                    // dK[D_b] −= s·A_bᵀ·dX_b
                    tmp.clear();
                    tmp.resize(nd * g, T::ZERO);
                    let a_t = Mat {
                        data: &a,
                        rows: nd,
                        cols: t,
                        rs: 1,
                        cs: nd,
                    };
                    matmul(mat_mut(&mut tmp, nd, g), false, a_t, mat(dx, t, g), 1);
                    for (i, &j) in dropped.iter().enumerate() {
                        for (d, &x) in dk[j * g..(j + 1) * g].iter_mut().zip(&tmp[i * g..]) {
                            *d -= s * x;
                        }
                    }
                    // dA_b = −s·dX_b·K[D_b]ᵀ
                    neg_scaled_rows(k, g, dropped, s, &mut kd);
                    let kd_t = Mat {
                        data: &kd,
                        rows: g,
                        cols: nd,
                        rs: 1,
                        cs: g,
                    };
                    matmul(mat_mut(&mut da, t, nd), false, mat(dx, t, g), kd_t, 1);
                }
                dembs.push(da);
            }
        });
        let mut das: Vec<Vec<T>> = Vec::with_capacity(self.b);
        for (dk, dembs) in parts {
            for (d, x) in dk_all.iter_mut().zip(dk) {
                *d += x;
            }
            das.extend(dembs);
        }
        // The embedding corrections, each thread adding those of its own id range, rows in order.
        let ranges = split_vocab(demb, &self.local, v, e);
        run_chunks(ranges, |(lo, hi, part)| {
            for (row, da) in das.iter().enumerate() {
                let dropped = &self.dropped[row];
                let ids = &self.local[row * t..(row + 1) * t];
                for (&id, da) in ids.iter().zip(da.chunks(dropped.len().max(1))) {
                    let id = id as usize;
                    if (lo..hi).contains(&id) {
                        let drow = &mut part[(id - lo) * e..(id - lo + 1) * e];
                        for (&j, &x) in dropped.iter().zip(da) {
                            drow[j] += x;
                        }
                    }
                }
            }
        });
    }

    /// The embedding rows of the ids the batch uses, `(|used|, E)` row-major.
    fn used_rows<T: Real>(&self, emb: &[T], e: usize) -> Vec<T> {
        let mut rows = Vec::with_capacity(self.used.len() * e);
        for &id in &self.used {
            rows.extend_from_slice(&emb[id as usize * e..(id as usize + 1) * e]);
        }
        rows
    }
}

/// `kd = −s·k[dropped]` `(|dropped|, g)`: the kernel rows of the dropped features, negated and
/// scaled.
fn neg_scaled_rows<T: Real>(k: &[T], g: usize, dropped: &[usize], s: T, kd: &mut Vec<T>) {
    kd.clear();
    for &j in dropped {
        kd.extend(k[j * g..(j + 1) * g].iter().map(|&x| T::ZERO - s * x));
    }
}

/// `a = embeddings[ids][:, dropped]` `(T, |dropped|)`, row-major.
fn gather_dropped<T: Real>(emb: &[T], e: usize, ids: &[u32], dropped: &[usize], a: &mut Vec<T>) {
    a.clear();
    for &id in ids {
        let row = &emb[id as usize * e..(id as usize + 1) * e];
        a.extend(dropped.iter().map(|&j| row[j]));
    }
}

/// The projection as a graph op on `embeddings (V,E)` and `[kernel; bias] (E+1,G)`.
pub(crate) struct DropoutProjectionOp {
    fold: DropoutFold,
    pool: Option<Pool>,
}

impl DropoutProjectionOp {
    /// The op for `fold`, its buffers from `pool` when there is one.
    pub(crate) fn new(fold: DropoutFold, pool: Option<&Pool>) -> Self {
        Self {
            fold,
            pool: pool.cloned(),
        }
    }

    fn bufs(&self) -> Buffers<'_> {
        self.pool.as_ref().map(Pool::buffers).unwrap_or_default()
    }

    /// Runs the op on `embeddings (V,E)` and `kb = [kernel; bias] (E+1,G)`: `(B,T,G)`.
    pub(crate) fn apply(self, embeddings: &Tensor, kb: &Tensor) -> Result<Tensor> {
        let (e, kb) = (embeddings.contiguous()?, kb.contiguous()?);
        if e.track_op() || kb.track_op() {
            e.apply_op2(&kb, self)
        } else {
            e.apply_op2_no_bwd(&kb, &self)
        }
    }

    fn fwd<T: Real>(&self, emb: &[T], kb: &[T], g: usize) -> (CpuStorage, Shape) {
        let out = self.fold.project(self.bufs(), emb, kb, g);
        (
            T::to_cpu_storage_owned(out),
            Shape::from((self.fold.b, self.fold.t, g)),
        )
    }
}

impl CustomOp2 for DropoutProjectionOp {
    fn name(&self) -> &'static str {
        "textrnn-dropout-projection"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = l2.dims()[1];
        match s1 {
            CpuStorage::F32(_) => Ok(self.fwd::<f32>(cpu_slice(s1, l1)?, cpu_slice(s2, l2)?, g)),
            CpuStorage::F64(_) => Ok(self.fwd::<f64>(cpu_slice(s1, l1)?, cpu_slice(s2, l2)?, g)),
            _ => candle_core::bail!("dropout projection: only f32 and f64 are supported"),
        }
    }

    fn bwd(
        &self,
        emb: &Tensor,
        kb: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = kb.dim(1)?;
        let dev = emb.device();
        macro_rules! grads {
            ($t:ty) => {{
                let (demb, dkb) = with_slice::<$t, _>(emb, |ev| {
                    with_slice::<$t, _>(kb, |kv| {
                        with_slice::<$t, _>(grad, |dx| {
                            self.fold.project_bwd::<$t>(self.bufs(), ev, kv, dx, g)
                        })
                    })
                })???;
                (
                    Tensor::from_vec(demb, emb.dims(), dev)?,
                    Tensor::from_vec(dkb, kb.dims(), dev)?,
                )
            }};
        }
        let (demb, dkb) = match emb.dtype() {
            candle_core::DType::F32 => grads!(f32),
            candle_core::DType::F64 => grads!(f64),
            dt => candle_core::bail!("dropout projection: unsupported dtype {dt:?}"),
        };
        Ok((Some(demb), Some(dkb)))
    }
}

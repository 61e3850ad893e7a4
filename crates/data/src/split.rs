//! Seeded shuffles and train/validation/test splits.
//!
//! All randomness comes from `ChaCha8Rng::seed_from_u64(seed)`, so a seed gives the same split on
//! every machine for the same input order.
//!
//! - [`shuffle`]: a permutation of the dataset.
//! - [`split_fraction`]: random split; the second part gets `round(n * frac)` documents
//!   (IMDB: `split_fraction(&train, 0.15, seed)` gives 85 % / 15 %). Both parts are in shuffled order.
//! - [`validation_split_last`]: Keras `validation_split`: the LAST `n - floor(n * (1 - frac))`
//!   documents, no shuffle (`split_at = floor(n * (1 - frac))`, as `keras.utils.split_dataset`/`fit` do).
//! - [`stratified_split`]: per class `c` with `n_c` documents, part `i` gets `floor(n_c * f_i)` plus
//!   one of the leftover documents in order of largest remainder (ties: earlier part), so class
//!   proportions are kept to within one document per class; each part is then shuffled.
//!
//! ```
//! use textrnn_data::{split_fraction, stratified_split, validation_split_last, Dataset};
//! let ds = Dataset::new(
//!     (0..10).map(|i| i.to_string()).collect(),
//!     vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
//!     vec!["neg".into(), "pos".into()],
//! )
//! .unwrap();
//! let (train, val) = split_fraction(&ds, 0.2, 42).unwrap();
//! assert_eq!((train.len(), val.len()), (8, 2));
//! let (train, val) = validation_split_last(&ds, 0.2).unwrap();
//! assert_eq!(val.texts, vec!["8", "9"]);
//! let parts = stratified_split(&ds, &[0.8, 0.2], 7).unwrap();
//! assert_eq!(parts[1].class_counts(), vec![1, 1]);
//! # let _ = train;
//! ```

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// Default validation fraction for IMDB (85 % train / 15 % validation).
pub const IMDB_VALIDATION_FRACTION: f64 = 0.15;

/// Default tweets fractions (80 % train / 10 % validation / 10 % test), for [`stratified_split`].
pub const TWEETS_FRACTIONS: [f64; 3] = [0.8, 0.1, 0.1];

fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    idx
}

fn check_fraction(frac: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&frac) || frac.is_nan() {
        return Err(Error::Split(format!("fraction {frac} is not in [0, 1]")));
    }
    Ok(())
}

/// A seeded random permutation of `ds`.
pub fn shuffle(ds: &Dataset, seed: u64) -> Dataset {
    ds.subset(&permutation(ds.len(), seed))
}

/// Random split: returns `(first, second)` where `second` has `round(len * frac)` documents.
pub fn split_fraction(ds: &Dataset, frac: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    check_fraction(frac)?;
    let n = ds.len();
    let n_second = ((n as f64) * frac).round() as usize;
    let perm = permutation(n, seed);
    let (a, b) = perm.split_at(n - n_second.min(n));
    Ok((ds.subset(a), ds.subset(b)))
}

/// Keras `validation_split`: `(ds[..split_at], ds[split_at..])` with
/// `split_at = floor(len * (1 - frac))`; no shuffling.
pub fn validation_split_last(ds: &Dataset, frac: f64) -> Result<(Dataset, Dataset)> {
    check_fraction(frac)?;
    let n = ds.len();
    let split_at = ((n as f64) * (1.0 - frac)).floor() as usize;
    let split_at = split_at.min(n);
    let first: Vec<usize> = (0..split_at).collect();
    let second: Vec<usize> = (split_at..n).collect();
    Ok((ds.subset(&first), ds.subset(&second)))
}

/// Largest-remainder allocation of `n` items over `fractions` (which sum to 1).
fn allocate(n: usize, fractions: &[f64]) -> Vec<usize> {
    let exact: Vec<f64> = fractions.iter().map(|f| f * n as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let assigned: usize = counts.iter().sum();
    let mut order: Vec<usize> = (0..fractions.len()).collect();
    // Largest remainder first; stable sort keeps earlier parts first on ties.
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.total_cmp(&ra)
    });
    for &i in order.iter().take(n.saturating_sub(assigned)) {
        counts[i] += 1;
    }
    counts
}

/// Stratified split into `fractions.len()` parts (fractions in `[0, 1]`, summing to 1 within 1e-6).
///
/// Class proportions are preserved per part to within one document per class; each part is in
/// shuffled order.
pub fn stratified_split(ds: &Dataset, fractions: &[f64], seed: u64) -> Result<Vec<Dataset>> {
    if fractions.is_empty() {
        return Err(Error::Split("no fractions given".into()));
    }
    for &f in fractions {
        check_fraction(f)?;
    }
    let sum: f64 = fractions.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(Error::Split(format!(
            "fractions {fractions:?} sum to {sum}, not 1"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); fractions.len()];
    let n_classes = ds
        .class_names
        .len()
        .max(ds.labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0));
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &l) in ds.labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    for mut members in by_class {
        members.shuffle(&mut rng);
        let counts = allocate(members.len(), fractions);
        let mut start = 0;
        for (part, count) in parts.iter_mut().zip(counts) {
            part.extend_from_slice(&members[start..start + count]);
            start += count;
        }
    }
    Ok(parts
        .into_iter()
        .map(|mut idx| {
            idx.shuffle(&mut rng);
            ds.subset(&idx)
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// 100 docs: 60 of class 0, 30 of class 1, 10 of class 2, text = index.
    fn ds() -> Dataset {
        let labels: Vec<u32> = (0..100)
            .map(|i| match i {
                0..60 => 0,
                60..90 => 1,
                _ => 2,
            })
            .collect();
        Dataset::new(
            (0..100).map(|i| i.to_string()).collect(),
            labels,
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap()
    }

    fn sorted(d: &Dataset) -> Vec<usize> {
        let mut v: Vec<usize> = d.texts.iter().map(|t| t.parse().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let d = ds();
        let a = shuffle(&d, 1);
        assert_eq!(a, shuffle(&d, 1));
        assert_ne!(a.texts, shuffle(&d, 2).texts);
        assert_ne!(a.texts, d.texts);
        assert_eq!(sorted(&a), (0..100).collect::<Vec<_>>());
        // labels travel with their texts
        for (t, l) in a.texts.iter().zip(&a.labels) {
            assert_eq!(d.labels[t.parse::<usize>().unwrap()], *l);
        }
    }

    #[test]
    fn split_fraction_sizes_and_determinism() {
        let d = ds();
        let (a, b) = split_fraction(&d, 0.15, 42).unwrap();
        assert_eq!((a.len(), b.len()), (85, 15));
        let mut all = sorted(&a);
        all.extend(sorted(&b));
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(
            split_fraction(&d, 0.15, 42).unwrap(),
            (a.clone(), b.clone())
        );
        assert_ne!(split_fraction(&d, 0.15, 43).unwrap().1.texts, b.texts);
        // 0.333 * 100 = 33.3 -> 33; edges
        assert_eq!(split_fraction(&d, 0.333, 0).unwrap().1.len(), 33);
        assert_eq!(split_fraction(&d, 0.0, 0).unwrap().1.len(), 0);
        assert_eq!(split_fraction(&d, 1.0, 0).unwrap().0.len(), 0);
        assert!(split_fraction(&d, 1.5, 0).is_err());
        assert!(split_fraction(&d, f64::NAN, 0).is_err());
    }

    #[test]
    fn validation_split_last_matches_keras() {
        let d = ds();
        let (a, b) = validation_split_last(&d, 0.2).unwrap();
        // Keras: split_at = int(100 * (1 - 0.2)) = 80
        assert_eq!(a.texts, d.texts[..80].to_vec());
        assert_eq!(b.texts, d.texts[80..].to_vec());
        // 7 docs, 0.3 -> int(7 * 0.7) = int(4.8999...) = 4 -> 3 validation docs
        let (a, b) = validation_split_last(&d.take(7), 0.3).unwrap();
        assert_eq!((a.len(), b.len()), (4, 3));
        assert!(validation_split_last(&d, -0.1).is_err());
    }

    #[test]
    fn stratified_split_keeps_proportions() {
        let d = ds();
        let parts = stratified_split(&d, &[0.8, 0.1, 0.1], 3).unwrap();
        // class 0: 60 -> 48/6/6, class 1: 30 -> 24/3/3, class 2: 10 -> 8/1/1
        assert_eq!(parts[0].class_counts(), vec![48, 24, 8]);
        assert_eq!(parts[1].class_counts(), vec![6, 3, 1]);
        assert_eq!(parts[2].class_counts(), vec![6, 3, 1]);
        let mut all: Vec<usize> = parts.iter().flat_map(sorted).collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(parts, stratified_split(&d, &[0.8, 0.1, 0.1], 3).unwrap());
        let other = stratified_split(&d, &[0.8, 0.1, 0.1], 4).unwrap();
        assert_ne!(parts[1].texts, other[1].texts);
        assert_eq!(other[1].class_counts(), vec![6, 3, 1]);
    }

    #[test]
    fn stratified_split_remainders() {
        // Tweets class sizes: 9178 * (0.8, 0.1, 0.1) = 7342.4, 917.8, 917.8 -> 7342, 918, 918
        assert_eq!(allocate(9178, &TWEETS_FRACTIONS), vec![7342, 918, 918]);
        // 3099 -> 2479.2, 309.9, 309.9 -> 2479, 310, 310
        assert_eq!(allocate(3099, &TWEETS_FRACTIONS), vec![2479, 310, 310]);
        // 2363 -> 1890.4, 236.3, 236.3 -> 1891, 236, 236 (one left: largest remainder .4)
        assert_eq!(allocate(2363, &TWEETS_FRACTIONS), vec![1891, 236, 236]);
        // ties go to the earlier part: 5 * (0.5, 0.5) = 2.5, 2.5 -> 3, 2
        assert_eq!(allocate(5, &[0.5, 0.5]), vec![3, 2]);
    }

    #[test]
    fn stratified_split_rejects_bad_fractions() {
        let d = ds();
        let e = stratified_split(&d, &[0.8, 0.1], 0).unwrap_err();
        assert!(e.to_string().contains("sum to"), "{e}");
        assert!(stratified_split(&d, &[], 0).is_err());
        assert!(stratified_split(&d, &[1.2, -0.2], 0).is_err());
    }
}

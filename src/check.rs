//! `textrnn check`: what is wrong with a data set, found before training on it.
//!
//! [`check`] reads a recipe's data exactly as training splits it (the corpus, or the user's own
//! files with the held-out splits) and reports, per split: rows, classes and their balance,
//! empty texts, duplicate texts and duplicates with conflicting labels; then train/validation
//! and train/test overlap (leakage), token lengths against `maxlen`, the OOV rate under
//! `num_words`, labels that differ only by case or surrounding whitespace, and rows of user
//! files that were not valid UTF-8. [`quick_warnings`] is the cheap subset that training runs
//! first and logs.
//!
//! Two texts are the same when their words after the recipe's normalisation are: the cleaning
//! pipeline (`text.normalize`), then the tokenizer's lower-casing, filters and split (what the
//! model sees, before the vocabulary cut). So `"Great film!"` and `"great  film"` are duplicates.
//! Texts with no word left are counted apart (empty, or `no_words`) and never as duplicates.
//!
//! Everything is hashing (one map per split), so AG News' 120,000 rows take a moment, not hours.
//! Percentiles are nearest-rank: the p-th of n sorted lengths is the `ceil(p * n / 100)`-th.
//!
//! ```no_run
//! use textrnn::{check, CheckOptions, Recipe};
//! let report = check(&Recipe::builtin("agnews-lstm-25")?, &CheckOptions::default())?;
//! for w in &report.warnings {
//!     println!("{}", w.message);
//! }
//! assert!(report.strict_failures().is_empty(), "leakage or conflicting labels");
//! # Ok::<(), textrnn::Error>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use textrnn_data::labels::{class_names_for, to_dataset, RawRecord, RawSplit};
use textrnn_data::table::{FileFormat, TableReader, TableSpec, Utf8Policy};
use textrnn_data::user_files;
use textrnn_data::{Corpus, DataConfig, Dataset, UserFiles};
use textrnn_text::{text_to_word_sequence, KerasTokenizer, TokenizerConfig};

use crate::corpus::{self, DataOptions, Limits};
use crate::recipe::{FitOn, Recipe, TextRecipe};
use crate::Result;

/// A training class with a smaller share than this is reported.
pub const RARE_CLASS_SHARE: f64 = 0.01;

/// A split with a larger share of texts cut at `maxlen` than this is reported.
pub const TRUNCATED_SHARE: f64 = 0.1;

/// Characters of a text shown in an example.
const SNIPPET_CHARS: usize = 100;

/// Rows listed in one example (a duplicate group, the train rows of an overlap).
const ROWS_PER_EXAMPLE: usize = 5;

/// Options of [`check`].
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Where the corpus is, and whether to show progress.
    pub data: DataOptions,
    /// How many examples (ids, duplicate groups, overlapping texts) each finding lists.
    pub examples: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            data: DataOptions::default(),
            examples: 3,
        }
    }
}

/// Everything [`check`] found (printed as tables by `textrnn check`, or as JSON).
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The recipe whose data was checked.
    pub recipe: String,
    /// Where the data was read from.
    pub source: String,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// The user's files as read (empty for the built-in corpora).
    pub files: Vec<FileCheck>,
    /// One entry per split: train, then validation and test when there are.
    pub splits: Vec<SplitCheck>,
    /// Texts of the validation and test splits that are also in train.
    pub overlaps: Vec<Overlap>,
    /// Groups of labels that differ only by case or surrounding whitespace.
    pub label_variants: Vec<LabelVariant>,
    /// The tokenizer the lengths and OOV rates are measured with.
    pub tokenizer: TokenizerCheck,
    /// What looks wrong, one line each.
    pub warnings: Vec<Warning>,
}

impl CheckReport {
    /// The warnings that `textrnn check --strict` fails on: leakage (overlap between train and
    /// validation or test) and duplicates with conflicting labels.
    pub fn strict_failures(&self) -> Vec<&Warning> {
        self.warnings
            .iter()
            .filter(|w| {
                matches!(
                    w.kind,
                    WarningKind::Leakage | WarningKind::ConflictingDuplicates
                )
            })
            .collect()
    }
}

/// One user file.
#[derive(Debug, Clone, Serialize)]
pub struct FileCheck {
    /// Which split the file was given for (`train`, `validation`, `test`).
    pub split: String,
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: FileFormat,
    /// Data rows read.
    pub rows: usize,
    /// Rows that were not valid UTF-8 (the bad bytes were replaced to read them).
    pub non_utf8: FileRows,
}

/// Rows of a file, counted, with the first few.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileRows {
    /// How many.
    pub count: usize,
    /// The first few.
    pub examples: Vec<FileRow>,
}

/// Where a row is in its file.
#[derive(Debug, Clone, Serialize)]
pub struct FileRow {
    /// Its id (the id column, else the 1-based data row).
    pub id: String,
    /// 1-based line where the record starts.
    pub line: u64,
}

/// What was found in one split.
#[derive(Debug, Clone, Serialize)]
pub struct SplitCheck {
    /// `train`, `validation` or `test`.
    pub split: String,
    /// Number of rows.
    pub rows: usize,
    /// Rows per class, in label order.
    pub classes: Vec<ClassCount>,
    /// Texts that are empty or whitespace only.
    pub empty_texts: Rows,
    /// Non-empty texts with no word left after normalisation (punctuation only, ...).
    pub no_words: Rows,
    /// Texts that occur more than once.
    pub duplicates: Duplicates,
    /// Texts that occur more than once with different labels.
    pub conflicting_duplicates: Duplicates,
    /// Token lengths against `maxlen` ([`check`] only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lengths: Option<TokenLengths>,
    /// Words outside the vocabulary ([`check`] only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oov: Option<Oov>,
}

/// A class's rows in a split.
#[derive(Debug, Clone, Serialize)]
pub struct ClassCount {
    /// The class name.
    pub class: String,
    /// Its rows.
    pub count: usize,
    /// `count / rows` of the split (0 for an empty split).
    pub share: f64,
}

/// Rows of a split, counted, with the ids of the first few.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rows {
    /// How many.
    pub count: usize,
    /// Ids of the first few.
    pub ids: Vec<String>,
}

/// Repeated texts of a split.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Duplicates {
    /// Distinct texts that occur more than once.
    pub texts: usize,
    /// Rows that repeat a text seen earlier in the split (`rows - distinct texts` over them).
    pub extra_rows: usize,
    /// Every row in those groups.
    pub rows: usize,
    /// The first few groups, in order of first occurrence.
    pub examples: Vec<DuplicateGroup>,
}

/// One repeated text.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateGroup {
    /// The text of its first row (shortened).
    pub text: String,
    /// How many rows have it.
    pub count: usize,
    /// The first few of them.
    pub rows: Vec<RowRef>,
}

/// A row by id, with its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRef {
    /// Its id.
    pub id: String,
    /// Its class name.
    pub label: String,
}

/// Token lengths of a split (ids per text after the vocabulary cut, as the model reads them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenLengths {
    /// Median (nearest-rank).
    pub p50: usize,
    /// 90th percentile.
    pub p90: usize,
    /// 95th percentile.
    pub p95: usize,
    /// 99th percentile.
    pub p99: usize,
    /// Longest.
    pub max: usize,
    /// Mean.
    pub mean: f64,
    /// Texts longer than `maxlen` (cut when padded).
    pub truncated: usize,
    /// `truncated / rows`.
    pub truncated_share: f64,
}

/// Word tokens of a split outside the vocabulary (unknown, or beyond `num_words`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Oov {
    /// Word tokens in the split.
    pub tokens: u64,
    /// Of which out of vocabulary.
    pub oov_tokens: u64,
    /// `oov_tokens / tokens` (0 without tokens).
    pub rate: f64,
}

/// Texts of a split that are also in train.
#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    /// `validation` or `test`.
    pub split: String,
    /// Its rows whose text is in train.
    pub rows: usize,
    /// `rows` over the split's rows.
    pub share: f64,
    /// Distinct such texts.
    pub texts: usize,
    /// Of `rows`, those whose label no train row with the same text has.
    pub conflicting: usize,
    /// The first few, in the split's order.
    pub examples: Vec<OverlapExample>,
}

/// A row of validation or test whose text is in train.
#[derive(Debug, Clone, Serialize)]
pub struct OverlapExample {
    /// Its text (shortened).
    pub text: String,
    /// The row.
    pub row: RowRef,
    /// The train rows with the same text (the first few).
    pub train: Vec<RowRef>,
}

/// Labels that differ only by case or surrounding whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelVariant {
    /// The labels, in label order.
    pub labels: Vec<String>,
    /// Rows of each over all splits.
    pub counts: Vec<usize>,
}

/// The tokenizer of the recipe, fitted as training fits it.
#[derive(Debug, Clone, Serialize)]
pub struct TokenizerCheck {
    /// Which texts it was fitted on.
    pub fit_on: FitOn,
    /// Distinct words seen when fitting.
    pub words: usize,
    /// The recipe's `num_words` (ids `< num_words` are kept).
    pub num_words: Option<usize>,
    /// The sequence length: the recipe's `maxlen`, else the longest train text + 1.
    pub maxlen: usize,
    /// Whether `maxlen` was derived from the data.
    pub maxlen_from_data: bool,
}

/// What kind of problem a [`Warning`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// Texts of validation or test are also in train.
    Leakage,
    /// The same text with different labels in one split.
    ConflictingDuplicates,
    /// A class under [`RARE_CLASS_SHARE`] of train.
    RareClass,
    /// Labels that differ only by case or whitespace.
    LabelVariants,
    /// Empty texts.
    EmptyTexts,
    /// Rows that were not valid UTF-8.
    NotUtf8,
    /// Many texts longer than `maxlen`.
    Truncation,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// What kind.
    pub kind: WarningKind,
    /// One line saying it, with counts and example ids.
    pub message: String,
}

/// Checks the recipe's data as training would split it (see the module docs).
pub fn check(recipe: &Recipe, opts: &CheckOptions) -> Result<CheckReport> {
    recipe.validate()?;
    // The embedding's vectors file, as training checks it (header, size).
    crate::pretrained::check(&recipe.model)?;
    let loaded = load(recipe, &opts.data)?;
    let recipe = &loaded.recipe;
    let (train, validation, test) = &loaded.splits;
    let named = named_splits(train, validation.as_ref(), test.as_ref());

    let clean = recipe.text.pipeline()?;
    let cleaned: Vec<Vec<String>> = named
        .iter()
        .map(|(_, d)| clean.apply_all(&d.texts))
        .collect();
    let config = recipe.text.tokenizer_config();
    let mut fit_texts: Vec<&str> = cleaned[0].iter().map(String::as_str).collect();
    if recipe.text.fit_on == FitOn::TrainAndTest {
        if let Some(i) = named.iter().position(|(n, _)| *n == "test") {
            fit_texts.extend(cleaned[i].iter().map(String::as_str));
        }
    }
    let tokenizer = KerasTokenizer::fit(&config, fit_texts)?;
    let measured: Vec<Measured> = cleaned
        .iter()
        .map(|texts| measure(texts, &tokenizer))
        .collect();
    drop(cleaned);
    let maxlen_from_data = recipe.text.maxlen.is_none();
    let maxlen = recipe
        .text
        .maxlen
        .unwrap_or_else(|| measured[0].lengths.iter().copied().max().unwrap_or(0) + 1);

    let keys: Vec<&[String]> = measured.iter().map(|m| m.keys.as_slice()).collect();
    let mut basics = Basics::new(&named, &keys, opts.examples);
    for (split, m) in basics.splits.iter_mut().zip(&measured) {
        split.lengths = Some(token_lengths(&m.lengths, maxlen));
        split.oov = Some(Oov {
            tokens: m.tokens,
            oov_tokens: m.oov_tokens,
            rate: share(m.oov_tokens as usize, m.tokens as usize),
        });
    }
    let mut warnings = basics.warnings();
    for f in &loaded.files {
        if let Some(first) = f.non_utf8.examples.first() {
            warnings.push(Warning {
                kind: WarningKind::NotUtf8,
                message: format!(
                    "{}: {} rows were not valid UTF-8 (bad bytes replaced), first at line {} (id {})",
                    f.path.display(),
                    f.non_utf8.count,
                    first.line,
                    first.id
                ),
            });
        }
    }
    for s in &basics.splits {
        if let Some(l) = s
            .lengths
            .as_ref()
            .filter(|l| l.truncated_share > TRUNCATED_SHARE)
        {
            warnings.push(Warning {
                kind: WarningKind::Truncation,
                message: format!(
                    "{}: {} of {} texts ({}) are longer than maxlen {maxlen} tokens and get cut",
                    s.split,
                    l.truncated,
                    s.rows,
                    percent(l.truncated_share)
                ),
            });
        }
    }
    Ok(CheckReport {
        recipe: recipe.name.clone(),
        source: loaded.source,
        classes: train.class_names.clone(),
        files: loaded.files,
        splits: basics.splits,
        overlaps: basics.overlaps,
        label_variants: basics.label_variants,
        tokenizer: TokenizerCheck {
            fit_on: recipe.text.fit_on,
            words: tokenizer.words().len(),
            num_words: recipe.text.num_words,
            maxlen,
            maxlen_from_data,
        },
        warnings,
    })
}

/// The cheap part of [`check`], for training to log before it starts: duplicates with
/// conflicting labels, train/validation and train/test overlap, classes under 1% of train,
/// labels that differ only by case or whitespace, and empty texts. One line each.
///
/// The splits are those training uses, already cleaned by the recipe's pipeline (`text`
/// supplies the tokenizer's lower-casing, filters and split for comparing texts).
pub fn quick_warnings(
    train: &Dataset,
    validation: Option<&Dataset>,
    test: Option<&Dataset>,
    text: &TextRecipe,
) -> Vec<String> {
    let named = named_splits(train, validation, test);
    let config = text.tokenizer_config();
    let keys: Vec<Vec<String>> = named
        .iter()
        .map(|(_, d)| d.texts.iter().map(|t| text_key(t, &config)).collect())
        .collect();
    let keys: Vec<&[String]> = keys.iter().map(Vec::as_slice).collect();
    Basics::new(&named, &keys, 2)
        .warnings()
        .into_iter()
        .map(|w| w.message)
        .collect()
}

/// The splits with their names, train first.
fn named_splits<'a>(
    train: &'a Dataset,
    validation: Option<&'a Dataset>,
    test: Option<&'a Dataset>,
) -> Vec<(&'static str, &'a Dataset)> {
    std::iter::once(("train", train))
        .chain(validation.map(|v| ("validation", v)))
        .chain(test.map(|t| ("test", t)))
        .collect()
}

/// The comparison key of a cleaned text: its words, space-separated ("" when none).
fn text_key(cleaned: &str, config: &TokenizerConfig) -> String {
    text_to_word_sequence(cleaned, config).join(" ")
}

/// Per-text measures of one split.
struct Measured {
    keys: Vec<String>,
    lengths: Vec<usize>,
    tokens: u64,
    oov_tokens: u64,
}

/// Keys, encoded lengths and OOV counts of cleaned texts, one pass over the words of each.
fn measure(cleaned: &[String], tokenizer: &KerasTokenizer) -> Measured {
    let config = tokenizer.config();
    let keep = |id: u32| config.num_words.is_none_or(|n| (id as usize) < n);
    let has_oov_token = config.oov_token.is_some();
    let mut m = Measured {
        keys: Vec::with_capacity(cleaned.len()),
        lengths: Vec::with_capacity(cleaned.len()),
        tokens: 0,
        oov_tokens: 0,
    };
    for text in cleaned {
        let words = text_to_word_sequence(text, config);
        // As `KerasTokenizer::texts_to_sequences`: a word is kept when its index is under
        // `num_words`; otherwise it becomes the OOV id, or is dropped without an `oov_token`.
        let oov = words
            .iter()
            .filter(|w| !tokenizer.id(w).is_some_and(keep))
            .count();
        m.tokens += words.len() as u64;
        m.oov_tokens += oov as u64;
        m.lengths.push(if has_oov_token {
            words.len()
        } else {
            words.len() - oov
        });
        m.keys.push(words.join(" "));
    }
    m
}

/// Nearest-rank percentiles, the maximum and the truncated share of token lengths.
fn token_lengths(lengths: &[usize], maxlen: usize) -> TokenLengths {
    let mut sorted = lengths.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let pct = |p: usize| {
        let rank = (p * n).div_ceil(100);
        sorted.get(rank.saturating_sub(1)).copied().unwrap_or(0)
    };
    let truncated = lengths.iter().filter(|&&l| l > maxlen).count();
    TokenLengths {
        p50: pct(50),
        p90: pct(90),
        p95: pct(95),
        p99: pct(99),
        max: sorted.last().copied().unwrap_or(0),
        mean: if n == 0 {
            0.0
        } else {
            sorted.iter().sum::<usize>() as f64 / n as f64
        },
        truncated,
        truncated_share: share(truncated, n),
    }
}

/// A share as a percentage: one decimal from 1% up, two below, and a share that is not zero
/// never shows as `0.00%`.
pub fn percent(share: f64) -> String {
    let p = 100.0 * share;
    if p >= 1.0 || p == 0.0 {
        format!("{p:.1}%")
    } else if p >= 0.005 {
        format!("{p:.2}%")
    } else {
        "<0.01%".to_string()
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The first `SNIPPET_CHARS` characters of a text, `...` marking a cut.
fn snippet(text: &str) -> String {
    if text.chars().count() > SNIPPET_CHARS {
        text.chars()
            .take(SNIPPET_CHARS - 3)
            .chain("...".chars())
            .collect()
    } else {
        text.to_string()
    }
}

fn row_ref(d: &Dataset, i: usize) -> RowRef {
    RowRef {
        id: d.ids.get(i).cloned().unwrap_or_else(|| (i + 1).to_string()),
        label: d
            .class_names
            .get(d.labels[i] as usize)
            .cloned()
            .unwrap_or_else(|| d.labels[i].to_string()),
    }
}

/// Row indices by key, in order, without the rows that have no words.
fn groups(keys: &[String]) -> HashMap<&str, Vec<usize>> {
    let mut map: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        if !k.is_empty() {
            map.entry(k.as_str()).or_default().push(i);
        }
    }
    map
}

/// The findings both [`check`] and [`quick_warnings`] make.
struct Basics {
    splits: Vec<SplitCheck>,
    overlaps: Vec<Overlap>,
    label_variants: Vec<LabelVariant>,
}

impl Basics {
    /// `keys[i]` are the comparison keys of `named[i]`; `named[0]` is train.
    fn new(named: &[(&str, &Dataset)], keys: &[&[String]], examples: usize) -> Self {
        let train_groups = groups(keys[0]);
        let mut splits = Vec::with_capacity(named.len());
        let mut overlaps = Vec::new();
        for (i, ((name, d), keys)) in named.iter().zip(keys).enumerate() {
            let own = if i == 0 { None } else { Some(groups(keys)) };
            let (duplicates, conflicting) =
                duplicates(d, own.as_ref().unwrap_or(&train_groups), examples);
            splits.push(SplitCheck {
                split: name.to_string(),
                rows: d.len(),
                classes: class_counts(d),
                empty_texts: rows_where(d, examples, |i| d.texts[i].trim().is_empty()),
                no_words: rows_where(d, examples, |i| {
                    keys[i].is_empty() && !d.texts[i].trim().is_empty()
                }),
                duplicates,
                conflicting_duplicates: conflicting,
                lengths: None,
                oov: None,
            });
            if i > 0 {
                overlaps.push(overlap(name, named[0].1, &train_groups, d, keys, examples));
            }
        }
        let label_variants = label_variants(named);
        Self {
            splits,
            overlaps,
            label_variants,
        }
    }

    fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        let mut warn = |kind, message| out.push(Warning { kind, message });
        for s in &self.splits {
            let c = &s.conflicting_duplicates;
            if let Some(g) = c.examples.first() {
                warn(
                    WarningKind::ConflictingDuplicates,
                    format!(
                        "{}: {} texts occur with different labels ({} rows), e.g. {}",
                        s.split,
                        c.texts,
                        c.rows,
                        describe_rows(&g.rows)
                    ),
                );
            }
        }
        for o in &self.overlaps {
            if let Some(e) = o.examples.first() {
                warn(
                    WarningKind::Leakage,
                    format!(
                        "train/{} overlap: {} of {} {} rows ({}) have a text that is also in train{}, e.g. {} id {} = train {}",
                        o.split,
                        o.rows,
                        self.splits.iter().find(|s| s.split == o.split).map_or(0, |s| s.rows),
                        o.split,
                        percent(o.share),
                        if o.conflicting > 0 {
                            format!(" ({} with another label there)", o.conflicting)
                        } else {
                            String::new()
                        },
                        o.split,
                        e.row.id,
                        describe_rows(&e.train)
                    ),
                );
            }
        }
        if let Some(train) = self.splits.first() {
            for c in train.classes.iter().filter(|c| c.share < RARE_CLASS_SHARE) {
                warn(
                    WarningKind::RareClass,
                    format!(
                        "train: class {:?} has {} of {} rows ({}), under {}",
                        c.class,
                        c.count,
                        train.rows,
                        percent(c.share),
                        percent(RARE_CLASS_SHARE)
                    ),
                );
            }
        }
        for v in &self.label_variants {
            let listed: Vec<String> = v
                .labels
                .iter()
                .zip(&v.counts)
                .map(|(l, n)| format!("{l:?} ({n} rows)"))
                .collect();
            warn(
                WarningKind::LabelVariants,
                format!(
                    "labels that differ only by case or surrounding whitespace are separate classes: {}",
                    listed.join(", ")
                ),
            );
        }
        for s in self.splits.iter().filter(|s| s.empty_texts.count > 0) {
            warn(
                WarningKind::EmptyTexts,
                format!(
                    "{}: {} empty texts, e.g. ids {}",
                    s.split,
                    s.empty_texts.count,
                    s.empty_texts.ids.join(", ")
                ),
            );
        }
        out
    }
}

/// `id (label)` of each row, joined with " and ".
fn describe_rows(rows: &[RowRef]) -> String {
    rows.iter()
        .map(|r| format!("id {} ({})", r.id, r.label))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Documents per class; for multi-label data, documents carrying each label.
fn class_counts(d: &Dataset) -> Vec<ClassCount> {
    d.label_counts()
        .into_iter()
        .zip(&d.class_names)
        .map(|(count, class)| ClassCount {
            class: class.clone(),
            count,
            share: share(count, d.len()),
        })
        .collect()
}

fn rows_where(d: &Dataset, examples: usize, pred: impl Fn(usize) -> bool) -> Rows {
    let mut rows = Rows::default();
    for i in (0..d.len()).filter(|&i| pred(i)) {
        rows.count += 1;
        if rows.ids.len() < examples {
            rows.ids.push(row_ref(d, i).id);
        }
    }
    rows
}

/// (all repeated texts, those with conflicting labels) of a split, from its groups by key.
fn duplicates(
    d: &Dataset,
    groups: &HashMap<&str, Vec<usize>>,
    examples: usize,
) -> (Duplicates, Duplicates) {
    let mut repeated: Vec<&Vec<usize>> = groups.values().filter(|g| g.len() > 1).collect();
    repeated.sort_unstable_by_key(|g| g[0]);
    let mut all = Duplicates::default();
    let mut conflicting = Duplicates::default();
    let add = |t: &mut Duplicates, g: &[usize]| {
        t.texts += 1;
        t.extra_rows += g.len() - 1;
        t.rows += g.len();
        if t.examples.len() < examples {
            t.examples.push(DuplicateGroup {
                text: snippet(&d.texts[g[0]]),
                count: g.len(),
                rows: g
                    .iter()
                    .take(ROWS_PER_EXAMPLE)
                    .map(|&i| row_ref(d, i))
                    .collect(),
            });
        }
    };
    for g in repeated {
        add(&mut all, g);
        if g.iter().any(|&i| d.labels[i] != d.labels[g[0]]) {
            add(&mut conflicting, g);
        }
    }
    (all, conflicting)
}

/// Rows of `d` (named `name`) whose key is in train.
fn overlap(
    name: &str,
    train: &Dataset,
    train_groups: &HashMap<&str, Vec<usize>>,
    d: &Dataset,
    keys: &[String],
    examples: usize,
) -> Overlap {
    let mut o = Overlap {
        split: name.to_string(),
        rows: 0,
        share: 0.0,
        texts: 0,
        conflicting: 0,
        examples: Vec::new(),
    };
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, key) in keys.iter().enumerate() {
        let Some(in_train) = train_groups.get(key.as_str()) else {
            continue;
        };
        o.rows += 1;
        if seen.insert(key.as_str()) {
            o.texts += 1;
        }
        let label = &d.class_names[d.labels[i] as usize];
        let same_label = |&j: &usize| &train.class_names[train.labels[j] as usize] == label;
        if !in_train.iter().any(same_label) {
            o.conflicting += 1;
        }
        if o.examples.len() < examples {
            o.examples.push(OverlapExample {
                text: snippet(&d.texts[i]),
                row: row_ref(d, i),
                train: in_train
                    .iter()
                    .take(ROWS_PER_EXAMPLE)
                    .map(|&j| row_ref(train, j))
                    .collect(),
            });
        }
    }
    o.share = share(o.rows, d.len());
    o
}

/// Class names equal after trimming and lower-casing, with their rows over all splits.
fn label_variants(named: &[(&str, &Dataset)]) -> Vec<LabelVariant> {
    let Some((_, train)) = named.first() else {
        return Vec::new();
    };
    let mut counts = vec![0usize; train.class_names.len()];
    for (_, d) in named {
        for (c, n) in counts.iter_mut().zip(d.label_counts()) {
            *c += n;
        }
    }
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for (k, name) in train.class_names.iter().enumerate() {
        by_key
            .entry(name.trim().to_lowercase())
            .or_default()
            .push(k);
    }
    let mut variants: Vec<Vec<usize>> = by_key.into_values().filter(|g| g.len() > 1).collect();
    variants.sort_unstable();
    variants
        .into_iter()
        .map(|g| LabelVariant {
            labels: g.iter().map(|&k| train.class_names[k].clone()).collect(),
            counts: g.iter().map(|&k| counts[k]).collect(),
        })
        .collect()
}

/// The data as training would split it, and what reading the user's files found.
struct Loaded {
    /// The recipe, with the embedded sample's data config when training would fall back to it.
    recipe: Recipe,
    source: String,
    splits: corpus::Splits,
    files: Vec<FileCheck>,
}

fn load(recipe: &Recipe, data: &DataOptions) -> Result<Loaded> {
    let mut recipe = recipe.clone();
    let (corpus, files) = match recipe.data.user_files() {
        Some(user) => read_user_files(user, forced_format(&recipe.data))?,
        None => {
            let (corpus, sample) = corpus::load_for_training(&recipe, data)?;
            if let Some(sample) = sample {
                recipe.data = sample;
            }
            (corpus, Vec::new())
        }
    };
    let source = corpus.source.clone();
    let splits = corpus::select_splits(&recipe, corpus, &Limits::default())?;
    Ok(Loaded {
        recipe,
        source,
        splits,
        files,
    })
}

/// The format a `csv` / `jsonl` / `parquet` data config imposes (`None`: by extension).
fn forced_format(data: &DataConfig) -> Option<FileFormat> {
    match data {
        DataConfig::Csv(_) => Some(FileFormat::Csv),
        DataConfig::Jsonl(_) => Some(FileFormat::Jsonl),
        DataConfig::Parquet(_) => Some(FileFormat::Parquet),
        _ => None,
    }
}

/// Reads the user's files leniently: empty texts are kept and bad UTF-8 is replaced (and
/// counted), so they can be reported; class names come from every file, as training infers them.
fn read_user_files(
    files: &UserFiles,
    forced: Option<FileFormat>,
) -> Result<(Corpus, Vec<FileCheck>)> {
    let mut spec = files.table_spec(forced)?;
    spec.utf8 = Utf8Policy::Replace;
    let mut raw: Vec<Option<RawSplit>> = Vec::new();
    let mut checks = Vec::new();
    for (split, path) in [
        ("train", Some(&files.train)),
        ("validation", files.validation.as_ref()),
        ("test", files.test.as_ref()),
    ] {
        let Some(path) = path else {
            raw.push(None);
            continue;
        };
        // Only the training file's weight column is read, as training does: a bad weight
        // there is refused with its file, line and column, a column of zeros with its file.
        let spec = TableSpec {
            weight_col: spec.weight_col.clone().filter(|_| split == "train"),
            ..spec.clone()
        };
        let (records, check) = read_file(split, path, &spec)?;
        raw.push(Some(records));
        checks.push(check);
    }
    // Multi-label files (a separator, or JSON label lists) as training reads them.
    let multi = spec.label_sep.is_some()
        || raw
            .first()
            .is_some_and(|t| t.as_ref().is_some_and(RawSplit::is_multi_label));
    if let Some(Some(train)) = raw.first() {
        user_files::check_separator(train, &spec)?;
    }
    let all: Vec<&RawSplit> = raw.iter().flatten().collect();
    let class_names = class_names_for(&all, files.class_names.as_deref())?;
    let mut datasets = raw.into_iter().map(|r| {
        r.map(|r| to_dataset(r, &class_names).map(|d| user_files::multi_if(d, multi)))
            .transpose()
    });
    let mut next = || datasets.next().transpose().map(Option::flatten);
    let (train, validation, test) = (next()?, next()?, next()?);
    Ok((
        Corpus {
            train: train.unwrap_or_default(),
            validation,
            test,
            source: files.train.display().to_string(),
            files: Vec::new(),
        },
        checks,
    ))
}

/// Every row of one user file, and what was wrong with its encoding.
fn read_file(split: &str, path: &Path, spec: &TableSpec) -> Result<(RawSplit, FileCheck)> {
    let reader = TableReader::open(path, spec)?;
    let format = reader.format();
    let jsonl = format == FileFormat::Jsonl;
    let mut records = Vec::new();
    let mut weights = Vec::new();
    let mut non_utf8 = FileRows::default();
    for row in reader {
        let row = row?;
        weights.extend(row.weight);
        if row.replaced_utf8 {
            non_utf8.count += 1;
            if non_utf8.examples.len() < ROWS_PER_EXAMPLE {
                non_utf8.examples.push(FileRow {
                    id: row.id.clone(),
                    line: row.line,
                });
            }
        }
        let label = row.label.unwrap_or_default();
        let labels = user_files::label_cell(path, spec, jsonl, row.line, &label)?;
        records.push(RawRecord {
            id: row.id,
            text: row.text,
            label,
            labels,
            line: row.line,
        });
    }
    if spec.weight_col.is_some() {
        user_files::check_not_all_zero(path, spec, &weights)?;
    }
    let check = FileCheck {
        split: split.to_string(),
        path: path.to_path_buf(),
        format,
        rows: records.len(),
        non_utf8,
    };
    let records = RawSplit {
        path: path.to_path_buf(),
        records,
    };
    Ok((records, check))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ds(texts: &[&str], labels: &[u32]) -> Dataset {
        Dataset::new(
            texts.iter().map(|t| t.to_string()).collect(),
            labels.to_vec(),
            vec!["neg".into(), "pos".into()],
        )
        .unwrap()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let l = token_lengths(&[10, 1, 2, 3, 4, 5, 6, 7, 8, 9], 8);
        assert_eq!((l.p50, l.p90, l.p95, l.p99, l.max), (5, 9, 10, 10, 10));
        assert_eq!((l.truncated, l.truncated_share), (2, 0.2));
        assert_eq!(l.mean, 5.5);
        let empty = token_lengths(&[], 8);
        assert_eq!((empty.p50, empty.max, empty.truncated_share), (0, 0, 0.0));
    }

    #[test]
    fn percentages_never_hide_a_few_rows() {
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.5), "50.0%");
        assert_eq!(percent(0.0099), "0.99%");
        assert_eq!(percent(2.0 / 7600.0), "0.03%");
        assert_eq!(percent(1e-6), "<0.01%");
    }

    #[test]
    fn a_rare_class_is_reported() {
        let mut labels = vec![0; 100];
        labels.push(1);
        let texts: Vec<String> = (0..101).map(|i| format!("text {i}")).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let train = ds(&texts, &labels);
        let w = quick_warnings(&train, None, None, &TextRecipe::default());
        assert_eq!(
            w,
            ["train: class \"pos\" has 1 of 101 rows (0.99%), under 1.0%"]
        );
    }

    #[test]
    fn quick_warnings_find_conflicts_overlap_and_empty_texts() {
        let train = ds(
            &["Great film!", "great  film", "bad", "", "ok"],
            &[1, 0, 0, 0, 1],
        );
        let test = ds(&["BAD", "new"], &[1, 1]);
        let w = quick_warnings(&train, None, Some(&test), &TextRecipe::default());
        assert_eq!(
            w,
            [
                "train: 1 texts occur with different labels (2 rows), e.g. id 1 (pos) and id 2 (neg)",
                "train/test overlap: 1 of 2 test rows (50.0%) have a text that is also in train (1 with another label there), e.g. test id 1 = train id 3 (neg)",
                "train: 1 empty texts, e.g. ids 4",
            ]
        );
    }
}

//! Per-class precision, recall, F1 and support, laid out like scikit-learn's
//! `classification_report`.
//!
//! For class `c` with `tp` true positives, `fp` false positives and `fn` false negatives:
//! `precision = tp / (tp + fp)`, `recall = tp / (tp + fn)`, `f1 = 2 tp / (2 tp + fp + fn)`,
//! `support = tp + fn`. A zero denominator gives 0 (scikit-learn's `zero_division=0`) and a
//! line in [`ClassificationReport::warnings`]. `macro avg` is the unweighted mean over all
//! classes, `weighted avg` the mean weighted by support, `accuracy` the fraction of correct
//! predictions. Every class of `class_names` is reported, also those absent from both the labels
//! and the predictions (scikit-learn with `labels=range(C)`).
//!
//! ```
//! use textrnn_eval::classification_report;
//! let names = vec!["neg".to_string(), "pos".to_string()];
//! let report = classification_report(&[0, 0, 1, 1], &[0, 1, 1, 1], &names).unwrap();
//! // pos: tp 2, fp 1 -> precision 2/3, recall 1
//! assert!((report.classes[1].precision - 2.0 / 3.0).abs() < 1e-12);
//! assert_eq!(report.accuracy, 0.75);
//! println!("{report}");
//! ```

use std::fmt;

use serde::Serialize;

use crate::predictions::check_label_pairs;
use crate::{Error, Result};

/// Scores of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores {
    /// Class name.
    pub name: String,
    /// `tp / (tp + fp)`, 0 when the class is never predicted.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when the class never occurs.
    pub recall: f64,
    /// Harmonic mean of precision and recall, 0 when both are 0.
    pub f1: f64,
    /// Number of samples whose true label is this class.
    pub support: usize,
}

/// An averaged row (`macro avg`, `weighted avg`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AverageScores {
    /// Averaged precision.
    pub precision: f64,
    /// Averaged recall.
    pub recall: f64,
    /// Averaged F1.
    pub f1: f64,
    /// Total number of samples.
    pub support: usize,
}

/// Precision, recall, F1 and support per class with their averages.
///
/// `Display` prints scikit-learn's layout with [`ClassificationReport::digits`] decimals
/// (2 by default, as scikit-learn); `Serialize` gives the numbers for `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// One entry per class, in class-index order.
    pub classes: Vec<ClassScores>,
    /// Fraction of samples predicted correctly.
    pub accuracy: f64,
    /// Unweighted mean over classes.
    pub macro_avg: AverageScores,
    /// Mean over classes weighted by support.
    pub weighted_avg: AverageScores,
    /// Ill-defined scores that were set to 0, one line each.
    pub warnings: Vec<String>,
    /// Decimals printed by `Display` (not serialized).
    #[serde(skip)]
    pub digits: usize,
}

/// Builds the report from true and predicted labels (class indices into `class_names`).
///
/// Errors when the lengths differ, there are no samples, or a label is out of range.
pub fn classification_report(
    y_true: &[u32],
    y_pred: &[u32],
    class_names: &[String],
) -> Result<ClassificationReport> {
    let n_classes = class_names.len();
    check_label_pairs(y_true, y_pred, n_classes)?;
    if y_true.is_empty() {
        return Err(Error::Empty);
    }

    let mut tp = vec![0usize; n_classes];
    let mut predicted = vec![0usize; n_classes];
    let mut support = vec![0usize; n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        support[t as usize] += 1;
        predicted[p as usize] += 1;
        if t == p {
            tp[t as usize] += 1;
        }
    }
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    let mut never_predicted = Vec::new();
    let mut never_present = Vec::new();
    let classes: Vec<ClassScores> = (0..n_classes)
        .map(|c| {
            if predicted[c] == 0 {
                never_predicted.push(class_names[c].as_str());
            }
            if support[c] == 0 {
                never_present.push(class_names[c].as_str());
            }
            let fp = predicted[c] - tp[c];
            let fn_ = support[c] - tp[c];
            ClassScores {
                name: class_names[c].clone(),
                precision: ratio(tp[c], predicted[c]),
                recall: ratio(tp[c], support[c]),
                f1: ratio(2 * tp[c], 2 * tp[c] + fp + fn_),
                support: support[c],
            }
        })
        .collect();

    let mut warnings = Vec::new();
    if !never_predicted.is_empty() {
        warnings.push(format!(
            "precision is ill-defined and set to 0.0 for classes with no predicted samples: {}",
            never_predicted.join(", ")
        ));
    }
    if !never_present.is_empty() {
        warnings.push(format!(
            "recall is ill-defined and set to 0.0 for classes with no true samples: {}",
            never_present.join(", ")
        ));
    }

    let total = y_true.len();
    let k = n_classes.max(1) as f64;
    let macro_avg = AverageScores {
        precision: classes.iter().map(|c| c.precision).sum::<f64>() / k,
        recall: classes.iter().map(|c| c.recall).sum::<f64>() / k,
        f1: classes.iter().map(|c| c.f1).sum::<f64>() / k,
        support: total,
    };
    let weighted = |f: fn(&ClassScores) -> f64| {
        classes.iter().map(|c| f(c) * c.support as f64).sum::<f64>() / total as f64
    };
    let weighted_avg = AverageScores {
        precision: weighted(|c| c.precision),
        recall: weighted(|c| c.recall),
        f1: weighted(|c| c.f1),
        support: total,
    };
    let correct: usize = tp.iter().sum();
    Ok(ClassificationReport {
        classes,
        accuracy: correct as f64 / total as f64,
        macro_avg,
        weighted_avg,
        warnings,
        digits: 2,
    })
}

impl ClassificationReport {
    /// Sets the number of decimals printed by `Display` (scikit-learn's `digits`).
    pub fn with_digits(mut self, digits: usize) -> Self {
        self.digits = digits;
        self
    }

    /// Total number of samples.
    pub fn support(&self) -> usize {
        self.macro_avg.support
    }
}

impl fmt::Display for ClassificationReport {
    /// scikit-learn's layout: names right-aligned to the widest of the names and
    /// `"weighted avg"`, then four columns of width 9 separated by a space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.digits;
        let name_width = self.classes.iter().map(|c| c.name.chars().count()).max();
        let w = name_width.unwrap_or(0).max("weighted avg".len()).max(d);
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {:>9} {:>9}",
            "", "precision", "recall", "f1-score", "support"
        )?;
        writeln!(f)?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, p: f64, r: f64, f1: f64, s: usize| {
            writeln!(f, "{name:>w$}  {p:>9.d$} {r:>9.d$} {f1:>9.d$} {s:>9}")
        };
        for c in &self.classes {
            row(f, &c.name, c.precision, c.recall, c.f1, c.support)?;
        }
        writeln!(f)?;
        let acc = self.accuracy;
        let total = self.support();
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {acc:>9.d$} {total:>9}",
            "accuracy", "", ""
        )?;
        let m = &self.macro_avg;
        row(f, "macro avg", m.precision, m.recall, m.f1, m.support)?;
        let m = &self.weighted_avg;
        row(f, "weighted avg", m.precision, m.recall, m.f1, m.support)?;
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

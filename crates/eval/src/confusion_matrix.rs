//! Confusion matrix: counts with true classes as rows and predicted classes as columns.
//!
//! `counts[t][p]` = number of samples of true class `t` predicted as `p` (scikit-learn's
//! `confusion_matrix`). [`ConfusionMatrix::normalized`] divides each row by its sum
//! (`normalize="true"`); a class with no samples gives a row of zeros.
//!
//! ```
//! use textrnn_eval::confusion_matrix;
//! let names = vec!["neg".to_string(), "pos".to_string()];
//! let cm = confusion_matrix(&[0, 0, 1, 1], &[0, 1, 1, 1], &names).unwrap();
//! assert_eq!(cm.counts, vec![vec![1, 1], vec![0, 2]]);
//! assert_eq!(cm.normalized()[0], vec![0.5, 0.5]);
//! println!("{cm}");
//! ```

use std::fmt;

use serde::Serialize;

use crate::predictions::check_label_pairs;
use crate::Result;

/// Counts of (true, predicted) class pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    /// Class names, indexing both rows and columns.
    pub class_names: Vec<String>,
    /// `counts[true][predicted]`.
    pub counts: Vec<Vec<u64>>,
}

/// Counts every (true, predicted) pair; labels index into `class_names`.
pub fn confusion_matrix(
    y_true: &[u32],
    y_pred: &[u32],
    class_names: &[String],
) -> Result<ConfusionMatrix> {
    let n = class_names.len();
    check_label_pairs(y_true, y_pred, n)?;
    let mut counts = vec![vec![0u64; n]; n];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        counts[t as usize][p as usize] += 1;
    }
    Ok(ConfusionMatrix {
        class_names: class_names.to_vec(),
        counts,
    })
}

impl ConfusionMatrix {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Rows divided by their sums (each row sums to 1, or is all 0 for an absent class).
    pub fn normalized(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let total: u64 = row.iter().sum();
                row.iter()
                    .map(|&c| {
                        if total == 0 {
                            0.0
                        } else {
                            c as f64 / total as f64
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A table: a header of predicted classes, one row per true class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let corner = "true \\ pred";
        let name_w = self
            .class_names
            .iter()
            .map(|n| n.chars().count())
            .chain([corner.len()])
            .max()
            .unwrap_or(0);
        let max_count = self.counts.iter().flatten().max().copied().unwrap_or(0);
        let col_w = self
            .class_names
            .iter()
            .map(|n| n.chars().count())
            .chain([max_count.to_string().len()])
            .max()
            .unwrap_or(1);
        write!(f, "{corner:<name_w$}")?;
        for name in &self.class_names {
            write!(f, "  {name:>col_w$}")?;
        }
        writeln!(f)?;
        for (name, row) in self.class_names.iter().zip(&self.counts) {
            write!(f, "{name:<name_w$}")?;
            for count in row {
                write!(f, "  {count:>col_w$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

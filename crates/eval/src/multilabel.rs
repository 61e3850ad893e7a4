//! Multi-label evaluation: every example carries any number of `n` labels, each scored by its own
//! probability and decided by its own threshold ([`Predictions::decide_labels`]).
//!
//! Definitions follow scikit-learn (multi-hot `y_true` and `y_pred`, `N` examples, `n` labels):
//! - subset accuracy (`accuracy_score`): the share of examples whose predicted label set equals
//!   the true set exactly;
//! - Hamming loss (`hamming_loss`): wrong `(example, label)` pairs / `(N n)`;
//! - per label `j`, from its counts `tp`, `fp`, `fn`: `precision = tp / (tp + fp)`,
//!   `recall = tp / (tp + fn)`, `f1 = 2 tp / (2 tp + fp + fn)`, `support = tp + fn`;
//! - micro average (`average="micro"`): the same formulas on the counts pooled over labels;
//! - macro average (`average="macro"`): the unweighted mean of the per-label precision, recall
//!   and F1 (the macro F1 is the mean of the F1s, not the F1 of the means);
//! - a 0/0 ratio (a label never predicted, never present, or both) counts as 0.0, as
//!   scikit-learn's `zero_division=0`, and still takes part in the macro mean;
//! - per-label ROC AUC: the exact [`roc_auc`] of the label's probabilities against its targets;
//!   `None` when the targets hold only one class for that label (scikit-learn raises there).
//!
//! Per-label thresholds are tuned one label at a time with the binary [`tune_threshold`]
//! ([`tune_label_thresholds`]).
//!
//! ```
//! use textrnn_eval::{multilabel_report, Predictions};
//! // 2 examples x 2 labels, thresholds 0.5: predictions [1, 0] and [1, 1]
//! let preds = Predictions::multi_label(vec![0.9, 0.2, 0.7, 0.6], 2)
//!     .with_targets(vec![1, 0, 0, 1])
//!     .unwrap();
//! let report = multilabel_report(&preds, &[0.5, 0.5]).unwrap();
//! assert_eq!(report.subset_accuracy, 0.5); // only example 0 matches exactly
//! assert_eq!(report.hamming_loss, 0.25); // one wrong pair (example 1, label 0) of 4
//! print!("{report:.4}");
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{roc_auc, tune_threshold, Error, Objective, Predictions, Result, ThresholdChoice};

/// Precision, recall and F1 of an average.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    /// Precision (0 when nothing is predicted).
    pub precision: f64,
    /// Recall (0 when nothing is true).
    pub recall: f64,
    /// F1 (0 when precision and recall are both 0).
    pub f1: f64,
}

/// Scores of one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRow {
    /// Label name.
    pub label: String,
    /// `tp / (tp + fp)`, 0 when the label is never predicted.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when the label is never true.
    pub recall: f64,
    /// `2 tp / (2 tp + fp + fn)`, 0 when that is 0/0.
    pub f1: f64,
    /// Number of examples that carry the label.
    pub support: usize,
    /// ROC AUC of the label's probabilities; `None` when its targets hold one class only.
    pub roc_auc: Option<f64>,
    /// The threshold that decided the label (`p >= threshold`).
    pub threshold: f64,
}

/// Multi-label metrics of a set of predictions at given per-label thresholds (see the module
/// docs for the definitions).
///
/// `Display` prints a table in the layout of [`crate::ClassificationReport`]; the formatter's
/// precision sets the decimals (`{report:.4}`), 2 by default as scikit-learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiLabelReport {
    /// Number of examples `N`.
    pub n: usize,
    /// Share of examples whose predicted label set equals the true one.
    pub subset_accuracy: f64,
    /// Share of wrong `(example, label)` pairs.
    pub hamming_loss: f64,
    /// Scores from the counts pooled over all labels.
    pub micro: Prf,
    /// Unweighted mean of the per-label scores.
    pub macro_avg: Prf,
    /// One row per label, in label order.
    pub per_label: Vec<LabelRow>,
}

impl MultiLabelReport {
    /// Mean ROC AUC over the labels that have one (`None` when no label has both classes).
    pub fn macro_roc_auc(&self) -> Option<f64> {
        let scored: Vec<f64> = self.per_label.iter().filter_map(|r| r.roc_auc).collect();
        (!scored.is_empty()).then(|| scored.iter().sum::<f64>() / scored.len() as f64)
    }

    /// Total number of true `(example, label)` pairs (the support of the averages).
    pub fn support(&self) -> usize {
        self.per_label.iter().map(|r| r.support).sum()
    }
}

/// Pooled or per-label counts of true positives, false positives and false negatives.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    /// Precision, recall and F1 with 0/0 = 0 (scikit-learn's `zero_division=0`).
    fn prf(self) -> Prf {
        let ratio = |num: usize, den: usize| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        Prf {
            precision: ratio(self.tp, self.tp + self.fp),
            recall: ratio(self.tp, self.tp + self.fn_),
            f1: ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_),
        }
    }
}

/// Multi-label metrics of `preds` (multi-label, with targets) when label `j` is predicted at
/// `p_j >= thresholds[j]`.
///
/// Errors when the predictions are single-label ([`Error::WrongKind`]) or unlabelled
/// ([`Error::Unlabelled`]), the matrix or the targets are malformed, `class_names` is neither
/// empty nor one name per label, or the thresholds are not one finite number per label.
pub fn multilabel_report(preds: &Predictions, thresholds: &[f64]) -> Result<MultiLabelReport> {
    let n = preds.check_multi_label_targets("multilabel_report")?;
    let n_labels = preds.n_classes;
    check_label_names(preds)?;
    let decided = preds.decide_labels(thresholds)?;

    let mut counts = vec![Counts::default(); n_labels];
    let mut exact = 0usize;
    let mut wrong_pairs = 0usize;
    for (truth, pred) in preds
        .targets
        .chunks_exact(n_labels)
        .zip(decided.chunks_exact(n_labels))
    {
        let mut wrong_here = 0;
        for (c, (&t, &p)) in counts.iter_mut().zip(truth.iter().zip(pred)) {
            match (t, p) {
                (1, 1) => c.tp += 1,
                (0, 1) => c.fp += 1,
                (1, 0) => c.fn_ += 1,
                _ => {}
            }
            wrong_here += usize::from(t != p);
        }
        wrong_pairs += wrong_here;
        exact += usize::from(wrong_here == 0);
    }

    let per_label: Vec<LabelRow> = counts
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let prf = c.prf();
            LabelRow {
                label: preds.label_name(j),
                precision: prf.precision,
                recall: prf.recall,
                f1: prf.f1,
                support: c.tp + c.fn_,
                roc_auc: roc_auc(&preds.column(j), &preds.target_column(j)),
                threshold: thresholds[j],
            }
        })
        .collect();
    let pooled = counts.iter().fold(Counts::default(), |a, c| Counts {
        tp: a.tp + c.tp,
        fp: a.fp + c.fp,
        fn_: a.fn_ + c.fn_,
    });
    let k = n_labels as f64;
    let macro_avg = Prf {
        precision: per_label.iter().map(|r| r.precision).sum::<f64>() / k,
        recall: per_label.iter().map(|r| r.recall).sum::<f64>() / k,
        f1: per_label.iter().map(|r| r.f1).sum::<f64>() / k,
    };
    Ok(MultiLabelReport {
        n,
        subset_accuracy: exact as f64 / n as f64,
        hamming_loss: wrong_pairs as f64 / (n * n_labels) as f64,
        micro: pooled.prf(),
        macro_avg,
        per_label,
    })
}

/// One threshold per label: the binary [`tune_threshold`] on each label's probabilities against
/// its targets, in label order.
///
/// Errors as [`multilabel_report`] for the predictions; a label the tuner cannot serve (no
/// positive example, a constraint no threshold reaches) fails the whole call with an
/// [`Error::Label`] naming it.
pub fn tune_label_thresholds(
    preds: &Predictions,
    objective: Objective,
) -> Result<Vec<ThresholdChoice>> {
    preds.check_multi_label_targets("tune_label_thresholds")?;
    check_label_names(preds)?;
    (0..preds.n_classes)
        .map(|j| {
            tune_threshold(&preds.column(j), &preds.target_column(j), objective).map_err(|e| {
                Error::Label {
                    label: preds.label_name(j),
                    error: Box::new(e),
                }
            })
        })
        .collect()
}

/// Label names are either absent or one per label.
fn check_label_names(preds: &Predictions) -> Result<()> {
    if preds.class_names.is_empty() {
        return Ok(());
    }
    crate::predictions::check_len(
        "class_names (one name per label)",
        preds.n_classes,
        preds.class_names.len(),
    )
}

impl fmt::Display for MultiLabelReport {
    /// Per-label rows (precision, recall, F1, support, ROC AUC, threshold), the micro and macro
    /// averages, then subset accuracy and Hamming loss with the number of examples and of
    /// `(example, label)` pairs. Columns are 9 wide as in the classification report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = f.precision().unwrap_or(2);
        let name_width = self.per_label.iter().map(|r| r.label.chars().count()).max();
        let w = name_width.unwrap_or(0).max("subset accuracy".len());
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "", "precision", "recall", "f1-score", "support", "roc-auc", "threshold"
        )?;
        writeln!(f)?;
        for r in &self.per_label {
            let auc = r
                .roc_auc
                .map_or_else(|| "-".to_string(), |a| format!("{a:.d$}"));
            writeln!(
                f,
                "{:>w$}  {:>9.d$} {:>9.d$} {:>9.d$} {:>9} {auc:>9} {:>9.d$}",
                r.label, r.precision, r.recall, r.f1, r.support, r.threshold
            )?;
        }
        writeln!(f)?;
        let support = self.support();
        for (name, a) in [("micro avg", &self.micro), ("macro avg", &self.macro_avg)] {
            writeln!(
                f,
                "{name:>w$}  {:>9.d$} {:>9.d$} {:>9.d$} {support:>9}",
                a.precision, a.recall, a.f1
            )?;
        }
        writeln!(f)?;
        let pairs = self.n * self.per_label.len();
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {:>9.d$} {:>9}",
            "subset accuracy", "", "", self.subset_accuracy, self.n
        )?;
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {:>9.d$} {pairs:>9}",
            "hamming loss", "", "", self.hamming_loss
        )?;
        let absent: Vec<&str> = self
            .per_label
            .iter()
            .filter(|r| r.support == 0)
            .map(|r| r.label.as_str())
            .collect();
        if !absent.is_empty() {
            writeln!(
                f,
                "warning: recall is ill-defined and set to 0.0 for labels with no true samples: {}",
                absent.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// 4 examples x 3 labels `a`, `b`, `c`; label `c` is never true.
    ///
    /// ```text
    ///        probs (a, b, c)   targets   decided at thresholds (0.5, 0.75, 0.5)
    /// ex0    0.9  0.2  0.1     1 1 0     1 0 0   b missed
    /// ex1    0.6  0.7  0.3     0 1 0     1 0 0   a wrong, b missed (0.7 < 0.75)
    /// ex2    0.4  0.8  0.6     1 1 0     0 1 1   a missed, c wrong
    /// ex3    0.3  0.1  0.2     0 0 0     0 0 0   exact
    /// ```
    fn example() -> Predictions {
        let probs = vec![
            0.9, 0.2, 0.1, //
            0.6, 0.7, 0.3, //
            0.4, 0.8, 0.6, //
            0.3, 0.1, 0.2,
        ];
        let names = ["a", "b", "c"].map(String::from).to_vec();
        Predictions::multi_label(probs, 3)
            .with_labels(Vec::new(), names)
            .with_targets(vec![1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0])
            .unwrap()
    }

    const THRESHOLDS: [f64; 3] = [0.5, 0.75, 0.5];

    #[test]
    fn report_matches_hand_computation_and_scikit_learn() {
        let r = multilabel_report(&example(), &THRESHOLDS).unwrap();
        assert_eq!(r.n, 4);
        // only ex3 matches exactly: 1/4
        assert_eq!(r.subset_accuracy, 0.25);
        // wrong pairs: ex0 1 + ex1 2 + ex2 2 + ex3 0 = 5 of 4 * 3 = 12
        assert_eq!(r.hamming_loss, 5.0 / 12.0);

        // a: tp 1 (ex0), fp 1 (ex1), fn 1 (ex2) -> P 1/2, R 1/2, F1 2/(2+1+1) = 1/2, support 2;
        //    AUC: positives 0.9, 0.4 vs negatives 0.6, 0.3: 3 of 4 pairs ordered -> 0.75
        // b: tp 1 (ex2), fp 0, fn 2 (ex0, ex1) -> P 1, R 1/3, F1 2/(2+0+2) = 1/2, support 3;
        //    AUC: positives 0.2, 0.7, 0.8 all above the negative 0.1 -> 1
        // c: tp 0, fp 1 (ex2), fn 0 -> P 0/1 = 0, R 0/0 = 0 (zero_division), F1 0/1 = 0,
        //    support 0; AUC undefined (no positive)
        let expected = [
            ("a", 0.5, 0.5, 0.5, 2, Some(0.75), 0.5),
            ("b", 1.0, 1.0 / 3.0, 0.5, 3, Some(1.0), 0.75),
            ("c", 0.0, 0.0, 0.0, 0, None, 0.5),
        ];
        let rows: Vec<_> = r
            .per_label
            .iter()
            .map(|r| {
                let label = r.label.as_str();
                (
                    label,
                    r.precision,
                    r.recall,
                    r.f1,
                    r.support,
                    r.roc_auc,
                    r.threshold,
                )
            })
            .collect();
        assert_eq!(rows, expected);

        // micro: tp 1+1+0 = 2, fp 1+0+1 = 2, fn 1+2+0 = 3
        //   P 2/4 = 0.5, R 2/5 = 0.4, F1 2*2/(4+2+3) = 4/9
        assert_eq!(
            r.micro,
            Prf {
                precision: 0.5,
                recall: 0.4,
                f1: 4.0 / 9.0
            }
        );
        // macro: P (1/2 + 1 + 0)/3 = 1/2, R (1/2 + 1/3 + 0)/3 = 5/18, F1 (1/2 + 1/2 + 0)/3 = 1/3
        assert_eq!(
            r.macro_avg,
            Prf {
                precision: 0.5,
                recall: (0.5 + 1.0 / 3.0 + 0.0) / 3.0,
                f1: 1.0 / 3.0
            }
        );
        // scikit-learn 1.9.1 on the same arrays (accuracy_score, hamming_loss,
        // precision_recall_fscore_support(average=..., zero_division=0), roc_auc_score per
        // column) printed exactly these values:
        assert_eq!(r.hamming_loss, 0.4166666666666667);
        assert_eq!(r.micro.f1, 0.4444444444444444);
        assert_eq!(r.macro_avg.recall, 0.27777777777777773);
        assert_eq!(r.macro_avg.f1, 0.3333333333333333);
        // mean of the two defined AUCs: (0.75 + 1) / 2
        assert_eq!(r.macro_roc_auc(), Some(0.875));
        assert_eq!(r.support(), 5);
    }

    #[test]
    fn report_matches_scikit_learn_on_tied_random_scores() {
        // 10 x 4 generated by numpy (default_rng(7)): probabilities on a 0.1 grid (many ties),
        // targets ~40% positive. The expected numbers were printed by scikit-learn 1.9.1
        // (thresholds 0.5, 0.3, 0.7, 0.5; zero_division=0; roc_auc_score per column).
        let probs = vec![
            1.0, 0.6, 0.7, 0.9, 0.6, 0.8, 0.9, 0.2, 0.0, 0.3, 0.3, 0.9, 1.0, 0.0, 0.5, 0.9, 0.1,
            0.8, 0.1, 0.5, 0.8, 0.3, 0.3, 0.3, 0.7, 0.2, 1.0, 0.4, 0.5, 0.5, 0.6, 0.6, 0.5, 1.0,
            0.8, 0.8, 0.7, 0.6, 0.3, 1.0,
        ];
        let targets = vec![
            1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0,
            0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0,
        ];
        let preds = Predictions::multi_label(probs, 4)
            .with_targets(targets)
            .unwrap();
        let r = multilabel_report(&preds, &[0.5, 0.3, 0.7, 0.5]).unwrap();
        assert_eq!(r.subset_accuracy, 0.2);
        assert_eq!(r.hamming_loss, 0.325);
        assert_eq!(
            r.micro,
            Prf {
                precision: 0.6153846153846154,
                recall: 0.8421052631578947,
                f1: 0.7111111111111111
            }
        );
        assert_eq!(
            r.macro_avg,
            Prf {
                precision: 0.6264880952380952,
                recall: 0.825,
                f1: 0.7074175824175825
            }
        );
        let column = |f: fn(&LabelRow) -> f64| r.per_label.iter().map(f).collect::<Vec<_>>();
        assert_eq!(
            column(|r| r.precision),
            [0.625, 0.5, 0.6666666666666666, 0.7142857142857143]
        );
        assert_eq!(
            column(|r| r.recall),
            [0.8333333333333334, 0.8, 0.6666666666666666, 1.0]
        );
        assert_eq!(
            column(|r| r.f1),
            [
                0.7142857142857143,
                0.6153846153846154,
                0.6666666666666666,
                0.8333333333333334
            ]
        );
        let support: Vec<usize> = r.per_label.iter().map(|r| r.support).collect();
        assert_eq!(support, [6, 5, 3, 5]);
        let auc: Vec<Option<f64>> = r.per_label.iter().map(|r| r.roc_auc).collect();
        // label 2: scikit-learn's trapezoid sum prints 0.857142857142857, one ulp below the exact
        // 6/7 (18 of 21 pairs) that the rank statistic gives
        assert_eq!(auc, [Some(0.6875), Some(0.7), Some(6.0 / 7.0), Some(0.76)]);
        assert_eq!(6.0f64 / 7.0 - 0.857142857142857, 1.1102230246251565e-16);
    }

    #[test]
    fn report_prints_a_table() {
        let r = multilabel_report(&example(), &THRESHOLDS).unwrap();
        // (the leading newline only lets the table start at the left margin)
        let expected = "
                 precision    recall  f1-score   support   roc-auc threshold

              a       0.50      0.50      0.50         2      0.75      0.50
              b       1.00      0.33      0.50         3      1.00      0.75
              c       0.00      0.00      0.00         0         -      0.50

      micro avg       0.50      0.40      0.44         5
      macro avg       0.50      0.28      0.33         5

subset accuracy                           0.25         4
   hamming loss                           0.42        12
warning: recall is ill-defined and set to 0.0 for labels with no true samples: c
";
        assert_eq!(r.to_string(), expected[1..]);
        assert!(format!("{r:.4}").contains("      b     1.0000    0.3333    0.5000         3"));
    }

    #[test]
    fn report_round_trips_through_json() {
        let r = multilabel_report(&example(), &THRESHOLDS).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""macro_avg":{"precision":0.5,"#));
        assert!(json.contains(r#""roc_auc":null"#));
        let back: MultiLabelReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn report_refuses_bad_inputs() {
        let preds = example();
        let err = multilabel_report(&preds, &[0.5, 0.5]).unwrap_err();
        assert!(matches!(
            err,
            Error::LengthMismatch {
                expected: 3,
                got: 2,
                ..
            }
        ));
        let err = multilabel_report(&preds, &[0.5, f64::NAN, 0.5]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "label \"b\": invalid threshold: NaN (expected a finite number)"
        );
        let unlabelled = Predictions::multi_label(preds.probs.clone(), 3);
        assert_eq!(
            multilabel_report(&unlabelled, &THRESHOLDS)
                .unwrap_err()
                .to_string(),
            "multilabel_report needs the true labels, but the predictions are unlabelled"
        );
        let single = Predictions::new(vec![0.2, 0.8], 2).with_labels(vec![1], Vec::new());
        assert_eq!(
            multilabel_report(&single, &[0.5, 0.5])
                .unwrap_err()
                .to_string(),
            "multilabel_report works on multi-label predictions only"
        );
        // targets edited after construction (e.g. read from a file) are checked again
        let mut bad = preds.clone();
        bad.targets[4] = 2;
        assert_eq!(
            multilabel_report(&bad, &THRESHOLDS)
                .unwrap_err()
                .to_string(),
            "target of example 1, label 1 is 2 (expected 0 or 1)"
        );
        let mut names = preds;
        names.class_names.pop();
        assert!(matches!(
            multilabel_report(&names, &THRESHOLDS).unwrap_err(),
            Error::LengthMismatch {
                expected: 3,
                got: 2,
                ..
            }
        ));
    }

    #[cfg(feature = "render")]
    #[test]
    fn run_report_shows_the_multi_label_section() {
        let ml = multilabel_report(&example(), &THRESHOLDS).unwrap();
        let page = |multi_label| {
            crate::render_html(&crate::RunReport {
                run_name: "tags".into(),
                multi_label,
                ..crate::RunReport::default()
            })
            .unwrap()
        };
        let html = page(Some(ml));
        assert!(html.contains("<h3>Multi-label report</h3>"));
        // label b: P 1, R 1/3, F1 1/2, support 3, AUC 1, threshold 0.75
        assert!(html.contains("<tr><td>b</td><td>1.0000</td><td>0.3333</td><td>0.5000</td><td>3</td><td>1.0000</td><td>0.7500</td></tr>"));
        // label c has no AUC
        assert!(html.contains("<tr><td>c</td><td>0.0000</td><td>0.0000</td><td>0.0000</td><td>0</td><td>–</td><td>0.5000</td></tr>"));
        assert!(html
            .contains("<td>micro avg</td><td>0.5000</td><td>0.4000</td><td>0.4444</td><td>5</td>"));
        assert!(html.contains("<td>Hamming loss</td><td></td><td></td><td>0.4167</td><td>12</td>"));
        assert!(html.contains("labels with no true samples: c</div>"));
        // without a multi-label report the page has no such section
        assert!(!page(None).contains("Multi-label"));
    }

    #[test]
    fn tuned_thresholds_are_the_binary_tuner_per_label() {
        // 5 examples x 2 labels, both labels with positives and negatives
        let probs = vec![0.9, 0.1, 0.8, 0.7, 0.3, 0.6, 0.7, 0.2, 0.2, 0.9];
        let targets = vec![1, 0, 1, 1, 0, 1, 1, 0, 0, 0];
        let preds = Predictions::multi_label(probs, 2)
            .with_targets(targets)
            .unwrap();
        for objective in [Objective::MaxF1, Objective::MinRecall(1.0)] {
            let tuned = tune_label_thresholds(&preds, objective).unwrap();
            let each: Vec<ThresholdChoice> = (0..2)
                .map(|j| tune_threshold(&preds.column(j), &preds.target_column(j), objective))
                .collect::<Result<_>>()
                .unwrap();
            assert_eq!(tuned, each);
        }
        // label 0: scores 0.9 0.8 0.7 (positives) above 0.3 0.2 (negatives): F1 1 at score 0.7,
        // threshold halfway to the next lower score 0.3
        // label 1: positives 0.7, 0.6 and negatives 0.1, 0.2, 0.9: F1 at 0.6 = 2*2/(4+1+0) = 4/5
        let tuned = tune_label_thresholds(&preds, Objective::MaxF1).unwrap();
        assert_eq!(tuned[0].threshold, (0.7f32 as f64 + 0.3f32 as f64) / 2.0);
        assert_eq!(tuned[0].f1, 1.0);
        assert_eq!(tuned[1].threshold, (0.6f32 as f64 + 0.2f32 as f64) / 2.0);
        assert_eq!(tuned[1].f1, 0.8);
        // the tuned thresholds separate label 0 perfectly
        let t: Vec<f64> = tuned.iter().map(|c| c.threshold).collect();
        let report = multilabel_report(&preds, &t).unwrap();
        assert_eq!(report.per_label[0].f1, 1.0);
        assert_eq!(report.per_label[1].f1, 0.8);
    }

    #[test]
    fn tuning_names_the_label_it_cannot_tune() {
        // label c of the example is never true
        let err = tune_label_thresholds(&example(), Objective::MaxF1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "label \"c\": tune_threshold needs both classes in the labels, but only negative samples are present"
        );
    }
}

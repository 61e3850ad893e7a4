//! Evaluation functions on small hand-computed examples; the arithmetic is in the comments.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use textrnn_eval::{
    argmax_labels, average_precision, classification_report, confusion_matrix, log_loss,
    precision_recall_curve, predict_with_threshold, roc_auc_binary, roc_auc_ovr, roc_curve,
    roc_curves, tune_threshold, Error, Objective,
};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

// 10 samples, 3 classes; class C is never predicted.
const Y_TRUE: [u32; 10] = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
const Y_PRED: [u32; 10] = [0, 0, 1, 0, 1, 1, 0, 0, 1, 1];

#[test]
fn classification_report_by_hand() {
    let r = classification_report(&Y_TRUE, &Y_PRED, &names(&["A", "B", "C"])).unwrap();
    // A: predicted at 0,1,3,6,7 (5), correct at 0,1,3 (3), support 4
    //    P = 3/5, R = 3/4, F1 = 2*3 / (2*3 + fp 2 + fn 1) = 6/9
    close(r.classes[0].precision, 0.6);
    close(r.classes[0].recall, 0.75);
    close(r.classes[0].f1, 6.0 / 9.0);
    assert_eq!(r.classes[0].support, 4);
    // B: predicted at 2,4,5,8,9 (5), correct at 4,5 (2), support 3
    //    P = 2/5, R = 2/3, F1 = 4 / (4 + 3 + 1) = 1/2
    close(r.classes[1].precision, 0.4);
    close(r.classes[1].recall, 2.0 / 3.0);
    close(r.classes[1].f1, 0.5);
    // C: never predicted -> P = 0 (zero_division), tp = 0 -> R = 0, F1 = 0
    assert_eq!(
        (r.classes[2].precision, r.classes[2].recall, r.classes[2].f1),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(r.classes[2].support, 3);
    // accuracy = 5 correct / 10
    close(r.accuracy, 0.5);
    // macro: P (0.6 + 0.4 + 0)/3 = 1/3, R (3/4 + 2/3 + 0)/3 = 17/36, F1 (2/3 + 1/2 + 0)/3 = 7/18
    close(r.macro_avg.precision, 1.0 / 3.0);
    close(r.macro_avg.recall, 17.0 / 36.0);
    close(r.macro_avg.f1, 7.0 / 18.0);
    // weighted by support 4, 3, 3: P (2.4 + 1.2)/10 = 0.36, R (3 + 2)/10 = 0.5,
    // F1 (4 * 2/3 + 3 * 1/2)/10 = 25/60
    close(r.weighted_avg.precision, 0.36);
    close(r.weighted_avg.recall, 0.5);
    close(r.weighted_avg.f1, 25.0 / 60.0);
    assert_eq!(r.weighted_avg.support, 10);
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].contains("no predicted samples: C"),
        "{:?}",
        r.warnings
    );

    // scikit-learn's classification_report(y_true, y_pred, target_names=["A","B","C"])
    let expected = "              precision    recall  f1-score   support

           A       0.60      0.75      0.67         4
           B       0.40      0.67      0.50         3
           C       0.00      0.00      0.00         3

    accuracy                           0.50        10
   macro avg       0.33      0.47      0.39        10
weighted avg       0.36      0.50      0.42        10
warning: precision is ill-defined and set to 0.0 for classes with no predicted samples: C
";
    assert_eq!(r.to_string(), expected);

    let four = r.clone().with_digits(4).to_string();
    assert!(
        four.contains("           A     0.6000    0.7500    0.6667         4"),
        "{four}"
    );

    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["classes"][2]["name"], "C");
    assert_eq!(json["accuracy"], 0.5);
    assert!(json.get("digits").is_none());
}

#[test]
fn class_never_present_warns_about_recall() {
    // class "c" neither in y_true nor in y_pred: support 0, every score 0, two warnings
    let r = classification_report(&[0, 1], &[0, 1], &names(&["a", "b", "c"])).unwrap();
    assert_eq!(r.classes[2].support, 0);
    assert_eq!(r.warnings.len(), 2);
    assert!(r.warnings[1].contains("no true samples: c"));
    // macro averages include the empty class: (1 + 1 + 0)/3
    close(r.macro_avg.f1, 2.0 / 3.0);
    close(r.weighted_avg.f1, 1.0);
}

#[test]
fn confusion_matrix_by_hand() {
    let cm = confusion_matrix(&Y_TRUE, &Y_PRED, &names(&["A", "B", "C"])).unwrap();
    // true A predicted [A, A, B, A] -> [3, 1, 0]; true B [B, B, A] -> [1, 2, 0];
    // true C [A, B, B] -> [1, 2, 0]
    assert_eq!(cm.counts, vec![vec![3, 1, 0], vec![1, 2, 0], vec![1, 2, 0]]);
    let norm = cm.normalized();
    assert_eq!(norm[0], vec![0.75, 0.25, 0.0]);
    close(norm[1][0], 1.0 / 3.0);
    close(norm[2][1], 2.0 / 3.0);
    let expected = "true \\ pred  A  B  C
A            3  1  0
B            1  2  0
C            1  2  0
";
    assert_eq!(cm.to_string(), expected);
    // an absent class normalises to a row of zeros
    let cm = confusion_matrix(&[0], &[0], &names(&["x", "y"])).unwrap();
    assert_eq!(cm.normalized()[1], vec![0.0, 0.0]);
}

#[test]
fn input_errors_are_reported() {
    let n = names(&["a", "b"]);
    assert!(matches!(
        classification_report(&[0, 1], &[0], &n).unwrap_err(),
        Error::LengthMismatch {
            what: "y_pred",
            expected: 2,
            got: 1
        }
    ));
    assert!(matches!(
        confusion_matrix(&[0, 2], &[0, 1], &n),
        Err(Error::LabelOutOfRange {
            index: 1,
            label: 2,
            n_classes: 2
        })
    ));
    assert!(matches!(
        classification_report(&[], &[], &n).unwrap_err(),
        Error::Empty
    ));
    assert!(matches!(
        log_loss(&[0.5, f32::NAN], 2, &[0]),
        Err(Error::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        argmax_labels(&[0.1, 0.2, 0.3], 2),
        Err(Error::LengthMismatch { .. })
    ));
}

// Scores with ties: 0.8 is shared by a positive and a negative, 0.6 by one positive and two
// negatives. P = 3, N = 4.
const SCORES: [f32; 7] = [0.9, 0.8, 0.8, 0.6, 0.6, 0.6, 0.3];
const POSITIVE: [bool; 7] = [true, true, false, true, false, false, false];

#[test]
fn roc_curve_with_ties() {
    let roc = roc_curve(&SCORES, &POSITIVE).unwrap();
    // distinct thresholds: 0.9 (tp 1, fp 0), 0.8 (tp 2, fp 1), 0.6 (tp 3, fp 3), 0.3 (tp 3, fp 4)
    assert_eq!(roc.fpr, vec![0.0, 0.0, 0.25, 0.75, 1.0]);
    assert_eq!(roc.tpr, vec![0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0, 1.0]);
    let t: Vec<f64> = [0.9f32, 0.8, 0.6, 0.3]
        .iter()
        .map(|&s| f64::from(s))
        .collect();
    assert_eq!(roc.thresholds[0], f64::INFINITY);
    assert_eq!(roc.thresholds[1..], t[..]);
    // trapezoids: 0.25 * (1/3 + 2/3)/2 + 0.5 * (2/3 + 1)/2 + 0.25 * 1 = 1/8 + 5/12 + 1/4 = 19/24
    close(roc.auc(), 19.0 / 24.0);
    // rank form: pairs (pos, neg) won: 0.9 -> 4, 0.8 -> 3 + tie 1/2, 0.6 -> 1 + ties 2 * 1/2
    // = 9.5 / 12 = 19/24
    close(roc_auc_binary(&SCORES, &POSITIVE).unwrap(), 19.0 / 24.0);
    assert!(matches!(
        roc_curve(&[0.1, 0.2], &[true, true]),
        Err(Error::SingleClass {
            present: "positive",
            ..
        })
    ));
}

#[test]
fn precision_recall_curve_with_ties() {
    let pr = precision_recall_curve(&SCORES, &POSITIVE).unwrap();
    // decreasing thresholds: 0.9 P 1/1 R 1/3; 0.8 P 2/3 R 2/3; 0.6 P 3/6 R 1; 0.3 P 3/7 R 1
    // scikit-learn returns them reversed (thresholds increasing) plus the point (R 0, P 1)
    assert_eq!(pr.precision, vec![3.0 / 7.0, 0.5, 2.0 / 3.0, 1.0, 1.0]);
    assert_eq!(pr.recall, vec![1.0, 1.0, 2.0 / 3.0, 1.0 / 3.0, 0.0]);
    let t: Vec<f64> = [0.3f32, 0.6, 0.8, 0.9]
        .iter()
        .map(|&s| f64::from(s))
        .collect();
    assert_eq!(pr.thresholds, t);
    // AP = (1/3 - 0) * 1 + (2/3 - 1/3) * 2/3 + (1 - 2/3) * 1/2 + (1 - 1) * 3/7 = 13/18
    close(average_precision(&SCORES, &POSITIVE).unwrap(), 13.0 / 18.0);
    assert!(precision_recall_curve(&[0.3], &[false]).is_err());
}

#[test]
fn log_loss_by_hand() {
    let probs = [
        0.7, 0.2, 0.1, // label 0 -> -ln 0.7
        0.1, 0.8, 0.1, // label 1 -> -ln 0.8
        0.2, 0.3, 0.5, // label 2 -> -ln 0.5
        0.0, 1.0, 0.0, // label 0 -> p clipped to 1e-15 -> -ln 1e-15 = 34.5388
    ];
    let p = |v: f32| f64::from(v);
    let expected = -(p(0.7).ln() + p(0.8).ln() + p(0.5).ln() + 1e-15f64.ln()) / 4.0;
    close(log_loss(&probs, 3, &[0, 1, 2, 0]).unwrap(), expected);
    // a perfect prediction is clipped at 1 - 1e-15: -ln(1 - 1e-15) ~ 1.1e-15
    assert!(log_loss(&[0.0, 1.0], 2, &[1]).unwrap() < 2e-15);
}

#[test]
fn one_vs_rest_auc_skips_absent_class() {
    // 4 samples, 3 classes, class 2 never occurs in the labels
    let probs = [
        0.6, 0.3, 0.1, //
        0.2, 0.5, 0.3, //
        0.5, 0.4, 0.1, //
        0.4, 0.4, 0.2, //
    ];
    let labels = [0, 1, 0, 1];
    let auc = roc_auc_ovr(&probs, 3, &labels).unwrap();
    // class 0: positives 0.6, 0.5 vs negatives 0.2, 0.4: 4 of 4 pairs -> 1
    // class 1: positives 0.5, 0.4 vs negatives 0.3, 0.4: 2 + 1 + tie 1/2 = 3.5 of 4 -> 0.875
    assert_eq!(auc.per_class, vec![Some(1.0), Some(0.875), None]);
    // macro over the two scored classes: (1 + 0.875) / 2
    close(auc.macro_auc, 0.9375);
    assert_eq!(auc.notes.len(), 1);
    assert!(auc.notes[0].contains("class 2"));

    // binary: the AUC of column 1
    let bin = roc_auc_ovr(&[0.2, 0.8, 0.6, 0.4, 0.4, 0.6], 2, &[1, 0, 1]).unwrap();
    // class 1 scores 0.8 (pos), 0.4 (neg), 0.6 (pos) -> 2 of 2 pairs
    close(bin.macro_auc, 1.0);
    assert!(roc_auc_ovr(&[0.5, 0.5], 2, &[0]).is_err());

    // curves for plotting: only the classes that occur
    let curves = roc_curves(&probs, 3, &labels, &names(&["x", "y", "z"])).unwrap();
    let curve_names: Vec<&str> = curves.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(curve_names, ["x", "y"]);
    close(curves[1].curve.auc(), 0.875);
}

// 8 samples, P = 4, N = 4:
// t    tp fp   P     R     F1                    acc
// 0.9  1  0    1     1/4   2/(2+0+3)   = 0.400   5/8
// 0.8  2  0    1     1/2   4/(4+0+2)   = 0.667   6/8
// 0.7  2  1    2/3   1/2   4/(4+1+2)   = 0.571   5/8
// 0.6  3  1    3/4   3/4   6/(6+1+1)   = 0.750   6/8
// 0.5  3  2    3/5   3/4   6/(6+2+1)   = 0.667   5/8
// 0.4  4  2    2/3   1     8/(8+2+0)   = 0.800   6/8
// 0.3  4  3    4/7   1     8/11        = 0.727   5/8
// 0.2  4  4    1/2   1     8/12        = 0.667   4/8
const T_SCORES: [f32; 8] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
const T_POS: [bool; 8] = [true, true, false, true, false, true, false, false];

/// The returned threshold is the middle of the gap below the chosen score.
fn mid(chosen: f32, next_lower: f32) -> f64 {
    (f64::from(chosen) + f64::from(next_lower)) / 2.0
}

#[test]
fn threshold_max_f1() {
    let c = tune_threshold(&T_SCORES, &T_POS, Objective::MaxF1).unwrap();
    // chosen score 0.4, next lower 0.3
    assert_eq!(c.threshold, mid(0.4, 0.3));
    close(c.f1, 0.8);
    close(c.precision, 2.0 / 3.0);
    close(c.recall, 1.0);
    close(c.accuracy, 0.75);
    let json = serde_json::to_string(&c).unwrap();
    assert!(
        json.contains("\"objective\":{\"type\":\"max_f1\"}"),
        "{json}"
    );
}

#[test]
fn threshold_constraints() {
    // precision >= 0.75 at 0.9, 0.8, 0.6; best recall 3/4 at 0.6
    let c = tune_threshold(&T_SCORES, &T_POS, Objective::MinPrecision(0.75)).unwrap();
    assert_eq!(c.threshold, mid(0.6, 0.5));
    close(c.recall, 0.75);
    // precision >= 0.9 at 0.9 and 0.8; best recall 1/2 at 0.8
    let c = tune_threshold(&T_SCORES, &T_POS, Objective::MinPrecision(0.9)).unwrap();
    assert_eq!(c.threshold, mid(0.8, 0.7));
    // recall >= 1 at 0.4, 0.3, 0.2; best precision 2/3 at 0.4
    let c = tune_threshold(&T_SCORES, &T_POS, Objective::MinRecall(1.0)).unwrap();
    assert_eq!(c.threshold, mid(0.4, 0.3));
    close(c.precision, 2.0 / 3.0);
    // recall >= 0.5 from 0.8 down; precision 1 at 0.8 (0.9 has recall 1/4)
    let c = tune_threshold(&T_SCORES, &T_POS, Objective::MinRecall(0.5)).unwrap();
    assert_eq!(c.threshold, mid(0.8, 0.7));

    // the top score is a negative: precision is 0 at 0.9 and 1/2 at 0.5, never 1
    let err =
        tune_threshold(&[0.9, 0.5], &[false, true], Objective::MinPrecision(1.0)).unwrap_err();
    assert!(
        matches!(&err, Error::ThresholdUnreachable { constraint, best }
            if constraint == "precision >= 1" && *best == 0.5),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .contains("no threshold reaches precision >= 1"));
    assert!(matches!(
        tune_threshold(&T_SCORES, &T_POS, Objective::MinRecall(1.5)),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(tune_threshold(&[0.1, 0.2], &[false, false], Objective::MaxF1).is_err());
}

#[test]
fn threshold_prediction() {
    assert_eq!(
        predict_with_threshold(&[0.9, 0.4, 0.2], f64::from(0.4f32)),
        vec![1, 1, 0]
    );
    assert_eq!(argmax_labels(&[0.5, 0.5, 0.2, 0.8], 2).unwrap(), vec![0, 1]);
}

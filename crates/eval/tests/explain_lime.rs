//! LIME on synthetic "models" whose behaviour is known, the ridge solver on hand-computed
//! problems, and the error cases.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use textrnn_eval::{ridge_fit, BoxError, Error, LimeConfig, LimeTextExplainer};

fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w == word)
}

/// p(positive) = 0.9 when "excellent" is present, else 0.1.
fn excellent_model(texts: &[String]) -> Result<Vec<Vec<f32>>, BoxError> {
    Ok(texts
        .iter()
        .map(|t| {
            if has_word(t, "excellent") {
                vec![0.1, 0.9]
            } else {
                vec![0.9, 0.1]
            }
        })
        .collect())
}

const REVIEW: &str = "The plot was excellent, and the acting was fine; the ending was slow.";

#[test]
fn deciding_word_comes_out_on_top() {
    let explainer = LimeTextExplainer::new(LimeConfig {
        seed: 42,
        ..LimeConfig::default()
    });
    let e = explainer
        .explain(REVIEW, &mut excellent_model, None)
        .unwrap();
    assert_eq!(e.label, 1, "the predicted class is explained by default");
    assert_eq!(e.num_samples, 5000);
    // distinct words: the plot was excellent and acting fine ending slow The
    assert_eq!(e.num_words, 10);
    assert_eq!(e.words.len(), 10);
    assert_eq!(e.words[0].word, "excellent");
    // the model is exactly p = 0.1 + 0.8 z_excellent, so the weight is close to 0.8 (ridge
    // shrinks it slightly) and every other word is close to 0
    assert!(e.words[0].weight > 0.75 && e.words[0].weight <= 0.8, "{e}");
    assert!(e.words[1..].iter().all(|w| w.weight.abs() < 0.02), "{e}");
    assert!((e.local_pred - 0.9).abs() < 0.03, "{e}");
    assert!(e.score > 0.98, "{e}");
    assert_eq!(e.predicted_proba, vec![0.1, 0.9]);

    // explaining the other class flips the sign
    let e0 = explainer
        .explain(REVIEW, &mut excellent_model, Some(0))
        .unwrap();
    assert_eq!(e0.words[0].word, "excellent");
    assert!(e0.words[0].weight < -0.75);

    let table = e.to_string();
    assert!(
        table.contains("excellent") && table.contains("+0.7"),
        "{table}"
    );
    let names = vec!["negative".to_string(), "positive".to_string()];
    let html = e.to_html(REVIEW, &names, &e.predicted_proba);
    assert!(
        html.contains("<mark style=\"background: rgba(26,160,70,0.90)\" title=\"+0.7"),
        "{html}"
    );
    assert!(html.contains("90.0%") && !html.contains("http"));
}

#[test]
fn same_seed_same_explanation() {
    // a non-linear model: positive needs both "good" and "story"
    let mut model = |texts: &[String]| -> Result<Vec<Vec<f32>>, BoxError> {
        Ok(texts
            .iter()
            .map(|t| {
                let p = if has_word(t, "good") && has_word(t, "story") {
                    0.8
                } else {
                    0.3
                };
                vec![1.0 - p, p]
            })
            .collect())
    };
    let text = "a good story with a weak start";
    let cfg = LimeConfig {
        num_samples: 800,
        seed: 1,
        ..LimeConfig::default()
    };
    let a = LimeTextExplainer::new(cfg)
        .explain(text, &mut model, Some(1))
        .unwrap();
    let b = LimeTextExplainer::new(cfg)
        .explain(text, &mut model, Some(1))
        .unwrap();
    assert_eq!(a, b);
    let c = LimeTextExplainer::new(LimeConfig { seed: 2, ..cfg })
        .explain(text, &mut model, Some(1))
        .unwrap();
    assert_ne!(a, c);
    let top: Vec<&str> = a.words[..2].iter().map(|w| w.word.as_str()).collect();
    assert!(top.contains(&"good") && top.contains(&"story"), "{a}");
}

#[test]
fn batches_and_original_first() {
    let mut seen = Vec::new();
    let mut model = |texts: &[String]| -> Result<Vec<Vec<f32>>, BoxError> {
        seen.push(texts.to_vec());
        Ok(texts.iter().map(|_| vec![0.5, 0.5]).collect())
    };
    let cfg = LimeConfig {
        num_samples: 25,
        batch_size: 10,
        ..LimeConfig::default()
    };
    LimeTextExplainer::new(cfg)
        .explain("one two, three", &mut model, None)
        .unwrap();
    let sizes: Vec<usize> = seen.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(seen[0][0], "one two, three");
    // every perturbation removes at least one word (so differs from the original)
    assert!(seen.iter().flatten().skip(1).all(|t| t != "one two, three"));
}

#[test]
fn errors_are_clear() {
    let explainer = LimeTextExplainer::new(LimeConfig {
        num_samples: 20,
        ..LimeConfig::default()
    });
    let err = explainer
        .explain("   ", &mut excellent_model, None)
        .unwrap_err();
    assert!(matches!(err, Error::EmptyText));
    let err = explainer
        .explain(" ... !?", &mut excellent_model, None)
        .unwrap_err();
    assert!(matches!(err, Error::NoWords(_)));
    assert!(err.to_string().contains("no words"));
    let err = explainer
        .explain("fine film", &mut excellent_model, Some(2))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::ClassOutOfRange {
            label: 2,
            n_classes: 2
        }
    ));
    assert_eq!(
        err.to_string(),
        "label 2 is out of range: the model predicts 2 classes"
    );
    let mut failing =
        |_: &[String]| -> Result<Vec<Vec<f32>>, BoxError> { Err("model not loaded".into()) };
    let err = explainer
        .explain("fine film", &mut failing, None)
        .unwrap_err();
    assert_eq!(err.to_string(), "prediction failed: model not loaded");
    let mut short = |_: &[String]| -> Result<Vec<Vec<f32>>, BoxError> { Ok(vec![vec![0.5, 0.5]]) };
    assert!(matches!(
        explainer.explain("fine film", &mut short, None),
        Err(Error::BadPrediction { .. })
    ));
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

#[test]
fn ridge_one_feature_by_hand() {
    // x = [0, 1, 2, 3], y = [1, 3, 2, 5], weights [1, 1, 2, 0], alpha = 1
    // sum w = 4, xbar = (0 + 1 + 4 + 0)/4 = 1.25, ybar = (1 + 3 + 4 + 0)/4 = 2
    // Sxx = 1.5625 + 0.0625 + 2 * 0.5625 = 2.75, Sxy = (-1.25)(-1) + (-0.25)(1) + 2 (0.75)(0) = 1
    // beta = 1 / (2.75 + 1) = 4/15, b = 2 - 1.25 * 4/15 = 5/3
    let fit = ridge_fit(
        &[0.0, 1.0, 2.0, 3.0],
        1,
        &[1.0, 3.0, 2.0, 5.0],
        &[1.0, 1.0, 2.0, 0.0],
        1.0,
    )
    .unwrap();
    close(fit.coef[0], 4.0 / 15.0);
    close(fit.intercept, 5.0 / 3.0);
}

#[test]
fn ridge_two_features_by_hand() {
    // rows (1,0) (0,1) (1,1) (0,0), y = 1 + 2 x1 + 3 x2 = [3, 4, 6, 1], unit weights
    // alpha = 0 recovers the exact plane
    let x = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
    let y = [3.0, 4.0, 6.0, 1.0];
    let fit = ridge_fit(&x, 2, &y, &[1.0; 4], 0.0).unwrap();
    close(fit.coef[0], 2.0);
    close(fit.coef[1], 3.0);
    close(fit.intercept, 1.0);
    close(fit.score, 1.0);
    // alpha = 1: centred Xc^T Xc = I, Xc^T yc = [2, 3] -> beta = [2, 3] / (1 + 1) = [1, 1.5]
    // b = 3.5 - 0.5 * 1 - 0.5 * 1.5 = 2.25; predictions [3.25, 3.75, 4.75, 2.25]
    // residuals [-0.25, 0.25, 1.25, -1.25] -> SSres = 3.25; SStot = 0.25 + 0.25 + 6.25 + 6.25 = 13
    // R^2 = 1 - 3.25 / 13 = 0.75
    let fit = ridge_fit(&x, 2, &y, &[1.0; 4], 1.0).unwrap();
    close(fit.coef[0], 1.0);
    close(fit.coef[1], 1.5);
    close(fit.intercept, 2.25);
    close(fit.score, 0.75);
    // singular without penalty: a constant feature has zero centred variance
    assert!(matches!(
        ridge_fit(&[1.0, 1.0, 1.0], 1, &[1.0, 2.0, 3.0], &[1.0; 3], 0.0),
        Err(Error::Singular)
    ));
}

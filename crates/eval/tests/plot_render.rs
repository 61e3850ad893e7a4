//! Renders every figure to `target/test-artifacts/plots` (or `$TEXTRNN_ARTIFACTS/plots`) and
//! checks the files: PNG signature and size, SVG text, no temporary files (`*.tmp`) left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::path::PathBuf;

use textrnn_eval::{confusion_heatmap, history_plot, pr_plot, roc_plot};
use textrnn_eval::{confusion_matrix, precision_recall_curves, roc_curves};

mod common;

fn out_dir() -> PathBuf {
    common::artifacts("plots")
}

fn check_png(path: &PathBuf) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert!(width >= 400, "{} is {width} px wide", path.display());
}

fn ag_news() -> (Vec<String>, Vec<f32>, Vec<u32>) {
    let names: Vec<String> = ["World", "Sports", "Business", "Sci/Tech"]
        .map(String::from)
        .to_vec();
    let mut probs = Vec::new();
    let mut labels = Vec::new();
    for i in 0..200u32 {
        let label = i % 4;
        let mut row = [0.1f32; 4];
        // deterministic "noise": some samples lean to the next class
        let wrong = (i * 7) % 11 < 2 + label;
        let guess = if wrong { (label + 1) % 4 } else { label };
        row[guess as usize] = 0.55 + 0.05 * ((i % 5) as f32);
        let rest = (1.0 - row[guess as usize]) / 3.0;
        for (c, p) in row.iter_mut().enumerate() {
            if c != guess as usize {
                *p = rest;
            }
        }
        probs.extend_from_slice(&row);
        labels.push(label);
    }
    (names, probs, labels)
}

#[test]
fn renders_every_figure() {
    let dir = out_dir();
    let history = vec![
        ("loss".to_string(), vec![0.69, 0.52, 0.41, 0.35, 0.31, 0.28]),
        (
            "accuracy".to_string(),
            vec![0.55, 0.74, 0.82, 0.86, 0.88, 0.90],
        ),
        (
            "val_loss".to_string(),
            vec![0.62, 0.50, 0.45, 0.44, 0.46, 0.49],
        ),
        (
            "val_accuracy".to_string(),
            vec![0.68, 0.77, 0.80, 0.81, 0.81, 0.80],
        ),
        (
            "auc".to_string(),
            vec![0.6, 0.8, 0.88, 0.92, 0.94, f64::NAN],
        ),
    ];
    let mut written = history_plot(&history, &dir.join("history")).unwrap();

    let (names, probs, labels) = ag_news();
    let pred = textrnn_eval::argmax_labels(&probs, 4).unwrap();
    let cm = confusion_matrix(&labels, &pred, &names).unwrap();
    written.extend(confusion_heatmap(&cm, &dir.join("confusion")).unwrap());

    let long: Vec<String> = (0..12)
        .map(|i| format!("a rather long class name {i}"))
        .collect();
    let labels12: Vec<u32> = (0..120).map(|i| i % 12).collect();
    let pred12: Vec<u32> = (0..120).map(|i| (i * 5 + i / 12) % 12).collect();
    let cm12 = confusion_matrix(&labels12, &pred12, &long).unwrap();
    written.extend(confusion_heatmap(&cm12, &dir.join("confusion12")).unwrap());

    let roc = roc_curves(&probs, 4, &labels, &names).unwrap();
    assert_eq!(roc.len(), 4);
    written.extend(roc_plot(&roc, &dir.join("roc")).unwrap());
    let pr = precision_recall_curves(&probs, 4, &labels, &names).unwrap();
    written.extend(pr_plot(&pr, &dir.join("pr")).unwrap());

    let bin_probs: Vec<f32> = (0..50)
        .flat_map(|i| {
            let p = ((i * 37) % 100) as f32 / 100.0;
            [1.0 - p, p]
        })
        .collect();
    let bin_labels: Vec<u32> = (0..50)
        .map(|i| u32::from((i * 37) % 100 > 35 + (i % 3) * 10))
        .collect();
    let bin_names = vec!["negative".to_string(), "positive".to_string()];
    let roc = roc_curves(&bin_probs, 2, &bin_labels, &bin_names).unwrap();
    assert_eq!(roc.len(), 1);
    written.extend(roc_plot(&roc, &dir.join("roc_binary")).unwrap());

    assert_eq!(written.len(), 12);
    for path in &written {
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => check_png(path),
            Some("svg") => {
                let svg = std::fs::read_to_string(path).unwrap();
                assert!(svg.starts_with("<svg"), "{}", path.display());
            }
            other => panic!("unexpected extension {other:?}"),
        }
    }
    let svg = std::fs::read_to_string(dir.join("confusion.svg")).unwrap();
    for name in [
        "World",
        "Sports",
        "Business",
        "Sci/Tech",
        "Predicted label",
        "True label",
    ] {
        assert!(svg.contains(name), "{name} missing from the heatmap");
    }
    let svg = std::fs::read_to_string(dir.join("roc.svg")).unwrap();
    assert!(svg.contains("AUC = ") && svg.contains("False positive rate"));
    let svg = std::fs::read_to_string(dir.join("history.svg")).unwrap();
    assert!(svg.contains("validation") && svg.contains("epoch"));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    println!("figures written to {}", dir.display());
}

#[test]
fn empty_inputs_are_errors() {
    assert!(history_plot(&[], &out_dir().join("none")).is_err());
    assert!(roc_plot(&[], &out_dir().join("none")).is_err());
}

//! User CSV/TSV/JSONL files: label inference, given class names, and every error message.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use textrnn_data::{load, DataConfig, UserFiles};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn csv(train: PathBuf) -> UserFiles {
    UserFiles {
        train,
        ..UserFiles::default()
    }
}

fn err(cfg: DataConfig) -> String {
    load(&cfg, &textrnn_data::LoadOptions::isolated("/nonexistent"))
        .unwrap_err()
        .to_string()
}

#[test]
fn csv_with_inferred_labels_across_splits() {
    let tmp = tempfile::tempdir().unwrap();
    let train = write(
        tmp.path(),
        "train.csv",
        "id,text,label\n1,\"good, really\",pos\n2,bad,neg\n",
    );
    let test = write(tmp.path(), "test.csv", "text,label,id\nokay,neutral,3\n");
    let files = UserFiles {
        test: Some(test),
        ..csv(train)
    };
    let c = load(
        &DataConfig::Csv(files),
        &textrnn_data::LoadOptions::isolated("/x"),
    )
    .unwrap();
    assert_eq!(c.train.class_names, ["neg", "neutral", "pos"]);
    assert_eq!(c.train.labels, vec![2, 0]);
    assert_eq!(c.train.texts[0], "good, really");
    assert_eq!(c.test.unwrap().labels, vec![1]);
}

#[test]
fn tsv_inferred_from_extension_and_numeric_labels_sort_numerically() {
    let tmp = tempfile::tempdir().unwrap();
    let train = write(
        tmp.path(),
        "train.tsv",
        "sentence\tlabel\nit's \"fine\"\t10\nmeh\t2\nbad\t1\n",
    );
    let files = UserFiles {
        text_col: "sentence".into(),
        ..csv(train)
    };
    let c = load(
        &DataConfig::Csv(files),
        &textrnn_data::LoadOptions::isolated("/x"),
    )
    .unwrap();
    assert_eq!(c.train.class_names, ["1", "2", "10"]);
    assert_eq!(c.train.labels, vec![2, 1, 0]);
    assert_eq!(c.train.texts[0], "it's \"fine\"");
}

#[test]
fn given_class_names_fix_ids_and_reject_others() {
    let tmp = tempfile::tempdir().unwrap();
    let train = write(tmp.path(), "t.csv", "text,label\na,pos\nb,neg\nc,maybe\n");
    let names = Some(vec!["pos".to_string(), "neg".to_string()]);
    let files = UserFiles {
        class_names: names.clone(),
        ..csv(train.clone())
    };
    assert_eq!(
        err(DataConfig::Csv(files)),
        format!(
            "{}:4: label \"maybe\" is not one of [\"pos\", \"neg\"]",
            train.display()
        )
    );
    let ok = write(tmp.path(), "ok.csv", "text,label\na,pos\nb,neg\n");
    let files = UserFiles {
        class_names: names,
        ..csv(ok)
    };
    let c = load(
        &DataConfig::Csv(files),
        &textrnn_data::LoadOptions::isolated("/x"),
    )
    .unwrap();
    assert_eq!(c.train.labels, vec![0, 1]);
}

#[test]
fn csv_errors_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "ragged.csv", "text,label\na,pos\nb,neg,extra\n");
    assert_eq!(
        err(DataConfig::Csv(csv(p.clone()))),
        format!("{}:3: ragged row: expected 2 fields, found 3", p.display())
    );
    let p = write(tmp.path(), "nocol.csv", "review,label\na,pos\n");
    assert_eq!(
        err(DataConfig::Csv(csv(p.clone()))),
        format!(
            "{}:1: missing column \"text\" (found: review, label)",
            p.display()
        )
    );
    let p = write(tmp.path(), "empty.csv", "text,label\na,pos\n\"  \",neg\n");
    assert_eq!(
        err(DataConfig::Csv(csv(p.clone()))),
        format!("{}:3: empty value in column \"text\"", p.display())
    );
    let p = write(tmp.path(), "nolabel.csv", "text,label\na,\n");
    assert_eq!(
        err(DataConfig::Csv(csv(p.clone()))),
        format!("{}:2: empty value in column \"label\"", p.display())
    );
    let missing = tmp.path().join("missing.csv");
    let e = err(DataConfig::Csv(csv(missing.clone())));
    assert!(e.starts_with(&missing.display().to_string()), "{e}");
    let files = UserFiles {
        delimiter: Some(';'),
        ..csv(missing)
    };
    assert!(err(DataConfig::Csv(files)).contains("`delimiter`"));
}

#[test]
fn jsonl_reads_string_and_number_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "train.jsonl",
        "{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": 0, \"x\": null}\n",
    );
    let files = UserFiles {
        class_names: Some(vec!["0".into(), "1".into()]),
        ..csv(p)
    };
    let c = load(
        &DataConfig::Jsonl(files),
        &textrnn_data::LoadOptions::isolated("/x"),
    )
    .unwrap();
    assert_eq!(c.train.texts, ["good", "bad"]);
    assert_eq!(c.train.labels, vec![1, 0]);
}

#[test]
fn jsonl_errors_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "a.jsonl",
        "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\n",
    );
    let e = err(DataConfig::Jsonl(csv(p.clone())));
    assert!(
        e.starts_with(&format!("{}:2: invalid JSON line:", p.display())),
        "{e}"
    );
    let p = write(tmp.path(), "b.jsonl", "[1, 2]\n");
    assert_eq!(
        err(DataConfig::Jsonl(csv(p.clone()))),
        format!(
            "{}:1: invalid JSON line: expected a JSON object",
            p.display()
        )
    );
    let p = write(
        tmp.path(),
        "c.jsonl",
        "{\"text\": \"a\", \"label\": \"x\"}\n{\"body\": \"b\", \"label\": \"y\"}\n",
    );
    assert_eq!(
        err(DataConfig::Jsonl(csv(p.clone()))),
        format!(
            "{}:2: missing column \"text\" (found: body, label)",
            p.display()
        )
    );
    let p = write(
        tmp.path(),
        "d.jsonl",
        "{\"text\": \"\", \"label\": \"x\"}\n",
    );
    assert_eq!(
        err(DataConfig::Jsonl(csv(p.clone()))),
        format!("{}:1: empty value in column \"text\"", p.display())
    );
    let p = write(tmp.path(), "e.jsonl", "{\"text\": 5, \"label\": \"x\"}\n");
    assert!(err(DataConfig::Jsonl(csv(p))).contains("must be a string"));
    let p = write(
        tmp.path(),
        "f.jsonl",
        "{\"text\": \"a\", \"label\": \"x\"}\n",
    );
    let files = UserFiles {
        delimiter: Some(','),
        ..csv(p)
    };
    assert!(err(DataConfig::Jsonl(files)).contains("only applies to csv"));
}

//! User files through the data configs: label inference, given class names, ids, fingerprints,
//! every loader error message, `load_labelled_file`, stored splits and `DataConfig::rebase`.
#![allow(clippy::unwrap_used)]

mod common;

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
    let test = write(tmp.path(), "test.csv", "text,label,id\nokay,neutral,3\n");
    let train = write(
        tmp.path(),
        "train.csv",
        "id,text,label\n1,\"good, really\",pos\n2,bad,neg\n3,so-so,neutral\n",
    );
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
    assert_eq!(c.train.labels, vec![2, 0, 1]);
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
        format!(
            "{}:3: empty text in column \"text\"; `textrnn check` lists every empty text",
            p.display()
        )
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
        delimiter: Some(':'),
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
        format!(
            "{}:1: empty text in column \"text\"; `textrnn check` lists every empty text",
            p.display()
        )
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

fn files(train: &Path) -> UserFiles {
    UserFiles {
        train: train.to_path_buf(),
        ..UserFiles::default()
    }
}

fn load_files(files: UserFiles) -> textrnn_data::Result<textrnn_data::Corpus> {
    load(
        &DataConfig::Files(files),
        &textrnn_data::LoadOptions::isolated("/nonexistent"),
    )
}

#[test]
fn files_corpus_mixes_formats_with_ids_and_fingerprints() {
    let tmp = tempfile::tempdir().unwrap();
    let train = write(
        tmp.path(),
        "train.csv",
        "key;text;label\r\nk1;good;1\r\nk2;bad;01\r\nk3;fine;1\r\n",
    );
    let validation = write(
        tmp.path(),
        "val.jsonl",
        "{\"key\": 9, \"text\": \"ok\", \"label\": 1}\n",
    );
    let test = tmp.path().join("test.parquet");
    common::write_parquet(
        &test,
        "text",
        &["meh", "nice"],
        "label",
        common::Labels::Str(&["01", "1"]),
    );
    let cfg = UserFiles {
        validation: Some(validation.clone()),
        test: Some(test.clone()),
        ..files(&train)
    };
    // Ids from the data row.
    let c = load_files(cfg.clone()).unwrap();
    assert_eq!(c.train.class_names, ["01", "1"]);
    assert_eq!(c.train.labels, vec![1, 0, 1]);
    assert_eq!(c.train.ids, ["1", "2", "3"]);
    let v = c.validation.unwrap();
    assert_eq!(
        (v.texts, v.labels, v.ids),
        (vec!["ok".to_string()], vec![1], vec!["1".to_string()])
    );
    let t = c.test.unwrap();
    assert_eq!(
        (t.labels, t.ids),
        (vec![0, 1], vec!["1".to_string(), "2".to_string()])
    );
    assert_eq!(
        c.files
            .iter()
            .map(|f| (f.path.clone(), f.rows))
            .collect::<Vec<_>>(),
        [(train.clone(), 3), (validation, 1), (test, 2)]
    );
    assert_eq!(c.files[0].bytes, std::fs::metadata(&train).unwrap().len());
    assert_eq!(
        c.files[0].sha256,
        common::sha256_hex(&std::fs::read(&train).unwrap())
    );
    // Ids from a column (the parquet test file has none: train and validation only).
    let c = load_files(UserFiles {
        id_col: Some("key".into()),
        test: None,
        ..cfg
    })
    .unwrap();
    assert_eq!(c.train.ids, ["k1", "k2", "k3"]);
    assert_eq!(c.validation.unwrap().ids, ["9"]);
}

#[test]
fn jsonl_big_integer_labels_keep_their_digits() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "t.jsonl",
        "{\"text\": \"a\", \"label\": 12345678901234567890123}\n{\"text\": \"b\", \"label\": 7}\n",
    );
    let c = load_files(files(&p)).unwrap();
    assert_eq!(c.train.class_names, ["7", "12345678901234567890123"]);
    assert_eq!(c.train.labels, vec![1, 0]);
}

#[test]
fn bad_corpora_fail_before_loading_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let train = write(tmp.path(), "train.csv", "text,label\na,pos\nb,neg\n");
    let one = write(tmp.path(), "one.csv", "text,label\na,pos\nb,pos\n");
    assert_eq!(
        load_files(files(&one)).unwrap_err().to_string(),
        format!(
            "the train file {} has only one class \"pos\" (2 rows)",
            one.display()
        )
    );
    let test = write(
        tmp.path(),
        "test.csv",
        "text,label\r\nx,pos\r\ny,neg\r\n\"multi\r\nline\",pos\r\nz,meh\r\nw,bof\r\n",
    );
    let e = load_files(UserFiles {
        test: Some(test.clone()),
        ..files(&train)
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "label \"meh\" appears in {} (first at line 6) but not in the train file {}",
            test.display(),
            train.display()
        )
    );
    let header_only = write(tmp.path(), "val.tsv", "text\tlabel\n");
    let e = load_files(UserFiles {
        validation: Some(header_only.clone()),
        ..files(&train)
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: no records (only a header line)", header_only.display())
    );
    let empty_text = write(
        tmp.path(),
        "e.jsonl",
        "{\"text\": \"a\", \"label\": \"x\"}\n\n{\"text\": \" \", \"label\": \"y\"}\n",
    );
    assert_eq!(
        load_files(files(&empty_text)).unwrap_err().to_string(),
        format!(
            "{}:3: empty text in column \"text\"; `textrnn check` lists every empty text",
            empty_text.display()
        )
    );
    // The format field forces a format whatever the extension.
    let e = load_files(UserFiles {
        format: Some(textrnn_data::FileFormat::Jsonl),
        ..files(&train)
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:1: invalid JSON line: expected a JSON object",
            train.display()
        )
    );
}

#[test]
fn labelled_file_names_every_unknown_label() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "eval.csv",
        "text,stars\na,pos\nb,meh\nc,neg\nd,bof\ne,meh\n",
    );
    let classes = vec!["neg".to_string(), "pos".to_string()];
    let spec = textrnn_data::TableSpec {
        label_col: Some("stars".into()),
        ..textrnn_data::TableSpec::default()
    };
    assert_eq!(
        textrnn_data::load_labelled_file(&p, &spec, &classes)
            .unwrap_err()
            .to_string(),
        format!(
            "{}: 2 label(s) unknown to the run: \"meh\" (first at line 3), \"bof\" (first at line 5); the run's classes are [\"neg\", \"pos\"]",
            p.display()
        )
    );
    let ok = write(tmp.path(), "ok.csv", "text,stars\na,pos\nc,neg\n");
    let ds = textrnn_data::load_labelled_file(&ok, &spec, &classes).unwrap();
    assert_eq!(
        (ds.labels, ds.ids),
        (vec![1, 0], vec!["1".to_string(), "2".to_string()])
    );
    // Twelve unknown labels: ten are named.
    let many: String = (0..12).map(|i| format!("t,l{i}\n")).collect();
    let p = write(tmp.path(), "many.csv", &format!("text,stars\n{many}"));
    let e = textrnn_data::load_labelled_file(&p, &spec, &classes)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(": 12 label(s) unknown to the run: \"l0\" (first at line 2), "),
        "{e}"
    );
    assert!(
        e.contains("\"l9\" (first at line 11), ...; the run's classes"),
        "{e}"
    );
    assert!(!e.contains("\"l10\""), "{e}");
}

#[test]
fn fingerprint_same_changed_missing() {
    use textrnn_data::{fingerprint, FileState};
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "d.csv", "text,label\na,b\n");
    let fp = fingerprint(&p, 1).unwrap();
    assert!(fp.path.is_absolute());
    assert_eq!((fp.bytes, fp.rows), (15, 1));
    assert_eq!(fp.sha256, common::sha256_hex(b"text,label\na,b\n"));
    assert_eq!(fp.state().unwrap(), FileState::Same);
    std::fs::write(&p, "text,label\na,c\n").unwrap();
    assert_eq!(
        fp.state().unwrap(),
        FileState::Changed("sha256 differs".into())
    );
    std::fs::write(&p, "text,label\na,bb\n").unwrap();
    assert_eq!(
        fp.state().unwrap(),
        FileState::Changed("size 15 -> 16 bytes, sha256 differs".into())
    );
    std::fs::remove_file(&p).unwrap();
    assert_eq!(fp.state().unwrap(), FileState::Missing);
    let json = serde_json::to_string(&fp).unwrap();
    assert_eq!(
        serde_json::from_str::<textrnn_data::Fingerprint>(&json).unwrap(),
        fp
    );
}

#[test]
fn stored_split_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let classes = vec!["01".to_string(), "1".to_string(), "a \"b\"".to_string()];
    let ds = textrnn_data::Dataset::new(
        vec![
            "plain".into(),
            "line\nbreak, \"quotes\" and é".into(),
            String::new(),
        ],
        vec![2, 0, 1],
        classes.clone(),
    )
    .unwrap()
    .with_ids(vec!["r9".into(), "12".into(), "x y".into()])
    .unwrap();
    let p = tmp.path().join("run/splits/test.jsonl.gz");
    textrnn_data::save_split(&p, &ds).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(&bytes[..2], [0x1f, 0x8b]);
    assert_eq!(textrnn_data::load_split(&p, &classes).unwrap(), ds);
    // Only the split file is left in its directory (the write was atomic).
    assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    let empty = textrnn_data::Dataset::new(vec![], vec![], classes.clone()).unwrap();
    let q = tmp.path().join("empty.jsonl.gz");
    textrnn_data::save_split(&q, &empty).unwrap();
    assert_eq!(textrnn_data::load_split(&q, &classes).unwrap(), empty);
    let e = textrnn_data::load_split(&p, &classes[..2]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:1: label \"a \\\"b\\\"\" is not one of [\"01\", \"1\"]",
            p.display()
        )
    );
}

#[test]
fn rebase_anchors_relative_paths() {
    let base = Path::new("/recipes/dir");
    let mut c = DataConfig::Files(UserFiles {
        train: "data/train.csv".into(),
        validation: Some("/abs/val.csv".into()),
        test: Some("../test.csv".into()),
        ..UserFiles::default()
    });
    c.rebase(base).unwrap();
    let f = c.user_files().unwrap();
    assert_eq!(f.train, Path::new("/recipes/dir/data/train.csv"));
    assert_eq!(f.validation.as_deref(), Some(Path::new("/abs/val.csv")));
    assert_eq!(
        f.test.as_deref(),
        Some(Path::new("/recipes/dir/../test.csv"))
    );
    let mut c = DataConfig::Tweets {
        path: Some("Tweets.csv".into()),
        hub: None,
    };
    c.rebase(base).unwrap();
    assert_eq!(
        c,
        DataConfig::Tweets {
            path: Some("/recipes/dir/Tweets.csv".into()),
            hub: None
        }
    );
    let mut c = DataConfig::Imdb {
        data_dir: Some("d".into()),
    };
    c.rebase(Path::new("rel")).unwrap();
    assert_eq!(
        c,
        DataConfig::Imdb {
            data_dir: Some(std::env::current_dir().unwrap().join("rel/d"))
        }
    );
    let mut c = DataConfig::AgNews { data_dir: None };
    c.rebase(base).unwrap();
    assert_eq!(c, DataConfig::AgNews { data_dir: None });
    if let Some(f) = c.user_files_mut() {
        f.train = "x".into();
    }
    assert!(c.user_files().is_none());
}

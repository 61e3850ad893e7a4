//! Multi-label user files: label cells split on a separator, JSON Lines label lists, stored
//! splits that keep label sets, and one message per bad input naming the file and line.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use textrnn_data::stored::{load_split, save_split};
use textrnn_data::{load_labelled_file, load_user_files, Dataset, TableSpec, UserFiles};

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn files(train: PathBuf, sep: Option<&str>) -> UserFiles {
    UserFiles {
        train,
        label_sep: sep.map(str::to_string),
        ..UserFiles::default()
    }
}

#[test]
fn separator_splits_and_trims_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let train = write(
        tmp.path(),
        "t.csv",
        "text,label\nx,\"b, a\"\ny,c\nz,\"a,,c \"\n",
    );
    let c = load_user_files(&files(train, Some(",")), None).unwrap();
    let ds = &c.train;
    assert_eq!(ds.class_names, ["a", "b", "c"]);
    assert_eq!(ds.label_sets, Some(vec![vec![0, 1], vec![2], vec![0, 2]]));
    // One label per document for single-label code: the set's first.
    assert_eq!(ds.labels, vec![0, 2, 0]);
    assert_eq!(ds.label_counts(), vec![2, 1, 2]);
}

#[test]
fn json_lists_are_detected_and_mixed_with_strings() {
    let tmp = tempfile::tempdir().unwrap();
    let train = write(
        tmp.path(),
        "t.jsonl",
        "{\"text\": \"x\", \"label\": [\"pos\", \" news \"]}\n{\"text\": \"y\", \"label\": \"neg\"}\n",
    );
    let c = load_user_files(&files(train, None), None).unwrap();
    assert_eq!(c.train.class_names, ["neg", "news", "pos"]);
    assert_eq!(c.train.label_sets, Some(vec![vec![1, 2], vec![0]]));
}

#[test]
fn bad_multi_label_inputs_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let err = |f: UserFiles| load_user_files(&f, None).unwrap_err().to_string();

    let p = write(d, "empty.csv", "text,label\nx,a|b\ny,\" | \"\n");
    assert_eq!(
        err(files(p.clone(), Some("|"))),
        format!(
            "{}:3: no label in column \"label\" (a multi-label row needs at least one)",
            p.display()
        )
    );
    let p = write(
        d,
        "list.jsonl",
        "{\"text\": \"x\", \"label\": [\"a\"]}\n{\"text\": \"y\", \"label\": []}\n",
    );
    assert_eq!(
        err(files(p.clone(), None)),
        format!(
            "{}:2: no label in column \"label\" (a multi-label row needs at least one)",
            p.display()
        )
    );
    let p = write(d, "never.csv", "text,label\nx,a\ny,b\n");
    assert_eq!(
        err(files(p.clone(), Some(";"))),
        format!(
            "{}: the label separator \";\" never occurs in column \"label\" (2 rows); it is almost certainly the wrong separator (for a single-label file, leave it out)",
            p.display()
        )
    );
    let p = write(
        d,
        "nums.jsonl",
        "{\"text\": \"x\", \"label\": [\"a\", 1]}\n",
    );
    assert_eq!(
        err(files(p.clone(), None)),
        format!(
            "{}:1: invalid JSON line: field \"label\" must be a string, number, boolean or a list of strings, found a list holding something other than strings",
            p.display()
        )
    );
    // A label of the test file that training never saw, inside a set.
    let train = write(d, "train.csv", "text,label\nx,\"a,b\"\ny,a\n");
    let test = write(d, "test.csv", "text,label\nz,a\nw,\"b,zzz\"\n");
    let e = err(UserFiles {
        test: Some(test.clone()),
        ..files(train, Some(","))
    });
    assert_eq!(
        e,
        format!(
            "label \"zzz\" appears in {} (first at line 3) but not in the train file {}",
            test.display(),
            d.join("train.csv").display()
        )
    );
    let blank = UserFiles {
        label_sep: Some(" ".into()),
        ..files(d.join("x.csv"), None)
    };
    assert!(err(blank).contains("label_sep"));
}

#[test]
fn stored_splits_keep_label_sets_and_old_ones_load() {
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
    let ds = Dataset::multi_label(
        vec!["x".into(), "y".into()],
        vec![vec![0, 2], vec![1]],
        names.clone(),
    )
    .unwrap();
    let path = tmp.path().join("s.jsonl.gz");
    save_split(&path, &ds).unwrap();
    assert_eq!(load_split(&path, &names).unwrap(), ds);
    let single = Dataset::new(vec!["x".into()], vec![1], names.clone()).unwrap();
    save_split(&path, &single).unwrap();
    let back = load_split(&path, &names).unwrap();
    assert_eq!(back, single);
    assert!(!back.is_multi_label());
}

#[test]
fn labelled_file_reads_sets_with_the_separator() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "e.csv", "text,label\nx,\"a;c\"\ny,b\n");
    let names: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
    let spec = TableSpec {
        label_col: Some("label".into()),
        label_sep: Some(";".into()),
        ..TableSpec::default()
    };
    let ds = load_labelled_file(&p, &spec, &names).unwrap();
    assert_eq!(ds.label_sets, Some(vec![vec![0, 2], vec![1]]));
}

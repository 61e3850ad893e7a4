//! Sample weights from a user file's weight column (`UserFiles::weight_col`, `--weight-col`):
//! read from CSV, TSV, JSONL and parquet into `Dataset::weights` of the train split, and every
//! bad value refused with its file, line and column.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use textrnn_data::{load, DataConfig, LoadOptions, UserFiles};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn weighted(train: PathBuf) -> UserFiles {
    UserFiles {
        train,
        weight_col: Some("w".into()),
        ..UserFiles::default()
    }
}

fn load_files(files: UserFiles) -> textrnn_data::Result<textrnn_data::Corpus> {
    load(
        &DataConfig::Files(files),
        &LoadOptions::isolated("/nonexistent"),
    )
}

/// A parquet file with UTF-8 `text` and `label` columns and a DOUBLE `w` column.
fn write_parquet(path: &Path, rows: &[(&str, &str, f64)]) {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    let schema = "message schema { REQUIRED BYTE_ARRAY text (UTF8); REQUIRED BYTE_ARRAY label (UTF8); REQUIRED DOUBLE w; }";
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, schema, Default::default()).unwrap();
    let mut rg = writer.next_row_group().unwrap();
    for strings in [0, 1] {
        let values: Vec<ByteArray> = rows
            .iter()
            .map(|r| ByteArray::from(if strings == 0 { r.0 } else { r.1 }))
            .collect();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<ByteArrayType>()
            .write_batch(&values, None, None)
            .unwrap();
        col.close().unwrap();
    }
    let weights: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let mut col = rg.next_column().unwrap().unwrap();
    col.typed::<DoubleType>()
        .write_batch(&weights, None, None)
        .unwrap();
    col.close().unwrap();
    rg.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn weights_are_read_from_every_format_for_the_train_split_only() {
    let tmp = tempfile::tempdir().unwrap();
    let want = Some(vec![0.5f32, 2.0, 0.0]);
    let csv = write(
        tmp.path(),
        "train.csv",
        "text,label,w\ngood,pos,0.5\nbad,neg,2\nmeh,neg,0\n",
    );
    // the validation file has no weight column: held-out splits are read without it
    let val = write(tmp.path(), "val.csv", "text,label\nfine,pos\n");
    let files = UserFiles {
        validation: Some(val),
        ..weighted(csv)
    };
    let corpus = load_files(files).unwrap();
    assert_eq!(corpus.train.weights, want);
    assert_eq!(corpus.validation.unwrap().weights, None);

    let tsv = write(
        tmp.path(),
        "train.tsv",
        "text\tlabel\tw\ngood\tpos\t5e-1\nbad\tneg\t2.0\nmeh\tneg\t0\n",
    );
    assert_eq!(load_files(weighted(tsv)).unwrap().train.weights, want);

    // JSON numbers, or strings holding one
    let jsonl = write(
        tmp.path(),
        "train.jsonl",
        "{\"text\":\"good\",\"label\":\"pos\",\"w\":0.5}\n{\"text\":\"bad\",\"label\":\"neg\",\"w\":\"2\"}\n{\"text\":\"meh\",\"label\":\"neg\",\"w\":0}\n",
    );
    assert_eq!(load_files(weighted(jsonl)).unwrap().train.weights, want);

    let parquet = tmp.path().join("train.parquet");
    write_parquet(
        &parquet,
        &[
            ("good", "pos", 0.5),
            ("bad", "neg", 2.0),
            ("meh", "neg", 0.0),
        ],
    );
    assert_eq!(load_files(weighted(parquet)).unwrap().train.weights, want);

    // no weight column asked for: no weights
    let plain = write(tmp.path(), "plain.csv", "text,label\ngood,pos\nbad,neg\n");
    assert_eq!(
        load_files(UserFiles {
            train: plain,
            ..UserFiles::default()
        })
        .unwrap()
        .train
        .weights,
        None
    );
}

#[test]
fn bad_weights_name_the_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("abc", "sample weight \"abc\" is not a number"),
        ("", "sample weight \"\" is not a number"),
        (
            "-1",
            "sample weight \"-1\" is negative (weights must be >= 0)",
        ),
        ("nan", "sample weight \"nan\" is not finite"),
        ("inf", "sample weight \"inf\" is not finite"),
        ("1e39", "sample weight \"1e39\" is not finite"),
    ];
    for (value, message) in cases {
        let p = write(
            tmp.path(),
            "train.csv",
            &format!("text,label,w\ngood,pos,1\nbad,neg,{value}\n"),
        );
        let e = load_files(weighted(p.clone())).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:3: column \"w\": {message}", p.display())
        );
    }
    let p = write(tmp.path(), "nocol.csv", "text,label\ngood,pos\nbad,neg\n");
    let e = load_files(weighted(p.clone())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:1: missing column \"w\" (found: text, label)",
            p.display()
        )
    );
    let p = write(
        tmp.path(),
        "bad.jsonl",
        "{\"text\":\"good\",\"label\":\"pos\",\"w\":1}\n\n{\"text\":\"bad\",\"label\":\"neg\",\"w\":true}\n",
    );
    let e = load_files(weighted(p.clone())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:3: column \"w\": sample weight \"true\" is not a number",
            p.display()
        )
    );
    let p = tmp.path().join("neg.parquet");
    write_parquet(&p, &[("good", "pos", 1.0), ("bad", "neg", -2.5)]);
    let e = load_files(weighted(p.clone())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2: column \"w\": sample weight \"-2.5\" is negative (weights must be >= 0)",
            p.display()
        )
    );
    let p = write(
        tmp.path(),
        "zero.csv",
        "text,label,w\ngood,pos,0\nbad,neg,0.0\n",
    );
    let e = load_files(weighted(p.clone())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: every sample weight in column \"w\" is 0 (2 rows); at least one must be positive",
            p.display()
        )
    );
}

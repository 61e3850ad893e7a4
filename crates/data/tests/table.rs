//! The streaming table reader: every format, format detection, ids, exact values, and every
//! bad-data error with its file and line.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use textrnn_data::{FileFormat, Row, TableReader, TableSpec, Utf8Policy, MAX_LINE_BYTES};

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn labelled() -> TableSpec {
    TableSpec {
        label_col: Some("label".into()),
        ..TableSpec::default()
    }
}

fn rows(path: &Path, spec: &TableSpec) -> Vec<Row> {
    TableReader::open(path, spec)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `(id, line, text, label)` of every row, checking that rows are numbered from 1.
fn summary(path: &Path, spec: &TableSpec) -> Vec<(String, u64, String, Option<String>)> {
    rows(path, spec)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            assert_eq!(r.row, i as u64 + 1);
            (r.id, r.line, r.text, r.label)
        })
        .collect()
}

fn row(
    id: &str,
    line: u64,
    text: &str,
    label: Option<&str>,
) -> (String, u64, String, Option<String>) {
    (id.into(), line, text.into(), label.map(str::to_string))
}

/// The error of opening `path`, or else of the first bad row.
fn error(path: &Path, spec: &TableSpec) -> String {
    match TableReader::open(path, spec) {
        Err(e) => e.to_string(),
        Ok(mut reader) => reader
            .find_map(|r| r.err())
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no error".into()),
    }
}

#[test]
fn csv_values_as_written_ids_from_rows_and_crlf_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "a.csv",
        "text,label\r\n\"two\r\nlines, quoted\",pos\r\n  padded  , neg \r\n,01\r\n",
    );
    let reader = TableReader::open(&p, &labelled()).unwrap();
    assert_eq!(reader.format(), FileFormat::Csv);
    assert_eq!(reader.delimiter(), Some(b','));
    assert_eq!(reader.columns(), ["text", "label"]);
    assert_eq!(
        summary(&p, &labelled()),
        [
            row("1", 2, "two\r\nlines, quoted", Some("pos")),
            row("2", 4, "  padded  ", Some(" neg ")),
            row("3", 5, "", Some("01")),
        ]
    );
    // Blank lines between records are skipped and counted.
    let p = write(tmp.path(), "blank.csv", "text,label\n\na,x\n\r\n\nb,y\n");
    assert_eq!(
        summary(&p, &labelled()),
        [row("1", 3, "a", Some("x")), row("2", 6, "b", Some("y"))]
    );
    // An error after a multi-line record still names the right line of a CRLF file.
    let p = write(
        tmp.path(),
        "ragged.csv",
        "text,label\r\n\"a\r\nb\",pos\r\nc,neg,x\r\n",
    );
    assert_eq!(
        error(&p, &labelled()),
        format!("{}:4: ragged row: expected 2 fields, found 3", p.display())
    );
}

#[test]
fn delimiters_are_sniffed_and_tsv_is_unquoted() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "semi.csv",
        "id;text;label\nr1;\"a; b, c\";pos\nr2;d, e;neg\n",
    );
    let spec = TableSpec {
        id_col: Some("id".into()),
        ..labelled()
    };
    let reader = TableReader::open(&p, &spec).unwrap();
    assert_eq!(
        (reader.format(), reader.delimiter()),
        (FileFormat::Csv, Some(b';'))
    );
    assert_eq!(
        summary(&p, &spec),
        [
            row("r1", 2, "a; b, c", Some("pos")),
            row("r2", 3, "d, e", Some("neg"))
        ]
    );
    let p = write(tmp.path(), "pipe.csv", "text|label\na, b|x\nc|y\n");
    assert_eq!(
        TableReader::open(&p, &labelled()).unwrap().delimiter(),
        Some(b'|')
    );
    assert_eq!(summary(&p, &labelled())[0], row("1", 2, "a, b", Some("x")));
    // A tab-separated `.csv` is sniffed as TSV.
    let p = write(tmp.path(), "tabs.csv", "text\tlabel\nsay \"hi\"\tx\n");
    let reader = TableReader::open(&p, &labelled()).unwrap();
    assert_eq!(
        (reader.format(), reader.delimiter()),
        (FileFormat::Tsv, Some(b'\t'))
    );
    let p = write(tmp.path(), "a.tsv", "label\ttext\nx\tit's \"fine\", ok\n");
    let reader = TableReader::open(&p, &labelled()).unwrap();
    assert_eq!(reader.format(), FileFormat::Tsv);
    assert_eq!(
        summary(&p, &labelled()),
        [row("1", 2, "it's \"fine\", ok", Some("x"))]
    );
    // An explicit delimiter wins over sniffing.
    let p = write(tmp.path(), "forced.csv", "text;label\na;b\n");
    let spec = TableSpec {
        text_col: "text;label".into(),
        delimiter: Some(b','),
        ..TableSpec::default()
    };
    assert_eq!(summary(&p, &spec), [row("1", 2, "a;b", None)]);
}

#[test]
fn plain_text_keeps_every_line_and_txt_tables_are_recognised() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "in.txt", "\u{feff}first, line\r\n\n  \nlast\n");
    let reader = TableReader::open(&p, &TableSpec::default()).unwrap();
    assert_eq!(reader.format(), FileFormat::Txt);
    assert!(reader.columns().is_empty());
    assert_eq!(
        summary(&p, &TableSpec::default()),
        [
            row("1", 1, "first, line", None),
            row("2", 2, "", None),
            row("3", 3, "  ", None),
            row("4", 4, "last", None),
        ]
    );
    // No final newline: the last line is still a row; no extension works the same.
    let p = write(tmp.path(), "inputs", "a\nb");
    assert_eq!(
        summary(&p, &TableSpec::default()),
        [row("1", 1, "a", None), row("2", 2, "b", None)]
    );
    // A `.txt` whose header has the text column is a table.
    let p = write(tmp.path(), "table.txt", "id|text\n7|hello\n");
    let reader = TableReader::open(&p, &TableSpec::default()).unwrap();
    assert_eq!(
        (reader.format(), reader.delimiter()),
        (FileFormat::Csv, Some(b'|'))
    );
    assert_eq!(
        summary(&p, &TableSpec::default()),
        [row("1", 2, "hello", None)]
    );
    // With a label asked for, a file that is not a table cannot be read.
    let p = write(tmp.path(), "notes.txt", "just text\n");
    assert_eq!(
        error(&p, &labelled()),
        format!(
            "{}: cannot tell the file format (no .csv/.tsv/.jsonl/.parquet extension and the first line has no columns \"text\" and \"label\"); pass --format csv|tsv|jsonl|parquet",
            p.display()
        )
    );
    // --format wins over the extension.
    let spec = TableSpec {
        format: Some(FileFormat::Txt),
        ..TableSpec::default()
    };
    let p = write(tmp.path(), "x.csv", "text,label\n");
    assert_eq!(summary(&p, &spec), [row("1", 1, "text,label", None)]);
    assert_eq!(FileFormat::detect(&p, &spec).unwrap(), FileFormat::Txt);
    assert_eq!("JSONL".parse::<FileFormat>(), Ok(FileFormat::Jsonl));
    assert!("xls".parse::<FileFormat>().is_err());
    let spec = TableSpec {
        format: Some(FileFormat::Txt),
        id_col: Some("id".into()),
        ..TableSpec::default()
    };
    assert_eq!(
        error(&p, &spec),
        format!(
            "invalid data config field `format`: {}: a plain text file has no label or id column",
            p.display()
        )
    );
}

#[test]
fn jsonl_values_bom_blank_lines_and_big_integers() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "a.jsonl",
        "\u{feff}{\"text\": \"caf\\u00e9\", \"label\": 12345678901234567890123, \"id\": 7}\r\n\
         \r\n   \n\
         {\"label\": \"01\", \"text\": \"  \", \"id\": \"k\", \"extra\": [1]}\n\
         {\"text\": \"t\", \"label\": true, \"id\": 1.50}\n",
    );
    let spec = TableSpec {
        id_col: Some("id".into()),
        ..labelled()
    };
    let reader = TableReader::open(&p, &spec).unwrap();
    assert_eq!(reader.format(), FileFormat::Jsonl);
    assert_eq!(reader.columns(), ["text", "label", "id"]);
    assert_eq!(
        summary(&p, &spec),
        [
            row("7", 1, "café", Some("12345678901234567890123")),
            row("k", 4, "  ", Some("01")),
            row("1.50", 5, "t", Some("true")),
        ]
    );
    let p = write(tmp.path(), "b.ndjson", "{\"text\": \"x\"}\n");
    assert_eq!(summary(&p, &TableSpec::default()), [row("1", 1, "x", None)]);
}

#[test]
fn jsonl_errors_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "{\"text\": \"a\", \"label\": \"x\"}\n\n{\"text\": \"b\", \"label\": \"y\", \"label\": \"z\"}\n",
            "3: invalid JSON line: duplicated key \"label\"",
        ),
        (
            "{\"text\": \"a\", \"label\": [\"x\", 2]}\n",
            "1: invalid JSON line: field \"label\" must be a string, number, boolean or a list of strings, found a list holding something other than strings",
        ),
        (
            "{\"text\": null, \"label\": \"x\"}\n",
            "1: invalid JSON line: field \"text\" must be a string, found null",
        ),
        (
            "{\"text\": 3, \"label\": \"x\"}\n",
            "1: invalid JSON line: field \"text\" must be a string, found a number",
        ),
        (
            "{\"text\": \"a\", \"label\": null}\n",
            "1: invalid JSON line: field \"label\" must be a string, number, boolean or a list of strings, found null",
        ),
        ("{\"text\": \"a\", \"label\": \"\"}\n", "1: empty value in column \"label\""),
        (
            "{\"text\": \"a\", \"label\": \"x\"}\n{\"body\": \"b\"}\n",
            "2: missing column \"text\" (found: body)",
        ),
        ("[1]\n", "1: invalid JSON line: expected a JSON object"),
    ];
    for (i, (content, expected)) in cases.into_iter().enumerate() {
        let p = write(tmp.path(), &format!("bad{i}.jsonl"), content);
        assert_eq!(
            error(&p, &labelled()),
            format!("{}:{expected}", p.display()),
            "{content}"
        );
    }
}

#[test]
fn no_records_and_duplicated_columns() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, content, reason) in [
        ("empty.csv", "", "the file is empty"),
        ("header.csv", "text,label\r\n", "only a header line"),
        ("empty.jsonl", "", "the file is empty"),
        ("blank.jsonl", "\n  \n", "only blank lines"),
        ("empty.txt", "", "the file is empty"),
    ] {
        let p = write(tmp.path(), name, content);
        let spec = if name.ends_with(".txt") {
            TableSpec::default()
        } else {
            labelled()
        };
        assert_eq!(
            error(&p, &spec),
            format!("{}: no records ({reason})", p.display())
        );
    }
    let p = write(tmp.path(), "dup.csv", "text,label,text\na,b,c\n");
    assert_eq!(
        error(&p, &labelled()),
        format!(
            "{}:1: duplicated column \"text\" in the header",
            p.display()
        )
    );
    let p = write(tmp.path(), "nocol.csv", "text,label\na,b\n");
    let spec = TableSpec {
        id_col: Some("key".into()),
        ..labelled()
    };
    assert_eq!(
        error(&p, &spec),
        format!(
            "{}:1: missing column \"key\" (found: text, label)",
            p.display()
        )
    );
}

#[test]
fn non_utf8_is_an_error_with_its_line_unless_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write(
        tmp.path(),
        "a.csv",
        b"text,label\r\nok,x\r\nbad \xff byte,y\r\n",
    );
    let jsonl = write(
        tmp.path(),
        "a.jsonl",
        b"{\"text\": \"ok\", \"label\": \"x\"}\n\n{\"text\": \"bad \xff\", \"label\": \"y\"}\n",
    );
    for p in [&csv, &jsonl] {
        assert_eq!(
            error(p, &labelled()),
            format!(
                "{}:3: not valid UTF-8; re-encode the file as UTF-8",
                p.display()
            )
        );
        let spec = TableSpec {
            utf8: Utf8Policy::Replace,
            ..labelled()
        };
        let rows = rows(p, &spec);
        assert!(!rows[0].replaced_utf8);
        assert!(rows[1].replaced_utf8);
        assert!(
            rows[1].text.starts_with("bad \u{fffd}"),
            "{:?}",
            rows[1].text
        );
    }
}

#[test]
fn a_line_over_10_mb_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let long = "x".repeat(MAX_LINE_BYTES + MAX_LINE_BYTES / 20);
    let csv = write(
        tmp.path(),
        "long.csv",
        format!("text,label\na,b\n{long},c\n"),
    );
    let jsonl = write(
        tmp.path(),
        "long.jsonl",
        format!(
            "{{\"text\": \"a\", \"label\": \"b\"}}\n{{\"text\": \"{long}\", \"label\": \"c\"}}\n"
        ),
    );
    let txt = write(tmp.path(), "long.txt", format!("a\n{long}\n"));
    // A quoted field spanning many short lines is bounded too.
    let many = "y\n".repeat(MAX_LINE_BYTES / 2 + 100_000);
    let spanning = write(
        tmp.path(),
        "spanning.csv",
        format!("text,label\na,b\n\"{many}\",c\n"),
    );
    for (p, spec, line) in [
        (&csv, labelled(), 3),
        (&jsonl, labelled(), 2),
        (&txt, TableSpec::default(), 2),
    ] {
        assert_eq!(
            error(p, &spec),
            format!(
                "{}:{line}: line longer than 10485760 bytes; is this the right file and format?",
                p.display()
            )
        );
    }
    let e = error(&spanning, &labelled());
    assert!(e.contains("line longer than 10485760 bytes"), "{e}");
}

#[test]
fn parquet_rows_with_string_and_integer_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("a.parquet");
    common::write_parquet(
        &p,
        "review",
        &["good", "", "bad"],
        "stars",
        common::Labels::Int(&[5, 3, -1]),
    );
    let spec = TableSpec {
        text_col: "review".into(),
        label_col: Some("stars".into()),
        ..TableSpec::default()
    };
    let reader = TableReader::open(&p, &spec).unwrap();
    assert_eq!(reader.format(), FileFormat::Parquet);
    assert_eq!(reader.columns(), ["review", "stars"]);
    assert_eq!(
        summary(&p, &spec),
        [
            row("1", 1, "good", Some("5")),
            row("2", 2, "", Some("3")),
            row("3", 3, "bad", Some("-1")),
        ]
    );
    // The label column as id column; string labels.
    let spec = TableSpec {
        id_col: Some("stars".into()),
        ..spec
    };
    assert_eq!(summary(&p, &spec)[2].0, "-1");
    let q = tmp.path().join("b.parquet");
    common::write_parquet(&q, "text", &["a"], "label", common::Labels::Str(&["01"]));
    assert_eq!(summary(&q, &labelled()), [row("1", 1, "a", Some("01"))]);
    assert_eq!(
        error(
            &q,
            &TableSpec {
                text_col: "body".into(),
                ..labelled()
            }
        ),
        format!(
            "{}: missing column \"body\" (found: text, label)",
            q.display()
        )
    );
}

//! Word-vector files in the four formats, written here, read into the rows of the words they
//! name; each malformed file's message.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use textrnn_text::{
    probe_vectors, Coverage, KerasTokenizer, TokenizerConfig, VectorsFormat, VectorsOptions,
    WordVectors,
};

/// word_index: the=1 (3 times), film=2 (2), good=3, bad=4, plot=5: 6 embedding rows.
fn tokenizer() -> KerasTokenizer {
    KerasTokenizer::fit(
        &TokenizerConfig::default(),
        ["The film the", "the good film", "bad plot"],
    )
    .unwrap()
}

/// The rows every file below holds, in file order: `unseen` is not in the vocabulary, `film`
/// occurs twice (the first row wins), `plot` and `bad` are absent.
const ROWS: &[(&str, [f32; 3])] = &[
    ("film", [0.5, -1.25, 3.0]),
    ("unseen", [7.0, 7.0, 7.0]),
    ("the", [0.1, 0.2, -0.3]),
    ("good", [1e-3, -2.5e2, 0.0]),
    ("film", [9.0, 9.0, 9.0]),
];

fn text_rows(header: bool, trailing: &str) -> String {
    let mut s = String::new();
    if header {
        s.push_str(&format!("{} 3\n", ROWS.len()));
    }
    for (w, v) in ROWS {
        // `{:?}` of an f32 is its shortest round-trip form: parsed back bit-exactly.
        s.push_str(&format!("{w} {:?} {:?} {:?}{trailing}\n", v[0], v[1], v[2]));
    }
    s
}

fn binary_rows(rows: &[(&str, [f32; 3])], newline: bool) -> Vec<u8> {
    let mut b = format!("{} 3\n", rows.len()).into_bytes();
    for (w, v) in rows {
        b.extend_from_slice(w.as_bytes());
        b.push(b' ');
        for x in v {
            b.extend_from_slice(&x.to_le_bytes());
        }
        if newline {
            b.push(b'\n');
        }
    }
    b
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn read(path: &Path, dim: usize) -> textrnn_text::Result<WordVectors> {
    WordVectors::read(
        path,
        &tokenizer(),
        &VectorsOptions {
            dim: Some(dim),
            ..Default::default()
        },
    )
}

/// The seeded stand-in for the model's Keras initialisation the tests apply vectors onto.
fn initial_table(rows: usize, dim: usize) -> Vec<f32> {
    (0..rows * dim).map(|i| -0.05 + 0.001 * i as f32).collect()
}

fn check_loaded(v: &WordVectors, format: VectorsFormat) {
    assert_eq!(v.format(), format);
    assert_eq!(v.dim(), 3);
    assert_eq!(v.rows(), 6);
    assert_eq!(v.records(), 5);
    // the=1, film=2 (first row), good=3; bad=4, plot=5 and padding 0 have none.
    assert_eq!(v.vector(1), Some(&[0.1f32, 0.2, -0.3][..]));
    assert_eq!(v.vector(2), Some(&[0.5f32, -1.25, 3.0][..]));
    assert_eq!(v.vector(3), Some(&[1e-3f32, -2.5e2, 0.0][..]));
    for id in [0, 4, 5, 6] {
        assert_eq!(v.vector(id), None, "row {id}");
    }
    assert_eq!(v.coverage(), Coverage { found: 3, total: 5 });
    let init = initial_table(6, 3);
    let mut table = init.clone();
    v.apply(&mut table).unwrap();
    for row in 0..6 {
        let got = &table[row * 3..row * 3 + 3];
        match v.vector(row as u32) {
            Some(want) => assert_eq!(got, want, "row {row}"),
            None => assert_eq!(got, &init[row * 3..row * 3 + 3], "row {row} keeps its init"),
        }
    }
}

#[test]
fn four_formats_fill_exactly_the_rows_of_their_words() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let glove = write(d, "glove.txt", text_rows(false, "").as_bytes());
    check_loaded(&read(&glove, 3).unwrap(), VectorsFormat::Glove);
    // word2vec's C tool ends every row with a space.
    let w2v = write(d, "w2v.txt", text_rows(true, " ").as_bytes());
    check_loaded(&read(&w2v, 3).unwrap(), VectorsFormat::Word2vecText);
    let crlf = text_rows(true, "").replace('\n', "\r\n");
    let vec = write(d, "wiki.vec", crlf.as_bytes());
    check_loaded(&read(&vec, 3).unwrap(), VectorsFormat::Word2vecText);
    let bin = write(d, "w2v.bin", &binary_rows(ROWS, true));
    check_loaded(&read(&bin, 3).unwrap(), VectorsFormat::Word2vecBinary);
    // The final newline of each binary record is optional.
    let bare = write(d, "bare.bin", &binary_rows(ROWS, false));
    check_loaded(&read(&bare, 3).unwrap(), VectorsFormat::Word2vecBinary);
    // gzip, whatever the name.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&binary_rows(ROWS, true)).unwrap();
    let gz = write(d, "w2v.bin.gz", &gz.finish().unwrap());
    check_loaded(&read(&gz, 3).unwrap(), VectorsFormat::Word2vecBinary);

    let info = probe_vectors(&vec, &VectorsOptions::default()).unwrap();
    assert_eq!(
        (info.format, info.dim, info.count),
        (VectorsFormat::Word2vecText, 3, Some(5))
    );
    // An explicit format is taken as given.
    let explicit = VectorsOptions {
        format: VectorsFormat::Glove,
        dim: Some(3),
    };
    let v = WordVectors::read(&glove, &tokenizer(), &explicit).unwrap();
    assert_eq!(v.format(), VectorsFormat::Glove);
    // Same file, same vocabulary: same checksum; another file: another one.
    assert_eq!(
        read(&glove, 3).unwrap().checksum(),
        read(&bin, 3).unwrap().checksum()
    );
    let other = write(d, "other.txt", b"the 1 2 3\n");
    assert_ne!(
        read(&other, 3).unwrap().checksum(),
        read(&glove, 3).unwrap().checksum()
    );
}

#[test]
fn coverage_of_vocabulary_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let glove = write(dir.path(), "g.txt", text_rows(false, "").as_bytes());
    let v = read(&glove, 3).unwrap();
    // Two padded test rows: "the film bad" -> [0, 1, 2, 4], "plot plot good" -> [0, 5, 5, 3].
    // Non-pad tokens: 1, 2, 4, 5, 5, 3 = 6; with a vector: 1, 2, 3 = 3.
    let tokens = [0, 1, 2, 4, 0, 5, 5, 3];
    assert_eq!(v.token_coverage(&tokens), Coverage { found: 3, total: 6 });
    assert_eq!(v.token_coverage(&tokens).share(), 0.5);
    // Vocabulary: the, film, good of the, film, good, bad, plot.
    assert_eq!(v.coverage().share(), 0.6);
    assert_eq!(v.token_coverage(&[0, 0]).share(), 0.0);
}

/// The message of reading `bytes` as a vectors file for a 3-wide embedding.
fn error_of(bytes: &[u8], format: VectorsFormat) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "v.txt", bytes);
    let opts = VectorsOptions {
        format,
        dim: Some(3),
    };
    let err = WordVectors::read(&path, &tokenizer(), &opts).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    msg[path.display().to_string().len()..].to_string()
}

#[test]
fn each_bad_file_gets_its_message() {
    use VectorsFormat::*;
    let cases: Vec<(&[u8], VectorsFormat, &str)> = vec![
        (b"", Auto, ", line 1: the file is empty"),
        (
            b"the 1 2 3\nfilm 1 2\n",
            Auto,
            ", line 2: the row of \"film\" has 2 values, expected 3 (as on line 1)",
        ),
        (
            b"2 3\nthe 1 2 3\nfilm 1 2 3 4\n",
            Auto,
            ", line 3: the row of \"film\" has 4 values, expected 3 (as the header says)",
        ),
        (
            b"two 3\nthe 1 2 3\n",
            Word2vecText,
            ", line 1: the header must be `COUNT DIM` (two positive integers) for the word2vec_text format, found \"two 3\"",
        ),
        (
            b"0 3\n",
            Auto,
            ", line 1: the header `0 3` announces no vectors: COUNT and DIM must be positive",
        ),
        (
            b"the 1 2 3 4 5\n",
            Auto,
            ", line 1: the vectors have 5 values but the embedding's output_dim is 3; set output_dim = 5 or use vectors of size 3",
        ),
        (
            b"2 5\nthe 1 2 3 4 5\n",
            Auto,
            ", line 1: the vectors have 5 values but the embedding's output_dim is 3; set output_dim = 5 or use vectors of size 3",
        ),
        (
            b"the 1 2 3\nfi\xfflm 1 2 3\n",
            Auto,
            ", line 2: the word is not UTF-8 (invalid byte at position 3 of the word)",
        ),
        (
            b"the 1 2 3\nfilm 1 x 3\n",
            Auto,
            ", line 2: value 2 (\"x\") is not a finite number",
        ),
        (
            b"the 1 2 NaN\n",
            Auto,
            ", line 1: value 3 (\"NaN\") is not a finite number",
        ),
        (
            b"3 3\nthe 1 2 3\nfilm 1 2 3\n",
            Auto,
            ", line 1: the header announces 3 words but the file has 2 rows",
        ),
        (
            b"1 3\nthe 1 2 3\nfilm 1 2 3\n",
            Auto,
            ", line 3: the header (line 1) announces 1 words but the file has more rows",
        ),
    ];
    for (bytes, format, want) in cases {
        assert_eq!(
            error_of(bytes, format),
            want,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn bad_binary_files_name_the_byte() {
    let two = [("the", [1.0f32, 2.0, 3.0]), ("film", [4.0, 5.0, 6.0])];
    let whole = binary_rows(&two, true);
    // Header `2 3\n` (4 bytes), record 1 at byte 4: `the ` + 12 + `\n` (17 bytes), record 2 at
    // byte 21: `film ` + 12 + `\n`.
    assert_eq!(whole.len(), 4 + 17 + 18);
    assert_eq!(
        error_of(&whole[..30], VectorsFormat::Auto),
        ", byte 21: truncated record 2 (\"film\"): 4 of its 12 vector bytes are present"
    );
    assert_eq!(
        error_of(&whole[..23], VectorsFormat::Auto),
        ", byte 21: truncated record 2 (the file ends inside its word)"
    );
    let mut bad_word = whole.clone();
    bad_word[22] = 0xff;
    assert_eq!(
        error_of(&bad_word, VectorsFormat::Auto),
        ", byte 22: the word of record 2 is not UTF-8"
    );
    let mut short = whole.clone();
    short[0] = b'3';
    assert_eq!(
        error_of(&short, VectorsFormat::Auto),
        ", byte 39: the header announces 3 words but the file ends after 2"
    );
    let mut long = whole.clone();
    long[0] = b'1';
    assert_eq!(
        error_of(&long, VectorsFormat::Word2vecBinary),
        ", byte 21: the header announces 1 words but more data follows them"
    );
    let mut nan = whole;
    nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        error_of(&nan, VectorsFormat::Auto),
        ", byte 4: value 1 of record 1 is not a finite number"
    );
}

/// GloVe 840B has a few words containing spaces (`. . .`, `at name@domain.com`): the word is
/// everything before the last `dim` values, so the file loads; a row of `dim + 1` numbers is
/// still ragged.
#[test]
fn words_with_spaces_load_as_in_glove_840b() {
    let dir = tempfile::tempdir().unwrap();
    let text = "the 0.1 0.2 -0.3\n. . . 1 2 3\nat name@domain.com 4 5 6\nfilm 0.5 -1.25 3\n";
    let path = write(dir.path(), "glove.840B.txt", text.as_bytes());
    let v = read(&path, 3).unwrap();
    assert_eq!(v.format(), VectorsFormat::Glove);
    assert_eq!(v.records(), 4);
    assert_eq!(v.vector(1), Some(&[0.1f32, 0.2, -0.3][..]));
    assert_eq!(v.vector(2), Some(&[0.5f32, -1.25, 3.0][..]));
    assert_eq!(v.coverage(), Coverage { found: 2, total: 5 });

    let ragged = write(dir.path(), "ragged.txt", b"the 1 2 3\nfilm 1 2 3 4\n");
    let err = read(&ragged, 3).unwrap_err().to_string();
    assert!(
        err.ends_with(", line 2: the row of \"film\" has 4 values, expected 3 (as on line 1)"),
        "{err}"
    );
}

//! The crate's error type: every variant names the file, line, column, field or URL involved.
//!
//! ```
//! use textrnn_data::Error;
//! let e = Error::InvalidLabel {
//!     path: "train.csv".into(),
//!     line: 7,
//!     value: "maybe".into(),
//!     allowed: vec!["neg".into(), "pos".into()],
//! };
//! assert_eq!(e.to_string(), "train.csv:7: label \"maybe\" is not one of [\"neg\", \"pos\"]");
//! ```

use std::path::PathBuf;

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while finding, downloading or parsing a corpus.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing a file into place failed (the message names the file and the step).
    #[error(transparent)]
    Write(#[from] textrnn_fs::Error),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The CSV reader failed (bad quoting, invalid UTF-8, ...).
    #[error("{}:{line}: {message}", path.display())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line where the record starts (0 when unknown).
        line: u64,
        /// What the csv crate reported.
        message: String,
    },

    /// A row has a different number of fields than the header (or the first row).
    #[error("{}:{line}: ragged row: expected {expected} fields, found {found}", path.display())]
    RaggedRow {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line of the offending record.
        line: u64,
        /// Number of fields in the header / first record.
        expected: u64,
        /// Number of fields in this record.
        found: u64,
    },

    /// A record of a fixed-layout file (AG News) has the wrong number of fields.
    #[error("{}:{line}: expected {expected}, found {found} field(s)", path.display())]
    FieldCount {
        /// The file.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// What the layout requires, e.g. `3 fields (class, title, description)`.
        expected: String,
        /// Number of fields found.
        found: usize,
    },

    /// A required column is missing from the header (or a JSON object lacks the field).
    #[error("{}{}: missing column {column:?} (found: {available})", path.display(), at_line(*line))]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// 1-based line (1 for a CSV header; 0, not shown, for a parquet schema).
        line: u64,
        /// The column that was asked for.
        column: String,
        /// The columns that exist, comma separated.
        available: String,
    },

    /// A line of a JSONL file is not a JSON object, or a field has the wrong type.
    #[error("{}:{line}: invalid JSON line: {message}", path.display())]
    Json {
        /// The JSONL file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The parser's message.
        message: String,
    },

    /// A label value is not one of the allowed class names.
    #[error("{}:{line}: label {value:?} is not one of {allowed:?}", path.display())]
    InvalidLabel {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The offending value.
        value: String,
        /// The allowed values.
        allowed: Vec<String>,
    },

    /// A sample weight (`weight_col`) that is not a finite number `>= 0`.
    #[error("{}:{line}: column {column:?}: sample weight {value:?} {reason}", path.display())]
    BadWeight {
        /// The file.
        path: PathBuf,
        /// 1-based line (the row for parquet).
        line: u64,
        /// The weight column.
        column: String,
        /// The value as written.
        value: String,
        /// Why it is refused (`is not a number`, `is negative`, ...).
        reason: String,
    },

    /// Every sample weight of a training file is zero: nothing would be learned.
    #[error("{}: every sample weight in column {column:?} is 0 ({rows} rows); at least one must be positive", path.display())]
    ZeroWeights {
        /// The training file.
        path: PathBuf,
        /// The weight column.
        column: String,
        /// Rows read.
        rows: u64,
    },

    /// A multi-label row whose label cell holds no label (an empty JSON list, or only
    /// separators and blanks).
    #[error("{}:{line}: no label in column {column:?} (a multi-label row needs at least one)", path.display())]
    NoLabel {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The label column.
        column: String,
    },

    /// The label separator never occurs in the training file's label column: almost certainly
    /// the wrong separator.
    #[error("{}: the label separator {sep:?} never occurs in column {column:?} ({rows} rows); it is almost certainly the wrong separator (for a single-label file, leave it out)", path.display())]
    SeparatorNeverOccurs {
        /// The training file.
        path: PathBuf,
        /// The label column.
        column: String,
        /// The separator.
        sep: String,
        /// Rows read.
        rows: u64,
    },

    /// A record has an empty (or whitespace-only) text or label.
    #[error("{}:{line}: empty value in column {column:?}", path.display())]
    EmptyField {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The text or label column.
        column: String,
    },

    /// A user file has no data rows (empty, or only a header line).
    #[error("{}: no records ({reason})", path.display())]
    NoRecords {
        /// The file.
        path: PathBuf,
        /// `the file is empty` or `only a header line`.
        reason: String,
    },

    /// A header names the same column twice.
    #[error("{}:{line}: duplicated column {column:?} in the header", path.display())]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// 1-based line of the header.
        line: u64,
        /// The repeated column name.
        column: String,
    },

    /// A line is longer than [`crate::table::MAX_LINE_BYTES`]; it is refused unread.
    #[error("{}:{line}: line longer than {limit} bytes; is this the right file and format?", path.display())]
    LineTooLong {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The limit in bytes.
        limit: usize,
    },

    /// A line is not valid UTF-8 (and the reader was not told to replace bad bytes).
    #[error("{}:{line}: not valid UTF-8; re-encode the file as UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
    },

    /// The format of a file cannot be told from its name or content.
    #[error("{}: cannot tell the file format ({reason}); pass --format csv|tsv|jsonl|parquet", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Why not.
        reason: String,
    },

    /// A record's text is empty or whitespace only.
    #[error("{}:{line}: empty text in column {column:?}; `textrnn check` lists every empty text", path.display())]
    EmptyText {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The text column.
        column: String,
    },

    /// The train file has a single class: nothing to learn.
    #[error("the train file {} has only one class {label:?} ({rows} rows)", path.display())]
    SingleClass {
        /// The train file.
        path: PathBuf,
        /// Its only label.
        label: String,
        /// Its number of rows.
        rows: u64,
    },

    /// A validation or test file has a label the train file never has.
    #[error("label {label:?} appears in {} (first at line {line}) but not in the train file {}", path.display(), train.display())]
    UnseenLabel {
        /// The validation or test file.
        path: PathBuf,
        /// 1-based line of its first occurrence.
        line: u64,
        /// The label.
        label: String,
        /// The train file.
        train: PathBuf,
    },

    /// Labels of an evaluation file that the run's classes do not have.
    #[error("{}: {} label(s) unknown to the run: {}{}; the run's classes are {classes:?}",
        path.display(),
        count,
        unknown.iter().map(|(l, line)| format!("{l:?} (first at line {line})")).collect::<Vec<_>>().join(", "),
        if *count > unknown.len() { ", ..." } else { "" })]
    UnknownLabels {
        /// The file.
        path: PathBuf,
        /// Up to 10 unknown labels with the line of their first occurrence.
        unknown: Vec<(String, u64)>,
        /// How many distinct unknown labels there are.
        count: usize,
        /// The run's class names.
        classes: Vec<String>,
    },

    /// A parquet file could not be read or lacks the expected columns.
    #[error("{}: parquet: {message}", path.display())]
    Parquet {
        /// The parquet file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// An archive or directory lacks parts of the expected layout.
    #[error("{source_name}: not a complete IMDB corpus, missing {}", missing.join(", "))]
    IncompleteCorpus {
        /// The tarball or directory that was read.
        source_name: String,
        /// The missing parts, e.g. `aclImdb/test/neg/*.txt`.
        missing: Vec<String>,
    },

    /// A member of a corpus archive (or a file of a corpus directory) is larger than the limit;
    /// refused from its header or metadata, before it is read.
    #[error("{archive}: member {member} is {size} bytes, over the limit of {limit} bytes per member; is this the right archive? (TEXTRNN_MAX_MEMBER_BYTES raises the limit)")]
    MemberTooLarge {
        /// The archive or directory.
        archive: String,
        /// The member's path in the archive (or the file's path).
        member: String,
        /// The size its header (or metadata) gives.
        size: u64,
        /// [`crate::LoadOptions::max_member_bytes`].
        limit: u64,
    },

    /// An archive decompresses (or a corpus directory adds up) to more than the total limit.
    #[error("{archive}: expands to more than {limit} bytes (stopped at {member}); is this the right archive? (TEXTRNN_MAX_ARCHIVE_BYTES raises the limit)")]
    ArchiveTooLarge {
        /// The archive or directory.
        archive: String,
        /// The member being read (or skipped) when the limit was passed.
        member: String,
        /// [`crate::LoadOptions::max_archive_bytes`].
        limit: u64,
    },

    /// An HTTP transfer failed (connection, HTTP status, ...).
    #[error("download of {url} failed: {message}")]
    Http {
        /// The URL.
        url: String,
        /// HTTP status or transport error.
        message: String,
    },

    /// The server closed the connection before sending the announced `Content-Length`.
    #[error("download of {url} truncated: received {received} of {expected} bytes")]
    Truncated {
        /// The URL.
        url: String,
        /// The announced length.
        expected: u64,
        /// Bytes actually received.
        received: u64,
    },

    /// A downloaded or cached file does not have the expected sha256.
    #[error("checksum mismatch for {url}: expected sha256 {expected}, got {actual}")]
    Checksum {
        /// The URL (or cached path) the data came from.
        url: String,
        /// The expected hex digest.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },

    /// A Hugging Face Hub operation failed.
    #[error("Hugging Face Hub dataset {repo} (file {file}): {message}")]
    Hub {
        /// Dataset id, e.g. `stanfordnlp/imdb`.
        repo: String,
        /// Repository path of the file (or `*` for a listing).
        file: String,
        /// The hub client's message.
        message: String,
    },

    /// No source could supply the corpus; the message lists every attempt and every way to supply it.
    #[error("could not load {corpus}:\n{}\nTo supply the data:\n{}", tried.iter().map(|t| format!("  - tried {t}")).collect::<Vec<_>>().join("\n"), how.iter().map(|h| format!("  - {h}")).collect::<Vec<_>>().join("\n"))]
    NotFound {
        /// Corpus name, e.g. `IMDB`.
        corpus: String,
        /// Each source tried and why it failed.
        tried: Vec<String>,
        /// Every way to supply the data.
        how: Vec<String>,
    },

    /// A configuration value is invalid.
    #[error("invalid data config field `{field}`: {message}")]
    Config {
        /// The field, e.g. `delimiter`.
        field: String,
        /// What is wrong.
        message: String,
    },

    /// Invalid arguments to a split function (fractions out of range, ...).
    #[error("invalid split: {0}")]
    Split(String),

    /// A dataset's parts are inconsistent (lengths or label range).
    #[error("invalid dataset: {0}")]
    Dataset(String),

    /// A bundled manifest in `datasets/` does not parse.
    #[error("manifest datasets/{name}.toml: {message}")]
    Manifest {
        /// Manifest name, e.g. `imdb`.
        name: String,
        /// The TOML parser's message.
        message: String,
    },

    /// An output file's extension names no format the table writer knows.
    #[error("{}: unknown output format: the file name must end in {supported}", path.display())]
    UnsupportedOutput {
        /// The output file.
        path: PathBuf,
        /// The supported extensions, comma separated.
        supported: String,
    },

    /// A row given to the table writer does not match its columns.
    #[error("{}: row {row}: {message}", path.display())]
    OutputRow {
        /// The output file.
        path: PathBuf,
        /// 1-based data row (header excluded).
        row: u64,
        /// What does not match.
        message: String,
    },
}

/// `:line`, or nothing for line 0 (a parquet schema has no line).
fn at_line(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Converts a csv error into [`Error::RaggedRow`] or [`Error::Csv`], keeping its position.
    pub fn csv(path: impl Into<PathBuf>, err: csv::Error) -> Self {
        let path = path.into();
        let line = err.position().map(|p| p.line()).unwrap_or(0);
        match err.kind() {
            csv::ErrorKind::UnequalLengths {
                pos,
                expected_len,
                len,
            } => Error::RaggedRow {
                path,
                line: pos.as_ref().map(|p| p.line()).unwrap_or(line),
                expected: *expected_len,
                found: *len,
            },
            csv::ErrorKind::Io(e) => Error::Io {
                path,
                source: std::io::Error::new(e.kind(), e.to_string()),
            },
            _ => Error::Csv {
                path,
                line,
                message: err.to_string(),
            },
        }
    }
}

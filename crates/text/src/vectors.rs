//! Pretrained word vectors (GloVe, word2vec, fastText) read into the rows of a fitted
//! [`KerasTokenizer`]'s embedding table.
//!
//! Formats ([`VectorsFormat`]):
//! - GloVe text: `word v1 ... vD` per line, no header;
//! - word2vec text and fastText `.vec`: a header line `COUNT DIM`, then rows as in GloVe;
//! - word2vec binary: the header line `COUNT DIM\n`, then per word its UTF-8 bytes, a space, `DIM`
//!   little-endian `f32` and an optional `\n`.
//!
//! [`VectorsFormat::Auto`] detects the format from the content: a first line of exactly two
//! integers is a header (else the file is GloVe); after a header, a first record that is a
//! UTF-8 line without control characters is text, anything else binary. A gzip file (magic bytes
//! `1f 8b`, whatever its name) is decompressed on the fly; byte offsets then count decompressed
//! bytes.
//!
//! The file is streamed (one line or record in memory at a time) and only the rows of words the
//! vocabulary needs are kept, so memory is bounded by `vocabulary x DIM`, never by the file size.
//! Words are looked up as the tokenizer stores them (after its lowercasing and filters); when a
//! word occurs twice, its first row wins (as gensim's `KeyedVectors` keeps the first). Rows may
//! separate their values with spaces or tabs and end in trailing whitespace or `\r\n`; blank
//! lines are skipped. Every value of every row is parsed and must be a finite number.
//!
//! Errors ([`Error::Vectors`]) name the file and the 1-based line (text) or the byte offset
//! (binary): an empty file, a header that is not two positive integers, a row with the wrong
//! number of values, a value that is not a finite number, a word that is not UTF-8, a header
//! count that disagrees with the rows, a truncated binary record, a vector size other than the
//! embedding's `output_dim` ([`VectorsOptions::dim`]).
//!
//! The embedding table ([`WordVectors::apply`]) takes the found rows; every other row, padding
//! row 0 included, keeps the value it was given, which the caller draws as Keras does
//! (uniform(-0.05, 0.05), see `textrnn-models`' seeded initialisers).
//!
//! ```
//! use textrnn_text::{KerasTokenizer, TokenizerConfig, VectorsOptions, WordVectors};
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("glove.txt");
//! std::fs::write(&path, "film 0.5 -1\nthe 0.25 2\nunused 9 9\n")?;
//! let tok = KerasTokenizer::fit(&TokenizerConfig::default(), ["the film", "the end"])?;
//! let vectors = WordVectors::read(&path, &tok, &VectorsOptions { dim: Some(2), ..Default::default() })?;
//! // the=1, film=2, end=3: two of the three words have a vector
//! assert_eq!(vectors.vector(1), Some(&[0.25f32, 2.0][..]));
//! assert_eq!(vectors.coverage().found, 2);
//! let mut table = vec![0.0f32; 4 * 2]; // rows 0..4, already initialised by the caller
//! vectors.apply(&mut table)?;
//! assert_eq!(table, [0.0, 0.0, 0.25, 2.0, 0.5, -1.0, 0.0, 0.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::KerasTokenizer;

/// The longest text line (or binary word) read; longer ones are refused without reading them whole.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// The format of a vectors file (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VectorsFormat {
    /// Detected from the content.
    #[default]
    Auto,
    /// GloVe text: no header.
    Glove,
    /// word2vec text or fastText `.vec`: a `COUNT DIM` header, then text rows.
    Word2vecText,
    /// word2vec binary: a `COUNT DIM` header, then binary records.
    Word2vecBinary,
}

impl VectorsFormat {
    /// A short name (`glove`, `word2vec_text`, ...), as in serde.
    pub fn name(&self) -> &'static str {
        match self {
            VectorsFormat::Auto => "auto",
            VectorsFormat::Glove => "glove",
            VectorsFormat::Word2vecText => "word2vec_text",
            VectorsFormat::Word2vecBinary => "word2vec_binary",
        }
    }
}

/// How to read a vectors file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VectorsOptions {
    /// The format; [`VectorsFormat::Auto`] detects it.
    pub format: VectorsFormat,
    /// The vector size the embedding needs (its `output_dim`); `None` accepts the file's.
    pub dim: Option<usize>,
}

/// What the start of a vectors file says, from [`probe_vectors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorsInfo {
    /// The format found (never `Auto`).
    pub format: VectorsFormat,
    /// The vector size.
    pub dim: usize,
    /// The header's word count (none for GloVe).
    pub count: Option<usize>,
}

/// Found items out of a total (words of a vocabulary, tokens of a split).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Items that have a vector.
    pub found: usize,
    /// All items.
    pub total: usize,
}

impl Coverage {
    /// `found / total` (0 when there is nothing to cover).
    pub fn share(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.found as f64 / self.total as f64
        }
    }
}

/// The vectors of a vocabulary's words read from a file (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct WordVectors {
    format: VectorsFormat,
    dim: usize,
    records: usize,
    /// Per embedding row: the index of its vector in `values` (in units of `dim`), or `NONE`.
    slot: Vec<u32>,
    values: Vec<f32>,
}

const NONE: u32 = u32::MAX;

impl WordVectors {
    /// Reads the vectors of `tokenizer`'s words (rows `1..vocab_size()`; row 0 is padding).
    pub fn read(path: &Path, tokenizer: &KerasTokenizer, opts: &VectorsOptions) -> Result<Self> {
        let rows = tokenizer.vocab_size();
        let words = (1..rows).filter_map(|id| Some((tokenizer.index_word(id as u32)?, id as u32)));
        Self::read_words(path, rows, words, opts)
    }

    /// Reads the vectors of `words` (word, row), for a table of `rows` rows; a row that is not
    /// named keeps no vector. Rows `>= rows` are ignored.
    pub fn read_words<'w>(
        path: &Path,
        rows: usize,
        words: impl IntoIterator<Item = (&'w str, u32)>,
        opts: &VectorsOptions,
    ) -> Result<Self> {
        let lookup: HashMap<&str, u32> = words
            .into_iter()
            .filter(|(_, id)| (*id as usize) < rows)
            .collect();
        let mut reader = Reader::open(path, opts)?;
        let dim = reader.dim;
        let mut out = Self {
            format: reader.format,
            dim,
            records: 0,
            slot: vec![NONE; rows],
            values: Vec::new(),
        };
        let mut found = 0u32;
        while let Some(word) = reader.next_record()? {
            out.records += 1;
            let Some(&id) = lookup.get(word) else {
                continue;
            };
            let slot = &mut out.slot[id as usize];
            if *slot == NONE {
                *slot = found;
                found += 1;
                out.values.extend_from_slice(&reader.values);
            }
        }
        tracing::debug!(
            file = %path.display(),
            format = out.format.name(),
            dim,
            records = out.records,
            found,
            "read word vectors"
        );
        Ok(out)
    }

    /// The format read (never `Auto`).
    pub fn format(&self) -> VectorsFormat {
        self.format
    }

    /// The vector size.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Rows (text) or records (binary) in the file.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Rows of the embedding table (padding included).
    pub fn rows(&self) -> usize {
        self.slot.len()
    }

    /// The vector of embedding row `id`, when its word was found.
    pub fn vector(&self, id: u32) -> Option<&[f32]> {
        let slot = *self.slot.get(id as usize)?;
        if slot == NONE {
            return None;
        }
        let at = slot as usize * self.dim;
        self.values.get(at..at + self.dim)
    }

    /// Vocabulary words found: rows `1..rows()` that have a vector (padding excluded).
    pub fn coverage(&self) -> Coverage {
        Coverage {
            found: self.slot.iter().skip(1).filter(|s| **s != NONE).count(),
            total: self.rows().saturating_sub(1),
        }
    }

    /// Tokens found: of the non-padding ids in `tokens` (e.g. an encoded split), those whose row
    /// has a vector.
    pub fn token_coverage(&self, tokens: &[u32]) -> Coverage {
        let real = tokens.iter().filter(|t| **t != 0);
        Coverage {
            found: real.clone().filter(|t| self.vector(**t).is_some()).count(),
            total: real.count(),
        }
    }

    /// Writes the found vectors into their rows of `table` (`rows() x dim()`, row-major); the
    /// other rows are left as they are.
    pub fn apply(&self, table: &mut [f32]) -> Result<()> {
        if Some(table.len()) != self.rows().checked_mul(self.dim) {
            return Err(Error::invalid(
                "weights",
                format!(
                    "an embedding table of {} values cannot take {} rows of {} values",
                    table.len(),
                    self.rows(),
                    self.dim
                ),
            ));
        }
        for (row, chunk) in table.chunks_exact_mut(self.dim).enumerate() {
            if let Some(v) = self.vector(row as u32) {
                chunk.copy_from_slice(v);
            }
        }
        Ok(())
    }

    /// A fingerprint of the vectors kept (FNV-1a over each found row's id and value bits): the
    /// same file and vocabulary give the same value, so a resumed run can tell that its
    /// vectors file changed.
    pub fn checksum(&self) -> u64 {
        let mut h = Fnv::default();
        for id in 0..self.rows() as u32 {
            if let Some(v) = self.vector(id) {
                h.write(&id.to_le_bytes());
                for x in v {
                    h.write(&x.to_bits().to_le_bytes());
                }
            }
        }
        h.0
    }
}

/// Reads the header (or first row) and the first record of a vectors file: its format and
/// vector size, checked against `opts.dim`. Cheap: it is how a recipe's vectors file is
/// validated before any long work.
pub fn probe_vectors(path: &Path, opts: &VectorsOptions) -> Result<VectorsInfo> {
    let mut reader = Reader::open(path, opts)?;
    reader.next_record()?;
    Ok(VectorsInfo {
        format: reader.format,
        dim: reader.dim,
        count: reader.count,
    })
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The streaming record reader behind [`WordVectors::read_words`] and [`probe_vectors`].
struct Reader {
    path: PathBuf,
    input: Box<dyn BufRead>,
    format: VectorsFormat,
    dim: usize,
    /// The header's count (word2vec and fastText).
    count: Option<usize>,
    /// 1-based line of the last text line read.
    line: usize,
    /// Bytes consumed so far.
    offset: u64,
    /// The current line or record (reused).
    buf: Vec<u8>,
    /// The current record's word, as a byte range of `buf`.
    word: std::ops::Range<usize>,
    /// The current record's values (reused).
    values: Vec<f32>,
    /// A first GloVe row read to learn the size, returned by the first `next_record`.
    pending: bool,
    /// Text rows read (header and blank lines excluded).
    text_rows: usize,
    /// Binary records read.
    binary_records: usize,
}

impl Reader {
    fn open(path: &Path, opts: &VectorsOptions) -> Result<Self> {
        let io = io_error(path);
        let file = File::open(path).map_err(io)?;
        let mut raw = BufReader::with_capacity(1 << 20, file);
        let gzip = raw.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
        let input: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::read::MultiGzDecoder::new(raw),
            ))
        } else {
            Box::new(raw)
        };
        let mut r = Self {
            path: path.to_path_buf(),
            input,
            format: opts.format,
            dim: 0,
            count: None,
            line: 0,
            offset: 0,
            buf: Vec::new(),
            word: 0..0,
            values: Vec::new(),
            pending: false,
            text_rows: 0,
            binary_records: 0,
        };
        r.start(opts)?;
        Ok(r)
    }

    fn err(&self, at: String, reason: impl Into<String>) -> Error {
        Error::Vectors {
            path: self.path.clone(),
            at,
            reason: reason.into(),
        }
    }

    fn at_line(&self, reason: impl Into<String>) -> Error {
        self.err(format!("line {}", self.line), reason)
    }

    fn at_byte(&self, offset: u64, reason: impl Into<String>) -> Error {
        self.err(format!("byte {offset}"), reason)
    }

    /// Reads the header or the first row and settles the format and the size.
    fn start(&mut self, opts: &VectorsOptions) -> Result<()> {
        if !self.read_line()? {
            return Err(self.err("line 1".into(), "the file is empty"));
        }
        let header = parse_header(trim_end(&self.buf));
        match (self.format, header) {
            (VectorsFormat::Glove, _) | (VectorsFormat::Auto, None) => {
                self.format = VectorsFormat::Glove;
                // The first row gives the size.
                self.parse_text_row(None)?;
                self.dim = self.values.len();
                self.pending = true;
            }
            (_, Some((count, dim))) => {
                if count == 0 || dim == 0 {
                    return Err(self.at_line(format!(
                        "the header `{count} {dim}` announces no vectors: COUNT and DIM must be positive"
                    )));
                }
                self.count = Some(count);
                self.dim = dim;
            }
            (_, None) => {
                return Err(self.at_line(format!(
                    "the header must be `COUNT DIM` (two positive integers) for the {} format, found {:?}",
                    self.format.name(),
                    shorten(trim_end(&self.buf))
                )))
            }
        }
        if let Some(want) = opts.dim {
            if self.dim != want {
                return Err(self.err(
                    "line 1".into(),
                    format!(
                        "the vectors have {} values but the embedding's output_dim is {want}; set output_dim = {} or use vectors of size {want}",
                        self.dim, self.dim
                    ),
                ));
            }
        }
        if self.format == VectorsFormat::Auto {
            self.format = self.sniff_body()?;
        }
        Ok(())
    }

    /// After a header: text when the first record is a UTF-8 line without control characters,
    /// else binary. The bytes looked at are put back in front of the input.
    fn sniff_body(&mut self) -> Result<VectorsFormat> {
        let mut head = Vec::new();
        let limit = self.dim.saturating_mul(32).saturating_add(4096) as u64;
        (&mut self.input)
            .take(limit)
            .read_until(b'\n', &mut head)
            .map_err(io_error(&self.path))?;
        let text = std::str::from_utf8(trim_end(&head))
            .is_ok_and(|s| !s.chars().any(|c| c.is_control() && c != '\t'));
        let rest = std::mem::replace(&mut self.input, Box::new(std::io::empty()));
        self.input = Box::new(Cursor::new(head).chain(rest));
        Ok(if text {
            VectorsFormat::Word2vecText
        } else {
            VectorsFormat::Word2vecBinary
        })
    }

    /// Replaces `buf` with the input up to and including `delim` (at most [`MAX_LINE_BYTES`]
    /// + 1 bytes): the number of bytes read.
    fn read_until(&mut self, delim: u8) -> Result<usize> {
        self.buf.clear();
        (&mut self.input)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(delim, &mut self.buf)
            .map_err(io_error(&self.path))
    }

    /// Reads one line into `buf` (with its `\n`); `false` at the end of the input.
    fn read_line(&mut self) -> Result<bool> {
        let n = self.read_until(b'\n')?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        self.offset += n as u64;
        if n > MAX_LINE_BYTES {
            return Err(self.at_line(format!("the line is longer than {MAX_LINE_BYTES} bytes")));
        }
        Ok(true)
    }

    /// The next record's word (its values in `self.values`), `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<&str>> {
        if std::mem::take(&mut self.pending) {
            return Ok(Some(self.word()));
        }
        let more = match self.format {
            VectorsFormat::Word2vecBinary => self.next_binary()?,
            _ => self.next_text()?,
        };
        Ok(more.then(|| self.word()))
    }

    fn word(&self) -> &str {
        // `word` was checked to be UTF-8 when the record was read.
        std::str::from_utf8(&self.buf[self.word.clone()]).unwrap_or_default()
    }

    fn next_text(&mut self) -> Result<bool> {
        loop {
            if !self.read_line()? {
                return self.check_count_at_end(self.text_rows);
            }
            if !trim_end(&self.buf).is_empty() {
                break;
            }
        }
        if let Some(count) = self.count {
            if self.text_rows == count {
                return Err(self.at_line(format!(
                    "the header (line 1) announces {count} words but the file has more rows"
                )));
            }
        }
        self.parse_text_row(Some(self.dim))?;
        Ok(true)
    }

    fn check_count_at_end(&self, rows: usize) -> Result<bool> {
        match self.count {
            Some(count) if rows != count => Err(self.err(
                "line 1".into(),
                format!("the header announces {count} words but the file has {rows} rows"),
            )),
            _ => Ok(false),
        }
    }

    /// Splits the line in `buf` into its word and values; `dim` is the number of values
    /// expected (`None` for the first GloVe row, which sets it).
    fn parse_text_row(&mut self, dim: Option<usize>) -> Result<()> {
        let line = trim_end(&self.buf);
        let start = line.iter().take_while(|b| **b == b' ').count();
        let first_end = line[start..]
            .iter()
            .position(|b| *b == b' ' || *b == b'\t')
            .map_or(line.len(), |p| start + p);
        // A GloVe 840B word with spaces makes its row fail as written; only such a row is read
        // again with the word extended ([`word_end_with_spaces`]), so other rows are scanned once.
        match (self.parse_fields(start, first_end, dim), dim) {
            (Err(e), Some(d)) => {
                let end = word_end_with_spaces(trim_end(&self.buf), first_end, d);
                if end == first_end {
                    return Err(e);
                }
                self.parse_fields(start, end, dim)
            }
            (result, _) => result,
        }
    }

    /// Reads the row in `buf` as the word `start..end` followed by its values (see
    /// [`Self::parse_text_row`]).
    fn parse_fields(&mut self, start: usize, end: usize, dim: Option<usize>) -> Result<()> {
        let line = trim_end(&self.buf);
        if let Err(e) = std::str::from_utf8(&line[start..end]) {
            return Err(self.at_line(format!(
                "the word is not UTF-8 (invalid byte at position {} of the word)",
                e.valid_up_to() + 1
            )));
        }
        self.word = start..end;
        self.values.clear();
        for field in line[end..]
            .split(|b| *b == b' ' || *b == b'\t')
            .filter(|f| !f.is_empty())
        {
            let value = std::str::from_utf8(field)
                .ok()
                .and_then(|s| s.parse::<f32>().ok())
                .filter(|v| v.is_finite());
            match value {
                Some(v) => self.values.push(v),
                None => {
                    return Err(self.at_line(format!(
                        "value {} ({:?}) is not a finite number",
                        self.values.len() + 1,
                        shorten(field)
                    )))
                }
            }
        }
        match dim {
            Some(d) if self.values.len() != d => Err(self.at_line(format!(
                "the row of {:?} has {} values, expected {d} (as {})",
                String::from_utf8_lossy(&line[start..end]),
                self.values.len(),
                if self.count.is_some() {
                    "the header says"
                } else {
                    "on line 1"
                }
            ))),
            None if self.values.is_empty() => Err(self.at_line("the row has a word but no values")),
            _ => {
                self.text_rows += 1;
                Ok(())
            }
        }
    }

    /// The next binary record: word, space, `dim` little-endian f32, optional `\n`.
    fn next_binary(&mut self) -> Result<bool> {
        let count = self.count.unwrap_or(0);
        // Skip the newline that ends the previous record.
        let skipped = self.skip_newlines()?;
        if self.binary_records == count {
            if skipped.1 {
                return Ok(false);
            }
            return Err(self.at_byte(
                self.offset,
                format!("the header announces {count} words but more data follows them"),
            ));
        }
        if skipped.1 {
            return Err(self.at_byte(
                self.offset,
                format!(
                    "the header announces {count} words but the file ends after {}",
                    self.binary_records
                ),
            ));
        }
        let record = self.offset;
        let n = self.read_until(b' ')?;
        self.offset += n as u64;
        if self.buf.last() != Some(&b' ') {
            return Err(self.at_byte(
                record,
                if n > MAX_LINE_BYTES {
                    format!("no space after the word within {MAX_LINE_BYTES} bytes")
                } else {
                    format!(
                        "truncated record {} (the file ends inside its word)",
                        self.binary_records + 1
                    )
                },
            ));
        }
        let word_end = self.buf.len() - 1;
        if let Err(e) = std::str::from_utf8(&self.buf[..word_end]) {
            return Err(self.at_byte(
                record + e.valid_up_to() as u64,
                format!(
                    "the word of record {} is not UTF-8",
                    self.binary_records + 1
                ),
            ));
        }
        self.word = 0..word_end;
        let bytes = self.dim * 4;
        let at = self.buf.len();
        self.buf.resize(at + bytes, 0);
        let mut got = 0;
        while got < bytes {
            let n = self
                .input
                .read(&mut self.buf[at + got..])
                .map_err(io_error(&self.path))?;
            if n == 0 {
                return Err(self.at_byte(
                    record,
                    format!(
                        "truncated record {} ({:?}): {got} of its {bytes} vector bytes are present",
                        self.binary_records + 1,
                        String::from_utf8_lossy(&self.buf[..word_end])
                    ),
                ));
            }
            got += n;
        }
        self.offset += bytes as u64;
        self.values.clear();
        for (i, c) in self.buf[at..].chunks_exact(4).enumerate() {
            let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if !v.is_finite() {
                return Err(self.at_byte(
                    record,
                    format!(
                        "value {} of record {} is not a finite number",
                        i + 1,
                        self.binary_records + 1
                    ),
                ));
            }
            self.values.push(v);
        }
        self.binary_records += 1;
        Ok(true)
    }

    /// Consumes `\n` and `\r` bytes; returns how many and whether the input ended.
    fn skip_newlines(&mut self) -> Result<(usize, bool)> {
        let mut skipped = 0;
        loop {
            let buf = self.input.fill_buf().map_err(io_error(&self.path))?;
            if buf.is_empty() {
                return Ok((skipped, true));
            }
            let n = buf
                .iter()
                .take_while(|b| **b == b'\n' || **b == b'\r')
                .count();
            let whole = n == buf.len();
            self.input.consume(n);
            self.offset += n as u64;
            skipped += n;
            if !whole {
                return Ok((skipped, false));
            }
        }
    }
}

/// The I/O error of `path`.
fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + Copy + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `COUNT DIM`: two integers and nothing else.
fn parse_header(line: &[u8]) -> Option<(usize, usize)> {
    let s = std::str::from_utf8(line).ok()?;
    let mut it = s.split_ascii_whitespace();
    let count = it.next()?.parse::<usize>().ok()?;
    let dim = it.next()?.parse::<usize>().ok()?;
    it.next().is_none().then_some((count, dim))
}

/// `line` without its trailing whitespace (`\n`, `\r\n`, spaces, tabs).
fn trim_end(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &line[..end]
}
/// Where the word of a text row ends when the row has more than `dim` fields after its first
/// one: GloVe 840B has a few words containing spaces (`". . ."`, `"at name@domain.com"`), so the
/// word is everything before the last `dim` fields, provided one of those extra fields is not a
/// number (a row of `dim + 1` numbers stays a ragged row). `end` is the end of the first field.
fn word_end_with_spaces(line: &[u8], end: usize, dim: usize) -> usize {
    let is_sep = |b: &u8| *b == b' ' || *b == b'\t';
    // Byte ranges of the fields after the first one.
    let mut fields = Vec::new();
    let mut i = end;
    while i < line.len() {
        if is_sep(&line[i]) {
            i += 1;
            continue;
        }
        let j = line[i..]
            .iter()
            .position(is_sep)
            .map_or(line.len(), |p| i + p);
        fields.push(i..j);
        i = j;
    }
    if fields.len() <= dim {
        return end;
    }
    let extra = &fields[..fields.len() - dim];
    let numeric = |r: &std::ops::Range<usize>| {
        std::str::from_utf8(&line[r.clone()])
            .ok()
            .and_then(|s| s.parse::<f32>().ok())
            .is_some()
    };
    if extra.iter().all(numeric) {
        return end;
    }
    extra.last().map_or(end, |r| r.end)
}

/// At most 40 bytes of `bytes`, as lossy text, for messages.
fn shorten(bytes: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
    if bytes.len() > 40 {
        s.push_str("...");
    }
    s
}

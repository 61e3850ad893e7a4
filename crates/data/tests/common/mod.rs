//! Test helpers: generated IMDB tarballs, parquet files, a fake Hugging Face cache and a tiny
//! loopback HTTP/1.1 server.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;

/// `aclImdb/...` members of a small corpus: 3 train/neg, 2 train/pos, 2 test/neg, 2 test/pos,
/// plus members the reader must skip. Deliberately out of order.
pub fn small_imdb_members() -> Vec<(String, Vec<u8>)> {
    let m = |p: &str, t: &str| (p.to_string(), t.as_bytes().to_vec());
    vec![
        m("aclImdb/README", "readme"),
        m("aclImdb/imdb.vocab", "the\nand\n"),
        m("aclImdb/train/pos/10_9.txt", "train pos ten"),
        m("aclImdb/train/neg/2_1.txt", "train neg two"),
        m("aclImdb/train/neg/10_3.txt", "train neg ten"),
        m("aclImdb/train/unsup/0_0.txt", "unsup review"),
        m("aclImdb/train/labeledBow.feat", "0:1 1:2"),
        m("aclImdb/train/urls_pos.txt", "http://x"),
        m("aclImdb/train/pos/1_7.txt", "train pos one<br />line"),
        m("aclImdb/train/neg/0_2.txt", "train neg zero"),
        m("aclImdb/test/pos/0_8.txt", "test pos zero"),
        m("aclImdb/test/neg/5_4.txt", "test neg five"),
        m("aclImdb/test/neg/1_1.txt", "test neg one"),
        m("aclImdb/test/pos/3_10.txt", "test pos three"),
    ]
}

/// A gzipped tarball of `members` (regular files plus their parent directories).
pub fn tar_gz(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let gz = GzEncoder::new(Vec::new(), Compression::fast());
    let mut builder = tar::Builder::new(gz);
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in members {
        let mut p = Path::new(path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_path_buf());
            p = d.parent();
        }
    }
    for d in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        h.set_cksum();
        builder.append_data(&mut h, &d, std::io::empty()).unwrap();
    }
    for (path, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, path, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// Writes `members` as files under `root`.
pub fn write_tree(root: &Path, members: &[(String, Vec<u8>)]) {
    for (path, data) in members {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
}

/// A label column for [`write_parquet`].
pub enum Labels<'a> {
    /// INT64 labels.
    Int(&'a [i64]),
    /// UTF-8 labels.
    Str(&'a [&'a str]),
}

/// Writes a parquet file with a UTF-8 `text_col` and an INT64 or UTF-8 `label_col`.
pub fn write_parquet(path: &Path, text_col: &str, texts: &[&str], label_col: &str, labels: Labels) {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    let label_type = match labels {
        Labels::Int(_) => "INT64",
        Labels::Str(_) => "BYTE_ARRAY",
    };
    let label_ann = match labels {
        Labels::Int(_) => "",
        Labels::Str(_) => " (UTF8)",
    };
    let schema = format!(
        "message schema {{ REQUIRED BYTE_ARRAY {text_col} (UTF8); REQUIRED {label_type} {label_col}{label_ann}; }}"
    );
    let schema = Arc::new(parse_message_type(&schema).unwrap());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, schema, Default::default()).unwrap();
    let mut rg = writer.next_row_group().unwrap();
    let text_values: Vec<ByteArray> = texts.iter().map(|t| ByteArray::from(*t)).collect();
    let mut col = rg.next_column().unwrap().unwrap();
    col.typed::<ByteArrayType>()
        .write_batch(&text_values, None, None)
        .unwrap();
    col.close().unwrap();
    let mut col = rg.next_column().unwrap().unwrap();
    match labels {
        Labels::Int(v) => {
            col.typed::<Int64Type>().write_batch(v, None, None).unwrap();
        }
        Labels::Str(v) => {
            let values: Vec<ByteArray> = v.iter().map(|t| ByteArray::from(*t)).collect();
            col.typed::<ByteArrayType>()
                .write_batch(&values, None, None)
                .unwrap();
        }
    }
    col.close().unwrap();
    rg.close().unwrap();
    writer.close().unwrap();
}

/// Creates `<hf_cache>/datasets--<owner>--<name>/{refs/main, snapshots/<hash>/}` as `hf-hub`
/// lays it out, and returns the snapshot directory to put files in.
pub fn fake_hf_snapshot(hf_cache: &Path, repo: &str) -> PathBuf {
    let folder = hf_cache.join(format!("datasets--{}", repo.replace('/', "--")));
    let hash = "0123456789abcdef0123456789abcdef01234567";
    std::fs::create_dir_all(folder.join("refs")).unwrap();
    std::fs::write(folder.join("refs").join("main"), hash).unwrap();
    let snap = folder.join("snapshots").join(hash);
    std::fs::create_dir_all(&snap).unwrap();
    snap
}

/// What the test server answers to one request.
#[derive(Clone)]
pub enum Reply {
    /// `200 OK` with the body and its true `Content-Length`.
    Ok(Vec<u8>),
    /// An error status with a short body.
    Status(u16),
    /// `200 OK` announcing `declared` bytes but sending only `body`, then closing.
    Truncated { declared: usize, body: Vec<u8> },
}

/// A loopback HTTP/1.1 server answering one reply per connection, in order. It stops after the
/// last reply or after 30 s, whichever comes first.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Number of requests received so far.
    pub hits: Arc<AtomicUsize>,
    /// Request lines received (`GET /path HTTP/1.1`).
    pub requests: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Requests served so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub fn serve(replies: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (h, r) = (hits.clone(), requests.clone());
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut replies = replies.into_iter();
        while Instant::now() < deadline {
            let (mut stream, _) = match listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Err(_) => return,
            };
            let Some(reply) = replies.next() else { return };
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&req)
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            r.lock().unwrap().push(line);
            h.fetch_add(1, Ordering::SeqCst);
            let (status, declared, body) = match reply {
                Reply::Ok(b) => ("200 OK".to_string(), b.len(), b),
                Reply::Status(code) => (
                    format!("{code} Error"),
                    b"server error".len(),
                    b"server error".to_vec(),
                ),
                Reply::Truncated { declared, body } => ("200 OK".to_string(), declared, body),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
    Server {
        base,
        hits,
        requests,
    }
}

/// sha256 hex of bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    textrnn_data::download::hex(&sha2::Sha256::digest(data))
}

/// `/work/shared/datasets/<rel>` when it exists, else prints why the test is skipped.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new("/work/shared/datasets").join(rel);
    if p.exists() {
        Some(p)
    } else {
        println!(
            "SKIPPED: {} not present (optional real-data test)",
            p.display()
        );
        None
    }
}

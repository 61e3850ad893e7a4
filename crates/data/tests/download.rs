//! `download::fetch` and the IMDB download path against a loopback HTTP server.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use textrnn_data::download::fetch;
use textrnn_data::{load, DataConfig, Error, LoadOptions};

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn good_checksum_is_cached_and_second_call_makes_no_request() {
    let body = tar_gz(&small_imdb_members());
    let sha = sha256_hex(&body);
    let server = serve(vec![Reply::Ok(body.clone()), Reply::Ok(body.clone())]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("imdb/aclImdb_v1.tar.gz");
    let url = format!("{}/aclImdb_v1.tar.gz", server.base);

    let p = fetch(&url, &dest, Some(&sha), false).unwrap();
    assert_eq!(p, dest);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(server.hits(), 1);
    assert_eq!(
        server.requests.lock().unwrap()[0],
        "GET /aclImdb_v1.tar.gz HTTP/1.1"
    );

    fetch(&url, &dest, Some(&sha.to_uppercase()), false).unwrap();
    assert_eq!(
        server.hits(),
        1,
        "cached file must be used without a request"
    );
    assert_eq!(leftovers(&tmp.path().join("imdb")), ["aclImdb_v1.tar.gz"]);
}

#[test]
fn bad_checksum_leaves_nothing_and_names_url_and_hashes() {
    let body = b"some bytes".to_vec();
    let actual = sha256_hex(&body);
    let server = serve(vec![Reply::Ok(body)]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("c/file.tar.gz");
    let url = format!("{}/file.tar.gz", server.base);
    let want = "0".repeat(64);
    let e = fetch(&url, &dest, Some(&want), false).unwrap_err();
    assert!(matches!(e, Error::Checksum { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("checksum mismatch for {url}: expected sha256 {want}, got {actual}")
    );
    assert!(leftovers(&tmp.path().join("c")).is_empty());
}

#[test]
fn http_error_status_leaves_nothing() {
    let server = serve(vec![Reply::Status(500)]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("c/file.tar.gz");
    let url = format!("{}/file.tar.gz", server.base);
    let e = fetch(&url, &dest, None, false).unwrap_err().to_string();
    assert!(e.contains(&url) && e.contains("500"), "{e}");
    assert!(leftovers(&tmp.path().join("c")).is_empty());
}

#[test]
fn truncated_body_leaves_nothing() {
    let server = serve(vec![Reply::Truncated {
        declared: 1000,
        body: vec![7u8; 100],
    }]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("c/file.tar.gz");
    let url = format!("{}/file.tar.gz", server.base);
    let e = fetch(&url, &dest, None, false).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Truncated {
                expected: 1000,
                received: 100,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains(&url));
    assert!(leftovers(&tmp.path().join("c")).is_empty());
}

#[test]
fn corrupt_cached_file_is_downloaded_again() {
    let body = b"the real thing".to_vec();
    let sha = sha256_hex(&body);
    let server = serve(vec![Reply::Ok(body.clone())]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("f.bin");
    std::fs::write(&dest, b"corrupted").unwrap();
    fetch(&format!("{}/f.bin", server.base), &dest, Some(&sha), false).unwrap();
    assert_eq!(server.hits(), 1);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
}

#[test]
fn connection_refused_is_an_http_error_naming_the_url() {
    // bind then drop to get a port nobody listens on
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/x");
    let tmp = tempfile::tempdir().unwrap();
    let e = fetch(&url, &tmp.path().join("x"), None, false).unwrap_err();
    assert!(
        matches!(&e, Error::Http { url: u, .. } if *u == url),
        "{e:?}"
    );
}

fn online_opts(cache: &std::path::Path, url: String, sha: String) -> LoadOptions {
    let mut opts = LoadOptions::isolated(cache);
    opts.offline = false;
    opts.hub.enabled = false;
    opts.imdb_url = Some(url);
    opts.imdb_sha256 = Some(sha);
    opts
}

#[test]
fn load_imdb_end_to_end_over_loopback() {
    let body = tar_gz(&small_imdb_members());
    let server = serve(vec![Reply::Ok(body.clone())]);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let opts = online_opts(
        &cache,
        format!("{}/aclImdb_v1.tar.gz", server.base),
        sha256_hex(&body),
    );
    let cfg = DataConfig::Imdb { data_dir: None };
    let c = load(&cfg, &opts).unwrap();
    assert_eq!((c.train.len(), c.test.as_ref().unwrap().len()), (5, 4));
    let cached = cache.join("imdb/aclImdb_v1.tar.gz");
    assert_eq!(c.source, cached.display().to_string());
    // second load: from the cache, offline, no request
    let mut offline = opts.clone();
    offline.offline = true;
    let again = load(&cfg, &offline).unwrap();
    assert_eq!(again.train, c.train);
    assert_eq!(server.hits(), 1);
}

#[test]
fn load_imdb_download_failure_lists_attempts_and_remedies() {
    let body = tar_gz(&small_imdb_members());
    let server = serve(vec![Reply::Ok(body)]);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let url = format!("{}/aclImdb_v1.tar.gz", server.base);
    let opts = online_opts(&cache, url.clone(), "f".repeat(64));
    let e = load(&DataConfig::Imdb { data_dir: None }, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("checksum mismatch") && e.contains(&url), "{e}");
    assert!(
        e.contains("--data-dir") && e.contains("TEXTRNN_DATA_DIR"),
        "{e}"
    );
    assert!(leftovers(&cache.join("imdb")).is_empty());
}

#[test]
fn corrupt_imdb_cache_offline_is_removed_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(cache.join("imdb")).unwrap();
    std::fs::write(cache.join("imdb/aclImdb_v1.tar.gz"), b"junk").unwrap();
    let opts = LoadOptions::isolated(&cache);
    let e = load(&DataConfig::Imdb { data_dir: None }, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(removed)") && e.contains("c40f74a18d3b61f9"),
        "{e}"
    );
    assert!(!cache.join("imdb/aclImdb_v1.tar.gz").exists());
}

//! `textrnn serve` through the built binary: the one `listening on` line, the same predictions
//! as `predict --json`, SIGTERM draining the request in flight and exiting 0, and bad run
//! directories or settings refused before anything is bound.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};
use textrnn::synthetic;

mod common;
use common::{err, ok, s, textrnn};

/// The run shared by this file's tests (Embedding(16) -> LSTM(16) -> sigmoid on 400 keyword
/// texts), trained once; tests must not change it.
fn shared_run() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-serve-run");
        synthetic::train_tiny_run(&dir, "tiny", 41).expect("a tiny run")
    })
}

/// Inputs with an empty text and a duplicate.
const TEXTS: [&str; 5] = [
    "a superb and brilliant film",
    "",
    "dreadful boring plot",
    "the music was delightful",
    "a superb and brilliant film",
];

/// `textrnn serve RUN --port 0 ARGS` and the address of its `listening on` line.
fn spawn_serve(args: &[&str]) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(["serve", s(shared_run()), "--port", "0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("textrnn serve starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the listening line");
    let addr = line
        .strip_prefix("listening on http://127.0.0.1:")
        .and_then(|port| port.trim_end().parse::<u16>().ok())
        .map(|port| format!("http://127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, addr, stdout)
}

fn post(url: &str, body: &Value) -> (u16, Value) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let response = match agent.post(url).send_string(&body.to_string()) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    };
    let status = response.status();
    let text = response.into_string().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

fn queue_depth(base: &str) -> Option<f64> {
    let text = ureq::get(&format!("{base}/metrics"))
        .call()
        .ok()?
        .into_string()
        .ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix(r#"textrnn_queue_depth{model="tiny"}"#)?
            .trim()
            .parse()
            .ok()
    })
}

#[cfg(unix)]
#[test]
fn serve_answers_as_predict_json_and_drains_on_sigterm() {
    // Batches wait up to 1 s for more texts, so a request stays in flight that long.
    let (mut child, base, mut stdout) = spawn_serve(&["--max-wait-ms", "1000"]);
    let predict = format!("{base}/v1/models/tiny/predict");

    // The same records as `predict --json`, line by line, without id and text.
    let (status, served) = post(&predict, &json!({ "texts": TEXTS }));
    assert_eq!(status, 200, "{served}");
    let mut args = vec!["-q", "predict", s(shared_run()), "--json"];
    args.extend(TEXTS);
    let lines: Vec<Value> = ok(&textrnn(&args, None))
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), TEXTS.len());
    for (i, (mut line, got)) in lines
        .into_iter()
        .zip(served["predictions"].as_array().expect("predictions"))
        .enumerate()
    {
        let obj = line.as_object_mut().expect("object");
        assert_eq!(obj.remove("id"), Some(json!((i + 1).to_string())));
        assert_eq!(obj.remove("text"), Some(json!(TEXTS[i])));
        assert_eq!(&line, got, "text {i}");
    }
    assert_eq!(served["predictions"][1]["status"], "empty text");

    // A request in flight when SIGTERM comes is answered; then the process exits 0.
    let in_flight = {
        let predict = predict.clone();
        std::thread::spawn(move || post(&predict, &json!({"texts": ["a wonderful film"]})))
    };
    while queue_depth(&base) != Some(1.0) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) on our own child's pid.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let (status, answer) = in_flight.join().expect("client");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["predictions"][0]["label"], "pos");
    let exit = child.wait().expect("exits");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("stdout");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut stderr).expect("stderr");
    }
    assert!(exit.success(), "exit {exit:?}: {stderr}");
    assert_eq!(rest, "", "only the listening line goes to stdout");
}

#[test]
fn bad_runs_and_settings_are_refused_before_binding() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("missing");
    let e = err(&textrnn(&["serve", s(&missing), "--port", "0"], None));
    assert!(
        e.contains(&format!(
            "error: opening the runs to serve: run directory {}: not a directory",
            missing.display()
        )),
        "{e}"
    );
    // Two runs named `tiny`.
    let other = tmp.path().join("tiny");
    std::fs::create_dir_all(&other).expect("dir");
    let out = textrnn(&["serve", s(shared_run()), s(&other), "--port", "0"], None);
    let e = err(&out);
    assert!(out.stdout.is_empty());
    assert!(
        e.contains(&format!(
            "two runs are both named `tiny`: {} and {}",
            shared_run().display(),
            other.display()
        )),
        "{e}"
    );
    let e = err(&textrnn(
        &["serve", s(shared_run()), "--port", "0", "--queue", "10"],
        None,
    ));
    assert!(
        e.contains("invalid --queue: 10 is smaller than --max-texts 1024"),
        "{e}"
    );
    let e = err(&textrnn(
        &["serve", s(shared_run()), "--max-body", "8 parsecs"],
        None,
    ));
    assert!(e.contains("unknown unit `parsecs`"), "{e}");
}

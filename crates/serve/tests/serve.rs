//! The server in-process on 127.0.0.1 (ephemeral port) with a tiny run trained once for the
//! whole file, over real HTTP (`ureq`, or a raw socket where the request is malformed): the same
//! numbers as `predict`, batching across concurrent requests, every error status with its
//! message, readiness, the model list, LIME, and the metrics.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};
use textrnn::{synthetic, ExplainOptions, PredictionRecord, Run};
use textrnn_serve::{open_models, Model, ServeOptions, Server, ServerHandle};

/// The run shared by this file's tests: Embedding(16) -> LSTM(16) -> sigmoid on 400 keyword
/// texts, trained once; tests must not change it.
fn shared_run() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-run");
        synthetic::train_tiny_run(&dir, "tiny", 31).expect("a tiny run")
    })
}

/// A running server; shut down (gracefully) when dropped.
struct Running {
    base: String,
    handle: ServerHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<textrnn_serve::Result<()>>>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let served = thread.join().expect("server thread");
            served.expect("the server stops cleanly");
        }
    }
}

/// Starts a server with `opts` (port 0) on a thread of its own; with `models` it is ready, else
/// models are added later through the handle.
fn start(opts: ServeOptions, models: Option<Vec<Model>>) -> Running {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let server = Server::bind(ServeOptions { port: 0, ..opts }).await?;
            if let Some(models) = models {
                server.handle().add_models(models)?;
            }
            addr_tx
                .send((server.local_addr()?, server.handle()))
                .expect("test waits");
            server
                .run(async move {
                    let _ = stop_rx.await;
                })
                .await
        })
    });
    let (addr, handle) = addr_rx.recv().expect("the server starts");
    Running {
        base: format!("http://{addr}"),
        handle,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

/// The shared run, opened and served as `tiny`.
fn tiny() -> Vec<Model> {
    open_models(std::slice::from_ref(shared_run()), None, false).expect("opens")
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

/// Status, headers of interest and JSON (or text) body of a request.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.body))
            .to_string()
    }
}

fn call(method: &str, url: &str, body: Option<&str>) -> Answer {
    let request = agent().request(method, url);
    let response = match body {
        Some(b) => request.send_string(b),
        None => request.call(),
    };
    let response = match response {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    Answer {
        status: response.status(),
        retry_after: response.header("retry-after").map(str::to_string),
        content_type: response.header("content-type").map(str::to_string),
        body: response.into_string().expect("body"),
    }
}

fn post(url: &str, body: &Value) -> Answer {
    call("POST", url, Some(&body.to_string()))
}

/// 64 distinct texts (keyword corpus) and an empty one.
fn texts() -> Vec<String> {
    let mut texts: Vec<String> = synthetic::keyword_corpus(64, 99)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    texts.insert(3, "  ".into());
    texts
}

/// Probabilities of one text alone and in a batch differ by at most this much (measured:
/// 1.19e-7 = 2^-23 over 256 texts, batch of 1 against 256): a forward pass of one text embeds
/// then projects, one of more texts uses the embedding folded into the recurrent projection
/// (`textrnn-models` folds when the vocabulary is smaller than batch x maxlen), which rounds
/// differently in the last bit. Two batches that take the same path give identical numbers.
const ALONE_TOLERANCE: f64 = 2.5e-7;

#[test]
fn predictions_are_those_of_predict_alone_and_in_a_batch() {
    // One forward pass of all 65 texts.
    let opts = ServeOptions {
        max_batch: 128,
        ..ServeOptions::default()
    };
    let server = start(opts, Some(tiny()));
    let texts = texts();
    let answer = post(
        &server.url("/v1/models/tiny/predict"),
        &json!({ "texts": texts }),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let got = answer.json();
    assert_eq!(got["model"], "tiny");
    let got = got["predictions"].as_array().expect("predictions").clone();
    assert_eq!(got.len(), texts.len());

    let run = Run::open(shared_run()).expect("run");
    let threshold = run.decision_threshold(None).expect("threshold");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // Exactly as `predict --json` computes them (forward passes of 256 texts).
    let batched = textrnn::predict_texts(&run, &refs, 256, threshold).expect("predict");
    for (i, p) in batched.iter().enumerate() {
        let record = PredictionRecord::new(p.as_ref(), run.class_names(), threshold);
        assert_eq!(
            got[i],
            serde_json::to_value(record).expect("json"),
            "text {i}"
        );
    }
    // Run::predict's probabilities, exactly (f32 widened to f64).
    let kept: Vec<String> = texts
        .iter()
        .filter(|t| !t.trim().is_empty())
        .cloned()
        .collect();
    let probs = run.predict(&kept, 64, false).expect("Run::predict");
    let served: Vec<&Value> = got.iter().filter(|r| r["status"] == "ok").collect();
    assert_eq!(served.len(), 64);
    for (k, r) in served.iter().enumerate() {
        assert_eq!(r["probabilities"]["neg"], json!(f64::from(probs.row(k)[0])));
        assert_eq!(r["probabilities"]["pos"], json!(f64::from(probs.row(k)[1])));
    }
    // Each text alone: the same label, probabilities within the tolerance.
    let mut max_diff = 0f64;
    for (k, text) in kept.iter().enumerate() {
        let alone = run
            .predict(std::slice::from_ref(text), 1, false)
            .expect("alone");
        for c in 0..2 {
            let d = (f64::from(alone.row(0)[c]) - f64::from(probs.row(k)[c])).abs();
            max_diff = max_diff.max(d);
        }
        let label = if alone.row(0)[1] >= 0.5 { "pos" } else { "neg" };
        assert_eq!(served[k]["label"], label, "text {k}");
    }
    eprintln!("alone against in a batch of 64: max abs difference {max_diff:e}");
    assert!(max_diff <= ALONE_TOLERANCE, "{max_diff:e}");
    assert_eq!(
        got[3],
        json!({"label": null, "probabilities": null, "probability": null,
               "status": "empty text", "threshold": 0.5, "threshold_source": "default"})
    );
}

/// The value of a metric line `name{labels} value` in the metrics text.
fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
}

#[test]
fn concurrent_requests_are_batched_together_and_counted() {
    let opts = ServeOptions {
        max_wait: Duration::from_millis(300),
        ..ServeOptions::default()
    };
    let server = Arc::new(start(opts, Some(tiny())));
    let barrier = Arc::new(Barrier::new(8));
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let server = Arc::clone(&server);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let text = format!("a superb film number {i}");
                post(
                    &server.url("/v1/models/tiny/predict"),
                    &json!({ "texts": [text] }),
                )
                .status
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().expect("client"), 200);
    }
    let answer = call("GET", &server.url("/metrics"), None);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let m = &answer.body;
    let batches = metric(m, r#"textrnn_batch_size_count{model="tiny"}"#).expect("batch count");
    let singles =
        metric(m, r#"textrnn_batch_size_bucket{le="1.0",model="tiny"}"#).expect("batch bucket");
    let texts = metric(m, r#"textrnn_batch_size_sum{model="tiny"}"#).expect("batch sum");
    assert_eq!(texts, 8.0);
    assert!(
        singles < batches,
        "no batch of more than one text: {batches} batches, {singles} of one\n{m}"
    );
    assert_eq!(
        metric(m, r#"textrnn_texts_predicted_total{model="tiny"}"#),
        Some(8.0)
    );
    assert_eq!(metric(m, r#"textrnn_queue_depth{model="tiny"}"#), Some(0.0));
    assert_eq!(
        metric(
            m,
            r#"textrnn_http_requests_total{route="/v1/models/{name}/predict",status="200"}"#
        ),
        Some(8.0)
    );
    assert_eq!(
        metric(
            m,
            r#"textrnn_http_request_duration_seconds_count{route="/v1/models/{name}/predict"}"#
        ),
        Some(8.0)
    );
}

#[test]
fn bad_requests_get_their_status_and_a_message_naming_the_problem() {
    let opts = ServeOptions {
        max_texts: 3,
        max_body: 1024,
        ..ServeOptions::default()
    };
    let server = start(opts, Some(tiny()));
    let predict = server.url("/v1/models/tiny/predict");
    let body = r#"the body is {"texts": ["a text", ...]}"#;
    let cases: Vec<(&str, u16, String)> = vec![
        (
            "{\"texts\": [",
            400,
            "malformed JSON: EOF while parsing a list at line 1 column 11".into(),
        ),
        (
            "[\"a\"]",
            400,
            format!("the body is an array, not a JSON object; {body}"),
        ),
        ("{}", 400, format!("missing field `texts`; {body}")),
        (
            r#"{"texts": ["a"], "text": 1}"#,
            400,
            format!("unknown field `text`; {body}"),
        ),
        (
            r#"{"texts": "a film"}"#,
            400,
            "`texts` is a string, not an array of strings".into(),
        ),
        (
            r#"{"texts": []}"#,
            400,
            "`texts` is empty: give at least one text".into(),
        ),
        (
            r#"{"texts": ["a", "b", 3]}"#,
            400,
            "`texts[2]` is a number, not a string".into(),
        ),
        (
            r#"{"texts": ["a", "b", "c", "d"]}"#,
            400,
            "`texts` has 4 texts, more than the limit of 3 per request (--max-texts); split it into several requests".into(),
        ),
    ];
    for (sent, status, message) in cases {
        let answer = call("POST", &predict, Some(sent));
        assert_eq!((answer.status, answer.error()), (status, message), "{sent}");
    }
    let big = json!({ "texts": ["x".repeat(2000)] }).to_string();
    let answer = call("POST", &predict, Some(&big));
    assert_eq!(
        (answer.status, answer.error()),
        (
            413,
            "the request body is larger than the limit of 1024 bytes (--max-body)".into()
        )
    );
    let answer = post(
        &server.url("/v1/models/nope/predict"),
        &json!({"texts": ["a"]}),
    );
    assert_eq!(
        (answer.status, answer.error()),
        (
            404,
            "no model named `nope`; this server serves: tiny".into()
        )
    );
    let routes = "the routes are: POST /v1/models/{name}/predict, POST /v1/models/{name}/explain, GET /v1/models, GET /healthz, GET /readyz, GET /metrics";
    let answer = call("GET", &server.url("/v2/predict"), None);
    assert_eq!(
        (answer.status, answer.error()),
        (404, format!("no route GET /v2/predict; {routes}"))
    );
    let answer = call("GET", &predict, None);
    assert_eq!(
        (answer.status, answer.error()),
        (
            405,
            format!("GET is not allowed on /v1/models/tiny/predict; {routes}")
        )
    );
    // A client that sends a whole 3 MB body before reading gets the 413 too (the body is read
    // to its end, not cut off).
    let mut raw = TcpStream::connect(server.base.trim_start_matches("http://")).expect("connect");
    let body = json!({ "texts": ["x".repeat(3 << 20)] }).to_string();
    let head = format!(
        "POST /v1/models/tiny/predict HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    raw.write_all(head.as_bytes()).expect("head");
    raw.write_all(body.as_bytes())
        .expect("the whole body is read");
    let mut reply = String::new();
    raw.read_to_string(&mut reply).expect("reply");
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(
        reply.ends_with(
            r#"{"error":"the request body is larger than the limit of 1024 bytes (--max-body)"}"#
        ),
        "{reply}"
    );
    // A request that is not HTTP at all gets a 400 from the HTTP layer, and the server lives on.
    let mut raw = TcpStream::connect(server.base.trim_start_matches("http://")).expect("connect");
    raw.write_all(b"NOT HTTP\r\n\r\n").expect("write");
    let mut reply = String::new();
    let _ = raw.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    // Explain's fields.
    let explain = server.url("/v1/models/tiny/explain");
    let cases: Vec<(Value, String)> = vec![
        (
            json!({"text": "a superb film", "labels": 1}),
            "unknown field `labels`, expected one of `text`, `label`, `num_samples`, `top`, `seed` at line 1 column 9".into(),
        ),
        (
            json!({"label": "pos"}),
            "missing field `text` at line 1 column 15".into(),
        ),
        (
            json!({"text": "a superb film", "label": "maybe"}),
            r#"`label` "maybe" is not one of the model's classes: neg, pos (or an index 0..=1)"#.into(),
        ),
        (
            json!({"text": "a superb film", "num_samples": 1}),
            "`num_samples` 1 is outside 2..=20000".into(),
        ),
        (
            json!({"text": "a superb film", "top": 0}),
            "`top` 0 is outside 1..=1000".into(),
        ),
        (
            json!({"text": "   "}),
            "invalid text: it is empty; give the text to explain".into(),
        ),
    ];
    let suffix = r#"; the body is {"text": "...", "label": optional class, "num_samples": optional, "top": optional, "seed": optional}"#;
    for (sent, message) in cases {
        let answer = post(&explain, &sent);
        let expected = if message.contains(" at line ") {
            format!("{message}{suffix}")
        } else {
            message
        };
        assert_eq!((answer.status, answer.error()), (400, expected), "{sent}");
    }
    let m = call("GET", &server.url("/metrics"), None).body;
    assert_eq!(
        metric(
            &m,
            r#"textrnn_http_errors_total{route="/v1/models/{name}/predict",status="400"}"#
        ),
        Some(8.0)
    );
    assert_eq!(
        metric(
            &m,
            r#"textrnn_http_errors_total{route="unmatched",status="404"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn a_full_queue_answers_503_with_retry_after_and_a_slow_request_504() {
    // Batches of 2 wait up to 2 s for a second text: the first request's text stays queued,
    // filling the queue of one.
    let opts = ServeOptions {
        max_batch: 2,
        max_wait: Duration::from_millis(1500),
        queue: 1,
        max_texts: 1,
        ..ServeOptions::default()
    };
    let server = Arc::new(start(opts, Some(tiny())));
    let first = {
        let server = Arc::clone(&server);
        std::thread::spawn(move || {
            post(
                &server.url("/v1/models/tiny/predict"),
                &json!({"texts": ["a superb film"]}),
            )
        })
    };
    // Wait until it is queued.
    let depth = |server: &Running| {
        metric(
            &call("GET", &server.url("/metrics"), None).body,
            r#"textrnn_queue_depth{model="tiny"}"#,
        )
    };
    while depth(&server) != Some(1.0) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let answer = post(
        &server.url("/v1/models/tiny/predict"),
        &json!({"texts": ["an awful film"]}),
    );
    assert_eq!(
        (answer.status, answer.error(), answer.retry_after.as_deref()),
        (
            503,
            "the model's queue is full (1 of 1 places taken, --queue); retry later".into(),
            Some("1")
        )
    );
    assert_eq!(first.join().expect("first").status, 200);

    // The same wait, over a 100 ms limit.
    let opts = ServeOptions {
        max_batch: 2,
        max_wait: Duration::from_millis(1000),
        timeout: Duration::from_millis(100),
        ..ServeOptions::default()
    };
    let slow = start(opts, Some(tiny()));
    let answer = post(
        &slow.url("/v1/models/tiny/predict"),
        &json!({"texts": ["a superb film"]}),
    );
    assert_eq!(
        (answer.status, answer.error()),
        (
            504,
            "the request took longer than the limit of 100 ms (--timeout-ms)".into()
        )
    );
}

#[test]
fn readyz_turns_200_once_the_models_are_loaded() {
    let server = start(ServeOptions::default(), None);
    assert_eq!(
        call("GET", &server.url("/healthz"), None).json(),
        json!({"status": "ok"})
    );
    let answer = call("GET", &server.url("/readyz"), None);
    assert_eq!(
        (answer.status, answer.error(), answer.retry_after.as_deref()),
        (503, "the models are still loading".into(), Some("1"))
    );
    let answer = post(
        &server.url("/v1/models/tiny/predict"),
        &json!({"texts": ["a"]}),
    );
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(!server.handle.is_ready());

    // Two copies of the run: one name each, and a name served twice is refused.
    let copy = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("serve-copy")
        .join("tiny-b");
    let _ = std::fs::remove_dir_all(&copy);
    copy_dir(shared_run(), &copy);
    let mut models = tiny();
    models.extend(open_models(std::slice::from_ref(&copy), None, false).expect("copy opens"));
    server.handle.add_models(models).expect("added");
    assert!(server.handle.is_ready());
    let again = server
        .handle
        .add_models(tiny())
        .expect_err("a name served twice")
        .to_string();
    assert_eq!(
        again,
        format!(
            "two runs are both named `tiny`: {} and {}; serve one of them, or copy one to a directory of another name",
            shared_run().display(),
            shared_run().display()
        )
    );
    let answer = call("GET", &server.url("/readyz"), None);
    assert_eq!(
        (answer.status, answer.json()),
        (
            200,
            json!({"status": "ready", "models": ["tiny", "tiny-b"]})
        )
    );

    let list = call("GET", &server.url("/v1/models"), None).json();
    let metrics: Value = serde_json::from_str(
        &std::fs::read_to_string(shared_run().join("metrics.json")).expect("metrics.json"),
    )
    .expect("metrics");
    let run = Run::open(shared_run()).expect("run");
    let parameters = run
        .config()
        .recipe()
        .model
        .summary(16)
        .expect("summary")
        .total_params;
    let vocab = run.tokenizer().vocab_size();
    assert_eq!(parameters, vocab * 16 + 4 * (16 * 16 + 16 * 16 + 16) + 17);
    let first = &list["models"][0];
    assert_eq!(
        *first,
        json!({
            "name": "tiny",
            "run_dir": shared_run(),
            "recipe": "tiny",
            "classes": ["neg", "pos"],
            "maxlen": 16,
            "parameters": parameters,
            "threshold": {"value": 0.5, "source": "default"},
            "calibration": null,
            "test_metrics": {
                "data": metrics["data"],
                "n": 100,
                "accuracy": metrics["accuracy"],
                "auc": metrics["auc"],
                "loss": metrics["loss"],
            },
        })
    );
    assert_eq!(list["models"][1]["name"], "tiny-b");
    assert_eq!(list["models"][1]["run_dir"], json!(copy));
    assert_eq!(list["models"].as_array().map(Vec::len), Some(2));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn explain_is_the_library_lime_explanation() {
    let server = start(ServeOptions::default(), Some(tiny()));
    let text = "the plot was superb and the music brilliant";
    let answer = post(
        &server.url("/v1/models/tiny/explain"),
        &json!({"text": text, "num_samples": 300, "top": 4, "label": "pos"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let got = answer.json();
    let run = Run::open(shared_run()).expect("run");
    let opts = ExplainOptions {
        label: Some(1),
        num_samples: 300,
        top: 4,
        ..ExplainOptions::default()
    };
    let e = textrnn::explain(&run, text, &opts).expect("explain");
    assert_eq!(
        got,
        json!({
            "model": "tiny",
            "text": text,
            "label": "pos",
            "label_index": 1,
            "probability": f64::from(e.predicted_proba[1]),
            "probabilities": {"neg": f64::from(e.predicted_proba[0]), "pos": f64::from(e.predicted_proba[1])},
            "words": e.words,
            "intercept": e.intercept,
            "local_prediction": e.local_pred,
            "score": e.score,
            "num_samples": 300,
            "num_words": e.num_words,
        })
    );
    assert_eq!(got["words"].as_array().map(Vec::len), Some(4));
}

#[test]
fn bad_run_directories_and_options_are_refused_before_binding() {
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-run");
    let e = open_models(std::slice::from_ref(&missing), None, false)
        .err()
        .expect("refused");
    assert_eq!(
        e.to_string(),
        format!(
            "run directory {}: not a directory (train a model first: textrnn train --out DIR)",
            missing.display()
        )
    );
    let opts = ServeOptions {
        threads: 0,
        ..ServeOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let e = runtime.block_on(Server::bind(opts)).err().expect("refused");
    assert_eq!(e.to_string(), "invalid --threads: 0: must be at least 1");
}

#[test]
fn a_calibrated_run_serves_its_temperature_and_calibrated_probabilities() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-calibrated");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clean");
    }
    copy_dir(shared_run(), &dir);
    // calibration.json as `textrnn calibrate` writes it, with a temperature of 2.
    let scores = json!({"n": 60, "nll_before": 0.2, "nll_after": 0.1, "ece_before": 0.05, "ece_after": 0.02});
    let calibration = json!({
        "method": "temperature", "temperature": 2.0, "fitted_on": "validation", "n": 60,
        "ece_kind": "top_label", "ece_bins": 15, "validation": scores, "test": scores,
    });
    std::fs::write(dir.join("calibration.json"), calibration.to_string()).expect("write");
    let models = open_models(std::slice::from_ref(&dir), Some("calibrated"), false).expect("opens");
    let server = start(ServeOptions::default(), Some(models));

    let list = call("GET", &server.url("/v1/models"), None).json();
    assert_eq!(
        list["models"][0]["calibration"],
        json!({"temperature": 2.0})
    );

    let texts: Vec<String> = texts()
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .take(8)
        .collect();
    let answer = post(
        &server.url("/v1/models/calibrated/predict"),
        &json!({ "texts": texts }),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let got = answer.json()["predictions"]
        .as_array()
        .expect("predictions")
        .clone();
    let calibrated = Run::open(&dir)
        .expect("run")
        .predict(&texts, 64, false)
        .expect("predict");
    let plain = Run::open(shared_run())
        .expect("run")
        .predict(&texts, 64, false)
        .expect("predict");
    let mut compared = 0;
    for (k, r) in got.iter().enumerate() {
        let p = f64::from(calibrated.row(k)[1]);
        assert_eq!(r["probabilities"]["pos"], json!(p), "text {k}");
        // sigmoid(z / 2) from the uncalibrated q = sigmoid(z), where q is far enough from 0 and
        // 1 for its f32 value to give z back accurately.
        let q = f64::from(plain.row(k)[1]);
        if q * (1.0 - q) > 1e-3 {
            let z = (q / (1.0 - q)).ln();
            assert!(
                (p - 1.0 / (1.0 + (-z / 2.0).exp())).abs() < 1e-5,
                "text {k}: {p} vs {q}"
            );
            compared += 1;
        }
    }
    assert!(compared > 0, "no unsaturated probability to compare");
}

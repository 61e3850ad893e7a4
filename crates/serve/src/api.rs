//! The HTTP routes, their JSON bodies and their errors.
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /v1/models/{name}/predict` `{"texts": [...]}` | `{"model", "predictions": [PredictionRecord, ...]}`, one per text, in order |
//! | `POST /v1/models/{name}/explain` `{"text", "label"?, "num_samples"?, "top"?, "seed"?}` | LIME: `{"model", "text", "label", "label_index", "probability", "probabilities", "words": [{"word", "weight"}], ...}` |
//! | `GET /v1/models` | `{"models": [ModelInfo, ...]}` by name |
//! | `GET /healthz` | 200 while the process is up |
//! | `GET /readyz` | 200 once every model is loaded, 503 before |
//! | `GET /metrics` | Prometheus (OpenMetrics) text |
//!
//! Every error is JSON `{"error": "..."}` naming the problem: 400 (malformed JSON, a missing or
//! non-array `texts`, an empty list, a non-string element (by index), more than `--max-texts`
//! texts, a bad explain field), 404 (unknown model, naming the served ones; unknown route), 405,
//! 413 (body over `--max-body`), 503 with `Retry-After` (queue full, or models still loading),
//! 504 (over `--timeout-ms`), 500 (the model failed).

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Bytes, HttpBody as _};
use axum::extract::rejection::PathRejection;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use textrnn::eval::WordWeight;
use textrnn::{ExplainOptions, PredictionRecord};

use crate::batcher::{Failure, Rejected};
use crate::model::ModelInfo;
use crate::options::{MAX_EXPLAIN_SAMPLES, MAX_EXPLAIN_TOP};
use crate::server::{AppState, Served};

type AppResult<T> = Result<T, ApiError>;

/// The routes, with the metrics middleware and JSON fallbacks.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{name}/predict", post(predict))
        .route("/v1/models/{name}/explain", post(explain))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), track))
        .with_state(state)
}

/// The routes, as listed in a 404.
const ROUTES: &str = "POST /v1/models/{name}/predict, POST /v1/models/{name}/explain, GET /v1/models, GET /healthz, GET /readyz, GET /metrics";

/// An error answer: a status and `{"error": message}`, with `Retry-After` on a 503.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), "{}", self.message);
        }
        let body = Json(serde_json::json!({ "error": self.message }));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            (self.status, [(header::RETRY_AFTER, "1")], body).into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        let message = match r {
            Rejected::Full { waiting, capacity } => format!(
                "the model's queue is full ({waiting} of {capacity} places taken, --queue); retry later"
            ),
            Rejected::Closed => "the server is shutting down".to_string(),
        };
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

/// Counts every answer by route and status, with its latency.
async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.request(
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route {method} {}; the routes are: {ROUTES}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{method} is not allowed on {}; the routes are: {ROUTES}",
            uri.path()
        ),
    )
}

async fn healthz() -> Json<Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Arc<AppState>>) -> AppResult<Json<Value>> {
    if !state.is_ready() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the models are still loading",
        ));
    }
    let names: Vec<String> = state.models().keys().cloned().collect();
    Ok(Json(
        serde_json::json!({ "status": "ready", "models": names }),
    ))
}

async fn metrics(State(state): State<Arc<AppState>>) -> AppResult<Response> {
    let text = state
        .metrics
        .encode()
        .map_err(|e| ApiError::internal(format!("encoding the metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[derive(Serialize)]
struct ModelList {
    models: Vec<ModelInfo>,
}

async fn list_models(State(state): State<Arc<AppState>>) -> Json<ModelList> {
    Json(ModelList {
        models: state.models().values().map(|m| m.info.clone()).collect(),
    })
}

/// The model `name`: 404 naming the served ones when there is none, 503 while loading.
fn model(state: &AppState, name: &str) -> AppResult<Arc<Served>> {
    let models = state.models();
    if let Some(m) = models.get(name) {
        return Ok(Arc::clone(m));
    }
    if !state.is_ready() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the models are still loading; retry when /readyz answers 200",
        ));
    }
    let names: Vec<&str> = models.keys().map(String::as_str).collect();
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no model named `{name}`; this server serves: {}",
            names.join(", ")
        ),
    ))
}

/// Runs `work` within the per-request time limit (504 beyond it).
async fn within_limit<T>(
    limit: Duration,
    work: impl std::future::Future<Output = AppResult<T>>,
) -> AppResult<T> {
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the request took longer than the limit of {} ms (--timeout-ms)",
                limit.as_millis()
            ),
        ))
    })
}

/// Bytes past `--max-body` that are still read (and dropped) before answering 413, so that a
/// client that sends its whole body before reading the answer gets the 413 rather than a reset
/// connection.
const DRAIN_LIMIT: usize = 64 << 20;

/// The request body, within `--max-body` (413 beyond it, see [`DRAIN_LIMIT`]).
async fn body(request: Request, max_body: usize) -> AppResult<Bytes> {
    let mut body = request.into_body();
    let mut data: Vec<u8> = Vec::new();
    let mut over = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if over == 0 && data.len() + chunk.len() <= max_body {
            data.extend_from_slice(&chunk);
        } else {
            if over == 0 {
                data = Vec::new();
            }
            over += chunk.len();
            if over > DRAIN_LIMIT {
                break;
            }
        }
    }
    if over > 0 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the limit of {max_body} bytes (--max-body)"),
        ));
    }
    Ok(Bytes::from(data))
}

/// The JSON body as a value (400 naming the line and column of a syntax error).
fn parse_json(body: &[u8]) -> AppResult<Value> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))
}

/// A JSON value's kind, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

const PREDICT_BODY: &str = r#"the body is {"texts": ["a text", ...]}"#;

/// The texts of a predict body (see the module docs for what is refused).
fn predict_texts(body: Value, max_texts: usize) -> AppResult<Vec<String>> {
    let Value::Object(mut fields) = body else {
        return Err(ApiError::bad_request(format!(
            "the body is {}, not a JSON object; {PREDICT_BODY}",
            kind(&body)
        )));
    };
    let texts = fields
        .remove("texts")
        .ok_or_else(|| ApiError::bad_request(format!("missing field `texts`; {PREDICT_BODY}")))?;
    if let Some(other) = fields.keys().next() {
        return Err(ApiError::bad_request(format!(
            "unknown field `{other}`; {PREDICT_BODY}"
        )));
    }
    let Value::Array(texts) = texts else {
        return Err(ApiError::bad_request(format!(
            "`texts` is {}, not an array of strings",
            kind(&texts)
        )));
    };
    if texts.is_empty() {
        return Err(ApiError::bad_request(
            "`texts` is empty: give at least one text",
        ));
    }
    if texts.len() > max_texts {
        return Err(ApiError::bad_request(format!(
            "`texts` has {} texts, more than the limit of {max_texts} per request (--max-texts); split it into several requests",
            texts.len()
        )));
    }
    texts
        .into_iter()
        .enumerate()
        .map(|(i, t)| match t {
            Value::String(s) => Ok(s),
            other => Err(ApiError::bad_request(format!(
                "`texts[{i}]` is {}, not a string",
                kind(&other)
            ))),
        })
        .collect()
}

#[derive(Serialize)]
struct PredictResponse<'a> {
    model: &'a str,
    predictions: Vec<PredictionRecord>,
}

/// `POST /v1/models/{name}/predict`.
async fn predict(
    State(state): State<Arc<AppState>>,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> AppResult<Response> {
    on_model(state, name, |state, served, name| async move {
        let body = parse_json(&body(request, state.opts.max_body).await?)?;
        let texts = predict_texts(body, state.opts.max_texts)?;
        let results = served
            .queue
            .predict(texts)?
            .await
            .map_err(|_| ApiError::internal("the inference thread stopped"))?
            .map_err(ApiError::internal)?;
        let classes = served.run.class_names();
        let predictions = results
            .iter()
            .map(|p| PredictionRecord::new(p.as_ref(), classes, served.threshold))
            .collect();
        Ok(Json(PredictResponse {
            model: &name,
            predictions,
        })
        .into_response())
    })
    .await
}

/// Runs `work` on the model named in the path (see [`model`]), within the time limit.
async fn on_model<Work, Fut>(
    state: Arc<AppState>,
    name: Result<Path<String>, PathRejection>,
    work: Work,
) -> AppResult<Response>
where
    Work: FnOnce(Arc<AppState>, Arc<Served>, String) -> Fut,
    Fut: std::future::Future<Output = AppResult<Response>>,
{
    let Path(name) = name.map_err(|r| ApiError::bad_request(r.body_text()))?;
    let served = model(&state, &name)?;
    let limit = state.opts.timeout;
    within_limit(limit, work(state, served, name)).await
}

/// The body of `POST /v1/models/{name}/explain`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainRequest {
    /// The text to explain.
    text: String,
    /// The class to explain (a name or an index); default: the predicted class.
    #[serde(default)]
    label: Option<Value>,
    /// Perturbed texts (default 5000, 2 ..= MAX_EXPLAIN_SAMPLES).
    #[serde(default)]
    num_samples: Option<usize>,
    /// Words listed (default 10, 1 ..= MAX_EXPLAIN_TOP).
    #[serde(default)]
    top: Option<usize>,
    /// Seed of the perturbations (default 0).
    #[serde(default)]
    seed: Option<u64>,
}

#[derive(Serialize)]
struct ExplainResponse<'a> {
    model: &'a str,
    text: String,
    label: String,
    label_index: usize,
    probability: Option<f64>,
    probabilities: std::collections::BTreeMap<String, f64>,
    words: Vec<WordWeight>,
    intercept: f64,
    local_prediction: f64,
    score: f64,
    num_samples: usize,
    num_words: usize,
}

/// The explain settings of a request, checked against the run's classes and the bounds.
fn explain_options(served: &Served, req: &ExplainRequest) -> AppResult<ExplainOptions> {
    let defaults = ExplainOptions::default();
    let label = match &req.label {
        None | Some(Value::Null) => None,
        Some(v) => {
            let given = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "`label` is {}, not a class name or index",
                        kind(other)
                    )))
                }
            };
            let index = served.run.class_index(&given).map_err(|_| {
                ApiError::bad_request(format!(
                    "`label` {given:?} is not one of the model's classes: {} (or an index 0..={})",
                    served.run.class_names().join(", "),
                    served.run.n_classes().saturating_sub(1)
                ))
            })?;
            Some(index)
        }
    };
    let num_samples = req.num_samples.unwrap_or(defaults.num_samples);
    if !(2..=MAX_EXPLAIN_SAMPLES).contains(&num_samples) {
        return Err(ApiError::bad_request(format!(
            "`num_samples` {num_samples} is outside 2..={MAX_EXPLAIN_SAMPLES}"
        )));
    }
    let top = req.top.unwrap_or(defaults.top);
    if !(1..=MAX_EXPLAIN_TOP).contains(&top) {
        return Err(ApiError::bad_request(format!(
            "`top` {top} is outside 1..={MAX_EXPLAIN_TOP}"
        )));
    }
    Ok(ExplainOptions {
        label,
        num_samples,
        top,
        seed: req.seed.unwrap_or(defaults.seed),
        ..defaults
    })
}

/// `POST /v1/models/{name}/explain`: LIME on the model's inference threads.
async fn explain(
    State(state): State<Arc<AppState>>,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> AppResult<Response> {
    on_model(state, name, |state, served, name| async move {
        let body = body(request, state.opts.max_body).await?;
        let req: ExplainRequest = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                r#"{e}; the body is {{"text": "...", "label": optional class, "num_samples": optional, "top": optional, "seed": optional}}"#
            ))
        })?;
        let opts = explain_options(&served, &req)?;
        let e = served
            .queue
            .explain(req.text.clone(), opts)?
            .await
            .map_err(|_| ApiError::internal("the inference thread stopped"))?
            .map_err(|f| match f {
                Failure::BadInput(m) => ApiError::bad_request(m),
                Failure::Internal(m) => ApiError::internal(m),
            })?;
        let classes = served.run.class_names();
        let class = |k: usize| classes.get(k).cloned().unwrap_or_else(|| k.to_string());
        Ok(Json(ExplainResponse {
            model: &name,
            label: class(e.label),
            label_index: e.label,
            probability: e.predicted_proba.get(e.label).map(|&p| f64::from(p)),
            probabilities: e
                .predicted_proba
                .iter()
                .enumerate()
                .map(|(k, &p)| (class(k), f64::from(p)))
                .collect(),
            text: req.text,
            words: e.words,
            intercept: e.intercept,
            local_prediction: e.local_pred,
            score: e.score,
            num_samples: e.num_samples,
            num_words: e.num_words,
        })
        .into_response())
    })
    .await
}

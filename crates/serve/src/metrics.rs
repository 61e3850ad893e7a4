//! The Prometheus metrics of `GET /metrics` (OpenMetrics text, through `prometheus-client`):
//!
//! | metric | labels | what |
//! | --- | --- | --- |
//! | `textrnn_http_requests_total` | `route`, `status` | requests answered |
//! | `textrnn_http_errors_total` | `route`, `status` | requests answered with a 4xx or 5xx status |
//! | `textrnn_http_request_duration_seconds` | `route` | latency histogram (0.5 ms .. 16 s) |
//! | `textrnn_batch_size` | `model` | texts per forward pass (histogram, 1 .. 1024) |
//! | `textrnn_queue_depth` | `model` | texts and explain jobs waiting for an inference thread |
//! | `textrnn_texts_predicted_total` | `model` | texts through a forward pass |
//!
//! `route` is the route's pattern (`/v1/models/{name}/predict`), or `unmatched` for a 404.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of the request counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: u16,
}

/// Label of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

/// Label of the per-model metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Model {
    model: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

/// Every metric of the server, registered once.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    errors: Family<RouteStatus, Counter>,
    latency: HistogramFamily<Route>,
    batch_size: HistogramFamily<Model>,
    queue_depth: Family<Model, Gauge>,
    texts: Family<Model, Counter>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("textrnn");
        let requests = Family::<RouteStatus, Counter>::default();
        let errors = Family::<RouteStatus, Counter>::default();
        let latency: HistogramFamily<Route> = Family::new_with_constructor(latency_histogram);
        let batch_size: HistogramFamily<Model> = Family::new_with_constructor(batch_histogram);
        let queue_depth = Family::<Model, Gauge>::default();
        let texts = Family::<Model, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        registry.register(
            "http_errors",
            "HTTP requests answered with a 4xx or 5xx status, by route and status",
            errors.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from receiving a request to answering it, by route",
            latency.clone(),
        );
        registry.register(
            "batch_size",
            "Texts per forward pass, by model",
            batch_size.clone(),
        );
        registry.register(
            "queue_depth",
            "Texts and explain jobs waiting for an inference thread, by model",
            queue_depth.clone(),
        );
        registry.register(
            "texts_predicted",
            "Texts through a forward pass, by model",
            texts.clone(),
        );
        Self {
            registry,
            requests,
            errors,
            latency,
            batch_size,
            queue_depth,
            texts,
        }
    }

    /// Counts one answered request.
    pub(crate) fn request(&self, route: &str, status: u16, seconds: f64) {
        let labels = RouteStatus {
            route: route.to_string(),
            status,
        };
        if status >= 400 {
            self.errors.get_or_create(&labels).inc();
        }
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&Route {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// The per-model metrics of `model` (created at zero, so they show before the first batch).
    pub(crate) fn model(&self, model: &str) -> ModelMetrics {
        let label = Model {
            model: model.to_string(),
        };
        ModelMetrics {
            batch_size: self.batch_size.get_or_create(&label).clone(),
            queue_depth: self.queue_depth.get_or_create(&label).clone(),
            texts: self.texts.get_or_create(&label).clone(),
        }
    }

    /// Everything in the OpenMetrics text format.
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The metrics one model's queue and inference threads update (handles into [`Metrics`]).
#[derive(Clone, Debug)]
pub(crate) struct ModelMetrics {
    batch_size: Histogram,
    queue_depth: Gauge,
    texts: Counter,
}

impl ModelMetrics {
    /// Records one forward pass of `n` texts.
    pub(crate) fn batch(&self, n: usize) {
        self.batch_size.observe(n as f64);
        self.texts.inc_by(n as u64);
    }

    /// Sets the number of waiting jobs.
    pub(crate) fn queue_depth(&self, depth: usize) {
        self.queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
}

//! The server: binding ([`Server::bind`]), adding models and starting their inference threads
//! ([`ServerHandle::add_models`]), serving until a shutdown future resolves ([`Server::run`]:
//! stop accepting, finish the requests in flight, drain the queues, join the threads), the
//! SIGTERM / Ctrl-C future ([`shutdown_signal`]) and the blocking entry point of the command
//! line ([`serve`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tokio::net::TcpListener;

use crate::batcher::{Batcher, Queue};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::model::{Model, ModelInfo, RunEngine};
use crate::options::ServeOptions;

/// One served model: its run, threshold, description and queue.
pub(crate) struct Served {
    pub(crate) run: Arc<textrnn::Run>,
    pub(crate) threshold: Option<textrnn::DecisionThreshold>,
    pub(crate) info: ModelInfo,
    pub(crate) queue: Arc<Queue>,
}

/// What the handlers share.
pub(crate) struct AppState {
    pub(crate) opts: ServeOptions,
    pub(crate) metrics: Metrics,
    /// Replaced as a whole when models are added; handlers clone the `Arc`.
    models: RwLock<Arc<BTreeMap<String, Arc<Served>>>>,
    ready: AtomicBool,
    batchers: Mutex<Vec<Batcher>>,
}

impl AppState {
    /// The served models by name.
    pub(crate) fn models(&self) -> Arc<BTreeMap<String, Arc<Served>>> {
        Arc::clone(&self.models.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether every model given to [`ServerHandle::add_models`] is loaded and its threads run.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

/// A bound server, not yet serving (see the module docs).
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
}

/// A handle to a server's models, usable while it serves.
#[derive(Clone)]
pub struct ServerHandle {
    state: Arc<AppState>,
}

impl Server {
    /// Checks `opts` and binds `opts.host:opts.port` (port 0: an ephemeral port). Until
    /// [`ServerHandle::add_models`], `/readyz` answers 503.
    pub async fn bind(opts: ServeOptions) -> Result<Self> {
        opts.validate()?;
        let addr = format!("{}:{}", opts.host, opts.port);
        let listener = TcpListener::bind((opts.host.as_str(), opts.port))
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let state = Arc::new(AppState {
            opts,
            metrics: Metrics::new(),
            models: RwLock::new(Arc::new(BTreeMap::new())),
            ready: AtomicBool::new(false),
            batchers: Mutex::new(Vec::new()),
        });
        Ok(Self { listener, state })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|source| Error::Io {
            what: "reading the listening address".into(),
            source,
        })
    }

    /// A handle to add models while the server runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            state: Arc::clone(&self.state),
        }
    }

    /// Serves until `shutdown` resolves, then stops accepting connections, lets the requests in
    /// flight finish, drains the model queues and joins the inference threads.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let app = crate::api::router(Arc::clone(&self.state));
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        tracing::info!("no request in flight; stopping the inference threads");
        let batchers = std::mem::take(
            &mut *self
                .state
                .batchers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let joined = tokio::task::spawn_blocking(move || {
            for batcher in batchers {
                batcher.shutdown();
            }
        })
        .await;
        if let Err(e) = joined {
            tracing::error!("stopping the inference threads failed: {e}");
        }
        served.map_err(|source| Error::Io {
            what: "serving HTTP".into(),
            source,
        })
    }
}

impl ServerHandle {
    /// Serves `models` too: starts each one's inference threads behind its queue, then marks
    /// the server ready. A name already served is an error naming both run directories (and
    /// nothing is added).
    pub fn add_models(&self, models: Vec<Model>) -> Result<()> {
        let state = &self.state;
        let mut guard = state.models.write().unwrap_or_else(PoisonError::into_inner);
        let mut all = BTreeMap::clone(&**guard);
        let mut seen: BTreeMap<&str, &std::path::Path> =
            all.iter().map(|(n, s)| (n.as_str(), s.run.dir())).collect();
        for m in &models {
            if let Some(first) = seen.insert(&m.name, m.run.dir()) {
                return Err(Error::DuplicateName {
                    name: m.name.clone(),
                    first: first.to_path_buf(),
                    second: m.run.dir().to_path_buf(),
                });
            }
        }
        drop(seen);
        // Everything that can fail on a model's files first, so no thread is left behind.
        let thresholds = models
            .iter()
            .map(|m| m.run.decision_threshold(None))
            .collect::<textrnn::Result<Vec<_>>>()?;
        let opts = &state.opts;
        let mut batchers = Vec::with_capacity(models.len());
        for (Model { name, run }, threshold) in models.into_iter().zip(thresholds) {
            let info = ModelInfo::new(&name, &run, threshold);
            let run = Arc::new(run);
            let queue = Arc::new(Queue::new(
                opts.queue,
                opts.max_batch,
                opts.max_wait,
                state.metrics.model(&name),
            ));
            let engine = Arc::new(RunEngine {
                run: Arc::clone(&run),
                threshold,
                batch_size: opts.max_batch,
            });
            match Batcher::start(&name, Arc::clone(&queue), engine, opts.threads) {
                Ok(b) => batchers.push(b),
                Err(source) => {
                    batchers.into_iter().for_each(Batcher::shutdown);
                    return Err(Error::Io {
                        what: format!("starting the inference threads of model {name}"),
                        source,
                    });
                }
            }
            all.insert(
                name,
                Arc::new(Served {
                    run,
                    threshold,
                    info,
                    queue,
                }),
            );
        }
        *guard = Arc::new(all);
        drop(guard);
        state
            .batchers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(batchers);
        state.ready.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Whether the server is ready (`/readyz` answers 200).
    pub fn is_ready(&self) -> bool {
        self.state.is_ready()
    }
}

/// A future that resolves at the first SIGTERM or Ctrl-C (SIGINT). The signals are caught from
/// this call on (call it inside the runtime), so none is missed between the call and the first
/// poll.
pub fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static> {
    let listen = |source| Error::Io {
        what: "listening for SIGTERM and Ctrl-C".into(),
        source,
    };
    #[cfg(unix)]
    let wait = {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(listen)?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(listen)?;
        async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        }
    };
    #[cfg(not(unix))]
    let wait = {
        let _ = listen;
        async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!("cannot listen for Ctrl-C: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    Ok(async move {
        wait.await;
        tracing::info!("shutting down: no new connections; finishing the requests in flight");
    })
}

/// Serves `models` with `opts` until SIGTERM or Ctrl-C, on a runtime of its own (blocking):
/// binds, starts the inference threads, calls `on_listening` with the bound address, serves,
/// and returns once every request in flight has been answered.
pub fn serve(
    models: Vec<Model>,
    opts: ServeOptions,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<()> {
    opts.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve-io")
        .build()
        .map_err(|source| Error::Io {
            what: "starting the async runtime".into(),
            source,
        })?;
    runtime.block_on(async move {
        let server = Server::bind(opts).await?;
        // Caught before the address is announced: a signal sent right after the announcement
        // shuts down gracefully instead of killing the process.
        let shutdown = shutdown_signal()?;
        server.handle().add_models(models)?;
        let addr = server.local_addr()?;
        tracing::info!("listening on http://{addr}");
        on_listening(addr);
        server.run(shutdown).await
    })
}

//! Knative-compatible HTTP ingress for a running engine (axum on tokio).
//!
//! Paths (every Ready resource of the plan):
//!
//! | resource | path |
//! |---|---|
//! | Broker | `POST /<namespace>/<broker>` (Knative's broker ingress path) |
//! | Channel / InMemoryChannel | `POST /channels/<namespace>/<name>` |
//! | Sequence | `POST /sequences/<namespace>/<name>` |
//! | Parallel | `POST /parallels/<namespace>/<name>` |
//!
//! plus `GET /healthz`, `GET /readyz`, `GET /metrics` (Prometheus text format) and, with the
//! event registry on, `GET /registry` (JSON).
//!
//! Content modes (knative-semantics.md §3.1): binary (`ce-*` headers), structured
//! (`application/cloudevents+json`) and batched (`application/cloudevents-batch+json`, each
//! element accepted or refused on its own). Status codes as Knative's ingresses answer them:
//! 202 once queued in the engine (for a durable node: once stored, see [`DurableStore`]);
//! 400 not a valid CloudEvent (one-line reason in the body); 404 unknown resource; 405 methods
//! other than POST and OPTIONS; OPTIONS 200 with `Allow`, `WebHook-Allowed-Origin` and
//! `WebHook-Allowed-Rate`; plus 413 over the body limit, 429 (`Retry-After: 1`) when the
//! engine's bounded queue is full, and 503 once the engine stopped (or the durable store did
//! not persist the event).
//! A batch answers 202 when every element was accepted, else the most severe refusal (503, 429,
//! 400) with a body naming the refused indexes (`refused 1 of 3 events: [1] missing required
//! attribute "id"`); the other elements were accepted and must not be resent.

mod bare;
mod client;
mod decode;
mod dispatch_metrics;
pub mod encode;
mod handler;
pub mod headers;
mod metrics;
mod routes;
mod signals;
mod store;

pub use bare::BareReceiver;
pub use client::HttpSubscriber;
pub use decode::{decode, header_value, is_json, Malformed, Mode, BATCH, STRUCTURED};
pub use dispatch_metrics::{DispatchMetrics, BUCKETS_MS};
pub use metrics::{Metrics, Reason};
pub use routes::Family;
pub use signals::{wait_for_signal, ShutdownSignals};
pub use store::{DurableStore, SharedStore, StoreError, StoreFuture};

use axum::routing::{any, get};
use axum::Router;
use eventflow_engine::live::LiveSender;
use eventflow_planner::plan::Plan;
use routes::AppState;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;

/// Default request body limit: 4 MiB.
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port; see [`HttpIngress::local_addr`]).
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes (413 above).
    pub max_body: usize,
    /// tokio worker threads (≥ 1).
    pub threads: usize,
    /// What `GET /registry` answers (JSON), when the event registry is on; else 404.
    pub registry: Option<RegistryView>,
}

/// Renders the event registry as JSON on demand, for `GET /registry`.
#[derive(Clone)]
pub struct RegistryView(pub Arc<dyn Fn() -> String + Send + Sync>);

impl std::fmt::Debug for RegistryView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistryView")
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body: DEFAULT_MAX_BODY,
            threads: 2,
            registry: None,
        }
    }
}

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The runtime could not be built or the address could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The server stopped with an I/O error.
    #[error("server: {0}")]
    Serve(std::io::Error),
    /// The server thread panicked or could not be spawned.
    #[error("server thread: {0}")]
    Thread(String),
}

/// One ingress the server answers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressUrl {
    /// `Broker/ns/name`, `InMemoryChannel/ns/name`, `Sequence/ns/name`, `Parallel/ns/name`.
    pub resource: String,
    /// `http://<listen address><path>`.
    pub url: String,
}

/// The axum router for `plan`, sending into `sender`: for embedding the ingress in a server of
/// one's own.
///
/// # Errors
/// [`HttpError::Metrics`] if the metric families cannot be registered.
pub fn router(plan: &Plan, sender: LiveSender, max_body: usize) -> Result<Router, HttpError> {
    Ok(build(Arc::new(AppState::new(
        plan,
        sender,
        Metrics::new()?,
        max_body,
    ))))
}

fn build(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(handler::healthz))
        .route("/readyz", get(handler::readyz))
        .route("/metrics", get(handler::metrics))
        .route("/registry", get(handler::registry))
        .route("/channels/{ns}/{name}", any(handler::channel))
        .route("/sequences/{ns}/{name}", any(handler::sequence))
        .route("/parallels/{ns}/{name}", any(handler::parallel))
        .route("/{ns}/{name}", any(handler::broker))
        .fallback(handler::fallback)
        .with_state(state)
}

/// A running HTTP ingress on a tokio runtime of its own (one thread owns it).
pub struct HttpIngress {
    addr: SocketAddr,
    urls: Vec<IngressUrl>,
    state: Arc<AppState>,
    stop: watch::Sender<Option<Duration>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl HttpIngress {
    /// Binds `config.listen` and serves the ingresses of `plan`, sending accepted events to
    /// `sender`. Returns once the socket is bound.
    ///
    /// # Errors
    /// [`HttpError::Listen`] when the runtime cannot start or the address cannot be bound.
    pub fn start(
        plan: &Plan,
        sender: LiveSender,
        config: &HttpConfig,
    ) -> Result<HttpIngress, HttpError> {
        HttpIngress::start_with_store(plan, sender, config, None)
    }

    /// [`HttpIngress::start`], with events for the durable nodes of `store` (JetStream-backed
    /// channels and brokers) persisted there before the 202 instead of queued in the engine.
    ///
    /// # Errors
    /// [`HttpError::Listen`] when the runtime cannot start or the address cannot be bound.
    pub fn start_with_store(
        plan: &Plan,
        sender: LiveSender,
        config: &HttpConfig,
        store: Option<SharedStore>,
    ) -> Result<HttpIngress, HttpError> {
        let listen = config.listen;
        let err = |source| HttpError::Listen {
            addr: listen,
            source,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads.max(1))
            .thread_name("eventflow-http")
            .enable_all()
            .build()
            .map_err(err)?;
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(listen))
            .map_err(err)?;
        let addr = listener.local_addr().map_err(err)?;
        let mut state = AppState::new(plan, sender, Metrics::new()?, config.max_body);
        state.registry = config.registry.clone();
        state.store = store;
        let state = Arc::new(state);
        let mut urls: Vec<IngressUrl> = state
            .routes
            .values()
            .map(|r| IngressUrl {
                resource: r.resource.clone(),
                url: format!("http://{addr}{}", r.path),
            })
            .collect();
        urls.sort_by(|a, b| a.url.cmp(&b.url));
        let app = build(state.clone());
        let (stop, mut stopped) = watch::channel::<Option<Duration>>(None);
        let mut grace = stop.subscribe();
        let thread = std::thread::Builder::new()
            .name("eventflow-http-main".into())
            .spawn(move || {
                rt.block_on(async move {
                    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(Option::is_some).await;
                    });
                    let deadline = async move {
                        let limit = grace.wait_for(Option::is_some).await.ok().and_then(|g| *g);
                        tokio::time::sleep(limit.unwrap_or_default()).await;
                    };
                    tokio::select! {
                        r = server => r,
                        () = deadline => {
                            tracing::warn!("HTTP connections still open after the grace period; closing them");
                            Ok(())
                        }
                    }
                })
            })
            .map_err(|e| HttpError::Thread(e.to_string()))?;
        tracing::info!(%addr, ingresses = urls.len(), "HTTP ingress listening");
        Ok(HttpIngress {
            addr,
            urls,
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// The address actually bound (the real port when `:0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every ingress with its URL, sorted by URL.
    pub fn urls(&self) -> &[IngressUrl] {
        &self.urls
    }

    /// Events refused with a 4xx/5xx so far (malformed, unknown ingress, too large, queue
    /// full, stopped, wrong method), as counted in `/metrics`.
    pub fn rejected_total(&self) -> u64 {
        self.state.metrics.rejected_total()
    }

    /// Stops accepting connections, lets requests in progress finish (at most `grace`), and
    /// returns. `/readyz` answers 503 from the start of the call.
    ///
    /// # Errors
    /// [`HttpError::Serve`] when the server failed, [`HttpError::Thread`] if its thread panicked.
    pub fn stop(mut self, grace: Duration) -> Result<(), HttpError> {
        self.state.draining.store(true, Ordering::Release);
        let _ = self.stop.send(Some(grace));
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(()))) | None => Ok(()),
            Some(Ok(Err(e))) => Err(HttpError::Serve(e)),
            Some(Err(_)) => Err(HttpError::Thread("the server thread panicked".into())),
        }
    }
}

impl Drop for HttpIngress {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.stop.send(Some(Duration::ZERO));
            let _ = t.join();
        }
    }
}

impl HttpIngress {
    /// The metrics served at `GET /metrics` (e.g. to [`Metrics::register_dispatch`]).
    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }
}

//! A bare axum CloudEvents receiver: the baseline the ingress is measured against (DESIGN.md
//! §8: "HTTP ingress ≥ 85 % of a bare axum CloudEvents receiver") and a sink for load runs.
//!
//! `POST` to any path: the request is decoded with the same CloudEvents HTTP binding as the
//! ingress ([`super::decode`]: binary, structured, batched) and answered 202 (400 when it is not
//! a valid CloudEvent); nothing else happens — no routing, no queue, no engine. `GET /count`
//! answers the number of events accepted so far (plain text).

use super::decode::decode;
use super::HttpError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::watch;

/// A running bare receiver on a tokio runtime of its own.
pub struct BareReceiver {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

async fn receive(
    State(received): State<Arc<AtomicU64>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    match decode(&headers, &body) {
        Ok((_, events)) => {
            let ok = events.iter().filter(|e| e.is_ok()).count() as u64;
            received.fetch_add(ok, Ordering::Relaxed);
            if ok as usize == events.len() {
                StatusCode::ACCEPTED
            } else {
                StatusCode::BAD_REQUEST
            }
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn count(State(received): State<Arc<AtomicU64>>) -> String {
    format!("{}\n", received.load(Ordering::Relaxed))
}

impl BareReceiver {
    /// Binds `listen` and serves on `threads` tokio worker threads (≥ 1). Returns once bound.
    ///
    /// # Errors
    /// [`HttpError::Listen`] when the runtime cannot start or the address cannot be bound,
    /// [`HttpError::Thread`] when the server thread cannot be spawned.
    pub fn start(listen: SocketAddr, threads: usize) -> Result<BareReceiver, HttpError> {
        let err = |source| HttpError::Listen {
            addr: listen,
            source,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("bare-receiver")
            .enable_all()
            .build()
            .map_err(err)?;
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(listen))
            .map_err(err)?;
        let addr = listener.local_addr().map_err(err)?;
        let received = Arc::new(AtomicU64::new(0));
        let app = Router::new()
            .route("/count", get(count))
            .route("/", post(receive))
            .route("/{*path}", post(receive))
            .with_state(received.clone());
        let (stop, mut stopped) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("bare-receiver-main".into())
            .spawn(move || {
                rt.block_on(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.wait_for(|s| *s).await;
                        })
                        .await
                })
            })
            .map_err(|e| HttpError::Thread(e.to_string()))?;
        Ok(BareReceiver {
            addr,
            received,
            stop,
            thread: Some(thread),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Events accepted so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Stops serving (requests in progress finish) and returns the number of events accepted.
    ///
    /// # Errors
    /// [`HttpError::Serve`] when the server failed, [`HttpError::Thread`] if its thread panicked.
    pub fn stop(mut self) -> Result<u64, HttpError> {
        let _ = self.stop.send(true);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(()))) | None => Ok(self.received()),
            Some(Ok(Err(e))) => Err(HttpError::Serve(e)),
            Some(Err(_)) => Err(HttpError::Thread("the server thread panicked".into())),
        }
    }
}

impl Drop for BareReceiver {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.stop.send(true);
            let _ = t.join();
        }
    }
}

//! The ingress hook for durable nodes: where the HTTP ingress puts an event whose ingress is
//! backed by a store (a NATS JetStream stream, [`crate::nats`]) instead of the engine's
//! in-memory queue.
//!
//! For such a node the ingress answers 202 only once [`DurableStore::store`] has resolved,
//! i.e. once the store has persisted the event (JetStream: the publish acknowledgement). The
//! store's own consumers feed the engine from there. A failed store answers 503 (reason
//! `store_unavailable`); the client must retry, as with any 5xx from a Knative ingress.

use eventflow_planner::event::Event;
use eventflow_planner::plan::NodeId;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Why an event could not be stored (the store is unreachable, timed out, or refused it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// The future [`DurableStore::store`] returns: resolves once the event is persisted.
pub type StoreFuture = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;

/// A store for the events of durable ingress nodes.
pub trait DurableStore: Send + Sync {
    /// `true` when events for `node` go to this store rather than to the engine's queue.
    fn is_durable(&self, node: NodeId) -> bool;

    /// Persists `event` for `node`. The future resolves `Ok` once it is stored (then the
    /// ingress answers 202), or with the reason it is not.
    fn store(&self, node: NodeId, event: Event) -> StoreFuture;

    /// `false` while the store cannot take events (e.g. disconnected): `/readyz` answers 503.
    fn ready(&self) -> bool {
        true
    }

    /// Extra metric families in Prometheus text format, appended to `GET /metrics`.
    fn metrics(&self) -> String {
        String::new()
    }
}

/// A shared store handle, as [`super::HttpIngress::start_with_store`] takes it.
pub type SharedStore = Arc<dyn DurableStore>;

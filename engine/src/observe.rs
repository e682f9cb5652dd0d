//! Watching deliveries as they happen: the hook behind Knative's dispatch metrics
//! (`event_dispatch_latencies`, knative-semantics.md §8; the HTTP connector turns it into
//! Prometheus families). The engine knows no metrics library: it reports each attempt to a
//! [`DispatchObserver`] registered on the [`Bindings`](crate::service::Bindings).

use eventflow_planner::plan::EdgeId;
use std::time::Duration;

/// Told about every attempt to deliver to a subscriber along a plan edge (a Trigger's or a
/// Subscription's subscriber, Sequence steps and Parallel branches included; reply targets and
/// dead-letter sinks are not reported).
///
/// Called on the thread that made the call (a timely worker for in-process subscribers, a
/// delivery-pool thread for HTTP ones), so it must be cheap and must not block.
pub trait DispatchObserver: Send + Sync {
    /// One attempt along `edge` ended with HTTP status `code` (in-process subscribers: 202 for
    /// an acknowledgement, 200 for a reply, else their status; transport errors and time-outs:
    /// 500) after `elapsed` of wall-clock time (backoff waits excluded).
    fn dispatched(&self, edge: EdgeId, code: u16, elapsed: Duration);
}

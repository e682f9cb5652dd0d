//! Metrics in Prometheus text format (`GET /metrics`).
//!
//! * `event_count{kind, namespace_name, name, broker_name, response_code, response_code_class}`
//!   — Knative's broker-ingress counter: events received, by the status they were answered with
//!   (for a batch, each element counts with its own outcome). `namespace_name`, `broker_name`,
//!   `response_code` and `response_code_class` are Knative's label names (`broker_name` is
//!   empty for channel, Sequence and Parallel ingresses); `kind` and `name` name any ingress.
//!   Knative's `event_type` label is left out: it comes from the request and would let clients
//!   grow the series without bound.
//! * `event_dispatch_latencies{namespace_name, broker_name, trigger_name, channel_name,
//!   subscription_name, response_code, response_code_class}` — Knative's dispatch histogram
//!   (ms, buckets 1 … 10000): one observation per attempt to deliver to a subscriber, once a
//!   [`DispatchMetrics`] is registered ([`Metrics::register_dispatch`]); its `_count` is what
//!   Knative's broker filter reports as its `event_count`.
//! * `eventflow_ingress_rejected_events_total{kind, namespace_name, name, reason}` — events (or
//!   requests that carried none) refused, by reason: `malformed`, `unknown_ingress`,
//!   `too_large`, `queue_full`, `stopped`, `method`, `store_unavailable` (durable ingress).
//! * `eventflow_ingress_queue_events` / `eventflow_ingress_queue_capacity` — the engine's queue.
//!
//! Labels come from the plan, never from request paths, so a client cannot grow the label set:
//! requests to unknown ingresses count with empty `namespace_name` and `name`.

use super::dispatch_metrics::DispatchMetrics;
use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// Why an event (or request) was refused: the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not a valid CloudEvent (400).
    Malformed,
    /// No such Broker/channel/Sequence/Parallel (404).
    UnknownIngress,
    /// Body over the size limit (413).
    TooLarge,
    /// Engine queue full (429).
    QueueFull,
    /// Engine stopped (503).
    Stopped,
    /// Method other than POST/OPTIONS (405).
    Method,
    /// The durable store (JetStream) of the ingress did not persist the event (503).
    StoreUnavailable,
}

impl Reason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::UnknownIngress => "unknown_ingress",
            Reason::TooLarge => "too_large",
            Reason::QueueFull => "queue_full",
            Reason::Stopped => "stopped",
            Reason::Method => "method",
            Reason::StoreUnavailable => "store_unavailable",
        }
    }

    /// The HTTP status this reason answers with.
    pub fn status(self) -> u16 {
        match self {
            Reason::Malformed => 400,
            Reason::UnknownIngress => 404,
            Reason::TooLarge => 413,
            Reason::QueueFull => 429,
            Reason::Stopped => 503,
            Reason::Method => 405,
            Reason::StoreUnavailable => 503,
        }
    }
}

/// The metric families, registered in a registry of their own.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    events: IntCounterVec,
    rejected: IntCounterVec,
    queue: IntGauge,
    capacity: IntGauge,
}

/// Label values identifying one ingress: kind, namespace, name.
pub type IngressLabels<'a> = [&'a str; 3];

/// Knative's `broker_name` label: the name for a Broker ingress, else empty.
fn broker_name(ingress: IngressLabels<'_>) -> &str {
    match ingress {
        ["broker", _, name] => name,
        _ => "",
    }
}

impl Metrics {
    /// Creates and registers the families.
    ///
    /// # Errors
    /// A [`prometheus::Error`] if a family cannot be registered (a bug: names are fixed).
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let events = IntCounterVec::new(
            Opts::new(
                "event_count",
                "Events received at an ingress, by the HTTP status they were answered with",
            ),
            &[
                "kind",
                "namespace_name",
                "name",
                "broker_name",
                "response_code",
                "response_code_class",
            ],
        )?;
        let rejected = IntCounterVec::new(
            Opts::new(
                "eventflow_ingress_rejected_events_total",
                "Events (or requests without events) refused at an ingress, by reason",
            ),
            &["kind", "namespace_name", "name", "reason"],
        )?;
        let queue = IntGauge::new(
            "eventflow_ingress_queue_events",
            "Events accepted and waiting for the engine",
        )?;
        let capacity = IntGauge::new(
            "eventflow_ingress_queue_capacity",
            "Capacity of the engine's queue, in events",
        )?;
        registry.register(Box::new(events.clone()))?;
        registry.register(Box::new(rejected.clone()))?;
        registry.register(Box::new(queue.clone()))?;
        registry.register(Box::new(capacity.clone()))?;
        Ok(Metrics {
            registry,
            events,
            rejected,
            queue,
            capacity,
        })
    }

    /// Serves `dispatch`'s `event_dispatch_latencies` here too. The observer is made (and
    /// registered with the engine's bindings) before the engine starts, the ingress after it:
    /// observations made in between are kept.
    ///
    /// # Errors
    /// A [`prometheus::Error`] when a dispatch family is already registered.
    pub fn register_dispatch(&self, dispatch: &DispatchMetrics) -> Result<(), prometheus::Error> {
        self.registry.register(Box::new(dispatch.family().clone()))
    }

    /// The counter of accepted events for one ingress (resolve once, increment per event).
    pub fn accepted(&self, ingress: IngressLabels<'_>) -> IntCounter {
        let [kind, ns, name] = ingress;
        self.events
            .with_label_values(&[kind, ns, name, broker_name(ingress), "202", "2xx"])
    }

    /// Counts `n` events refused for `reason`.
    pub fn reject(&self, ingress: IngressLabels<'_>, reason: Reason, n: u64) {
        let [kind, ns, name] = ingress;
        let code = reason.status();
        let class = format!("{}xx", code / 100);
        self.events
            .with_label_values(&[
                kind,
                ns,
                name,
                broker_name(ingress),
                &code.to_string(),
                &class,
            ])
            .inc_by(n);
        self.rejected
            .with_label_values(&[kind, ns, name, reason.as_str()])
            .inc_by(n);
    }

    /// Events refused so far, over every ingress and reason.
    pub fn rejected_total(&self) -> u64 {
        use prometheus::core::Collector;
        self.rejected
            .collect()
            .iter()
            .flat_map(|family| family.get_metric())
            .map(|m| m.get_counter().get_value() as u64)
            .sum()
    }

    /// Renders every family in Prometheus text format, with the queue gauges set first.
    pub fn render(&self, queued: usize, capacity: usize) -> String {
        self.queue.set(i64::try_from(queued).unwrap_or(i64::MAX));
        self.capacity
            .set(i64::try_from(capacity).unwrap_or(i64::MAX));
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

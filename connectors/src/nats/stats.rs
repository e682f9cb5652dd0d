//! Counters of the JetStream connector: what was stored, fed, redelivered and acknowledged.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, shared by the ingress store, the consumers and the acker.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub stored: AtomicU64,
    pub store_duplicates: AtomicU64,
    pub store_failed: AtomicU64,
    pub received: AtomicU64,
    pub redelivered: AtomicU64,
    pub fed: AtomicU64,
    pub acked: AtomicU64,
    pub malformed: AtomicU64,
    pub requeued: AtomicU64,
    pub progress: AtomicU64,
}

impl Counters {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot.
    pub fn snapshot(&self) -> NatsStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NatsStats {
            stored: get(&self.stored),
            store_duplicates: get(&self.store_duplicates),
            store_failed: get(&self.store_failed),
            received: get(&self.received),
            redelivered: get(&self.redelivered),
            fed: get(&self.fed),
            acked: get(&self.acked),
            malformed: get(&self.malformed),
            requeued: get(&self.requeued),
            progress: get(&self.progress),
        }
    }
}

/// What the JetStream connector did, in messages (counts since start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct NatsStats {
    /// Events the ingress stored (publish acknowledged by JetStream).
    pub stored: u64,
    /// Of those, publishes JetStream recognised as duplicates (same `Nats-Msg-Id` =
    /// `source` + `id` within the stream's duplicate window): stored once.
    pub store_duplicates: u64,
    /// Publishes that failed (answered 503).
    pub store_failed: u64,
    /// Messages the durable consumers received (first deliveries and redeliveries).
    pub received: u64,
    /// Of those, redeliveries (JetStream delivery count > 1): after a crash, an ack timeout, or
    /// a requeue. Each is a duplicate for the subscribers that had already been served.
    pub redelivered: u64,
    /// Messages handed to the engine.
    pub fed: u64,
    /// Messages acknowledged (their whole delivery path had ended).
    pub acked: u64,
    /// Messages that were not a CloudEvent (terminated, counted as dropped).
    pub malformed: u64,
    /// Messages handed back for redelivery because the engine's queue was full.
    pub requeued: u64,
    /// In-progress acknowledgements sent for messages whose path outlived half the ack wait.
    pub progress: u64,
}

impl NatsStats {
    /// Prometheus text format, one counter family per field
    /// (`eventflow_jetstream_<field>_total`).
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let rows: [(&str, u64, &str); 10] = [
            (
                "stored",
                self.stored,
                "Events stored in JetStream by the ingress",
            ),
            (
                "store_duplicates",
                self.store_duplicates,
                "Publishes JetStream recognised as duplicates",
            ),
            ("store_failed", self.store_failed, "Publishes that failed"),
            (
                "received",
                self.received,
                "Messages received by the consumers",
            ),
            (
                "redelivered",
                self.redelivered,
                "Messages delivered more than once",
            ),
            ("fed", self.fed, "Messages handed to the engine"),
            ("acked", self.acked, "Messages acknowledged"),
            (
                "malformed",
                self.malformed,
                "Messages that were not a CloudEvent",
            ),
            (
                "requeued",
                self.requeued,
                "Messages requeued because the engine was full",
            ),
            (
                "progress",
                self.progress,
                "In-progress acknowledgements sent",
            ),
        ];
        for (name, value, help) in rows {
            let _ = writeln!(out, "# HELP eventflow_jetstream_{name}_total {help}");
            let _ = writeln!(out, "# TYPE eventflow_jetstream_{name}_total counter");
            let _ = writeln!(out, "eventflow_jetstream_{name}_total {value}");
        }
        out
    }

    /// Summary lines for `eventflow run` (two-space indent, aligned like the engine's table).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  jetstream stored   {:>8}  ({} duplicate publishes, {} failed)",
            self.stored, self.store_duplicates, self.store_failed
        );
        let _ = writeln!(
            out,
            "  jetstream received {:>8}  ({} redelivered = duplicates, {} requeued)",
            self.received, self.redelivered, self.requeued
        );
        let _ = writeln!(
            out,
            "  jetstream acked    {:>8}  ({} malformed, {} in-progress acks)",
            self.acked, self.malformed, self.progress
        );
        out
    }
}

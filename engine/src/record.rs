//! What flows through the dataflow: [`Item`]s (an event at a node or on an edge) inside the
//! reply loop, and [`Record`]s (ended deliveries, malformed lines, drops) out of it.

use crate::clock::VirtualMs;
use eventflow_planner::event::Event;
use eventflow_planner::plan::{EdgeId, NodeId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Where an [`Item`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Place {
    /// Entering an ingress node (Broker ingress, channel).
    Node(NodeId),
    /// About to be delivered along an edge.
    Edge(EdgeId),
}

/// The path from a root event to a record (edge ids and reply/dead-letter markers), kept as
/// first step, depth and a 64-bit rolling hash: `Copy`, no allocation per hop. Records of one
/// input event are ordered by (first edge, depth, hash) — deterministic for any worker count.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Trail {
    /// The first edge taken from the ingress (`u32::MAX` before any).
    pub first: u32,
    /// Steps taken.
    pub depth: u32,
    /// FNV-1a style hash of the steps.
    pub hash: u64,
}

impl Trail {
    /// The empty trail.
    pub const ROOT: Trail = Trail {
        first: u32::MAX,
        depth: 0,
        hash: 0xcbf2_9ce4_8422_2325,
    };

    /// The trail extended by one step.
    pub fn push(self, step: u32) -> Trail {
        let first = if self.depth == 0 { step } else { self.first };
        let mut hash = self.hash;
        for b in step.to_le_bytes() {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Trail {
            first,
            depth: self.depth + 1,
            hash,
        }
    }
}

/// Bookkeeping that travels with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The replay epoch (input chunk) the root event came in with.
    pub epoch: u64,
    /// The root event's sequence number in the input (line number for replay).
    pub seq: u64,
    /// The path from the root event. Orders records.
    pub trail: Trail,
    /// Deliveries and hops so far (the hop limit bounds loops `knativebrokerttl` misses).
    pub hops: u32,
    /// Virtual time of this event, in ms.
    pub clock: VirtualMs,
}

/// An event in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Where it is.
    pub place: Place,
    /// The event, shared by every branch of a fan-out.
    pub event: Arc<Event>,
    /// For Trigger edges: the `knativebrokerttl` the Broker's ingress gave the event, which
    /// `event` no longer carries (Trigger subscribers never see it); deliveries restore it on
    /// replies and dead letters (knative-semantics.md §3.2). `None` elsewhere.
    pub broker_ttl: Option<i32>,
    /// Bookkeeping.
    pub meta: Meta,
}

/// How a delivery ended (DESIGN.md §5 `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Outcome {
    /// The subscriber accepted it (2xx).
    Delivered,
    /// The subscriber failed; the event went to a dead-letter sink.
    DeadLettered,
    /// The subscriber failed and there was no dead-letter sink (or it failed too).
    Dropped,
}

impl Outcome {
    /// `delivered`, `dead-lettered` or `dropped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::DeadLettered => "dead-lettered",
            Outcome::Dropped => "dropped",
        }
    }
}

/// One subscriber delivery that ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `Kind/namespace/name` or the URL.
    pub subscriber: Arc<str>,
    /// The Trigger, Subscription, step or branch (`Sequence/ns/name/step/0`, …).
    pub via: Arc<str>,
    /// How it ended.
    pub outcome: Outcome,
    /// Attempts made (retry + 1 at most).
    pub attempts: u32,
    /// Why it failed, when it did.
    pub reason: Option<String>,
    /// The delivery-log line (JSON), when a delivery log is written.
    pub line: Option<String>,
}

/// What leaves the dataflow for the report and the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RecordKind {
    /// A subscriber delivery ended.
    Delivery(Box<Delivery>),
    /// An input line was not a valid CloudEvent.
    Malformed {
        /// 1-based line number.
        line: u64,
        /// Why.
        reason: String,
    },
    /// An event was dropped outside a subscriber delivery (hop limit, TTL at ingress, a
    /// rejected reply without dead-letter sink).
    Dropped {
        /// Why (a short stable phrase, the report groups by it).
        reason: String,
    },
    /// A delivery that ended well, when no delivery log is written (no line to carry): the
    /// deliver operator folds these into one [`RecordKind::Tally`] per batch.
    Count {
        /// `Kind/namespace/name` or the URL.
        subscriber: Arc<str>,
        /// The Trigger, Subscription, step or branch.
        via: Arc<str>,
        /// How it ended (never `Dropped`: drops keep their reason in a `Delivery`).
        outcome: Outcome,
    },
    /// Deliveries counted by (subscriber, via, outcome).
    Tally(Vec<(Arc<str>, Arc<str>, Outcome, u64)>),
    /// Input accounting for one chunk: lines read (non-blank) and events accepted.
    Input {
        /// Non-blank lines read.
        read: u64,
        /// Valid events that entered the graph.
        accepted: u64,
    },
}

/// A [`RecordKind`] with the keys that order it deterministically: epoch, seq, trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Replay epoch.
    pub epoch: u64,
    /// Root event sequence number (input line).
    pub seq: u64,
    /// Path from the root event.
    pub trail: Trail,
    /// What happened.
    pub kind: RecordKind,
}

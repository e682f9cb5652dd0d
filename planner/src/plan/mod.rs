//! The Plan: the dataflow graph a Topology lowers to (DESIGN.md §3).
//!
//! Four primitives, as in Knative's reference implementation: *ingress* nodes (a Broker, a
//! Channel, a Sequence's first channel, a Parallel's ingress channel), *route* (a Broker's
//! Triggers: filter predicates evaluated by one operator), *fan-out* (a Channel's
//! Subscriptions), and *deliver* edges (call a subscriber under a delivery policy; its reply
//! goes to a target; its failure to a dead-letter sink). Sequence lowers to a chain of channels
//! with one Subscription each; Parallel to an ingress channel whose per-branch filter
//! Subscriptions reply into per-branch channels whose subscriber Subscriptions reply onwards.
//! Cycles (a Trigger's reply back into its Broker) are edges like any other; the engine closes
//! them with a timely loop scope.

pub mod durable;
mod lower;
mod policy;
mod print;

pub use durable::JetStream;
pub use lower::PlanError;
pub use print::describe_filter;

use crate::delivery::DeliverySpec;
use crate::diagnostic::Origin;
use crate::filter::Filter;
use crate::topology::Source;
use std::sync::Arc;

/// Index of a [`Node`] in [`Plan::nodes`].
pub type NodeId = u32;
/// Index of an [`Edge`] in [`Plan::edges`].
pub type EdgeId = u32;
/// Index of an [`External`] in [`Plan::externals`].
pub type ExternalId = u32;

/// What an ingress node does with an event that enters it.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A Broker: stamps `knativearrivaltime`, applies `knativebrokerttl`, routes to its Triggers.
    Broker,
    /// A channel: hands every event to every Subscription.
    Channel {
        /// The channel kind (`InMemoryChannel`, …).
        kind: String,
    },
}

/// Why a node exists: a user resource, or a channel generated for a Sequence/Parallel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRole {
    /// Declared in the manifests.
    Declared,
    /// Channel `i` of Sequence `name` (Knative: `<name>-kn-sequence-<i>`).
    SequenceStep(String, usize),
    /// The ingress channel of Parallel `name` (`<name>-kn-parallel`).
    ParallelIngress(String),
    /// Branch channel `i` of Parallel `name` (`<name>-kn-parallel-<i>`).
    ParallelBranch(String, usize),
}

/// An ingress point of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Its id (= index).
    pub id: NodeId,
    /// `Kind/namespace/name` (generated channels carry Knative's generated names).
    pub name: String,
    /// `namespace`.
    pub namespace: String,
    /// Broker or channel.
    pub kind: NodeKind,
    /// Declared or generated, and for what.
    pub role: NodeRole,
    /// Outgoing edges: the Broker's Triggers or the channel's Subscriptions, in manifest order.
    pub edges: Vec<EdgeId>,
}

/// A subscriber outside the graph: a `Service` ref (bound by name) or a `uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    /// Its id (= index).
    pub id: ExternalId,
    /// As in the delivery log: `Kind/namespace/name` (plus a relative uri) or the URL.
    pub name: String,
    /// The binding name for refs (`metadata.name` of the Service), `None` for `uri`.
    pub service: Option<String>,
    /// The URL for `uri` destinations; for refs, Knative's resolved address
    /// (`http://<name>.<ns>.svc.cluster.local` + relative uri).
    pub url: String,
}

/// Where an edge sends an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Into an ingress node (a hop, not a delivery).
    Node(NodeId),
    /// To an external subscriber (a delivery, with a record in the delivery log).
    External(ExternalId),
}

/// Where a subscriber's reply goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyTo {
    /// Into an ingress node; a Trigger's reply into its own Broker keeps `knativebrokerttl`.
    Node(NodeId),
    /// To an external destination: a delivery of its own, logged with `via`
    /// (`Sequence/ns/name/reply`, `Parallel/ns/name/branch/1/reply`, `Subscription/ns/name/reply`).
    External(ExternalId, String),
}

/// Trigger or Subscription: decides TTL handling and how a non-CloudEvent 2xx body counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// A Trigger of a Broker: filter, strip `knativebrokerttl`, reply back into the Broker.
    Trigger,
    /// A Subscription (declared, or generated for a Sequence step / Parallel branch).
    Subscription,
}

/// The retry and dead-letter policy of one edge, with precedence already applied
/// (Trigger over Broker, Subscription over Channel, step/branch over `channelTemplate`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    /// Attempts, backoff, timeout (the effective DeliverySpec, `dead_letter_sink` ignored).
    /// Shared by the edges whose specs are equal (most edges have none: one default for all).
    pub delivery: Arc<DeliverySpec>,
    /// The dead-letter sink, after field-wise fallback.
    pub dead_letter: Option<Target>,
    /// Ordered delivery per `partitionkey` (else per `source`): one delivery in flight per key
    /// at a time, in arrival order. Set by the Trigger annotation
    /// `kafka.eventing.knative.dev/delivery.order: ordered` or, for a Subscription, by the
    /// same annotation on its channel (knative-semantics.md §5).
    pub ordered: bool,
}

/// A deliver edge: an event leaving a node towards one subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// Its id (= index).
    pub id: EdgeId,
    /// The node it leaves.
    pub from: NodeId,
    /// Trigger or Subscription.
    pub kind: EdgeKind,
    /// As in the delivery log: `Trigger/ns/name`, `Subscription/ns/name`,
    /// `Sequence/ns/name/step/0`, `Parallel/ns/name/branch/0/filter`, ….
    pub via: String,
    /// The Trigger's filter (`Filter::None` for Subscriptions).
    pub filter: Filter,
    /// The subscriber; `None` for a reply-only Subscription (the event goes straight to `reply`).
    pub subscriber: Option<Target>,
    /// Where a reply goes; `None` = replies are discarded.
    pub reply: Option<ReplyTo>,
    /// Retries and dead-letter sink.
    pub policy: Policy,
    /// Where the Trigger/Subscription/step was written.
    pub origin: Origin,
}

/// The lowered graph. Ids are dense indexes; everything is in manifest order, so printing and
/// the engine's record order are deterministic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Ingress nodes.
    pub nodes: Vec<Node>,
    /// Deliver edges.
    pub edges: Vec<Edge>,
    /// External subscribers, deduplicated by name.
    pub externals: Vec<External>,
    /// Sources (not part of the routing graph; their sink resolved to a target).
    pub sources: Vec<(Source, Option<Target>)>,
    /// Named entry points for `--into`: (`kind/namespace/name` lower-case kind, node).
    pub entries: Vec<(String, NodeId)>,
    /// Resources left out because a reference does not resolve (Kubernetes: not Ready).
    pub not_ready: Vec<String>,
    /// Entry nodes backed by a NATS JetStream stream, in node order (see [`durable`]).
    pub jetstream: Vec<JetStream>,
}

impl Plan {
    /// The resource a node is the ingress of: `Sequence/ns/name` for a Sequence's first
    /// channel, `Parallel/ns/name` for a Parallel's ingress channel, else the node's own name.
    pub fn entry_name(&self, node: NodeId) -> String {
        let n = &self.nodes[node as usize];
        match &n.role {
            NodeRole::SequenceStep(name, 0) => format!("Sequence/{}/{name}", n.namespace),
            NodeRole::ParallelIngress(name) => format!("Parallel/{}/{name}", n.namespace),
            _ => n.name.clone(),
        }
    }

    /// Finds the ingress for `--into KIND/NAME` (kind `broker`, `channel`, `inmemorychannel`,
    /// `sequence`, `parallel`; case-insensitive) in `namespace` (or any namespace when `None`
    /// and the name is unique). With `into = None`: the only Broker.
    ///
    /// # Errors
    /// A message listing the possible entries when there is no match or more than one.
    pub fn entry(&self, into: Option<&str>, namespace: Option<&str>) -> Result<NodeId, String> {
        let listing = || {
            self.entries
                .iter()
                .map(|(n, _)| n.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(into) = into else {
            let brokers: Vec<&(String, NodeId)> = self
                .entries
                .iter()
                .filter(|(n, _)| n.starts_with("broker/"))
                .collect();
            return match brokers.as_slice() {
                [(_, id)] => Ok(*id),
                [] => Err(format!(
                    "no Broker in the manifests; choose an ingress with --into (one of: {})",
                    listing()
                )),
                _ => Err(format!(
                    "several Brokers; choose one with --into (one of: {})",
                    listing()
                )),
            };
        };
        let lower = into.to_ascii_lowercase();
        let parts: Vec<&str> = lower.split('/').collect();
        let (kind, namespace, name) = match parts.as_slice() {
            [k, n] => (*k, namespace, *n),
            [k, ns, n] => (*k, Some(*ns), *n),
            _ => {
                return Err(format!(
                    "--into `{into}` is not KIND/NAME or KIND/NAMESPACE/NAME (one of: {})",
                    listing()
                ))
            }
        };
        let kind = if kind.ends_with("channel") {
            "channel"
        } else {
            kind
        };
        let found: Vec<NodeId> = self
            .entries
            .iter()
            .filter(|(n, _)| {
                let mut parts = n.splitn(3, '/');
                let (k, ns, nm) = (parts.next(), parts.next(), parts.next());
                k == Some(kind) && nm == Some(name) && namespace.is_none_or(|want| ns == Some(want))
            })
            .map(|(_, id)| *id)
            .collect();
        match found.as_slice() {
            [id] => Ok(*id),
            [] => Err(format!("no ingress `{into}` (one of: {})", listing())),
            _ => Err(format!(
                "`{into}` exists in several namespaces; pass -n NAMESPACE"
            )),
        }
    }
}

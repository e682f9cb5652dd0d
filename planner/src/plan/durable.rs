//! Which ingress nodes are backed by a NATS JetStream stream (issue 5: durable channels).
//!
//! A node is durable when its resource says so the way Knative's eventing-natss does:
//!
//! * a `NatsJetStreamChannel` (`messaging.knative.dev/v1alpha1`), or a generic `Channel` whose
//!   `spec.channelTemplate.kind` is `NatsJetStreamChannel`;
//! * a Sequence or Parallel whose `spec.channelTemplate.kind` is `NatsJetStreamChannel` (its
//!   entry channel: the Sequence's first channel, the Parallel's ingress channel);
//! * a Broker of class `NatsJetStreamBroker` (eventing-natss's broker class), or an
//!   `eventing.knative.dev/v1alpha1` Broker whose `spec.channelTemplateSpec.kind` is
//!   `NatsJetStreamChannel`.
//!
//! Names follow eventing-natss (`pkg/channel/jetstream/utils/naming.go`,
//! `pkg/broker/utils/naming.go`): stream `KN_<NAMESPACE>__<NAME>` (Broker:
//! `KN_BROKER_<NAMESPACE>__<NAME>`), upper case, `-` → `_`; subject `<namespace>.<name>._knative`
//! (Broker: `…._knative_broker`). eventflow publishes to `<subject>.<partition>`, partition
//! 0..[`PARTITIONS`] chosen by the event's `partitionkey` (else its `source`), so that a node
//! that asks for ordered delivery can consume each partition one message at a time.
//!
//! Only entry nodes (the ones `Plan::entries` lists) are backed: events that reach a node
//! through a hop inside the graph (a reply, a Trigger delivering into a channel, a Sequence's
//! later steps) travel with the event that entered, whose stream message is acknowledged only
//! when that whole path has ended.

use super::{NodeId, NodeKind, NodeRole, Plan};
use crate::topology::Topology;

/// The channel kind of eventing-natss.
pub const CHANNEL_KIND: &str = "NatsJetStreamChannel";
/// The broker class of eventing-natss.
pub const BROKER_CLASS: &str = "NatsJetStreamBroker";
/// Subject partitions per stream (fixed: a key's partition never changes).
pub const PARTITIONS: u32 = 16;

/// One JetStream-backed ingress node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStream {
    /// The node.
    pub node: NodeId,
    /// The stream name (`KN_DEFAULT__ORDERS`).
    pub stream: String,
    /// The subject prefix (`default.orders._knative`); messages go to `<subject>.<partition>`.
    pub subject: String,
    /// Deliver in order per `partitionkey`: a Trigger of the Broker, or the channel itself,
    /// carries `kafka.eventing.knative.dev/delivery.order: ordered`.
    pub ordered: bool,
}

impl JetStream {
    /// The subject for partition `p` (`default.orders._knative.3`).
    pub fn partition_subject(&self, p: u32) -> String {
        format!("{}.{p}", self.subject)
    }

    /// The subjects the stream listens on (`default.orders._knative.>`).
    pub fn stream_subjects(&self) -> String {
        format!("{}.>", self.subject)
    }
}

/// The partition of a `partitionkey` (or `source`): FNV-1a over its bytes, mod [`PARTITIONS`].
/// Stable across processes and versions (it decides which consumer sees the key).
pub fn partition_of(key: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % PARTITIONS
}

fn stream_name(prefix: &str, ns: &str, name: &str) -> String {
    format!("{prefix}{ns}__{name}")
        .replace('-', "_")
        .to_ascii_uppercase()
}

impl Plan {
    /// The JetStream backing of `node`, if it has one.
    pub fn jetstream_of(&self, node: NodeId) -> Option<&JetStream> {
        self.jetstream.iter().find(|j| j.node == node)
    }
}

/// The JetStream-backed entry nodes of `plan`, in node order.
pub(super) fn backings(topo: &Topology, plan: &Plan) -> Vec<JetStream> {
    let mut out = Vec::new();
    for (_, id) in &plan.entries {
        let n = &plan.nodes[*id as usize];
        let ns = n.namespace.as_str();
        let found = match (&n.kind, &n.role) {
            (NodeKind::Broker, _) => {
                let name = n.name.rsplit('/').next().unwrap_or_default();
                topo.brokers
                    .iter()
                    .find(|b| b.meta.namespace == ns && b.meta.name == name)
                    .filter(|b| {
                        b.class == BROKER_CLASS || b.channel_kind.as_deref() == Some(CHANNEL_KIND)
                    })
                    .map(|b| {
                        let ordered = topo.triggers.iter().any(|t| {
                            t.ordered && t.broker.namespace == ns && t.broker.name == b.meta.name
                        });
                        JetStream {
                            node: *id,
                            stream: stream_name("KN_BROKER_", ns, name),
                            subject: format!("{ns}.{name}._knative_broker"),
                            ordered,
                        }
                    })
            }
            (NodeKind::Channel { .. }, NodeRole::Declared) => {
                let name = n.name.rsplit('/').next().unwrap_or_default();
                topo.channels
                    .iter()
                    .find(|c| c.meta.namespace == ns && c.meta.name == name)
                    .filter(|c| {
                        c.kind == CHANNEL_KIND || c.template_kind.as_deref() == Some(CHANNEL_KIND)
                    })
                    .map(|c| channel(*id, ns, name, c.ordered))
            }
            (NodeKind::Channel { kind }, NodeRole::SequenceStep(_, 0))
            | (NodeKind::Channel { kind }, NodeRole::ParallelIngress(_))
                if kind == CHANNEL_KIND =>
            {
                let name = n.name.rsplit('/').next().unwrap_or_default();
                Some(channel(*id, ns, name, false))
            }
            _ => None,
        };
        out.extend(found);
    }
    out.sort_by_key(|j| j.node);
    out
}

fn channel(node: NodeId, ns: &str, name: &str, ordered: bool) -> JetStream {
    JetStream {
        node,
        stream: stream_name("KN_", ns, name),
        subject: format!("{ns}.{name}._knative"),
        ordered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_eventing_natss() {
        assert_eq!(
            stream_name("KN_", "default", "channel"),
            "KN_DEFAULT__CHANNEL"
        );
        assert_eq!(
            stream_name("KN_", "knative-eventing", "my-channel"),
            "KN_KNATIVE_EVENTING__MY_CHANNEL"
        );
        assert_eq!(
            stream_name("KN_BROKER_", "default", "my-broker"),
            "KN_BROKER_DEFAULT__MY_BROKER"
        );
    }

    #[test]
    fn partitions_are_stable_and_in_range() {
        // FNV-1a 32 of "" is the offset basis; of "a" is 0xe40c292c.
        assert_eq!(partition_of(""), 0x811c_9dc5 % PARTITIONS);
        assert_eq!(partition_of("a"), 0xe40c_292c % PARTITIONS);
        assert!((0..1000).all(|i| partition_of(&format!("k{i}")) < PARTITIONS));
    }
}

//! Topology → Plan lowering: Knative's own macro expansion of Trigger, Sequence and Parallel
//! onto channels and subscriptions (knative-semantics.md §0, §4.1, §4.2).

use super::policy::{merge, Specs};
use super::{
    Edge, EdgeKind, External, ExternalId, Node, NodeId, NodeKind, NodeRole, Plan, Policy, ReplyTo,
    Target,
};
use crate::delivery::DeliverySpec;
use crate::diagnostic::Origin;
use crate::filter::Filter;
use crate::topology::{Destination, ObjectRef, RefKind, Topology};
use std::collections::HashMap;

/// A reference the planner cannot place in the graph (the loader's checks normally catch
/// these first, with file and line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {resource}: {message}")]
pub struct PlanError {
    /// Where the referring resource was written.
    pub origin: Origin,
    /// The referring resource.
    pub resource: String,
    /// What could not be resolved.
    pub message: String,
}

type Key = (String, String, String); // (kind, namespace, name)

struct Lowering<'t> {
    topo: &'t Topology,
    plan: Plan,
    /// Broker / declared channel / Sequence entry / Parallel ingress by (kind, ns, name).
    nodes: HashMap<Key, NodeId>,
    externals: HashMap<String, ExternalId>,
    errors: Vec<PlanError>,
    /// `errors.len()` when the current resource started: more means it is not Ready.
    mark: usize,
    /// Delivery specs handed out: equal specs share one allocation.
    specs: Specs,
}

#[path = "lower_flows.rs"]
mod flows;

impl Plan {
    /// Lowers a checked Topology.
    ///
    /// # Errors
    /// Every reference that does not resolve, at once.
    pub fn lower(topo: &Topology) -> Result<Plan, Vec<PlanError>> {
        let mut l = Lowering {
            topo,
            plan: Plan::default(),
            nodes: HashMap::new(),
            externals: HashMap::new(),
            errors: Vec::new(),
            mark: 0,
            specs: Specs::default(),
        };
        // One edge per Trigger and Subscription, more for Sequences and Parallels.
        let edges = topo.triggers.len() + topo.subscriptions.len();
        l.plan.edges.reserve_exact(edges);
        l.declare_nodes();
        l.lower_brokers();
        l.lower_channels();
        l.lower_sequences();
        l.lower_parallels();
        l.lower_sources();
        // Unresolved references make a resource not Ready (the loader warned about each one);
        // it is left out of the graph and listed in `not_ready`.
        l.plan.not_ready = l
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.resource, e.message))
            .collect();
        l.plan.not_ready.dedup();
        l.plan.jetstream = super::durable::backings(topo, &l.plan);
        Ok(l.plan)
    }
}

fn key(kind: &str, ns: &str, name: &str) -> Key {
    (kind.to_string(), ns.to_string(), name.to_string())
}

fn ref_key(r: &ObjectRef) -> Key {
    let kind = match &r.kind {
        RefKind::Broker => "broker",
        RefKind::Channel(_) => "channel",
        RefKind::Sequence => "sequence",
        RefKind::Parallel => "parallel",
        RefKind::External(_) => "external",
    };
    key(kind, &r.namespace, &r.name)
}

impl Lowering<'_> {
    fn add_node(
        &mut self,
        name: String,
        namespace: &str,
        kind: NodeKind,
        role: NodeRole,
    ) -> NodeId {
        let id = self.plan.nodes.len() as NodeId;
        self.plan.nodes.push(Node {
            id,
            name,
            namespace: namespace.to_string(),
            kind,
            role,
            edges: Vec::new(),
        });
        id
    }

    fn declare_nodes(&mut self) {
        let topo = self.topo;
        for b in &topo.brokers {
            let (ns, n) = (&b.meta.namespace, &b.meta.name);
            let id = self.add_node(
                format!("Broker/{ns}/{n}"),
                ns,
                NodeKind::Broker,
                NodeRole::Declared,
            );
            self.nodes.insert(key("broker", ns, n), id);
            self.plan.entries.push((format!("broker/{ns}/{n}"), id));
        }
        for c in &topo.channels {
            let (ns, n) = (&c.meta.namespace, &c.meta.name);
            let kind = NodeKind::Channel {
                kind: c.kind.clone(),
            };
            let id = self.add_node(format!("{}/{ns}/{n}", c.kind), ns, kind, NodeRole::Declared);
            self.nodes.insert(key("channel", ns, n), id);
            self.plan.entries.push((format!("channel/{ns}/{n}"), id));
        }
        for s in &topo.sequences {
            let (ns, n) = (&s.meta.namespace, &s.meta.name);
            let kind = s.channel_template.kind.clone();
            let mut first = None;
            for i in 0..s.steps.len() {
                let role = NodeRole::SequenceStep(n.clone(), i);
                let ck = NodeKind::Channel { kind: kind.clone() };
                let id = self.add_node(format!("{kind}/{ns}/{n}-kn-sequence-{i}"), ns, ck, role);
                first.get_or_insert(id);
            }
            if let Some(id) = first {
                self.nodes.insert(key("sequence", ns, n), id);
                self.plan.entries.push((format!("sequence/{ns}/{n}"), id));
            }
        }
        for p in &topo.parallels {
            let (ns, n) = (&p.meta.namespace, &p.meta.name);
            let kind = p.channel_template.kind.clone();
            let ck = NodeKind::Channel { kind: kind.clone() };
            let role = NodeRole::ParallelIngress(n.clone());
            let id = self.add_node(format!("{kind}/{ns}/{n}-kn-parallel"), ns, ck, role);
            self.nodes.insert(key("parallel", ns, n), id);
            self.plan.entries.push((format!("parallel/{ns}/{n}"), id));
            for i in 0..p.branches.len() {
                let ck = NodeKind::Channel { kind: kind.clone() };
                let role = NodeRole::ParallelBranch(n.clone(), i);
                self.add_node(format!("{kind}/{ns}/{n}-kn-parallel-{i}"), ns, ck, role);
            }
        }
        self.plan.entries.sort();
    }

    fn external(&mut self, dest: &Destination) -> ExternalId {
        let name = dest.to_string();
        if let Some(id) = self.externals.get(&name) {
            return *id;
        }
        let (service, url) = match dest {
            Destination::Uri(u) => (None, u.clone()),
            Destination::Ref { target, path } => {
                let base = format!(
                    "http://{}.{}.svc.cluster.local",
                    target.name, target.namespace
                );
                let url = match path.as_deref() {
                    None | Some("") => base,
                    Some(p) if p.starts_with('/') => format!("{base}{p}"),
                    Some(p) => format!("{base}/{p}"),
                };
                (Some(target.name.clone()), url)
            }
        };
        let id = self.plan.externals.len() as ExternalId;
        self.plan.externals.push(External {
            id,
            name: name.clone(),
            service,
            url,
        });
        self.externals.insert(name, id);
        id
    }

    /// Resolves a destination to a target; internal refs must exist.
    fn target(&mut self, dest: &Destination, origin: &Origin, resource: &str) -> Option<Target> {
        match dest {
            Destination::Ref { target, .. } if !matches!(target.kind, RefKind::External(_)) => {
                match self.nodes.get(&ref_key(target)) {
                    Some(id) => Some(Target::Node(*id)),
                    None => {
                        self.errors.push(PlanError {
                            origin: origin.clone(),
                            resource: resource.to_string(),
                            message: format!("{target} does not exist"),
                        });
                        None
                    }
                }
            }
            _ => Some(Target::External(self.external(dest))),
        }
    }

    fn reply_to(
        &mut self,
        dest: &Destination,
        via: String,
        origin: &Origin,
        res: &str,
    ) -> Option<ReplyTo> {
        match self.target(dest, origin, res)? {
            Target::Node(n) => Some(ReplyTo::Node(n)),
            Target::External(e) => Some(ReplyTo::External(e, via)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_edge(
        &mut self,
        from: NodeId,
        kind: EdgeKind,
        via: String,
        filter: Filter,
        subscriber: Option<Target>,
        reply: Option<ReplyTo>,
        (delivery, dls): (DeliverySpec, Option<Destination>),
        origin: &Origin,
    ) {
        let dead_letter = dls.and_then(|d| self.target(&d, origin, &via));
        if self.errors.len() > self.mark {
            return;
        }
        let id = self.plan.edges.len() as u32;
        let delivery = self.specs.shared(delivery);
        self.plan.edges.push(Edge {
            id,
            from,
            kind,
            via,
            filter,
            subscriber,
            reply,
            policy: Policy {
                delivery,
                dead_letter,
                ordered: false,
            },
            origin: origin.clone(),
        });
        self.plan.nodes[from as usize].edges.push(id);
    }

    /// Marks the edge pushed since `before` (if any) as ordered per partition key.
    fn mark_ordered(&mut self, before: usize, ordered: bool) {
        if ordered && self.plan.edges.len() > before {
            if let Some(e) = self.plan.edges.last_mut() {
                e.policy.ordered = true;
            }
        }
    }

    fn lower_brokers(&mut self) {
        let topo = self.topo;
        for t in &topo.triggers {
            self.mark = self.errors.len();
            let via = format!("Trigger/{}/{}", t.meta.namespace, t.meta.name);
            let Some(&from) = self.nodes.get(&ref_key(&t.broker)) else {
                self.errors.push(PlanError {
                    origin: t.meta.origin.clone(),
                    resource: via,
                    message: format!("{} does not exist", t.broker),
                });
                continue;
            };
            let broker = topo
                .brokers
                .iter()
                .find(|b| b.meta.namespace == t.broker.namespace && b.meta.name == t.broker.name);
            let policy = merge(
                t.delivery.as_ref(),
                broker.and_then(|b| b.delivery.as_ref()),
            );
            let sub = self.target(&t.subscriber, &t.meta.origin, &via);
            let kind = EdgeKind::Trigger;
            let reply = Some(ReplyTo::Node(from));
            let o = t.meta.origin.clone();
            let before = self.plan.edges.len();
            self.add_edge(from, kind, via, t.filter.clone(), sub, reply, policy, &o);
            self.mark_ordered(before, t.ordered);
        }
    }

    fn lower_channels(&mut self) {
        let topo = self.topo;
        for s in &topo.subscriptions {
            self.mark = self.errors.len();
            let via = format!("Subscription/{}/{}", s.meta.namespace, s.meta.name);
            let o = s.meta.origin.clone();
            let Some(&from) = self.nodes.get(&ref_key(&s.channel)) else {
                let message = format!("{} does not exist", s.channel);
                self.errors.push(PlanError {
                    origin: o,
                    resource: via,
                    message,
                });
                continue;
            };
            let channel = topo
                .channels
                .iter()
                .find(|c| c.meta.namespace == s.channel.namespace && c.meta.name == s.channel.name);
            let policy = merge(
                s.delivery.as_ref(),
                channel.and_then(|c| c.delivery.as_ref()),
            );
            let sub = match &s.subscriber {
                Some(d) => self.target(d, &o, &via),
                None => None,
            };
            let reply = match &s.reply {
                Some(d) => self.reply_to(d, format!("{via}/reply"), &o, &via),
                None => None,
            };
            let kind = EdgeKind::Subscription;
            let before = self.plan.edges.len();
            self.add_edge(from, kind, via, Filter::None, sub, reply, policy, &o);
            self.mark_ordered(before, channel.is_some_and(|c| c.ordered));
        }
    }

    fn lower_sources(&mut self) {
        let topo = self.topo;
        for s in &topo.sources {
            let res = format!("{}/{}/{}", s.kind_name, s.meta.namespace, s.meta.name);
            let target = match &s.sink {
                Some(d) => self.target(d, &s.meta.origin, &res),
                None => None,
            };
            self.plan.sources.push((s.clone(), target));
        }
    }
}

//! The ingress table: which path sends into which engine node, and the state handlers share.

use super::metrics::Metrics;
use eventflow_engine::live::LiveSender;
use eventflow_planner::plan::{NodeId, Plan};
use prometheus::IntCounter;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

/// The kinds of ingress path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `POST /<namespace>/<broker>`.
    Broker,
    /// `POST /channels/<namespace>/<name>`.
    Channel,
    /// `POST /sequences/<namespace>/<name>`.
    Sequence,
    /// `POST /parallels/<namespace>/<name>`.
    Parallel,
}

impl Family {
    /// The kind as in `Plan::entries` and the `kind` metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Broker => "broker",
            Family::Channel => "channel",
            Family::Sequence => "sequence",
            Family::Parallel => "parallel",
        }
    }

    /// The path prefix before `<namespace>/<name>`.
    pub fn prefix(self) -> &'static str {
        match self {
            Family::Broker => "/",
            Family::Channel => "/channels/",
            Family::Sequence => "/sequences/",
            Family::Parallel => "/parallels/",
        }
    }

    fn parse(kind: &str) -> Option<Family> {
        match kind {
            "broker" => Some(Family::Broker),
            "channel" => Some(Family::Channel),
            "sequence" => Some(Family::Sequence),
            "parallel" => Some(Family::Parallel),
            _ => None,
        }
    }
}

/// One ingress the server answers for.
pub struct Route {
    /// The engine node events enter.
    pub node: NodeId,
    /// `Broker/ns/name`, `InMemoryChannel/ns/name`, `Sequence/ns/name`, `Parallel/ns/name`.
    pub resource: String,
    /// The URL path.
    pub path: String,
    pub(super) namespace: String,
    pub(super) name: String,
    pub(super) accepted: IntCounter,
}

/// Shared by every handler.
pub struct AppState {
    pub(super) sender: LiveSender,
    pub(super) routes: HashMap<(Family, String, String), Route>,
    pub(super) metrics: Metrics,
    pub(super) max_body: usize,
    pub(super) draining: AtomicBool,
    pub(super) registry: Option<super::RegistryView>,
    /// Where events of durable nodes go (JetStream), if any.
    pub(super) store: Option<super::store::SharedStore>,
}

impl AppState {
    /// The routes for every Ready Broker, channel, Sequence and Parallel in `plan`.
    pub(super) fn new(
        plan: &Plan,
        sender: LiveSender,
        metrics: Metrics,
        max_body: usize,
    ) -> AppState {
        let mut routes = HashMap::new();
        for (entry, node) in &plan.entries {
            let mut parts = entry.splitn(3, '/');
            let (Some(kind), Some(ns), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Some(family) = Family::parse(kind) else {
                continue;
            };
            let route = Route {
                node: *node,
                resource: plan.entry_name(*node),
                path: format!("{}{ns}/{name}", family.prefix()),
                namespace: ns.to_string(),
                name: name.to_string(),
                accepted: metrics.accepted([family.as_str(), ns, name]),
            };
            routes.insert((family, ns.to_string(), name.to_string()), route);
        }
        AppState {
            sender,
            routes,
            metrics,
            max_body,
            draining: AtomicBool::new(false),
            registry: None,
            store: None,
        }
    }
}

//! The text `eventflow explain` prints: the Trigger filter traces, the engine's delivery
//! records for the event in order, and the ingress nodes it entered.

use eventflow::engine::clock::{parse_rfc3339_ms, VirtualMs};
use eventflow::engine::registry::Observed;
use eventflow::engine::ttl::broker_ingress;
use eventflow::planner::filter::TriState;
use eventflow::planner::plan::{External, Node, NodeId, NodeKind, NodeRole, Plan, ReplyTo, Target};
use eventflow::planner::topology::Topology;
use eventflow::{Event, Report};
use std::collections::BTreeSet;
use std::fmt::Write;

/// What the one-event engine run produced.
pub struct RunResult {
    /// The delivery log (JSON Lines), in the engine's deterministic order.
    pub log: String,
    /// The run's report (drops with reasons).
    pub report: Report,
    /// The ingress nodes the event (and its replies) entered, from the event registry.
    pub entered: Vec<Observed>,
}

/// `Kind/ns/name`, plus what a generated channel stands for.
fn node_label(n: &Node) -> String {
    match &n.role {
        NodeRole::Declared => n.name.clone(),
        NodeRole::SequenceStep(s, i) => {
            format!("{} (Sequence/{}/{s} step {i})", n.name, n.namespace)
        }
        NodeRole::ParallelIngress(p) => {
            format!("{} (Parallel/{}/{p} ingress)", n.name, n.namespace)
        }
        NodeRole::ParallelBranch(p, i) => {
            format!("{} (Parallel/{}/{p} branch {i})", n.name, n.namespace)
        }
    }
}

fn target_label(plan: &Plan, t: Target, binding_of: &dyn Fn(&External) -> String) -> String {
    match t {
        Target::Node(n) => plan
            .nodes
            .get(n as usize)
            .map_or_else(|| format!("node {n}"), node_label),
        Target::External(x) => plan.externals.get(x as usize).map_or_else(
            || format!("external {x}"),
            |e| format!("{} [{}]", e.name, binding_of(e)),
        ),
    }
}

/// Renders the whole explanation.
#[allow(clippy::too_many_arguments)]
pub fn render(
    plan: &Plan,
    topology: &Topology,
    entry: NodeId,
    event: &Event,
    clock_start: VirtualMs,
    run: &RunResult,
    binding_of: &dyn Fn(&External) -> String,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "event  {} from {}", event.ty, event.source);
    let mut details = vec![format!("id {}", event.id)];
    if let Some(v) = &event.subject {
        details.push(format!("subject {v:?}"));
    }
    if let Some(v) = &event.time {
        details.push(format!("time {v}"));
    }
    let _ = writeln!(s, "       {}", details.join(", "));
    let Some(node) = plan.nodes.get(entry as usize) else {
        return s;
    };
    let _ = writeln!(s, "into   {}", node_label(node));
    match node.kind {
        NodeKind::Broker => triggers(&mut s, plan, topology, node, event, clock_start, binding_of),
        NodeKind::Channel { .. } => {
            let _ = writeln!(
                s,
                "\nSubscriptions of {} (a channel hands every event to every Subscription):",
                node.name
            );
            for &e in &node.edges {
                let edge = &plan.edges[e as usize];
                let to = edge.subscriber.map_or_else(
                    || "(reply only)".into(),
                    |t| target_label(plan, t, binding_of),
                );
                let _ = writeln!(s, "  {} → {to}", edge.via);
            }
        }
    }
    path(&mut s, plan, run, binding_of);
    s
}

fn triggers(
    s: &mut String,
    plan: &Plan,
    topology: &Topology,
    node: &Node,
    event: &Event,
    clock_start: VirtualMs,
    binding_of: &dyn Fn(&External) -> String,
) {
    // The Broker ingress, exactly as the engine applies it before routing.
    let clock = event
        .time
        .as_deref()
        .and_then(parse_rfc3339_ms)
        .unwrap_or(clock_start);
    let routed = match broker_ingress(event, clock) {
        Ok(e) => e,
        Err(why) => {
            let _ = writeln!(s, "\n{} rejects the event: {why}", node.name);
            return;
        }
    };
    let _ = writeln!(
        s,
        "\nTriggers of {} ({}), evaluated on the event as the Broker routes it (knativearrivaltime and knativebrokerttl set):",
        node.name,
        node.edges.len()
    );
    for &e in &node.edges {
        let edge = &plan.edges[e as usize];
        let declared = topology
            .triggers
            .iter()
            .find(|t| format!("Trigger/{}/{}", t.meta.namespace, t.meta.name) == edge.via);
        let to = match (declared, edge.subscriber) {
            (_, Some(Target::External(x))) => target_label(plan, Target::External(x), binding_of),
            (Some(t), _) => t.subscriber.to_string(),
            (None, Some(t)) => target_label(plan, t, binding_of),
            (None, None) => "(no subscriber)".into(),
        };
        let trace = edge.filter.explain(&routed);
        let verdict = match trace.result {
            Some(TriState::Pass) => "gets the event (pass)",
            Some(TriState::NoFilter) => "gets the event (no filter)",
            _ => "does not get the event (fail)",
        };
        let _ = writeln!(s, "\n{} → {to}: {verdict}", edge.via);
        let mut tree = String::new();
        trace.render(2, &mut tree);
        if matches!(edge.filter, eventflow::planner::filter::Filter::All(_)) {
            // A Trigger's non-empty `filters` list is one `all`.
            tree = tree.replacen("  all →", "  filters (all of) →", 1);
        }
        s.push_str(&tree);
    }
}

fn path(s: &mut String, plan: &Plan, run: &RunResult, binding_of: &dyn Fn(&External) -> String) {
    let _ = writeln!(s, "\npath (the engine run on this event):");
    let mut receivers = BTreeSet::new();
    let (mut n, mut dropped) = (0, 0);
    for line in run.log.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let (subscriber, via, outcome) = (text("subscriber"), text("via"), text("outcome"));
        let attempts = v.get("attempts").and_then(|x| x.as_u64()).unwrap_or(0);
        n += 1;
        let binding = plan
            .externals
            .iter()
            .find(|x| x.name == subscriber)
            .map(|x| format!(" [{}]", binding_of(x)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {n}. {subscriber}{binding} <- {via}: {outcome}, {attempts} attempt(s)"
        );
        if let Some(r) = v.get("reason").and_then(|x| x.as_str()) {
            let _ = writeln!(s, "       reason: {r}");
        }
        if let Some(ev) = v.get("event") {
            let field = |k: &str| ev.get(k).and_then(|x| x.as_str()).unwrap_or("?");
            let _ = writeln!(s, "       got {} (id {})", field("type"), field("id"));
        }
        if let Some(edge) = plan.edges.iter().find(|e| e.via == via) {
            let reply = match &edge.reply {
                Some(ReplyTo::Node(n)) => Some(target_label(plan, Target::Node(*n), binding_of)),
                Some(ReplyTo::External(x, _)) => {
                    Some(target_label(plan, Target::External(*x), binding_of))
                }
                None => None,
            };
            if let Some(r) = reply {
                let silent = binding == " [ack]" && outcome == "delivered";
                if silent {
                    // The usual answer to "why did the next step get nothing?".
                    let _ = writeln!(
                        s,
                        "       replies would go to {r}, but `ack` answers without a reply: the path ends here"
                    );
                } else {
                    let _ = writeln!(s, "       replies go to {r}");
                }
            }
        }
        match outcome.as_str() {
            "delivered" => {
                receivers.insert(subscriber);
            }
            "dropped" => dropped += 1,
            _ => {}
        }
    }
    if n == 0 {
        let _ = writeln!(s, "  no subscriber receives this event");
    }
    // Drops outside a delivery (hop limit, TTL at a Broker ingress) have no record above.
    if run.report.dropped_total() > dropped {
        for (reason, count) in &run.report.dropped {
            let _ = writeln!(s, "  dropped ({count}): {reason}");
        }
    }
    let _ = writeln!(s, "\ningress nodes entered (event registry):");
    for o in &run.entered {
        if let Some(node) = plan.nodes.get(o.node as usize) {
            let _ = writeln!(s, "  {}  {} ×{}", node_label(node), o.ty, o.seen.count);
        }
    }
    let list: Vec<&str> = receivers.iter().map(String::as_str).collect();
    let _ = writeln!(
        s,
        "\nreceived by: {}",
        if list.is_empty() {
            "nobody".to_string()
        } else {
            list.join(", ")
        }
    );
}

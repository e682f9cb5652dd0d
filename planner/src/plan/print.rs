//! Printing a Plan: `eventflow plan` as text (default), Graphviz DOT, or JSON.

use super::{Edge, EdgeKind, NodeKind, Plan, ReplyTo, Target};
use crate::delivery::{BackoffPolicy, DeliverySpec};
use crate::filter::Filter;
use std::fmt::Write;

/// A filter in one line: `type = "x"`, `any(exact(type = "a"), …)`, `cesql(…)`.
pub fn describe_filter(f: &Filter) -> String {
    let pairs = |kv: &[(String, String)], op: &str| {
        kv.iter()
            .map(|(k, v)| format!("{k} {op} {v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let list = |fs: &[Filter]| {
        fs.iter()
            .map(describe_filter)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match f {
        Filter::None => "none".into(),
        Filter::Attributes(kv) if kv.is_empty() => "attributes()".into(),
        Filter::Attributes(kv) => {
            let parts: Vec<String> = kv
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        format!("{k} present")
                    } else {
                        format!("{k} = {v:?}")
                    }
                })
                .collect();
            format!("attributes({})", parts.join(", "))
        }
        Filter::Exact(kv) => format!("exact({})", pairs(kv, "=")),
        Filter::Prefix(kv) => format!("prefix({})", pairs(kv, "starts with")),
        Filter::Suffix(kv) => format!("suffix({})", pairs(kv, "ends with")),
        Filter::All(fs) => format!("all({})", list(fs)),
        Filter::Any(fs) => format!("any({})", list(fs)),
        Filter::Not(inner) => format!("not({})", describe_filter(inner)),
        Filter::Cesql(_, text) => format!("cesql({text:?})"),
    }
}

fn describe_policy(d: &DeliverySpec) -> String {
    let mut s = format!("attempts {}", d.attempts());
    if let (Some(p), Some(ms)) = (d.backoff_policy, d.backoff_delay_ms) {
        let p = match p {
            BackoffPolicy::Linear => "linear",
            BackoffPolicy::Exponential => "exponential",
        };
        let _ = write!(s, ", backoff {p} {ms}ms");
    }
    if let Some(t) = d.timeout_ms {
        let _ = write!(s, ", timeout {t}ms");
    }
    s
}

impl Plan {
    /// The display name of a target.
    pub fn target_name(&self, t: Target) -> &str {
        match t {
            Target::Node(n) => &self.nodes[n as usize].name,
            Target::External(e) => &self.externals[e as usize].name,
        }
    }

    fn describe_edge(&self, e: &Edge, out: &mut String) {
        let stage = match e.kind {
            EdgeKind::Trigger => "route",
            EdgeKind::Subscription => "fan-out",
        };
        let _ = writeln!(out, "  {stage} {}", e.via);
        if e.kind == EdgeKind::Trigger {
            let _ = writeln!(out, "    filter: {}", describe_filter(&e.filter));
        }
        let to = match e.subscriber {
            Some(Target::Node(n)) => format!("hop → {}", self.nodes[n as usize].name),
            Some(t @ Target::External(_)) => {
                format!(
                    "deliver → {} ({})",
                    self.target_name(t),
                    describe_policy(&e.policy.delivery)
                )
            }
            None => "no subscriber (reply-only: the event goes straight to the reply)".into(),
        };
        let _ = writeln!(out, "    {to}");
        if e.policy.ordered {
            let _ = writeln!(out, "    ordered: one delivery in flight per partitionkey");
        }
        if matches!(e.subscriber, Some(Target::Node(_))) {
            // A hop into an ingress node: accepted at once, never fails, never replies.
            return;
        }
        if let Some(dl) = e.policy.dead_letter {
            let _ = writeln!(out, "    dead-letter → {}", self.target_name(dl));
        }
        match &e.reply {
            Some(ReplyTo::Node(n)) => {
                let _ = writeln!(out, "    reply → {}", self.nodes[*n as usize].name);
            }
            Some(ReplyTo::External(x, via)) => {
                let name = &self.externals[*x as usize].name;
                let _ = writeln!(out, "    reply → deliver {name} as {via}");
            }
            None if matches!(e.subscriber, Some(Target::External(_))) => {
                let _ = writeln!(out, "    reply → discarded");
            }
            None => {}
        }
    }

    /// The plan as indented text (`eventflow plan`), one block per node in plan order.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let brokers = self
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Broker)
            .count();
        let _ = writeln!(
            out,
            "plan: {} nodes ({brokers} brokers, {} channels), {} edges, {} external subscribers, {} sources",
            self.nodes.len(),
            self.nodes.len() - brokers,
            self.edges.len(),
            self.externals.len(),
            self.sources.len()
        );
        for n in &self.nodes {
            let _ = writeln!(out);
            match &n.kind {
                NodeKind::Broker => {
                    let _ = writeln!(
                        out,
                        "{}  [ingress: knativearrivaltime, knativebrokerttl 255; route: {} triggers]",
                        n.name,
                        n.edges.len()
                    );
                }
                NodeKind::Channel { .. } => {
                    let _ = writeln!(
                        out,
                        "{}  [ingress; fan-out: {} subscriptions]",
                        n.name,
                        n.edges.len()
                    );
                }
            }
            if let Some(js) = self.jetstream_of(n.id) {
                let order = if js.ordered {
                    "ordered per partitionkey"
                } else {
                    "unordered"
                };
                let _ = writeln!(
                    out,
                    "  durable: JetStream stream {}, subjects {} ({order}, {} partitions)",
                    js.stream,
                    js.stream_subjects(),
                    super::durable::PARTITIONS
                );
            }
            for e in &n.edges {
                self.describe_edge(&self.edges[*e as usize], &mut out);
            }
        }
        if !self.not_ready.is_empty() {
            let _ = writeln!(out);
            for n in &self.not_ready {
                let _ = writeln!(out, "not ready: {n}");
            }
        }
        if !self.sources.is_empty() {
            let _ = writeln!(out);
            for (s, t) in &self.sources {
                let sink = t
                    .map(|t| self.target_name(t).to_string())
                    .unwrap_or_else(|| "(no sink)".into());
                let _ = writeln!(
                    out,
                    "source {}/{}/{} → {sink}",
                    s.kind_name, s.meta.namespace, s.meta.name
                );
            }
        }
        out
    }

    /// The plan as a Graphviz digraph: boxes for brokers/channels, ellipses for external
    /// subscribers, one arrow per deliver edge labelled with its `via`, dashed for replies,
    /// dotted for dead letters.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph eventflow {\n  rankdir=LR;\n");
        for n in &self.nodes {
            let shape = if n.kind == NodeKind::Broker {
                "box3d"
            } else {
                "box"
            };
            let _ = writeln!(out, "  n{} [label={:?}, shape={shape}];", n.id, n.name);
        }
        for x in &self.externals {
            let _ = writeln!(out, "  x{} [label={:?}, shape=ellipse];", x.id, x.name);
        }
        let id = |t: Target| match t {
            Target::Node(n) => format!("n{n}"),
            Target::External(x) => format!("x{x}"),
        };
        for e in &self.edges {
            let from = format!("n{}", e.from);
            let to = match e.subscriber {
                Some(t) => {
                    let _ = writeln!(out, "  {from} -> {} [label={:?}];", id(t), e.via);
                    id(t)
                }
                None => from.clone(),
            };
            if matches!(e.subscriber, Some(Target::Node(_))) {
                continue; // a hop: never replies, never fails
            }
            match &e.reply {
                Some(ReplyTo::Node(n)) => {
                    let _ = writeln!(out, "  {to} -> n{n} [style=dashed, label=\"reply\"];");
                }
                Some(ReplyTo::External(x, via)) => {
                    let _ = writeln!(out, "  {to} -> x{x} [style=dashed, label={via:?}];");
                }
                None => {}
            }
            if let Some(dl) = e.policy.dead_letter {
                let _ = writeln!(
                    out,
                    "  {to} -> {} [style=dotted, label=\"dead letter\"];",
                    id(dl)
                );
            }
        }
        out.push_str("}\n");
        out
    }

    /// The plan as JSON: `{"nodes": [...], "edges": [...], "externals": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let target = |t: Option<Target>| t.map(|t| self.target_name(t).to_string());
        let nodes: Vec<_> = self
            .nodes
            .iter()
            .map(|n| {
                let kind = match &n.kind {
                    NodeKind::Broker => "Broker".to_string(),
                    NodeKind::Channel { kind } => kind.clone(),
                };
                let mut node = json!({"id": n.id, "name": n.name, "kind": kind, "edges": n.edges});
                if let Some(js) = self.jetstream_of(n.id) {
                    node["jetstream"] = json!({
                        "stream": js.stream,
                        "subjects": js.stream_subjects(),
                        "ordered": js.ordered,
                    });
                }
                node
            })
            .collect();
        let edges: Vec<_> = self
            .edges
            .iter()
            .map(|e| {
                let hop = matches!(e.subscriber, Some(Target::Node(_)));
                let reply = match &e.reply {
                    _ if hop => serde_json::Value::Null,
                    Some(ReplyTo::Node(n)) => json!({"node": self.nodes[*n as usize].name}),
                    Some(ReplyTo::External(x, via)) => {
                        json!({"deliver": self.externals[*x as usize].name, "via": via})
                    }
                    None => serde_json::Value::Null,
                };
                let d = &e.policy.delivery;
                json!({
                    "id": e.id,
                    "via": e.via,
                    "from": self.nodes[e.from as usize].name,
                    "kind": if e.kind == EdgeKind::Trigger { "trigger" } else { "subscription" },
                    "filter": describe_filter(&e.filter),
                    "subscriber": target(e.subscriber),
                    "reply": reply,
                    "attempts": d.attempts(),
                    "backoff_delay_ms": d.backoff_delay_ms,
                    "dead_letter": if hop { None } else { target(e.policy.dead_letter) },
                    "ordered": e.policy.ordered,
                })
            })
            .collect();
        let externals: Vec<_> = self
            .externals
            .iter()
            .map(|x| json!({"name": x.name, "service": x.service, "url": x.url}))
            .collect();
        json!({"nodes": nodes, "edges": edges, "externals": externals})
    }
}

//! The route stage of a Broker: its Triggers' filters behind an index, so the per-event cost
//! does not grow with Triggers that cannot match (DESIGN.md §3a).
//!
//! Triggers whose filter can only pass for an exact `type` (legacy attributes, `exact`, an
//! `all` containing one, an `any` made only of such filters) are found by a hash lookup on the
//! event's type; the rest form a residual list evaluated one by one. Candidates are then
//! evaluated in full, so the index only has to be a sound over-approximation: it keeps a
//! 64-bit hash of each required type, not the type (two types with one hash only add a
//! candidate), and reads the filters from the plan instead of copying them — about 35 bytes
//! per indexed Trigger.

use crate::tally::FastHasher;
use eventflow_planner::event::Event;
use eventflow_planner::filter::Filter;
use eventflow_planner::plan::{EdgeId, Plan};
use std::hash::Hasher;
use std::ops::Deref;
use std::sync::Arc;

/// One slot of the open-addressing table: the Triggers requiring types of hash `hash` are
/// `positions[start..start + len]`; `len == 0` marks an empty slot.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    hash: u64,
    start: u32,
    len: u32,
}

/// A Broker's Triggers, indexed by the exact `type` they require. `P` holds the plan the
/// filters are read from: `&Plan` or `Arc<Plan>`.
#[derive(Debug, Clone)]
pub struct RouteIndex<P: Deref<Target = Plan> = Arc<Plan>> {
    plan: P,
    /// The edge of each Trigger position, in manifest order.
    edges: Vec<EdgeId>,
    /// Open addressing, linear probing, a power of two long (empty when nothing is indexed).
    slots: Vec<Slot>,
    /// Trigger positions grouped by type hash, ascending within a group.
    positions: Vec<u32>,
    /// Positions evaluated for every event, ascending.
    residual: Vec<u32>,
    indexed: usize,
}

/// The hash the table is keyed by.
fn type_hash(ty: &str) -> u64 {
    let mut h = FastHasher::default();
    h.write(ty.as_bytes());
    h.finish()
}

/// The `type` values a filter requires, if it can only pass for one of them.
fn required_types(f: &Filter) -> Option<Vec<&str>> {
    fn from_pairs(kv: &[(String, String)]) -> Option<Vec<&str>> {
        kv.iter()
            .find(|(k, v)| k == "type" && !v.is_empty())
            .map(|(_, v)| vec![v.as_str()])
    }
    match f {
        Filter::Attributes(kv) => from_pairs(kv),
        // An `exact` with an empty name or value constrains nothing (Knative drops it).
        Filter::Exact(kv) if kv.iter().any(|(k, v)| k.is_empty() || v.is_empty()) => None,
        Filter::Exact(kv) => from_pairs(kv),
        // `all` fails as soon as a child fails: one type-bound child bounds the whole.
        Filter::All(children) => children.iter().find_map(required_types),
        Filter::Any(children) if !children.is_empty() => {
            let mut all = Vec::new();
            for c in children {
                all.extend(required_types(c)?);
            }
            Some(all)
        }
        _ => None,
    }
}

impl<P: Deref<Target = Plan>> RouteIndex<P> {
    /// Builds the index of the Triggers (edges of `plan`) leaving one Broker.
    pub fn build(plan: P, edges: &[EdgeId]) -> RouteIndex<P> {
        let mut residual = Vec::new();
        let mut keyed: Vec<(u64, u32)> = Vec::new();
        let mut indexed = 0;
        for (pos, &e) in edges.iter().enumerate() {
            let pos = pos as u32;
            match required_types(&plan.edges[e as usize].filter) {
                Some(types) => {
                    keyed.extend(types.into_iter().map(|t| (type_hash(t), pos)));
                    indexed += 1;
                }
                None => residual.push(pos),
            }
        }
        keyed.sort_unstable();
        keyed.dedup();
        let groups = keyed.chunk_by(|a, b| a.0 == b.0).count();
        // Load factor at most 3/4.
        let size = if groups == 0 {
            0
        } else {
            (groups + groups / 3 + 1).next_power_of_two()
        };
        let mut slots = vec![Slot::default(); size];
        let mut start = 0u32;
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            let (hash, len) = (group[0].0, group.len() as u32);
            let mask = size - 1;
            let mut i = hash as usize & mask;
            while slots[i].len != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = Slot { hash, start, len };
            start += len;
        }
        let positions = keyed.iter().map(|&(_, pos)| pos).collect();
        RouteIndex {
            plan,
            edges: edges.to_vec(),
            slots,
            positions,
            residual,
            indexed,
        }
    }

    /// Number of Triggers found through the hash index / evaluated one by one.
    pub fn sizes(&self) -> (usize, usize) {
        (self.indexed, self.residual.len())
    }

    /// The positions of the Triggers that may require `ty`, ascending.
    fn candidates(&self, ty: &str) -> &[u32] {
        if self.slots.is_empty() {
            return &[];
        }
        let hash = type_hash(ty);
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let s = self.slots[i];
            if s.len == 0 {
                return &[];
            }
            if s.hash == hash {
                let (a, b) = (s.start as usize, (s.start + s.len) as usize);
                return self.positions.get(a..b).unwrap_or(&[]);
            }
            i = (i + 1) & mask;
        }
    }

    /// The Triggers that accept `event`, in manifest order, appended to `out`.
    pub fn matches(&self, event: &Event, out: &mut Vec<EdgeId>) {
        let indexed = self.candidates(&event.ty);
        let plan = &*self.plan;
        let mut check = |pos: u32| {
            let edge = self.edges[pos as usize];
            if plan.edges[edge as usize].filter.evaluate(event).delivers() {
                out.push(edge);
            }
        };
        if self.residual.is_empty() {
            indexed.iter().for_each(|&p| check(p));
            return;
        }
        // Merge the two ascending position lists, so matches come out in manifest order.
        let (mut a, mut b) = (indexed.iter().peekable(), self.residual.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x <= y => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            if let Some(&p) = next {
                check(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_and_shared_types_keep_manifest_order() {
        let y = "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: b}\n";
        let mut yaml = y.to_string();
        let filters = [
            "filter: {attributes: {type: a}}",
            "filters: [{cesql: \"source = 's'\"}]",
            "filter: {attributes: {type: b}}",
            "filters: [{any: [{exact: {type: a}}, {exact: {type: c}}]}]",
            "filter: {attributes: {type: a, source: x}}",
        ];
        for (i, f) in filters.iter().enumerate() {
            yaml.push_str(&format!(
                "---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {{name: t{i}}}\n\
                 spec: {{broker: b, {f}, subscriber: {{uri: 'http://x/'}}}}\n"
            ));
        }
        let loaded = eventflow_planner::manifest::load_str("t.yaml", &yaml);
        assert!(!loaded.diagnostics.has_errors(), "{}", loaded.diagnostics);
        let plan = Plan::lower(&loaded.topology).unwrap_or_default();
        let index = RouteIndex::build(&plan, &plan.nodes[0].edges);
        assert_eq!(index.sizes(), (4, 1));
        let routed = |ty: &str, source: &str| {
            let mut e = Event::new("1", source, ty);
            e.subject = None;
            let mut out = Vec::new();
            index.matches(&e, &mut out);
            out
        };
        assert_eq!(routed("a", "s"), vec![0, 1, 3]);
        assert_eq!(routed("a", "x"), vec![0, 3, 4]);
        assert_eq!(routed("c", "y"), vec![3]);
        assert_eq!(routed("zzz", "s"), vec![1]);
        let shared = RouteIndex::build(Arc::new(plan.clone()), &plan.nodes[0].edges);
        let mut out = Vec::new();
        shared.matches(&Event::new("1", "x", "b"), &mut out);
        assert_eq!(out, vec![2]);
    }
}

//! The route stage of a Broker: its Triggers' filters behind an index, so the per-event cost
//! does not grow with Triggers that cannot match (DESIGN.md §3a).
//!
//! Triggers whose filter can only pass for an exact `type` (legacy attributes, `exact`, an
//! `all` containing one, an `any` made only of such filters) are found by a hash lookup on the
//! event's type; the rest form a residual list evaluated one by one. Candidates are then
//! evaluated in full, so the index only has to be a sound over-approximation.

use eventflow_planner::event::Event;
use eventflow_planner::filter::Filter;
use eventflow_planner::plan::{EdgeId, Plan};
use std::collections::HashMap;
use std::sync::Arc;

/// A Broker's Triggers, indexed by the exact `type` they require.
#[derive(Debug, Clone, Default)]
pub struct RouteIndex {
    /// Type → positions in `triggers`, ascending (manifest order).
    by_type: HashMap<Arc<str>, Vec<u32>>,
    /// Positions in `triggers` evaluated for every event.
    residual: Vec<u32>,
    /// (edge, filter) of each Trigger, in manifest order.
    triggers: Vec<(EdgeId, Filter)>,
    indexed: usize,
}

/// The `type` values a filter requires, if it can only pass for one of them.
fn required_types(f: &Filter) -> Option<Vec<String>> {
    let from_pairs = |kv: &[(String, String)]| {
        kv.iter()
            .find(|(k, v)| k == "type" && !v.is_empty())
            .map(|(_, v)| vec![v.clone()])
    };
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

impl RouteIndex {
    /// Builds the index of the Triggers (edges) leaving `node`.
    pub fn build(plan: &Plan, edges: &[EdgeId]) -> RouteIndex {
        let mut idx = RouteIndex::default();
        for (pos, &e) in edges.iter().enumerate() {
            let pos = pos as u32;
            let filter = plan.edges[e as usize].filter.clone();
            match required_types(&filter) {
                Some(mut types) => {
                    types.sort();
                    types.dedup();
                    for t in types {
                        idx.by_type.entry(Arc::from(t)).or_default().push(pos);
                    }
                    idx.indexed += 1;
                }
                None => idx.residual.push(pos),
            }
            idx.triggers.push((e, filter));
        }
        idx
    }

    /// Number of Triggers found through the hash index / evaluated one by one.
    pub fn sizes(&self) -> (usize, usize) {
        (self.indexed, self.residual.len())
    }

    /// The Triggers that accept `event`, in manifest order, appended to `out`.
    pub fn matches(&self, event: &Event, out: &mut Vec<EdgeId>) {
        let indexed = self
            .by_type
            .get(&*event.ty)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut check = |pos: u32| {
            let (edge, filter) = &self.triggers[pos as usize];
            if filter.evaluate(event).delivers() {
                out.push(*edge);
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

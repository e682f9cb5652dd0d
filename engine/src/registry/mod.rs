//! The event registry: which event types enter each Broker and channel, maintained
//! incrementally with differential dataflow while events flow (issue 6).
//!
//! What is observed is every event that *arrives at* an ingress node (a Broker, a declared
//! channel, or a channel generated for a Sequence step or a Parallel), replies and hops
//! included: a reply that re-enters its Broker is observed again, as Knative's
//! `eventtype-auto-create` does at Broker ingress, channels and replies. The key is
//! (node, `type`, `source`, `dataschema`); the value is how many events carried it and the
//! first and last virtual time (the item's `meta.clock`, ms since the Unix epoch) they arrived.
//!
//! How (timely-notes.md §6, differential `count` costs ~1 µs per update): a pass-through
//! operator in the reply loop aggregates each batch per key ([`tap`]); outside the loop each
//! worker aggregates its batches per epoch, interns the strings to `u32` ids and feeds one
//! update per distinct key per epoch into differential, whose diff is a [`Seen`] semigroup
//! (count added, first = min, last = max); `count_total` then keeps the running totals per key.
//! The totals are gathered into the shared [`Registry`] handle, read with [`Registry::snapshot`]
//! once the run has drained. The registry is optional (`RunOptions::registry`): a run without
//! it builds none of these operators.

pub mod catalog;
mod tap;

pub use tap::tap;

use crate::clock::VirtualMs;
use differential_dataflow::difference::{IsZero, Semigroup};
use eventflow_planner::plan::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// How often and when a key was seen: the diff of the registry's differential collection.
///
/// Adding two `Seen`s adds the counts and keeps the earliest `first` and the latest `last`;
/// a zero count is the identity (its times are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Seen {
    /// Events seen.
    pub count: u64,
    /// Earliest virtual arrival time, ms since the Unix epoch.
    pub first: VirtualMs,
    /// Latest virtual arrival time, ms since the Unix epoch.
    pub last: VirtualMs,
}

impl Seen {
    /// One event seen at `at`.
    pub fn once(at: VirtualMs) -> Seen {
        Seen {
            count: 1,
            first: at,
            last: at,
        }
    }
}

impl IsZero for Seen {
    fn is_zero(&self) -> bool {
        self.count == 0
    }
}

impl Semigroup for Seen {
    fn plus_equals(&mut self, rhs: &Self) {
        if rhs.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *rhs;
            return;
        }
        self.count += rhs.count;
        self.first = self.first.min(rhs.first);
        self.last = self.last.max(rhs.last);
    }
}

/// Interned key of the differential collection: (node, type id, source id, dataschema id or
/// [`NO_SCHEMA`]).
pub type Key = (NodeId, u32, u32, u32);

/// The interned id standing for "no `dataschema`".
pub const NO_SCHEMA: u32 = u32::MAX;

/// One observed event type at one ingress node, as [`Registry::snapshot`] returns it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Observed {
    /// The ingress node (index into `Plan::nodes`).
    pub node: NodeId,
    /// The event's `type`.
    pub ty: String,
    /// The event's `source`.
    pub source: String,
    /// The event's `dataschema` (CloudEvents 0.3: `schemaurl`), if any.
    pub schema: Option<String>,
    /// Counts and first/last virtual arrival time.
    pub seen: Seen,
}

/// Strings to dense `u32` ids, shared by all workers of one run (locked once per epoch and
/// worker, never per event).
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Interner {
    fn intern(&mut self, s: &Arc<str>) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(NO_SCHEMA - 1);
        self.names.push(s.clone());
        self.ids.insert(s.clone(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map(|s| &**s).unwrap_or("")
    }
}

#[derive(Debug, Default)]
struct Shared {
    interner: Mutex<Interner>,
    /// The differential output accumulated: ((key, totals), multiplicity). After a drained run,
    /// exactly one entry per key is left, with multiplicity 1.
    totals: Mutex<BTreeMap<(Key, Seen), isize>>,
}

/// A handle on the registry of one run: give a clone to `RunOptions::registry`, read it with
/// [`snapshot`](Registry::snapshot) after the run. Works with any number of workers in one
/// process (the state is shared memory, so not across timely cluster processes).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    shared: Arc<Shared>,
}

/// A poisoned lock only means another worker panicked; the data is still consistent enough
/// for a report, and the run reports the panic itself.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Interns a batch of per-epoch aggregates (one lock for the whole batch).
    fn intern_all(&self, batch: impl Iterator<Item = (tap::StrKey, Seen)>) -> Vec<(Key, Seen)> {
        let mut interner = lock(&self.shared.interner);
        batch
            .map(|((node, ty, source, schema), seen)| {
                let schema = schema.as_ref().map_or(NO_SCHEMA, |s| interner.intern(s));
                let key = (node, interner.intern(&ty), interner.intern(&source), schema);
                (key, seen)
            })
            .collect()
    }

    /// Applies a batch of differential output updates.
    fn absorb(&self, updates: &[((Key, Seen), u64, isize)]) {
        let mut totals = lock(&self.shared.totals);
        for (kv, _time, diff) in updates {
            let m = totals.entry(*kv).or_insert(0);
            *m += diff;
            if *m == 0 {
                totals.remove(kv);
            }
        }
    }

    /// The observed event types, sorted by node, type, source, schema. Complete once the run
    /// that fed the registry has returned.
    pub fn snapshot(&self) -> Vec<Observed> {
        let totals = lock(&self.shared.totals);
        let interner = lock(&self.shared.interner);
        let mut out: Vec<Observed> = totals
            .iter()
            .filter(|(_, m)| **m > 0)
            .map(|(((node, ty, source, schema), seen), _)| Observed {
                node: *node,
                ty: interner.name(*ty).to_string(),
                source: interner.name(*source).to_string(),
                schema: (*schema != NO_SCHEMA).then(|| interner.name(*schema).to_string()),
                seen: *seen,
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_is_a_semigroup_with_zero_identity() {
        let mut a = Seen {
            count: 0,
            first: 99,
            last: 99,
        };
        a.plus_equals(&Seen::once(5));
        assert_eq!(a, Seen::once(5));
        a.plus_equals(&Seen {
            count: 2,
            first: 3,
            last: 4,
        });
        assert_eq!(
            a,
            Seen {
                count: 3,
                first: 3,
                last: 5
            }
        );
        assert!(!a.is_zero());
    }
}

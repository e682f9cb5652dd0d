//! The registry's operators: a pass-through tap in the reply loop, a per-epoch aggregation per
//! worker, and differential's `count_total` over a [`Seen`] diff.

use super::{Key, Registry, Seen};
use crate::record::{Item, Place};
use differential_dataflow::difference::Semigroup;
use differential_dataflow::operators::CountTotal;
use differential_dataflow::AsCollection;
use eventflow_planner::plan::NodeId;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::{Operator, OutputBuilder};
use timely::dataflow::operators::{Leave, Probe};
use timely::dataflow::{ProbeHandle, Scope, Stream};
use timely::order::Product;
use timely::progress::operate::FrontierInterest;

/// A key before interning: (node, type, source, dataschema).
pub(crate) type StrKey = (NodeId, Arc<str>, Arc<str>, Option<Arc<str>>);

/// Per-batch aggregate leaving the loop: (epoch of the root event, key, seen).
type Partial = (u64, StrKey, Seen);

/// Loop-scope time: (epoch, pass).
type LoopTime = Product<u64, u32>;

/// Taps `items` (everything entering the partition stage of the reply loop) for `registry`.
///
/// Returns the same items, moved through unchanged (no per-event copy). Events at
/// `Place::Node` are counted per batch; the partial counts leave the loop into `outer`,
/// are aggregated per epoch on each worker, interned, and fed into differential; the result
/// is probed with `probe`, so a run that waits for `probe` also waits for the registry.
pub fn tap<'i, 'o>(
    registry: &Registry,
    items: Stream<'i, LoopTime, Vec<Item>>,
    outer: Scope<'o, u64>,
    probe: &ProbeHandle<u64>,
) -> Stream<'i, LoopTime, Vec<Item>> {
    let (passed, partials) = observe(items);
    let per_epoch = aggregate_per_epoch(partials.leave(outer), registry.clone());
    let sink = registry.clone();
    per_epoch
        .as_collection()
        .count_total()
        .inspect_batch(move |_stamp, updates| sink.absorb(updates))
        .inner
        .probe_with(probe);
    passed
}

/// The pass-through operator: output 0 = the items, output 1 = per-batch partial counts.
fn observe<'i>(
    items: Stream<'i, LoopTime, Vec<Item>>,
) -> (
    Stream<'i, LoopTime, Vec<Item>>,
    Stream<'i, LoopTime, Vec<Partial>>,
) {
    let mut builder = OperatorBuilder::new("registry tap".to_owned(), items.scope());
    let mut input = builder.new_input(items, Pipeline);
    builder.set_notify_for(0, FrontierInterest::Never);
    let (out_items, passed) = builder.new_output::<Vec<Item>>();
    let (out_partials, partials) = builder.new_output::<Vec<Partial>>();
    let mut out_items = OutputBuilder::<_, CapacityContainerBuilder<Vec<Item>>>::from(out_items);
    let mut out_partials =
        OutputBuilder::<_, CapacityContainerBuilder<Vec<Partial>>>::from(out_partials);
    builder.build(move |_capabilities| {
        let mut batch: HashMap<(u64, StrKey), Seen> = HashMap::new();
        move |_frontiers| {
            let mut items_out = out_items.activate();
            let mut partials_out = out_partials.activate();
            input.for_each(|cap, data| {
                for item in data.iter() {
                    if let Place::Node(node) = item.place {
                        let e = &item.event;
                        let key = (node, e.ty.clone(), e.source.clone(), e.dataschema.clone());
                        batch
                            .entry((item.meta.epoch, key))
                            .and_modify(|s| s.plus_equals(&Seen::once(item.meta.clock)))
                            .or_insert_with(|| Seen::once(item.meta.clock));
                    }
                }
                items_out.session(&cap).give_container(data);
                if !batch.is_empty() {
                    partials_out
                        .session(&cap)
                        .give_iterator(batch.drain().map(|((epoch, k), s)| (epoch, k, s)));
                }
            });
        }
    });
    (passed, partials)
}

/// Per worker: sums the partial counts of each epoch until the epoch is complete, then emits
/// one interned differential update `(key, epoch, seen)` per distinct key.
fn aggregate_per_epoch<'o>(
    partials: Stream<'o, u64, Vec<Partial>>,
    registry: Registry,
) -> Stream<'o, u64, Vec<(Key, u64, Seen)>> {
    type Cb = CapacityContainerBuilder<Vec<(Key, u64, Seen)>>;
    partials.unary_frontier::<Cb, _, _, _>(Pipeline, "registry per epoch", move |cap, _| {
        let mut cap = Some(cap);
        let mut pending: BTreeMap<u64, HashMap<StrKey, Seen>> = BTreeMap::new();
        move |(input, frontier), output| {
            input.for_each(|_cap, data| {
                for (epoch, key, seen) in data.drain(..) {
                    let slot = pending.entry(epoch).or_default().entry(key);
                    slot.and_modify(|s| s.plus_equals(&seen)).or_insert(seen);
                }
            });
            while let Some(entry) = pending.first_entry() {
                let epoch = *entry.key();
                if frontier.less_equal(&epoch) {
                    break;
                }
                let keys = entry.remove();
                if let Some(c) = cap.as_ref() {
                    // An item's epoch is its timely time, never behind the held capability.
                    let at = c.delayed(&epoch.max(*c.time()));
                    let updates = registry.intern_all(keys.into_iter());
                    output
                        .session(&at)
                        .give_iterator(updates.into_iter().map(|(k, s)| (k, epoch, s)));
                }
            }
            match frontier.frontier().first() {
                Some(t) => {
                    if let Some(c) = cap.as_mut() {
                        if *c.time() < *t {
                            c.downgrade(t);
                        }
                    }
                }
                None => cap = None,
            }
        }
    })
}

//! The operators [`crate::dataflow`] wires together: a Broker's route stage, a channel's
//! fan-out, the deliver stage shared by every edge, and the sink on worker 0.

use crate::deliver::Deliverer;
use crate::input::Stage;
use crate::record::{Item, Meta, Place, Record, RecordKind};
use crate::route::RouteIndex;
use crate::sink::SinkState;
use crate::staged::{items_and_records, split_stage};
use crate::tally::fold_counts;
use crate::ttl::{stamp_ingress, TTL_EXTENSION};
use eventflow_planner::plan::{EdgeId, Plan};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;
use timely::progress::operate::FrontierInterest;
use timely::progress::Timestamp;

type Vs<'s, T, D> = Stream<'s, T, Vec<D>>;
/// A delivery finished on the pool: (token, new items, records).
type Finished = (u64, Vec<Item>, Vec<Record>);

fn dropped(m: &Meta, reason: String) -> Stage {
    Stage::Record(Record {
        epoch: m.epoch,
        seq: m.seq,
        trail: m.trail,
        kind: RecordKind::Dropped { reason },
    })
}

/// Broker `name`'s ingress and routing: TTL and `knativearrivaltime` (knative-semantics.md
/// §3.2), then its Triggers (`edges`) through the index, evaluated on the stamped event; one
/// item per matching Trigger, all sharing the event without `knativebrokerttl` (what the
/// subscribers see) and carrying the TTL beside it (`Item::broker_ttl`). Returns the items
/// (at edges) and the records (events the Broker rejects).
pub fn route<'s, T: Timestamp>(
    part: Vs<'s, T, Item>,
    plan: Arc<Plan>,
    edges: &[EdgeId],
    name: String,
) -> (Vs<'s, T, Item>, Vs<'s, T, Record>) {
    let index = RouteIndex::build(plan, edges);
    let op = format!("route {name}");
    let mut matched = Vec::new();
    split_stage(part, &op, move |item: Item, out: &mut Vec<Stage>| {
        let (meta, mut event) = (item.meta, item.event);
        // A root event is this item's alone: stamped in place (same allocation), not copied.
        let ttl = match stamp_ingress(Arc::make_mut(&mut event), meta.clock) {
            Ok(ttl) => ttl,
            Err(why) => {
                out.push(dropped(&meta, format!("{why} at {name}")));
                return;
            }
        };
        matched.clear();
        index.matches(&event, &mut matched);
        if matched.is_empty() {
            return;
        }
        // Trigger subscribers never see the TTL: strip it once; it travels beside the event.
        Arc::make_mut(&mut event).remove_extension(TTL_EXTENSION);
        out.extend(matched.iter().map(|&e| {
            Stage::Item(Item {
                place: Place::Edge(e),
                event: event.clone(),
                broker_ttl: Some(ttl),
                meta,
            })
        }));
    })
}

/// Channel `name`: every event to every Subscription (`edges`). Returns the items (at
/// edges) and the records (none today; the shape of every routing stage).
pub fn fan_out<'s, T: Timestamp>(
    part: Vs<'s, T, Item>,
    edges: Vec<EdgeId>,
    name: &str,
) -> (Vs<'s, T, Item>, Vs<'s, T, Record>) {
    split_stage(
        part,
        &format!("fan-out {name}"),
        move |item: Item, out: &mut Vec<Stage>| {
            out.extend(edges.iter().map(|&e| {
                Stage::Item(Item {
                    place: Place::Edge(e),
                    event: item.event.clone(),
                    broker_ttl: None,
                    meta: item.meta,
                })
            }));
        },
    )
}

/// The deliver stage of every edge: new items (replies, hops into nodes, dead letters into
/// nodes) and records, as two streams. Deliveries involving a blocking subscriber run on the
/// pool; their capabilities are held until the result comes back (DESIGN.md §3a).
pub fn deliver<'s, T: Timestamp>(
    items: Vs<'s, T, Item>,
    d: Arc<Deliverer>,
) -> (Vs<'s, T, Item>, Vs<'s, T, Record>) {
    if !d.plan().edges.iter().any(|e| e.policy.ordered) {
        return deliver_with(items, d, Pipeline);
    }
    // Ordered edges: every delivery of a partition on one worker (of any process), so its
    // serial lane sees them in arrival order; everything else stays on this worker.
    let me = items.scope().index() as u64;
    let by = d.clone();
    let pact = Exchange::new(move |item: &Item| by.ordered_partition(item).map_or(me, u64::from));
    deliver_with(items, d, pact)
}

fn deliver_with<'s, T, P>(
    items: Vs<'s, T, Item>,
    d: Arc<Deliverer>,
    pact: P,
) -> (Vs<'s, T, Item>, Vs<'s, T, Record>)
where
    T: Timestamp,
    P: ParallelizationContract<T, Vec<Item>>,
{
    let worker = items.scope().worker();
    let mut builder = OperatorBuilder::new("deliver".to_owned(), items.scope());
    let mut input = builder.new_input(items, pact);
    builder.set_notify_for(0, FrontierInterest::Never);
    let (mut items_out, new_items, mut records_out, new_records) = items_and_records(&mut builder);
    let activator = worker.sync_activator_for(builder.operator_info().address.to_vec());
    builder.build(move |_initial_capabilities| {
        let (mut items, mut records) = (Vec::new(), Vec::new());
        let (done_tx, done_rx) = crossbeam_channel::unbounded::<Finished>();
        let mut pending = HashMap::new();
        let mut next_token = 0u64;
        move |_frontiers| {
            let mut items_h = items_out.activate();
            let mut records_h = records_out.activate();
            input.for_each(|cap, data| {
                for item in data.drain(..) {
                    if let Some(lane) = d.lane(&item) {
                        next_token += 1;
                        let token = next_token;
                        pending.insert(token, (cap.retain_stamp(0), cap.retain_stamp(1)));
                        let (d2, tx, act) = (d.clone(), done_tx.clone(), activator.clone());
                        let ordered = d.ordered_partition(&item);
                        let job: crate::pool::Job = Box::new(move || {
                            let (mut items, mut records) = (Vec::new(), Vec::new());
                            d2.deliver(item, &mut items, &mut records);
                            let _ = tx.send((token, items, records));
                            let _ = act.activate();
                        });
                        match ordered {
                            Some(p) => d
                                .pool()
                                .submit_serial(Deliverer::ordered_lane_of(lane, p), job),
                            None => d.pool().submit(lane, job),
                        }
                        continue;
                    }
                    d.deliver(item, &mut items, &mut records);
                }
                fold_counts(&mut records);
                items_h.session(&cap).give_iterator(items.drain(..));
                records_h.session(&cap).give_iterator(records.drain(..));
            });
            while let Ok((token, mut got, mut recs)) = done_rx.try_recv() {
                if let Some((item_caps, record_caps)) = pending.remove(&token) {
                    fold_counts(&mut recs);
                    items_h.session(&item_caps).give_iterator(got.drain(..));
                    records_h
                        .session(&record_caps)
                        .give_iterator(recs.drain(..));
                }
            }
        }
    });
    (new_items, new_records)
}

/// Every worker's records, exchanged to worker 0 and handed to `sink` one completed epoch at
/// a time (the sink sorts each epoch, so the delivery log does not depend on the workers).
pub fn sink<'s>(records: Vs<'s, u64, Record>, sink: Rc<RefCell<SinkState>>) -> Vs<'s, u64, ()> {
    records.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Exchange::new(|_r: &Record| 0u64),
        "sink",
        move |cap, _| {
            let mut cap = Some(cap);
            let mut pending: BTreeMap<u64, Vec<Record>> = BTreeMap::new();
            move |(input, frontier), _output| {
                input.for_each(|_cap, data| {
                    for r in data.drain(..) {
                        pending.entry(r.epoch).or_default().push(r);
                    }
                });
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    sink.borrow_mut().flush(entry.remove());
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
        },
    )
}

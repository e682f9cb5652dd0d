//! Rendering a Plan as a timely dataflow (DESIGN.md §3, §3a).
//!
//! ```text
//! input chunks ─parse─┬─ items ─enter─▶ ┌──────────── loop scope (epoch, pass) ────────────┐
//!                     │                 │ concat(feedback) ─partition by place─┬─ Broker b: route (TTL, arrival time, index)
//!                     │                 │                                      ├─ Channel c: fan-out
//!                     │                 │                                      └─ deliver (all edges: retries, replies, DLS)
//!                     │                 │   all outputs ─ok_err─ items ─▶ feedback (+1 pass)
//!                     │                 └────────────────────────────── records ─leave─┐
//!                     └─ records (malformed, input counts) ────────────────────────────┴─▶ exchange to worker 0 ─▶ sink
//! ```
//! One operator per Broker evaluates all its Triggers (never one per Trigger); one per channel
//! fans out; one deliver operator serves every edge. Replies and hops go around the loop, so the
//! probe on the sink tells exactly when an epoch has drained, replies, retries and dead letters
//! included. Cycles stay worker-local (Pipeline); only records cross to worker 0.

use crate::clock::VirtualMs;
use crate::deliver::Deliverer;
use crate::input::{parse_chunk, Chunk, Stage};
use crate::record::{Item, Outcome, Place, Record, RecordKind, Trail};
use crate::route::RouteIndex;
use crate::sink::SinkState;
use crate::ttl::{broker_ingress, TTL_EXTENSION};
use eventflow_planner::plan::{NodeId, NodeKind};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Partition;
use timely::dataflow::operators::{
    Concatenate, ConnectLoop, Enter, Leave, LoopVariable, OkErr, Probe,
};
use timely::dataflow::{InputHandle, ProbeHandle, Scope, Stream};

type Vs<'s, T, D> = Stream<'s, T, Vec<D>>;
type StageCb = CapacityContainerBuilder<Vec<Stage>>;
/// A delivery finished on the pool: (token, new items, records).
type Finished = (u64, Vec<Item>, Vec<Record>);

/// Settings shared by every worker's copy of the dataflow.
pub struct Settings {
    /// Delivery logic and bindings.
    pub deliverer: Arc<Deliverer>,
    /// Where input lines enter.
    pub entry: NodeId,
    /// Virtual start time for events without `time`.
    pub clock_start: VirtualMs,
    /// Stamp events with the wall clock at ingest (live engines) instead of their own time.
    pub wall_clock: bool,
    /// The event registry to feed, if any (`None`: no registry operators are built).
    pub registry: Option<crate::registry::Registry>,
}

/// The handles a worker drives: the input, the probe, and (on worker 0) the sink state.
pub struct Handles {
    /// Chunks in.
    pub input: InputHandle<u64, CapacityContainerBuilder<Vec<Chunk>>>,
    /// Epoch `e` is complete once `!probe.less_equal(&e)`.
    pub probe: ProbeHandle<u64>,
}

fn record_stage(item: &Item, reason: String) -> Stage {
    let m = &item.meta;
    let kind = RecordKind::Dropped { reason };
    Stage::Record(Record {
        epoch: m.epoch,
        seq: m.seq,
        trail: m.trail,
        kind,
    })
}

/// Builds the dataflow in `scope`; records reach `sink` on worker 0.
pub fn build(scope: Scope<'_, u64>, settings: &Settings, sink: Rc<RefCell<SinkState>>) -> Handles {
    let mut input = InputHandle::<u64, CapacityContainerBuilder<Vec<Chunk>>>::new();
    let probe = ProbeHandle::new();
    let chunks = timely::dataflow::operators::Input::input_from(&scope, &mut input);

    let (entry, clock_start, wall_clock) =
        (settings.entry, settings.clock_start, settings.wall_clock);
    let parsed: Vs<'_, u64, Stage> =
        chunks.unary::<StageCb, _, _, _>(Pipeline, "parse", move |_, _| {
            let mut staged = Vec::new();
            move |input, output| {
                input.for_each(|cap, data| {
                    for chunk in data.drain(..) {
                        parse_chunk(chunk, entry, clock_start, wall_clock, &mut staged);
                    }
                    output.session(&cap).give_iterator(staged.drain(..));
                });
            }
        });
    let (items, input_records): (Vs<'_, u64, Item>, Vs<'_, u64, Record>) =
        parsed.ok_err(|s| match s {
            Stage::Item(i) => Ok(i),
            Stage::Record(r) => Err(r),
        });

    let deliverer = settings.deliverer.clone();
    let loop_records: Vs<'_, u64, Record> = scope.iterative::<u32, _, _>(|inner| {
        let (handle, cycle) = inner.loop_variable::<Vec<Item>>(1);
        let plan = deliverer.plan().clone();
        let n = plan.nodes.len() as u64;
        let all = timely::dataflow::operators::Concat::concat(items.enter(inner), cycle);
        // Event registry (issue 6): observe what enters ingress nodes; a pass-through.
        let all = match &settings.registry {
            Some(r) => crate::registry::tap(r, all, scope, &probe),
            None => all,
        };
        let mut parts = all.partition(n + 1, move |item: Item| {
            let port = match item.place {
                Place::Node(id) => u64::from(id),
                Place::Edge(_) => n,
            };
            (port, item)
        });
        let mut outputs = Vec::new();
        let to_deliver = parts.pop();
        for (id, part) in parts.into_iter().enumerate() {
            let node = &plan.nodes[id];
            let edges = node.edges.clone();
            let stage = match node.kind {
                NodeKind::Broker => {
                    let index = RouteIndex::build(&plan, &edges);
                    let name = node.name.clone();
                    part.unary::<StageCb, _, _, _>(
                        Pipeline,
                        &format!("route {name}"),
                        move |_, _| {
                            let mut matched = Vec::new();
                            move |input, output| {
                                input.for_each(|cap, data| {
                                    let mut session = output.session(&cap);
                                    for item in data.drain(..) {
                                        let event =
                                            match broker_ingress(&item.event, item.meta.clock) {
                                                Ok(e) => Arc::new(e),
                                                Err(why) => {
                                                    session.give(record_stage(
                                                        &item,
                                                        format!("{why} at {name}"),
                                                    ));
                                                    continue;
                                                }
                                            };
                                        matched.clear();
                                        index.matches(&event, &mut matched);
                                        if matched.is_empty() {
                                            continue;
                                        }
                                        // Trigger subscribers never see the TTL: strip it once.
                                        let mut bare = (*event).clone();
                                        bare.remove_extension(TTL_EXTENSION);
                                        let stripped = Some(Arc::new(bare));
                                        for &e in &matched {
                                            session.give(Stage::Item(Item {
                                                place: Place::Edge(e),
                                                event: event.clone(),
                                                stripped: stripped.clone(),
                                                meta: item.meta,
                                            }));
                                        }
                                    }
                                });
                            }
                        },
                    )
                }
                NodeKind::Channel { .. } => part.unary::<StageCb, _, _, _>(
                    Pipeline,
                    &format!("fan-out {}", node.name),
                    move |_, _| {
                        move |input, output| {
                            input.for_each(|cap, data| {
                                let mut session = output.session(&cap);
                                for item in data.drain(..) {
                                    for &e in &edges {
                                        let place = Place::Edge(e);
                                        let (event, meta) = (item.event.clone(), item.meta);
                                        session.give(Stage::Item(Item {
                                            place,
                                            event,
                                            stripped: None,
                                            meta,
                                        }));
                                    }
                                }
                            });
                        }
                    },
                ),
            };
            outputs.push(stage);
        }
        if let Some(to_deliver) = to_deliver {
            let d = deliverer.clone();
            let worker = inner.worker();
            let delivered =
                to_deliver.unary::<StageCb, _, _, _>(Pipeline, "deliver", move |_, info| {
                    let (mut items, mut records) = (Vec::new(), Vec::new());
                    // Deliveries involving a blocking subscriber run on the pool; their
                    // capability is held until the result comes back (DESIGN.md §3a).
                    let activator = worker.sync_activator_for(info.address.to_vec());
                    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Finished>();
                    let mut pending = HashMap::new();
                    let mut next_token = 0u64;
                    move |input, output| {
                        input.for_each(|cap, data| {
                            for item in data.drain(..) {
                                if let Some(lane) = d.lane(&item) {
                                    next_token += 1;
                                    let token = next_token;
                                    pending.insert(token, cap.retain_stamp(0));
                                    let (d2, tx, act) =
                                        (d.clone(), done_tx.clone(), activator.clone());
                                    d.pool().submit(
                                        lane,
                                        Box::new(move || {
                                            let (mut items, mut records) = (Vec::new(), Vec::new());
                                            d2.deliver(item, &mut items, &mut records);
                                            let _ = tx.send((token, items, records));
                                            let _ = act.activate();
                                        }),
                                    );
                                    continue;
                                }
                                d.deliver(item, &mut items, &mut records);
                            }
                            fold_counts(&mut records);
                            let mut session = output.session(&cap);
                            session.give_iterator(items.drain(..).map(Stage::Item));
                            session.give_iterator(records.drain(..).map(Stage::Record));
                        });
                        while let Ok((token, mut got, mut recs)) = done_rx.try_recv() {
                            if let Some(caps) = pending.remove(&token) {
                                fold_counts(&mut recs);
                                let mut session = output.session(&caps);
                                session.give_iterator(got.drain(..).map(Stage::Item));
                                session.give_iterator(recs.drain(..).map(Stage::Record));
                            }
                        }
                    }
                });
            outputs.push(delivered);
        }
        let merged = inner.concatenate(outputs);
        let (items, records): (Vs<'_, _, Item>, Vs<'_, _, Record>) = merged.ok_err(|s| match s {
            Stage::Item(i) => Ok(i),
            Stage::Record(r) => Err(r),
        });
        items.connect_loop(handle);
        records.leave(scope)
    });

    let records = timely::dataflow::operators::Concat::concat(input_records, loop_records);
    records
        .unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
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
        .probe_with(&probe);
    Handles { input, probe }
}

/// Replaces the batch's `Count` records by one `Tally` per epoch (all records of a batch share
/// its epoch), so the sink on worker 0 sees a handful of records instead of one per delivery.
fn fold_counts(records: &mut Vec<Record>) {
    type Key = (usize, usize, Outcome);
    let mut tally: HashMap<Key, (Arc<str>, Arc<str>, Outcome, u64)> = HashMap::new();
    let mut epoch = None;
    records.retain(|r| match &r.kind {
        RecordKind::Count {
            subscriber,
            via,
            outcome,
        } => {
            epoch = Some(r.epoch);
            let key = (
                Arc::as_ptr(subscriber) as *const u8 as usize,
                Arc::as_ptr(via) as *const u8 as usize,
                *outcome,
            );
            tally
                .entry(key)
                .or_insert_with(|| (subscriber.clone(), via.clone(), *outcome, 0))
                .3 += 1;
            false
        }
        _ => true,
    });
    if let Some(epoch) = epoch {
        let counts = tally.into_values().collect();
        let kind = RecordKind::Tally(counts);
        records.push(Record {
            epoch,
            seq: 0,
            trail: Trail::ROOT,
            kind,
        });
    }
}

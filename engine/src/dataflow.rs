//! Rendering a Plan as a timely dataflow (DESIGN.md §3, §3a).
//!
//! ```text
//! input chunks ─parse─┬─ items ─enter─▶ ┌──────────── loop scope (epoch, pass) ─────────────────────┐
//!                     │                 │ partition by place (entered + feedback) ─┬─ Broker b: route ──┐ │
//!                     │                 │                                          └─ Channel c: fan-out ┤ │
//!                     │                 │   items at edges (same pass) ◀──── items ───────────────────┘ │
//!                     │                 │     └─ deliver (all edges: retries, replies, DLS)          │
//!                     │                 │          └─ items into nodes ─▶ feedback (+1 pass)        │
//!                     │                 └──────────────────────── route + deliver records ─leave─┐  │
//!                     └─ records (malformed, input counts) ───────────────────────────────────────┴─▶ tally per epoch ─▶ exchange to worker 0 ─▶ sink
//! ```
//! Parse, route, fan-out and deliver each have two outputs, items and records, and the loop's
//! entry takes both of its inputs itself (`staged.rs`): every operator costs scheduling
//! and progress tracking on every step, so a live engine's small batches pay for few of them.
//! One operator per Broker evaluates all its Triggers (never one per Trigger); one per channel
//! fans out; one deliver operator serves every edge, in the same pass as the routing that
//! chose the edges. What a delivery sends into a node (replies, hops, dead letters) goes
//! around the loop, so the probe on the sink tells exactly when an epoch has drained, replies,
//! retries and dead letters included. Cycles stay worker-local (Pipeline); only records cross
//! to worker 0, and delivery counts only as one tally per worker and epoch.

use crate::clock::VirtualMs;
use crate::deliver::Deliverer;
use crate::input::{parse_chunk, Chunk};
use crate::record::{Item, Record};
use crate::sink::SinkState;
use crate::staged::{partition_by_place, split_stage};
use crate::stages::{deliver, fan_out, route, sink as sink_stage};
use crate::tally::pre_aggregate;
use eventflow_planner::plan::{NodeId, NodeKind};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::{
    Concat, Concatenate, ConnectLoop, Enter, Leave, LoopVariable, Probe,
};
use timely::dataflow::{InputHandle, ProbeHandle, Scope, Stream};

type Vs<'s, T, D> = Stream<'s, T, Vec<D>>;

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

/// Builds the dataflow in `scope`; records reach `sink` on worker 0.
pub fn build(scope: Scope<'_, u64>, settings: &Settings, sink: Rc<RefCell<SinkState>>) -> Handles {
    let mut input = InputHandle::<u64, CapacityContainerBuilder<Vec<Chunk>>>::new();
    let probe = ProbeHandle::new();
    let chunks = timely::dataflow::operators::Input::input_from(&scope, &mut input);

    let (entry, clock_start, wall_clock) =
        (settings.entry, settings.clock_start, settings.wall_clock);
    let (items, input_records) = split_stage(chunks, "parse", move |chunk, staged| {
        parse_chunk(chunk, entry, clock_start, wall_clock, staged);
    });

    let deliverer = settings.deliverer.clone();
    let loop_records: Vs<'_, u64, Record> = scope.iterative::<u32, _, _>(|inner| {
        let (handle, cycle) = inner.loop_variable::<Vec<Item>>(1);
        let plan = deliverer.plan().clone();
        let entered = items.enter(inner);
        // Event registry (issue 6): observe what enters ingress nodes; a pass-through.
        let inputs = match &settings.registry {
            Some(r) => vec![crate::registry::tap(
                r,
                entered.concat(cycle),
                scope,
                &probe,
            )],
            None => vec![entered, cycle],
        };
        let mut parts = partition_by_place(inputs, plan.nodes.len());
        let at_edges = parts.pop();
        let mut to_deliver = Vec::new();
        let mut records = Vec::new();
        for (id, part) in parts.into_iter().enumerate() {
            let node = &plan.nodes[id];
            let (items, recs) = match node.kind {
                NodeKind::Broker => route(part, plan.clone(), &node.edges, node.name.clone()),
                NodeKind::Channel { .. } => fan_out(part, node.edges.clone(), &node.name),
            };
            to_deliver.push(items);
            records.push(recs);
        }
        // What routing and fan-out chose is delivered in the same pass.
        to_deliver.extend(at_edges);
        let to_deliver = inner.concatenate(to_deliver);
        let (into_nodes, deliver_records) = deliver(to_deliver, deliverer.clone());
        into_nodes.connect_loop(handle);
        records.push(deliver_records);
        inner.concatenate(records).leave(scope)
    });

    // Each worker's delivery counts merged per epoch before they cross to worker 0.
    let records = pre_aggregate(input_records.concat(loop_records));
    sink_stage(records, sink).probe_with(&probe);
    Handles { input, probe }
}

//! Rendering a Plan as a timely dataflow (DESIGN.md §3, §3a).
//!
//! ```text
//! input chunks ─parse─┬─ items ─enter─▶ ┌──────────── loop scope (epoch, pass) ─────────────────────┐
//!                     │                 │ concat(feedback) ─partition by node─┬─ Broker b: route ─┐ │
//!                     │                 │                                     └─ Channel c: fan-out ┤ │
//!                     │                 │   items at edges (same pass) ◀─ok_err────────────────────┘ │
//!                     │                 │     └─ deliver (all edges: retries, replies, DLS)          │
//!                     │                 │          └─ok_err─ items into nodes ─▶ feedback (+1 pass)  │
//!                     │                 └──────────────────────── route + deliver records ─leave─┐  │
//!                     └─ records (malformed, input counts) ───────────────────────────────────────┴─▶ tally per epoch ─▶ exchange to worker 0 ─▶ sink
//! ```
//! One operator per Broker evaluates all its Triggers (never one per Trigger); one per channel
//! fans out; one deliver operator serves every edge, in the same pass as the routing that
//! chose the edges. What a delivery sends into a node (replies, hops, dead letters) goes
//! around the loop, so the probe on the sink tells exactly when an epoch has drained, replies,
//! retries and dead letters included. Cycles stay worker-local (Pipeline); only records cross
//! to worker 0, and delivery counts only as one tally per worker and epoch.

use crate::clock::VirtualMs;
use crate::deliver::Deliverer;
use crate::input::{parse_chunk, Chunk, Stage};
use crate::record::{Item, Place, Record};
use crate::sink::SinkState;
use crate::stages::{deliver, fan_out, route, sink as sink_stage};
use crate::tally::pre_aggregate;
use eventflow_planner::plan::{NodeId, NodeKind};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Partition;
use timely::dataflow::operators::{
    Concat, Concatenate, ConnectLoop, Enter, Leave, LoopVariable, OkErr, Probe,
};
use timely::dataflow::{InputHandle, ProbeHandle, Scope, Stream};

type Vs<'s, T, D> = Stream<'s, T, Vec<D>>;
type StageCb = CapacityContainerBuilder<Vec<Stage>>;

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

/// Items one way, records the other.
fn split<'s, T: timely::progress::Timestamp>(
    stages: Vs<'s, T, Stage>,
) -> (Vs<'s, T, Item>, Vs<'s, T, Record>) {
    stages.ok_err(|s| match s {
        Stage::Item(i) => Ok(i),
        Stage::Record(r) => Err(r),
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
    let (items, input_records) = split(parsed);

    let deliverer = settings.deliverer.clone();
    let loop_records: Vs<'_, u64, Record> = scope.iterative::<u32, _, _>(|inner| {
        let (handle, cycle) = inner.loop_variable::<Vec<Item>>(1);
        let plan = deliverer.plan().clone();
        let n = plan.nodes.len() as u64;
        let all = items.enter(inner).concat(cycle);
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
        let at_edges = parts.pop();
        let mut routed = Vec::new();
        for (id, part) in parts.into_iter().enumerate() {
            let node = &plan.nodes[id];
            routed.push(match node.kind {
                NodeKind::Broker => route(part, plan.clone(), &node.edges, node.name.clone()),
                NodeKind::Channel { .. } => fan_out(part, node.edges.clone(), &node.name),
            });
        }
        // What routing and fan-out chose is delivered in the same pass.
        let (to_deliver, route_records) = split(inner.concatenate(routed));
        let to_deliver = match at_edges {
            Some(more) => to_deliver.concat(more),
            None => to_deliver,
        };
        let (into_nodes, deliver_records) = split(deliver(to_deliver, deliverer.clone()));
        into_nodes.connect_loop(handle);
        route_records.concat(deliver_records).leave(scope)
    });

    // Each worker's delivery counts merged per epoch before they cross to worker 0.
    let records = pre_aggregate(input_records.concat(loop_records));
    sink_stage(records, sink).probe_with(&probe);
    Handles { input, probe }
}

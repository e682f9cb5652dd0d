//! One operator that both does a stage's work and splits what it made into items and records,
//! where a `unary` followed by timely's `ok_err` used to be two operators. Every operator of
//! the dataflow costs scheduling and progress tracking on every step, however few events the
//! step carries, so fewer operators make the small batches of a live engine cheaper.

use crate::input::Stage;
use crate::record::{Item, Place, Record};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::Stream;
use timely::progress::operate::FrontierInterest;
use timely::progress::Timestamp;

type Vs<'s, T, D> = Stream<'s, T, Vec<D>>;
/// An operator output that builds `Vec<D>` containers.
pub type VecOutput<T, D> = OutputBuilder<T, CapacityContainerBuilder<Vec<D>>>;
/// A stage's outputs: items (port 0) and records (port 1), each with its stream.
pub type StageOutputs<'s, T> = (
    VecOutput<T, Item>,
    Vs<'s, T, Item>,
    VecOutput<T, Record>,
    Vs<'s, T, Record>,
);

/// Runs `logic` on each datum of `stream` (worker-local), which pushes the stages it makes
/// into the `Vec` it is given; the stages leave as two streams, items and records, at the
/// datum's time.
pub fn split_stage<'s, T, D, L>(
    stream: Vs<'s, T, D>,
    name: &str,
    mut logic: L,
) -> (Vs<'s, T, Item>, Vs<'s, T, Record>)
where
    T: Timestamp,
    D: Clone + 'static,
    L: FnMut(D, &mut Vec<Stage>) + 'static,
{
    let mut builder = OperatorBuilder::new(name.to_owned(), stream.scope());
    let mut input = builder.new_input(stream, Pipeline);
    builder.set_notify_for(0, FrontierInterest::Never);
    let (mut items_out, items, mut records_out, records) = items_and_records(&mut builder);
    builder.build(move |_initial_capabilities| {
        let mut staged = Vec::new();
        move |_frontiers| {
            let mut items_h = items_out.activate();
            let mut records_h = records_out.activate();
            input.for_each(|cap, data| {
                for datum in data.drain(..) {
                    logic(datum, &mut staged);
                }
                let mut items = items_h.session(&cap);
                let mut records = records_h.session(&cap);
                for stage in staged.drain(..) {
                    match stage {
                        Stage::Item(i) => items.give(i),
                        Stage::Record(r) => records.give(r),
                    }
                }
            });
        }
    });
    (items, records)
}

/// An output for items (port 0) and one for records (port 1) of `builder`, with their streams.
pub fn items_and_records<'s, T: Timestamp>(
    builder: &mut OperatorBuilder<'s, T>,
) -> StageOutputs<'s, T> {
    let (items_out, items) = builder.new_output::<Vec<Item>>();
    let (records_out, records) = builder.new_output::<Vec<Record>>();
    (
        OutputBuilder::from(items_out),
        items,
        OutputBuilder::from(records_out),
        records,
    )
}

/// The items of every stream in `inputs`, one output per plan node (items at `Place::Node(id)`
/// leave on output `id`) and a last one for items already at an edge: timely's `concat`
/// followed by `partition`, as one operator that keeps its buffers between steps.
pub fn partition_by_place<'s, T: Timestamp>(
    inputs: Vec<Vs<'s, T, Item>>,
    nodes: usize,
) -> Vec<Vs<'s, T, Item>> {
    let Some(first) = inputs.first() else {
        return Vec::new();
    };
    let mut builder = OperatorBuilder::new("partition by place".to_owned(), first.scope());
    let mut pulls = Vec::with_capacity(inputs.len());
    for (port, stream) in inputs.into_iter().enumerate() {
        pulls.push(builder.new_input(stream, Pipeline));
        builder.set_notify_for(port, FrontierInterest::Never);
    }
    let mut outputs = Vec::with_capacity(nodes + 1);
    let mut streams = Vec::with_capacity(nodes + 1);
    for _ in 0..=nodes {
        let (output, stream) = builder.new_output::<Vec<Item>>();
        outputs.push(VecOutput::<T, Item>::from(output));
        streams.push(stream);
    }
    builder.build(move |_initial_capabilities| {
        let mut parts: Vec<Vec<Item>> = (0..=nodes).map(|_| Vec::new()).collect();
        move |_frontiers| {
            let mut handles: Vec<_> = outputs.iter_mut().map(OutputBuilder::activate).collect();
            for pull in pulls.iter_mut() {
                pull.for_each(|cap, data| {
                    for item in data.drain(..) {
                        let port = match item.place {
                            Place::Node(id) => (id as usize).min(nodes),
                            Place::Edge(_) => nodes,
                        };
                        parts[port].push(item);
                    }
                    for (part, handle) in parts.iter_mut().zip(handles.iter_mut()) {
                        if !part.is_empty() {
                            handle.session(&cap).give_iterator(part.drain(..));
                        }
                    }
                });
            }
        }
    });
    streams
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Meta, RecordKind, Trail};
    use eventflow_planner::event::Event;
    use std::sync::{Arc, Mutex};
    use timely::dataflow::operators::vec::Map;
    use timely::dataflow::operators::{Capture, Concat, Input};

    fn item(seq: u64, place: Place) -> Item {
        Item {
            place,
            event: Arc::new(Event::new(seq.to_string().as_str(), "/t", "t")),
            broker_ttl: None,
            meta: Meta {
                epoch: 0,
                seq,
                trail: Trail::ROOT,
                hops: 0,
                clock: 0,
            },
        }
    }

    /// What each output of a test dataflow received, as (output, seq) pairs.
    type Seen = Arc<Mutex<Vec<(usize, u64)>>>;

    #[test]
    fn stages_split_into_items_and_records_and_parts_follow_the_place() {
        let seen: Seen = Arc::default();
        let sink = seen.clone();
        timely::execute_directly(move |worker| {
            let sink = sink.clone();
            let mut input = worker.dataflow::<u64, _, _>(move |scope| {
                let (input, stream) = scope.new_input::<Vec<u64>>();
                // Even numbers become items at node 0 (4: node 1; 6: an edge), odd ones records.
                let (items, records) = split_stage(stream, "test", |n: u64, out| {
                    out.push(if n % 2 == 0 {
                        let place = match n {
                            4 => Place::Node(1),
                            6 => Place::Edge(3),
                            _ => Place::Node(0),
                        };
                        Stage::Item(item(n, place))
                    } else {
                        Stage::Record(Record {
                            epoch: 0,
                            seq: n,
                            trail: Trail::ROOT,
                            kind: RecordKind::Dropped {
                                reason: "odd".into(),
                            },
                        })
                    });
                });
                let parts = partition_by_place(vec![items.clone(), items], 2);
                let mut tagged = records.map(|r| (9usize, r.seq));
                for (port, part) in parts.into_iter().enumerate() {
                    tagged = tagged.concat(part.map(move |i| (port, i.meta.seq)));
                }
                let got = tagged.capture();
                (input, got)
            });
            for n in 0..8 {
                input.0.send(n);
            }
            input.0.advance_to(1);
            drop(input.0);
            while worker.step() {}
            let mut all = Vec::new();
            while let Ok(timely::dataflow::operators::capture::Event::Messages(_, batch)) =
                input.1.try_recv()
            {
                all.extend(batch);
            }
            sink.lock().map(|mut s| s.extend(all)).ok();
        });
        let mut got = seen.lock().map(|s| s.clone()).unwrap_or_default();
        got.sort_unstable();
        // Both inputs of the partition carry every item: each item arrives twice.
        assert_eq!(
            got,
            vec![
                (0, 0),
                (0, 0),
                (0, 2),
                (0, 2),
                (1, 4),
                (1, 4),
                (2, 6),
                (2, 6),
                (9, 1),
                (9, 3),
                (9, 5),
                (9, 7),
            ]
        );
    }
}

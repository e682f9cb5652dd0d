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
    let (items_out, items) = builder.new_output::<Vec<Item>>();
    let (records_out, records) = builder.new_output::<Vec<Record>>();
    let mut items_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<Item>>>::from(items_out);
    let mut records_out =
        OutputBuilder::<_, CapacityContainerBuilder<Vec<Record>>>::from(records_out);
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
        outputs.push(OutputBuilder::<_, CapacityContainerBuilder<Vec<Item>>>::from(output));
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

//! One timely worker's input loop: take chunks, send each as one epoch, bound the epochs in
//! flight with the probe, and (live engines) keep the frontier moving while idle.
//!
//! **Replay** (virtual clock): a chunk's epoch is its index, so the delivery log is ordered
//! the same way whatever the worker or process count. In a cluster, process `p` of `n` takes
//! the chunks `i` with `i % n == p`.
//!
//! **Live** (wall clock): workers take events straight off the live queue (no thread in
//! between: one hand-off less per event), as many as are waiting up to a batch, and send them
//! as one chunk. Epochs are wall-clock milliseconds since the Unix epoch: a worker sends a
//! chunk at its input's time and advances its input to `now` whenever the millisecond changes,
//! busy or idle.
//! Idle workers (and idle processes of a cluster) therefore never hold the frontier back, so
//! the sink settles an epoch, and a durable ingress gets its [`Done`](crate::acks::Done)
//! callbacks, within about a millisecond of the epoch's last delivery ending, without any
//! coordination between processes beyond timely's own progress tracking.

use crate::acks::{Done, Pending};
use crate::dataflow::Handles;
use crate::input::{Chunk, ChunkBody};
use crossbeam_channel::{Receiver, TryRecvError};
use eventflow_planner::event::Event;
use eventflow_planner::plan::NodeId;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Inspect};
use timely::worker::Worker;

/// A live worker with nothing sent into its open epoch advances it at least this often (ms).
const IDLE_ADVANCE_MS: u64 = 10;

/// Live events batched into one epoch at most.
const MAX_EVENTS_PER_EPOCH: usize = 1024;

/// A live event: its ingress node, the event, and its completion callback if tracked.
pub type LiveItem = (NodeId, Event, Option<Done>);

/// Where a worker's input comes from.
pub(crate) enum Source<'a> {
    /// Chunks of lines or events (replay, explain), shared by the workers of this process.
    Chunks(&'a Receiver<Chunk>),
    /// Single live events, shared by the workers of this process, numbered from `seq`; the
    /// flag is set once the queue is closed and drained.
    Live(&'a Receiver<LiveItem>, &'a AtomicU64, &'a AtomicBool),
    /// Live, but this worker takes nothing (a plan with ordered delivery takes live input on
    /// one worker per process, so a partition key's events keep the order they were sent
    /// in); it stops once the taking worker set the flag (the queue closed and drained).
    LiveElsewhere(&'a AtomicBool),
}

/// How a worker takes its input.
pub(crate) struct Feed<'a> {
    /// The input.
    pub source: Source<'a>,
    /// Replay in a cluster: (this process, process count).
    pub share: Option<(u64, u64)>,
    /// Wall-clock epochs and idle advance (live engines).
    pub live: bool,
    /// Chunks in flight before the worker waits for the probe.
    pub in_flight: usize,
    /// Most live events taken as one epoch.
    pub max_batch: usize,
    /// Set to stop reading (strict mode, malformed line).
    pub abort: &'a AtomicBool,
    /// Live cluster: set when any process of the cluster begins to stop (see [`drive`]).
    pub stop_requested: Option<Arc<AtomicBool>>,
}

/// Wall-clock milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs the input loop until the chunks channel is closed (or `abort`), closes the input and
/// steps until every epoch has drained. Completion callbacks run as their epochs pass.
///
/// In a live cluster a second, tiny dataflow tells every process when one of them begins to
/// stop (its queue closed: SIGTERM): each worker broadcasts a word when its input ends, and
/// every worker that sees one sets `stop_requested`, so `run` on the other processes drains
/// too. (Timely ends a dataflow only when every process has closed its input.)
pub(crate) fn drive(worker: &mut Worker, mut handles: Handles, feed: Feed<'_>) {
    let mut control = feed.stop_requested.clone().map(|flag| {
        worker.dataflow::<u64, _, _>(move |scope| {
            let (input, stream) = scope.new_input::<Vec<u32>>();
            stream
                .broadcast()
                .inspect(move |_| flag.store(true, Ordering::SeqCst));
            input
        })
    });
    // Epochs sent and not yet passed by the probe, with their weight: a replay chunk weighs a
    // whole batch, a live batch its events. At most `in_flight × max_batch` in flight.
    let mut sent: VecDeque<(u64, usize)> = VecDeque::new();
    let mut weight = 0usize;
    let limit = feed.in_flight.max(1) * feed.max_batch.max(1);
    let mut pending = Pending::default();
    loop {
        if feed.abort.load(Ordering::SeqCst) {
            break;
        }
        if feed.live {
            // One epoch per wall-clock millisecond at most: everything taken within the same
            // millisecond shares it (bounded progress-tracking work at any rate). A worker
            // that sent into its open epoch closes it as soon as the millisecond changes; an
            // idle one moves on every IDLE_ADVANCE_MS, so it never holds the frontier back for
            // long and costs little CPU while nothing happens.
            let now = now_ms();
            let open = *handles.input.time();
            let used = sent.back().is_some_and(|&(e, _)| e == open);
            if now > open && (used || now >= open + IDLE_ADVANCE_MS) {
                handles.input.advance_to(now);
            }
        }
        while let Some(&(e, w)) = sent.front() {
            if handles.probe.less_equal(&e) {
                break;
            }
            sent.pop_front();
            weight -= w;
        }
        pending.fire_passed(|e| handles.probe.less_equal(&e));
        if weight >= limit {
            worker.step_or_park(Some(Duration::from_millis(1)));
            continue;
        }
        let taken = match feed.source {
            Source::Chunks(chunks) => chunks.try_recv().map(|chunk| {
                // In a replay cluster each process takes its share of the log's chunks.
                let skip = feed.share.is_some_and(|(p, n)| chunk.index % n != p);
                (!skip).then(|| merge_waiting(chunk, chunks))
            }),
            Source::Live(events, seq, _) => take_live(events, seq, feed.max_batch).map(Some),
            Source::LiveElsewhere(closed) if closed.load(Ordering::SeqCst) => {
                Err(TryRecvError::Disconnected)
            }
            Source::LiveElsewhere(_) => Err(TryRecvError::Empty),
        };
        match taken {
            Ok(None) => continue,
            Ok(Some((first, next, done))) => {
                for mut chunk in std::iter::once(first).chain(next) {
                    let w = if feed.live {
                        // Records settle per epoch: the epoch is the one the chunk entered at.
                        chunk.index = *handles.input.time();
                        match &chunk.body {
                            ChunkBody::Events(events) => events.len(),
                            ChunkBody::Lines(_) => feed.max_batch,
                        }
                    } else {
                        if chunk.index > *handles.input.time() {
                            handles.input.advance_to(chunk.index);
                        }
                        feed.max_batch
                    };
                    let at = *handles.input.time();
                    handles.input.send(chunk);
                    if feed.live {
                        // The epoch stays open until the millisecond changes: push the data
                        // on now (the input buffers it until a flush or an advance).
                        handles.input.flush();
                    } else {
                        // Close a replay epoch at once: the sink writes per completed epoch.
                        handles.input.advance_to(at + 1);
                    }
                    match sent.back_mut() {
                        Some((e, v)) if *e == at => *v += w,
                        _ => sent.push_back((at, w)),
                    }
                    weight += w;
                }
                if let Some(&(at, _)) = sent.back() {
                    pending.hold(at, done);
                }
                worker.step();
            }
            Err(TryRecvError::Empty) => {
                // Live: sends, other workers' messages and finished deliveries unpark the
                // worker. Replay: the log reader does not, so look again soon.
                let idle = if feed.live {
                    Duration::from_millis(IDLE_ADVANCE_MS)
                } else {
                    Duration::from_micros(200)
                };
                worker.step_or_park(Some(idle));
            }
            Err(TryRecvError::Disconnected) => break,
        }
    }
    if let Source::Live(_, _, closed) = feed.source {
        closed.store(true, Ordering::SeqCst);
    }
    drop(handles.input);
    if let Some(mut c) = control.take() {
        c.send(worker.index() as u32);
    }
    while !handles.probe.done() {
        pending.fire_passed(|e| handles.probe.less_equal(&e));
        worker.step_or_park(Some(Duration::from_millis(1)));
    }
    if !feed.abort.load(Ordering::SeqCst) {
        pending.fire_all();
    }
}

/// What a worker took: a chunk, a chunk of another kind that ended a merge, and the
/// completion callbacks of the events taken.
type Taken = (Chunk, Option<Chunk>, Vec<Done>);

/// Takes every live event waiting, up to one epoch's worth, as one chunk.
fn take_live(
    events: &Receiver<LiveItem>,
    seq: &AtomicU64,
    max_batch: usize,
) -> Result<Taken, TryRecvError> {
    let first = events.try_recv()?;
    let mut batch = Vec::with_capacity(events.len().min(max_batch.saturating_sub(1)) + 1);
    let mut done = Vec::new();
    let mut take = |(node, event, d): LiveItem| {
        batch.push((node, event));
        done.extend(d);
    };
    take(first);
    for _ in 1..max_batch {
        match events.try_recv() {
            Ok(item) => take(item),
            Err(_) => break,
        }
    }
    let first_line = seq.fetch_add(batch.len() as u64, Ordering::Relaxed);
    let chunk = Chunk {
        index: 0,
        first_line,
        body: ChunkBody::Events(batch),
    };
    Ok((chunk, None, done))
}

/// Chunks of events (the library's chunked input) may arrive small: batch what is already
/// waiting into one epoch (per-epoch overhead dominates single events). Returns the merged
/// chunk and a chunk of another kind that ended the merge, if any.
fn merge_waiting(mut chunk: Chunk, chunks: &Receiver<Chunk>) -> Taken {
    let mut next = None;
    if let ChunkBody::Events(events) = &mut chunk.body {
        while events.len() < MAX_EVENTS_PER_EPOCH {
            match chunks.try_recv() {
                Ok(Chunk {
                    body: ChunkBody::Events(more),
                    ..
                }) => events.extend(more),
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
    }
    (chunk, next, Vec::new())
}

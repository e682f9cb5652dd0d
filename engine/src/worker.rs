//! One timely worker's input loop: take chunks, send each as one epoch, bound the epochs in
//! flight with the probe, and (live engines) keep the frontier moving while idle.
//!
//! **Replay** (virtual clock): a chunk's epoch is its index, so the delivery log is ordered
//! the same way whatever the worker or process count. In a cluster, process `p` of `n` takes
//! the chunks `i` with `i % n == p`.
//!
//! **Live** (wall clock): epochs are wall-clock milliseconds since the Unix epoch. A worker
//! sends a chunk at `max(now, its input's time)` and, while idle, advances its input to `now`.
//! Idle workers (and idle processes of a cluster) therefore never hold the frontier back, so
//! the sink settles an epoch, and a durable ingress gets its [`Done`](crate::acks::Done)
//! callbacks, within about a millisecond of the epoch's last delivery ending, without any
//! coordination between processes beyond timely's own progress tracking.

use crate::acks::{Acks, Pending};
use crate::dataflow::Handles;
use crate::input::{Chunk, ChunkBody};
use crossbeam_channel::{Receiver, TryRecvError};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use timely::worker::Worker;

/// Live events batched into one epoch at most.
const MAX_EVENTS_PER_EPOCH: usize = 1024;

/// How a worker takes its input.
pub(crate) struct Feed<'a> {
    /// The chunks, shared by the workers of this process.
    pub chunks: &'a Receiver<Chunk>,
    /// Replay in a cluster: (this process, process count).
    pub share: Option<(u64, u64)>,
    /// Wall-clock epochs and idle advance (live engines).
    pub live: bool,
    /// Completion callbacks filed by a live sender.
    pub acks: Option<Acks>,
    /// Chunks in flight before the worker waits for the probe.
    pub in_flight: usize,
    /// Set to stop reading (strict mode, malformed line).
    pub abort: &'a AtomicBool,
}

/// Wall-clock milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs the input loop until the chunks channel is closed (or `abort`), closes the input and
/// steps until every epoch has drained. Completion callbacks run as their epochs pass.
pub(crate) fn drive(worker: &mut Worker, mut handles: Handles, feed: Feed<'_>) {
    let mut sent: VecDeque<u64> = VecDeque::new();
    let mut pending = Pending::default();
    if feed.live {
        handles.input.advance_to(now_ms());
    }
    loop {
        if feed.abort.load(Ordering::SeqCst) {
            break;
        }
        while sent.front().is_some_and(|e| !handles.probe.less_equal(e)) {
            sent.pop_front();
        }
        pending.fire_passed(|e| handles.probe.less_equal(&e));
        if sent.len() >= feed.in_flight {
            worker.step_or_park(Some(Duration::from_millis(1)));
            continue;
        }
        match feed.chunks.try_recv() {
            // In a replay cluster each process takes its share of the log's chunks.
            Ok(chunk) if feed.share.is_some_and(|(p, n)| chunk.index % n != p) => continue,
            Ok(chunk) => {
                let (batch, next) = merge_waiting(chunk, feed.chunks);
                for mut chunk in std::iter::once(batch.0).chain(next) {
                    let epoch = if feed.live {
                        now_ms().max(*handles.input.time())
                    } else {
                        chunk.index
                    };
                    if epoch > *handles.input.time() {
                        handles.input.advance_to(epoch);
                    }
                    if let Some(acks) = &feed.acks {
                        for index in batch.1.iter().copied().chain([chunk.index]) {
                            pending.hold(*handles.input.time(), acks.claim(index));
                        }
                    }
                    if feed.live {
                        // Records settle per epoch: the epoch is the one the chunk entered at.
                        chunk.index = *handles.input.time();
                    }
                    let at = *handles.input.time();
                    handles.input.send(chunk);
                    // Close the epoch at once: a live engine may wait long for the next
                    // chunk, and the report and registry settle per completed epoch.
                    handles.input.advance_to(at + 1);
                    sent.push_back(at);
                }
                worker.step();
            }
            Err(TryRecvError::Empty) => {
                if feed.live {
                    let now = now_ms();
                    if now > *handles.input.time() {
                        handles.input.advance_to(now);
                    }
                }
                worker.step_or_park(Some(Duration::from_micros(200)));
            }
            Err(TryRecvError::Disconnected) => break,
        }
    }
    drop(handles.input);
    while !handles.probe.done() {
        pending.fire_passed(|e| handles.probe.less_equal(&e));
        worker.step_or_park(Some(Duration::from_millis(1)));
    }
    if !feed.abort.load(Ordering::SeqCst) {
        pending.fire_all();
    }
}

/// Live sends arrive in small chunks: batch what is already waiting into one epoch
/// (per-epoch overhead dominates single events). Returns the merged chunk with the indices of
/// the chunks merged into it, and a chunk of another kind that ended the merge, if any.
fn merge_waiting(mut chunk: Chunk, chunks: &Receiver<Chunk>) -> ((Chunk, Vec<u64>), Option<Chunk>) {
    let mut merged = Vec::new();
    let mut next = None;
    if let ChunkBody::Events(events) = &mut chunk.body {
        while events.len() < MAX_EVENTS_PER_EPOCH {
            match chunks.try_recv() {
                Ok(Chunk {
                    index,
                    body: ChunkBody::Events(more),
                    ..
                }) => {
                    events.extend(more);
                    merged.push(index);
                }
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
    }
    ((chunk, merged), next)
}

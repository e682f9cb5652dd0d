//! Firing timer sources on the replay's virtual clock (`eventflow replay --from T1 --until T2`).
//!
//! A thread first forwards the event log's chunks (if any) unchanged, then emits every fire
//! time in `[from, until)` of every timer, in (fire time, manifest order) order, as
//! [`ChunkBody::Events`] chunks whose indexes continue after the log's. Source events are
//! numbered 1, 2, 3, … across chunks (`first_line`), so chunks a worker batches together keep
//! their order, and ids are derived from source + fire time ([`EventId::Derived`]): the
//! delivery log is byte-identical across runs and `--workers`. Each event's virtual clock
//! starts at its `time`, the fire time.

use super::{EventId, Timer};
use chrono::{DateTime, Utc};
use crossbeam_channel::{bounded, Receiver, Sender};
use eventflow_engine::input::{Chunk, ChunkBody};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A running producer of log + source chunks.
pub struct Firing {
    /// Chunks for the engine; closed when the log and the window are exhausted.
    pub chunks: Receiver<Chunk>,
    /// Source events emitted so far.
    pub fired: Arc<AtomicU64>,
    /// The producer thread.
    pub thread: JoinHandle<()>,
}

/// Starts the producer: `log`'s chunks first, then the timers' events in `[from, until)`, at
/// most `chunk_events` per chunk.
pub fn fire_between(
    timers: Vec<Timer>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    log: Option<Receiver<Chunk>>,
    chunk_events: usize,
) -> Firing {
    let (tx, rx) = bounded::<Chunk>(64);
    let fired = Arc::new(AtomicU64::new(0));
    let counter = fired.clone();
    let chunk_events = chunk_events.max(1);
    let thread = std::thread::spawn(move || {
        let mut next_index = 0u64;
        if let Some(log) = log {
            for chunk in log {
                next_index = next_index.max(chunk.index + 1);
                if tx.send(chunk).is_err() {
                    return;
                }
            }
        }
        emit(
            &timers,
            from,
            until,
            &tx,
            next_index,
            chunk_events,
            &counter,
        );
    });
    Firing {
        chunks: rx,
        fired,
        thread,
    }
}

/// Emits the timers' events in fire-time order; stops early if the engine hung up.
fn emit(
    timers: &[Timer],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    tx: &Sender<Chunk>,
    mut index: u64,
    chunk_events: usize,
    fired: &AtomicU64,
) {
    // (next fire time, timer index): ties fire in manifest order.
    let mut heap: BinaryHeap<Reverse<(DateTime<Utc>, usize)>> = timers
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.schedule.next_from(from).map(|at| Reverse((at, i))))
        .filter(|Reverse((at, _))| *at < until)
        .collect();
    let mut seq = 1u64;
    let mut batch = Vec::with_capacity(chunk_events);
    let mut first = seq;
    while let Some(Reverse((at, i))) = heap.pop() {
        let timer = &timers[i];
        batch.push((timer.node, timer.template.event(at, EventId::Derived)));
        seq += 1;
        if let Some(next) = timer.schedule.next_after(at).filter(|n| *n < until) {
            heap.push(Reverse((next, i)));
        }
        if batch.len() >= chunk_events {
            let body = ChunkBody::Events(std::mem::take(&mut batch));
            if !send(tx, &mut index, first, body, fired, chunk_events) {
                return;
            }
            first = seq;
        }
    }
    if !batch.is_empty() {
        let n = batch.len();
        send(tx, &mut index, first, ChunkBody::Events(batch), fired, n);
    }
}

fn send(
    tx: &Sender<Chunk>,
    index: &mut u64,
    first_line: u64,
    body: ChunkBody,
    fired: &AtomicU64,
    n: usize,
) -> bool {
    let chunk = Chunk {
        index: *index,
        first_line,
        body,
    };
    *index += 1;
    fired.fetch_add(n as u64, Ordering::Relaxed);
    tx.send(chunk).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventflow_planner::manifest::load_str;
    use eventflow_planner::plan::Plan;

    const YAML: &str = "
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: every-minute, namespace: default}
spec:
  schedule: '* * * * *'
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: every-two, namespace: default}
spec:
  schedule: '*/2 * * * *'
  data: hi
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: to-service, namespace: default}
spec:
  sink: {ref: {apiVersion: v1, kind: Service, name: display}}
";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn fires_in_time_order_after_the_log() {
        let loaded = load_str("t.yaml", YAML);
        assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
        let plan = Plan::lower(&loaded.topology).unwrap();
        let t = super::super::timers(&plan).unwrap();
        assert_eq!(t.timers.len(), 2);
        assert_eq!(t.skipped.len(), 1, "{:?}", t.skipped);
        assert!(t.skipped[0].contains("Service/default/display"));
        let (log_tx, log_rx) = bounded(4);
        for index in 0..2 {
            let body = ChunkBody::Lines(String::new());
            log_tx
                .send(Chunk {
                    index,
                    first_line: 1,
                    body,
                })
                .unwrap();
        }
        drop(log_tx);
        let f = fire_between(
            t.timers,
            at("2024-01-01T00:00:00Z"),
            at("2024-01-01T00:04:00Z"),
            Some(log_rx),
            4,
        );
        let chunks: Vec<Chunk> = f.chunks.iter().collect();
        f.thread.join().unwrap();
        assert_eq!(f.fired.load(Ordering::Relaxed), 6);
        let indexes: Vec<(u64, u64)> = chunks.iter().map(|c| (c.index, c.first_line)).collect();
        assert_eq!(indexes, [(0, 1), (1, 1), (2, 1), (3, 5)]);
        let events: Vec<(String, String)> = chunks
            .iter()
            .filter_map(|c| match &c.body {
                ChunkBody::Events(e) => Some(e.clone()),
                ChunkBody::Lines(_) => None,
            })
            .flatten()
            .map(|(_, e)| (e.time.unwrap().to_string(), e.source.to_string()))
            .collect();
        let expected = [
            ("00:00", "every-minute"),
            ("00:00", "every-two"),
            ("00:01", "every-minute"),
            ("00:02", "every-minute"),
            ("00:02", "every-two"),
            ("00:03", "every-minute"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(t, n)| {
                (
                    format!("2024-01-01T{t}:00Z"),
                    format!("/apis/v1/namespaces/default/pingsources/{n}"),
                )
            })
            .collect();
        assert_eq!(events, expected);
    }
}

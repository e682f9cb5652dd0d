//! What a replay is compared with: splitting lines, parsing only, a hand-written
//! single-threaded parse+route loop — and the engine itself, fed from memory.

use crate::connectors::log::{spawn_reader, CHUNK_LINES};
use crate::engine::input::Chunk;
use crate::engine::route::RouteIndex;
use crate::engine::run::{run, Communication, EngineError, RunOptions};
use crate::engine::ttl::{stamp_ingress, TTL_EXTENSION};
use crate::engine::{Bindings, Report};
use crate::planner::event::json::parse_event;
use crate::planner::event::Event;
use crate::planner::plan::{EdgeId, NodeId, NodeKind, Plan, Target};
use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

/// Chunks the cluster forwarder holds ahead of the workers.
const CHUNKS_AHEAD: usize = 16;

/// A log buffer shared between runs without copying.
#[derive(Debug, Clone)]
pub struct SharedLog(pub Arc<[u8]>);

impl AsRef<[u8]> for SharedLog {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Non-blank lines in `log` (reading and splitting only).
pub fn split_lines(log: &[u8]) -> u64 {
    log.split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count() as u64
}

/// Lines the engine's log reader thread reads and sends in chunks when nothing but this loop
/// consumes them (the ceiling of the engine's input stage).
///
/// # Errors
/// The reader's I/O error.
pub fn reader_only(log: &SharedLog) -> std::io::Result<u64> {
    let reader = spawn_reader(
        Box::new(Cursor::new(log.clone())),
        Some(log.0.len() as u64),
        CHUNK_LINES,
    );
    for chunk in reader.chunks.iter() {
        drop(chunk);
    }
    let lines = reader
        .progress
        .lines
        .load(std::sync::atomic::Ordering::Relaxed);
    match reader.thread.join() {
        Ok(r) => r.map(|()| lines),
        Err(_) => Err(std::io::Error::other("reader thread panicked")),
    }
}

fn lines(log: &[u8]) -> impl Iterator<Item = &str> {
    log.split(|&b| b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter(|l| !l.trim().is_empty())
}

/// Lines that parse as JSON with `serde_json::from_str::<serde_json::Value>`.
pub fn parse_value(log: &[u8]) -> u64 {
    lines(log)
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        .count() as u64
}

/// Lines that parse as CloudEvents with eventflow's reader (`parse_event`).
pub fn parse_events(log: &[u8]) -> u64 {
    lines(log).filter(|l| parse_event(l).is_ok()).count() as u64
}

/// How the hand-written loop finds a Broker's Triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Through the engine's [`RouteIndex`].
    Indexed,
    /// Evaluating every Trigger's filter, one by one (what Knative does).
    Naive,
}

/// A single-threaded router over a plan: the semantics of the engine for subscribers that
/// acknowledge (no replies): Brokers stamp `knativearrivaltime` and route through Trigger
/// filters, channels fan out, hops into Brokers and channels are followed.
pub struct LoopRouter<'p> {
    plan: &'p Plan,
    indexes: Vec<Option<RouteIndex<&'p Plan>>>,
    lookup: Lookup,
    /// Deliveries per edge.
    pub per_edge: Vec<u64>,
}

impl<'p> LoopRouter<'p> {
    /// Prepares the per-Broker indexes.
    pub fn new(plan: &'p Plan, lookup: Lookup) -> LoopRouter<'p> {
        let indexes = plan
            .nodes
            .iter()
            .map(|n| match n.kind {
                NodeKind::Broker => Some(RouteIndex::build(plan, &n.edges)),
                NodeKind::Channel { .. } => None,
            })
            .collect();
        LoopRouter {
            plan,
            indexes,
            lookup,
            per_edge: vec![0; plan.edges.len()],
        }
    }

    /// Routes one event entering `node`; returns the deliveries to external subscribers.
    pub fn route(&mut self, node: NodeId, event: Arc<Event>) -> u64 {
        let mut work = vec![(node, event)];
        let (mut matched, mut delivered, mut hops) = (Vec::<EdgeId>::new(), 0u64, 0u32);
        while let Some((node, event)) = work.pop() {
            hops += 1;
            if hops > 1000 {
                break;
            }
            let n = &self.plan.nodes[node as usize];
            matched.clear();
            let event = match (&n.kind, &self.indexes[node as usize]) {
                (NodeKind::Broker, Some(index)) => {
                    // As the engine's route stage: stamped inside its `Arc` (copied only when
                    // shared), the Triggers evaluated with the TTL, which is then stripped.
                    let mut stamped = event;
                    if stamp_ingress(Arc::make_mut(&mut stamped), 0).is_err() {
                        continue;
                    }
                    match self.lookup {
                        Lookup::Indexed => index.matches(&stamped, &mut matched),
                        Lookup::Naive => matched.extend(n.edges.iter().copied().filter(|&e| {
                            self.plan.edges[e as usize]
                                .filter
                                .evaluate(&stamped)
                                .delivers()
                        })),
                    }
                    // As the engine: Trigger subscribers never see the TTL.
                    if !matched.is_empty() {
                        Arc::make_mut(&mut stamped).remove_extension(TTL_EXTENSION);
                    }
                    stamped
                }
                _ => {
                    matched.extend_from_slice(&n.edges);
                    event
                }
            };
            for &e in &matched {
                match self.plan.edges[e as usize].subscriber {
                    Some(Target::External(_)) => {
                        self.per_edge[e as usize] += 1;
                        delivered += 1;
                    }
                    Some(Target::Node(next)) => work.push((next, event.clone())),
                    None => {}
                }
            }
        }
        delivered
    }
}

/// Parses every line of `log` and routes it from `entry`; returns (events accepted,
/// deliveries).
pub fn parse_and_route(log: &[u8], plan: &Plan, entry: NodeId, lookup: Lookup) -> (u64, u64) {
    let mut router = LoopRouter::new(plan, lookup);
    let (mut events, mut deliveries) = (0u64, 0u64);
    for line in lines(log) {
        if let Ok(event) = parse_event(line) {
            events += 1;
            deliveries += router.route(entry, Arc::new(event));
        }
    }
    (events, deliveries)
}

/// Replays `log` through the engine (`engine::run::run`) from memory, through the same log
/// reader thread as `eventflow replay`, without a delivery log.
///
/// # Errors
/// The engine's error, or the reader's as [`EngineError::Write`].
pub fn engine_replay(
    plan: Arc<Plan>,
    bindings: &Bindings,
    log: &SharedLog,
    entry: NodeId,
    workers: usize,
) -> Result<Report, EngineError> {
    engine_replay_on(plan, bindings, log, entry, workers, Communication::Process).map(|(r, _)| r)
}

/// [`engine_replay`] with timely's `communication` (one process of a cluster: every process
/// reads the whole log and replays its share of the chunks, DESIGN.md §5). Also returns the
/// seconds from the first chunk a worker took to the end: in a cluster the run's own elapsed
/// time includes timely connecting the processes (its retry loop sleeps a second at a time),
/// which says nothing about throughput.
///
/// # Errors
/// As [`engine_replay`].
pub fn engine_replay_on(
    plan: Arc<Plan>,
    bindings: &Bindings,
    log: &SharedLog,
    entry: NodeId,
    workers: usize,
    communication: Communication,
) -> Result<(Report, f64), EngineError> {
    let reader = spawn_reader(
        Box::new(Cursor::new(log.clone())),
        Some(log.0.len() as u64),
        CHUNK_LINES,
    );
    // In a cluster, a forwarding thread notes when the workers begin to take chunks: the
    // first time its full channel gets room again. (The reader fills the channel within
    // milliseconds; connecting the processes takes longer.)
    let cluster = matches!(communication, Communication::Cluster { .. });
    let first = Arc::new(std::sync::OnceLock::<Instant>::new());
    let (chunks, forward) = if cluster {
        let (tx, rx) = crossbeam_channel::bounded::<Chunk>(CHUNKS_AHEAD);
        let (from, first) = (reader.chunks, first.clone());
        let forward = std::thread::spawn(move || {
            for chunk in from.iter() {
                let chunk = match tx.try_send(chunk) {
                    Ok(()) => continue,
                    Err(crossbeam_channel::TrySendError::Full(c)) => c,
                    Err(crossbeam_channel::TrySendError::Disconnected(_)) => break,
                };
                if tx.send(chunk).is_err() {
                    break;
                }
                first.get_or_init(Instant::now);
            }
        });
        (rx, Some(forward))
    } else {
        (reader.chunks, None)
    };
    let opts = RunOptions {
        workers,
        entry,
        communication,
        ..RunOptions::default()
    };
    let report = run(plan, bindings, chunks, opts);
    let end = Instant::now();
    if let Some(f) = forward {
        let _ = f.join();
    }
    match reader.thread.join() {
        Ok(r) => r.map_err(EngineError::Write)?,
        Err(_) => return Err(EngineError::Dataflow("reader thread panicked".into())),
    }
    let report = report?;
    let secs = first.get().map_or(report.elapsed_seconds, |t| {
        end.duration_since(*t).as_secs_f64()
    });
    Ok((report, secs))
}

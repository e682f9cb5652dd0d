//! A running engine fed event by event: the handle the library API and the HTTP ingress use.
//!
//! [`LiveEngine::start`] runs [`run`](crate::run::run) on a thread of its own. Events go in
//! through a **bounded** queue (capacity in events, [`LiveOptions::queue_capacity`]), so a
//! producer that outruns the workers learns it at once ([`SendError::Full`]: an HTTP ingress
//! answers 429) instead of growing memory. A feeder thread moves queued events into the
//! dataflow in chunks of up to [`LiveOptions::max_batch`] events, one timely epoch each, and
//! blocks while the engine has [`LiveOptions::chunks_queued`] chunks waiting, which is what
//! makes the queue fill up under overload.
//!
//! Memory bound, in events: `queue_capacity + max_batch × (chunks_queued + 1 +
//! epochs_in_flight × workers)` plus what subscribers' replies add.
//!
//! [`LiveEngine::shutdown`] closes the queue, lets everything already accepted drain (replies,
//! retries and dead letters included) and returns the [`Report`].

use crate::acks::{Acks, Done};
use crate::clock::VirtualMs;
use crate::input::{Chunk, ChunkBody};
use crate::report::Report;
use crate::run::{run, Communication, EngineError, RunOptions, Wakers};
use crate::service::Bindings;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use eventflow_planner::event::Event;
use eventflow_planner::plan::{NodeId, Plan};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

/// Default queue capacity, in events.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;

/// Why an event was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The queue is full: the workers are behind. Retry later (HTTP 429).
    #[error("the engine's queue is full")]
    Full,
    /// The engine is shutting down or has stopped (HTTP 503).
    #[error("the engine has stopped")]
    Stopped,
}

/// How a [`LiveEngine`] runs.
pub struct LiveOptions {
    /// Timely worker threads (≥ 1).
    pub workers: usize,
    /// Events the queue holds before [`LiveEngine::try_send`] answers [`SendError::Full`] (≥ 1).
    pub queue_capacity: usize,
    /// Most events in one chunk (one timely epoch) (≥ 1).
    pub max_batch: usize,
    /// Chunks waiting for a worker before the feeder stops taking events off the queue (≥ 1).
    pub chunks_queued: usize,
    /// Epochs a worker may have in flight before it waits for the dataflow to catch up.
    pub epochs_in_flight: u64,
    /// Virtual start time (ms since the Unix epoch) for events without `time`.
    pub clock_start: VirtualMs,
    /// Deliveries and hops one event may cause along a path.
    pub hop_limit: u32,
    /// The delivery log (one JSON line per subscriber delivery), if one is written.
    pub out: Option<Box<dyn Write + Send>>,
    /// The event registry to feed, if any (see [`crate::registry`]).
    pub registry: Option<crate::registry::Registry>,
    /// Threads of this process (default) or one process of a timely cluster. In a cluster
    /// every process feeds what it is sent; global worker 0 (process 0) holds the delivery
    /// log and the report.
    pub communication: Communication,
    /// In a cluster whose process 0 writes a delivery log, the other processes set this so
    /// their workers build the log lines process 0 writes.
    pub lines_for_leader: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            workers: 1,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_batch: 256,
            chunks_queued: 2,
            epochs_in_flight: 64,
            clock_start: 0,
            hop_limit: 1000,
            out: None,
            registry: None,
            communication: Communication::Process,
            lines_for_leader: false,
        }
    }
}

/// The sending side, shared by every [`LiveSender`]; `None` once shutdown began.
type SharedQueue = Arc<RwLock<Option<Sender<Queued>>>>;

/// A queued event: its ingress node, the event, and its completion callback if tracked.
type Queued = (NodeId, Event, Option<Done>);

/// A cheap, cloneable handle that sends events into a [`LiveEngine`]. It does not keep the
/// engine alive: after [`LiveEngine::shutdown`] began, every send answers
/// [`SendError::Stopped`].
#[derive(Clone)]
pub struct LiveSender {
    queue: SharedQueue,
    capacity: usize,
    /// Cleared when the feeder stops (the engine no longer takes chunks).
    alive: Arc<AtomicBool>,
}

impl LiveSender {
    /// Queues `event` for ingress node `node` without waiting.
    ///
    /// # Errors
    /// [`SendError::Full`] when the queue holds `queue_capacity` events,
    /// [`SendError::Stopped`] after shutdown began or when the engine failed.
    pub fn try_send(&self, node: NodeId, event: Event) -> Result<(), SendError> {
        self.try_queue((node, event, None))
    }

    /// [`try_send`](LiveSender::try_send), and calls `done` once every delivery descending
    /// from the event has ended (delivered, dead-lettered or dropped with a reason). `done` is
    /// never called when the send fails, nor when the engine stops before the event drained
    /// (a crash, or a drain cut short): a durable ingress acknowledges its message in `done`.
    ///
    /// # Errors
    /// As [`try_send`](LiveSender::try_send).
    pub fn try_send_tracked(
        &self,
        node: NodeId,
        event: Event,
        done: Done,
    ) -> Result<(), SendError> {
        self.try_queue((node, event, Some(done)))
    }

    /// [`send`](LiveSender::send) with a completion callback, as in
    /// [`try_send_tracked`](LiveSender::try_send_tracked).
    ///
    /// # Errors
    /// [`SendError::Stopped`].
    pub fn send_tracked(&self, node: NodeId, event: Event, done: Done) -> Result<(), SendError> {
        self.queue((node, event, Some(done)))
    }

    fn try_queue(&self, item: Queued) -> Result<(), SendError> {
        let guard = self.queue.read().unwrap_or_else(PoisonError::into_inner);
        let tx = guard.as_ref().ok_or(SendError::Stopped)?;
        tx.try_send(item).map_err(|e| match e {
            TrySendError::Full(_) => SendError::Full,
            TrySendError::Disconnected(_) => SendError::Stopped,
        })
    }

    /// Queues `event` for `node`, waiting while the queue is full.
    ///
    /// # Errors
    /// [`SendError::Stopped`] after shutdown began or when the engine failed.
    pub fn send(&self, node: NodeId, event: Event) -> Result<(), SendError> {
        self.queue((node, event, None))
    }

    fn queue(&self, item: Queued) -> Result<(), SendError> {
        let tx = {
            let guard = self.queue.read().unwrap_or_else(PoisonError::into_inner);
            guard.as_ref().ok_or(SendError::Stopped)?.clone()
        };
        tx.send(item).map_err(|_| SendError::Stopped)
    }

    /// Events queued and not yet taken by the feeder (0 after shutdown).
    pub fn queued(&self) -> usize {
        let guard = self.queue.read().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map_or(0, Sender::len)
    }

    /// The queue's capacity, in events.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// `false` once shutdown began or the engine stopped.
    pub fn is_running(&self) -> bool {
        let guard = self.queue.read().unwrap_or_else(PoisonError::into_inner);
        guard.is_some() && self.alive.load(Ordering::Acquire)
    }
}

/// A running engine: events in with [`try_send`](LiveEngine::try_send), the report out with
/// [`shutdown`](LiveEngine::shutdown).
pub struct LiveEngine {
    plan: Arc<Plan>,
    sender: LiveSender,
    threads: Mutex<Option<Threads>>,
}

/// The feeder thread and the engine thread.
type Threads = (JoinHandle<()>, JoinHandle<Result<Report, EngineError>>);

impl LiveEngine {
    /// Starts `workers` timely workers on `plan` with default [`LiveOptions`].
    ///
    /// # Errors
    /// [`EngineError::Dataflow`] when a thread cannot be spawned.
    pub fn start(
        plan: Arc<Plan>,
        bindings: Bindings,
        workers: usize,
    ) -> Result<LiveEngine, EngineError> {
        let opts = LiveOptions {
            workers,
            ..LiveOptions::default()
        };
        LiveEngine::start_with(plan, bindings, opts)
    }

    /// Starts the engine with explicit options.
    ///
    /// # Errors
    /// [`EngineError::Dataflow`] when a thread cannot be spawned.
    pub fn start_with(
        plan: Arc<Plan>,
        bindings: Bindings,
        opts: LiveOptions,
    ) -> Result<LiveEngine, EngineError> {
        let capacity = opts.queue_capacity.max(1);
        let max_batch = opts.max_batch.max(1);
        let (tx, rx) = crossbeam_channel::bounded::<Queued>(capacity);
        let (chunk_tx, chunk_rx) = crossbeam_channel::bounded::<Chunk>(opts.chunks_queued.max(1));
        // Workers park while idle; the feeder wakes them after each chunk.
        let wakers = Wakers::new();
        let feeder_wakers = wakers.clone();
        let acks = Acks::new();
        let feeder_acks = acks.clone();
        let run_opts = RunOptions {
            workers: opts.workers.max(1),
            clock_start: opts.clock_start,
            hop_limit: opts.hop_limit,
            out: opts.out,
            registry: opts.registry,
            epochs_in_flight: opts.epochs_in_flight.max(1),
            wakers: Some(wakers.clone()),
            wall_clock: true,
            acks: Some(acks),
            communication: opts.communication,
            lines_for_leader: opts.lines_for_leader,
            ..RunOptions::default()
        };
        let engine_plan = plan.clone();
        let engine = std::thread::Builder::new()
            .name("eventflow-engine".into())
            .spawn(move || run(engine_plan, &bindings, chunk_rx, run_opts))
            .map_err(|e| EngineError::Dataflow(format!("cannot start the engine thread: {e}")))?;
        let alive = Arc::new(AtomicBool::new(true));
        let feeder_alive = alive.clone();
        let feeder = std::thread::Builder::new()
            .name("eventflow-feeder".into())
            .spawn(move || {
                feed(&rx, &chunk_tx, max_batch, &feeder_wakers, &feeder_acks);
                feeder_alive.store(false, Ordering::Release);
            })
            .map_err(|e| EngineError::Dataflow(format!("cannot start the feeder thread: {e}")))?;
        Ok(LiveEngine {
            plan,
            sender: LiveSender {
                queue: Arc::new(RwLock::new(Some(tx))),
                capacity,
                alive,
            },
            threads: Mutex::new(Some((feeder, engine))),
        })
    }

    /// The plan the engine runs.
    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// A cloneable sender (for request handlers on other threads).
    pub fn sender(&self) -> LiveSender {
        self.sender.clone()
    }

    /// Queues `event` for ingress node `node` without waiting. See [`LiveSender::try_send`].
    ///
    /// # Errors
    /// [`SendError::Full`] or [`SendError::Stopped`].
    pub fn try_send(&self, node: NodeId, event: Event) -> Result<(), SendError> {
        self.sender.try_send(node, event)
    }

    /// Queues `event` for `node`, waiting while the queue is full. See [`LiveSender::send`].
    ///
    /// # Errors
    /// [`SendError::Stopped`].
    pub fn send(&self, node: NodeId, event: Event) -> Result<(), SendError> {
        self.sender.send(node, event)
    }

    /// Stops accepting events, waits until everything accepted has drained, and returns the
    /// report. Later calls (and sends) answer that the engine has stopped.
    ///
    /// # Errors
    /// [`EngineError`] when the dataflow failed, the delivery log could not be written, or
    /// shutdown was already called.
    pub fn shutdown(&self) -> Result<Report, EngineError> {
        self.sender
            .queue
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let threads = self
            .threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some((feeder, engine)) = threads else {
            return Err(EngineError::Dataflow(
                "the engine was already shut down".into(),
            ));
        };
        let _ = feeder.join();
        match engine.join() {
            Ok(result) => result,
            Err(_) => Err(EngineError::Dataflow("the engine thread panicked".into())),
        }
    }
}

impl Drop for LiveEngine {
    fn drop(&mut self) {
        let pending = self.threads.get_mut().map(|t| t.is_some()).unwrap_or(false);
        if pending {
            let _ = self.shutdown();
        }
    }
}

/// Moves events from the queue into chunks until the queue is closed and empty, or the engine
/// stops taking chunks.
fn feed(
    rx: &Receiver<Queued>,
    chunks: &Sender<Chunk>,
    max_batch: usize,
    wakers: &Wakers,
    acks: &Acks,
) {
    let (mut index, mut seq) = (0u64, 1u64);
    while let Ok(first) = rx.recv() {
        let mut events = Vec::with_capacity(max_batch.min(rx.len() + 1));
        let mut done = Vec::new();
        let mut take = |(node, event, d): Queued| {
            events.push((node, event));
            done.extend(d);
        };
        take(first);
        for _ in 1..max_batch {
            match rx.try_recv() {
                Ok(item) => take(item),
                Err(_) => break,
            }
        }
        acks.file(index, done);
        let n = events.len() as u64;
        let chunk = Chunk {
            index,
            first_line: seq,
            body: ChunkBody::Events(events),
        };
        if chunks.send(chunk).is_err() {
            return; // the engine stopped; dropping `rx` makes senders see `Stopped`.
        }
        wakers.wake();
        index += 1;
        seq += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventflow_planner::plan::{Node, NodeKind, NodeRole};

    fn one_channel() -> Arc<Plan> {
        Arc::new(Plan {
            nodes: vec![Node {
                id: 0,
                name: "InMemoryChannel/default/c".into(),
                namespace: "default".into(),
                kind: NodeKind::Channel {
                    kind: "InMemoryChannel".into(),
                },
                role: NodeRole::Declared,
                edges: vec![],
            }],
            entries: vec![("channel/default/c".into(), 0)],
            ..Plan::default()
        })
    }

    #[test]
    fn sends_drain_into_the_report() {
        let engine = LiveEngine::start(one_channel(), Bindings::new(), 2).unwrap();
        for i in 0..100 {
            engine
                .send(0, Event::new(&i.to_string(), "/t", "t"))
                .unwrap();
        }
        let report = engine.shutdown().unwrap();
        assert_eq!(report.accepted, 100);
        assert_eq!(
            engine.try_send(0, Event::new("x", "/t", "t")),
            Err(SendError::Stopped)
        );
        assert!(engine.shutdown().is_err());
    }

    #[test]
    fn a_full_queue_says_so() {
        let plan = one_channel();
        let opts = LiveOptions {
            queue_capacity: 1,
            ..LiveOptions::default()
        };
        let engine = LiveEngine::start_with(plan, Bindings::new(), opts).unwrap();
        // Fill faster than the feeder can take: at least one of many quick sends sees Full
        // or all pass; either way nothing is lost.
        let mut ok = 0;
        for i in 0..10_000 {
            match engine.try_send(0, Event::new(&i.to_string(), "/t", "t")) {
                Ok(()) => ok += 1,
                Err(SendError::Full) => {}
                Err(SendError::Stopped) => panic!("stopped"),
            }
        }
        let report = engine.shutdown().unwrap();
        assert_eq!(report.accepted, ok);
    }
}

//! A running engine fed event by event: the handle the library API and the HTTP ingress use.
//!
//! [`LiveEngine::start`] runs [`run`](crate::run::run) on a thread of its own. Events go in
//! through a **bounded** queue (capacity in events, [`LiveOptions::queue_capacity`]), so a
//! producer that outruns the workers learns it at once ([`SendError::Full`]: an HTTP ingress
//! answers 429) instead of growing memory. The timely workers take queued events themselves
//! (a send unparks them), every event waiting up to [`LiveOptions::max_batch`] as one epoch,
//! and stop taking while they have [`LiveOptions::epochs_in_flight`] epochs undrained, which
//! is what makes the queue fill up under overload.
//!
//! Memory bound, in events: `queue_capacity + max_batch × epochs_in_flight × workers` plus
//! what subscribers' replies add.
//!
//! [`LiveEngine::shutdown`] closes the queue, lets everything already accepted drain (replies,
//! retries and dead letters included) and returns the [`Report`].

use crate::acks::Done;
use crate::clock::VirtualMs;
use crate::report::Report;
use crate::run::{run_live, Communication, EngineError, RunOptions, Wakers};
use crate::service::Bindings;
use crate::worker::LiveItem;
use crossbeam_channel::{Sender, TrySendError};
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
    /// Most events a worker takes off the queue as one timely epoch (≥ 1).
    pub max_batch: usize,
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
            max_batch: 1024,
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
type Queued = LiveItem;

/// A cheap, cloneable handle that sends events into a [`LiveEngine`]. It does not keep the
/// engine alive: after [`LiveEngine::shutdown`] began, every send answers
/// [`SendError::Stopped`].
#[derive(Clone)]
pub struct LiveSender {
    queue: SharedQueue,
    capacity: usize,
    /// Cleared when the engine stops (drained, failed or lost a cluster peer).
    alive: Arc<AtomicBool>,
    /// The workers, unparked after each send.
    wakers: Wakers,
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
        if !self.alive.load(Ordering::Acquire) {
            return Err(SendError::Stopped);
        }
        let guard = self.queue.read().unwrap_or_else(PoisonError::into_inner);
        let tx = guard.as_ref().ok_or(SendError::Stopped)?;
        tx.try_send(item).map_err(|e| match e {
            TrySendError::Full(_) => SendError::Full,
            TrySendError::Disconnected(_) => SendError::Stopped,
        })?;
        self.wakers.wake();
        Ok(())
    }

    /// Queues `event` for `node`, waiting while the queue is full.
    ///
    /// # Errors
    /// [`SendError::Stopped`] after shutdown began or when the engine failed.
    pub fn send(&self, node: NodeId, event: Event) -> Result<(), SendError> {
        self.queue((node, event, None))
    }

    fn queue(&self, item: Queued) -> Result<(), SendError> {
        if !self.alive.load(Ordering::Acquire) {
            return Err(SendError::Stopped);
        }
        let tx = {
            let guard = self.queue.read().unwrap_or_else(PoisonError::into_inner);
            guard.as_ref().ok_or(SendError::Stopped)?.clone()
        };
        tx.send(item).map_err(|_| SendError::Stopped)?;
        self.wakers.wake();
        Ok(())
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

    /// `true` while running and once the workers started: in a cluster, after every process
    /// connected (`/readyz`). Events sent before that are queued.
    pub fn is_ready(&self) -> bool {
        self.is_running() && self.wakers.any_started()
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
    engine: Mutex<Option<JoinHandle<Result<Report, EngineError>>>>,
    stop_requested: Option<Arc<AtomicBool>>,
}

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
        let (tx, rx) = crossbeam_channel::bounded::<Queued>(capacity);
        // Workers take events off the queue themselves and park while idle; a send wakes them.
        let wakers = Wakers::new();
        // In a cluster, learn when another process begins to stop.
        let stop_requested = matches!(opts.communication, Communication::Cluster { .. })
            .then(|| Arc::new(AtomicBool::new(false)));
        let run_opts = RunOptions {
            workers: opts.workers.max(1),
            clock_start: opts.clock_start,
            hop_limit: opts.hop_limit,
            out: opts.out,
            registry: opts.registry,
            epochs_in_flight: opts.epochs_in_flight.max(1),
            max_batch: opts.max_batch.max(1),
            wakers: Some(wakers.clone()),
            wall_clock: true,
            communication: opts.communication,
            lines_for_leader: opts.lines_for_leader,
            stop_requested: stop_requested.clone(),
            ..RunOptions::default()
        };
        let engine_plan = plan.clone();
        let alive = Arc::new(AtomicBool::new(true));
        let engine_alive = alive.clone();
        let engine = std::thread::Builder::new()
            .name("eventflow-engine".into())
            .spawn(move || {
                // Whether it drains, fails or panics (a cluster peer lost), take no more events.
                let _stopped = ClearOnDrop(engine_alive);
                run_live(engine_plan, &bindings, rx, run_opts)
            })
            .map_err(|e| EngineError::Dataflow(format!("cannot start the engine thread: {e}")))?;
        Ok(LiveEngine {
            plan,
            sender: LiveSender {
                queue: Arc::new(RwLock::new(Some(tx))),
                capacity,
                alive,
                wakers,
            },
            engine: Mutex::new(Some(engine)),
            stop_requested,
        })
    }

    /// In a cluster: `true` once any process began to stop (its queue closed, e.g. on
    /// SIGTERM). A process of a cluster cannot finish alone, so `run` drains when it sees this.
    /// Always `false` outside a cluster.
    pub fn stop_requested(&self) -> bool {
        self.stop_requested
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
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
        let engine = self
            .engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(engine) = engine else {
            return Err(EngineError::Dataflow(
                "the engine was already shut down".into(),
            ));
        };
        // Parked workers notice the closed queue at once.
        self.sender.wakers.wake();
        match engine.join() {
            Ok(result) => result,
            Err(_) => Err(EngineError::Dataflow("the engine thread panicked".into())),
        }
    }
}

impl Drop for LiveEngine {
    fn drop(&mut self) {
        let pending = self.engine.get_mut().map(|t| t.is_some()).unwrap_or(false);
        if pending {
            let _ = self.shutdown();
        }
    }
}

/// Clears the flag when dropped, also while a panic unwinds.
struct ClearOnDrop(Arc<AtomicBool>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;

//! Driving the dataflow: workers pull input chunks from a channel, bound the epochs in flight
//! with the probe, and stop once the input is closed and everything has drained.

use crate::clock::VirtualMs;
use crate::dataflow::{build, Settings};
use crate::deliver::Deliverer;
use crate::input::Chunk;
use crate::report::Report;
use crate::service::Bindings;
use crate::sink::SinkState;
use crate::worker::{drive, Feed, LiveItem, Source};
use crossbeam_channel::Receiver;
use eventflow_planner::plan::{NodeId, Plan};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use timely::CommunicationConfig;

/// How to run.
pub struct RunOptions {
    /// Timely worker threads (≥ 1).
    pub workers: usize,
    /// The ingress node for input lines.
    pub entry: NodeId,
    /// Virtual start time (ms since the Unix epoch) for events without `time`.
    pub clock_start: VirtualMs,
    /// Deliveries and hops one root event may cause along a path (default 1000).
    pub hop_limit: u32,
    /// The delivery log, if one is written.
    pub out: Option<Box<dyn Write + Send>>,
    /// Stop reading at the first malformed line.
    pub strict: bool,
    /// Epochs (chunks) a worker may have in flight before it waits for the probe.
    pub epochs_in_flight: u64,
    /// Live input ([`run_live`]): most events a worker takes as one epoch (≥ 1).
    pub max_batch: usize,
    /// Where workers register their threads, so a sender can wake parked workers at once
    /// (live engines: microsecond latency instead of the idle park interval).
    pub wakers: Option<Wakers>,
    /// Timely's communication: threads of one process (default), the same serializing every
    /// exchanged record (a test guard for cluster mode), or one process of a cluster.
    pub communication: Communication,
    /// Stamp events with the wall clock at ingest (live engines; replay keeps virtual time).
    pub wall_clock: bool,
    /// Build delivery-log lines even without `out` here: in a cluster, process 0 writes the
    /// log and every process must send it lines.
    pub lines_for_leader: bool,
    /// Feed this event registry while running (`None`, the default: no registry).
    pub registry: Option<crate::registry::Registry>,
    /// Live cluster: set when any process begins to stop (its input closed), so the others
    /// can drain too. `None`: not watched.
    pub stop_requested: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            workers: 1,
            entry: 0,
            clock_start: 0,
            hop_limit: 1000,
            out: None,
            strict: false,
            epochs_in_flight: 8,
            max_batch: 1024,
            registry: None,
            wakers: None,
            communication: Communication::Process,
            wall_clock: false,
            lines_for_leader: false,
            stop_requested: None,
        }
    }
}

/// How the workers of a run talk to each other (timely's `CommunicationConfig`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Communication {
    /// `workers` threads in this process, records passed without serializing.
    #[default]
    Process,
    /// `workers` threads in this process, every exchanged record serialized (bincode) as in a
    /// cluster: catches types that would not cross processes.
    ProcessBinary,
    /// Process `process` of a cluster whose processes listen at `addresses` (`host:port`, one
    /// per process, the same list everywhere), each with `workers` threads. Process `p` replays
    /// the chunks `i` with `i % addresses.len() == p`; global worker 0 (process 0) writes the
    /// delivery log and holds the report.
    Cluster {
        /// This process's index.
        process: usize,
        /// Every process's address.
        addresses: Vec<String>,
    },
}

/// The worker threads of a running engine; [`Wakers::wake`] unparks them after a send.
#[derive(Clone, Debug, Default)]
pub struct Wakers(Arc<Mutex<Vec<std::thread::Thread>>>);

impl Wakers {
    /// A new, empty set.
    pub fn new() -> Wakers {
        Wakers::default()
    }

    fn register(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.push(std::thread::current());
        }
    }

    /// `true` once a worker registered: the dataflow runs (in a cluster, every process has
    /// connected).
    pub fn any_started(&self) -> bool {
        self.0.lock().is_ok_and(|v| !v.is_empty())
    }

    /// Unparks every registered worker (cheap when they are running).
    pub fn wake(&self) {
        if let Ok(v) = self.0.lock() {
            for t in v.iter() {
                t.unpark();
            }
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Timely could not start or a worker panicked.
    #[error("dataflow failed: {0}")]
    Dataflow(String),
    /// Writing the delivery log failed.
    #[error("writing the delivery log failed: {0}")]
    Write(#[from] std::io::Error),
}

/// Runs `plan` over the chunks received on `chunks` until the channel is closed and every
/// epoch has drained; returns the report (counts from worker 0's sink).
///
/// # Errors
/// [`EngineError`] when timely fails or the delivery log cannot be written. Malformed input is
/// not an error: it is in the report (with `strict`, reading stops at the first one).
pub fn run(
    plan: Arc<Plan>,
    bindings: &Bindings,
    chunks: Receiver<Chunk>,
    opts: RunOptions,
) -> Result<Report, EngineError> {
    run_input(plan, bindings, Input::Chunks(chunks), opts)
}

/// Runs `plan` over single live events taken straight off `events` by the workers (no thread
/// in between), until the channel is closed and every epoch has drained. Each event's
/// [`Done`](crate::acks::Done) callback runs once its epoch has drained. Use with
/// `wall_clock: true` (what [`LiveEngine`](crate::live::LiveEngine) does).
///
/// # Errors
/// As [`run`].
pub fn run_live(
    plan: Arc<Plan>,
    bindings: &Bindings,
    events: Receiver<LiveItem>,
    opts: RunOptions,
) -> Result<Report, EngineError> {
    run_input(plan, bindings, Input::Live(events), opts)
}

/// The input of a run.
enum Input {
    Chunks(Receiver<Chunk>),
    Live(Receiver<LiveItem>),
}

fn run_input(
    plan: Arc<Plan>,
    bindings: &Bindings,
    input: Input,
    opts: RunOptions,
) -> Result<Report, EngineError> {
    let started = Instant::now();
    let workers = opts.workers.max(1);
    let write_lines = opts.out.is_some() || opts.lines_for_leader;
    // Live engines (wall clock) wait out backoff for real on the delivery pool.
    // Ordered delivery: live input on the first worker of each process only (see `Source`).
    let ordered = plan.edges.iter().any(|e| e.policy.ordered);
    let deliverer = Arc::new(
        Deliverer::new(plan, bindings, opts.hop_limit, write_lines)
            .with_real_backoff(opts.wall_clock),
    );
    let out = Arc::new(Mutex::new(opts.out));
    let abort = Arc::new(AtomicBool::new(false));
    let registry = opts.registry.clone();
    let (entry, clock_start, strict, in_flight) = (
        opts.entry,
        opts.clock_start,
        opts.strict,
        opts.epochs_in_flight.max(1) as usize,
    );
    // Live events are numbered in the order workers take them (1-based, per process).
    let seq = AtomicU64::new(1);
    let max_batch = opts.max_batch.max(1);
    let stop_requested = opts.stop_requested.clone();
    let live_closed = AtomicBool::new(false);

    let wakers = opts.wakers;
    let wall_clock = opts.wall_clock;
    let (communication, share) = match opts.communication {
        Communication::Process => (CommunicationConfig::Process(workers), None),
        Communication::ProcessBinary => (CommunicationConfig::ProcessBinary(workers), None),
        Communication::Cluster { process, addresses } => {
            let n = addresses.len().max(1) as u64;
            let config = CommunicationConfig::Cluster {
                threads: workers,
                process,
                addresses,
                report: false,
                zerocopy: false,
            };
            (config, Some((process as u64, n)))
        }
    };
    let config = timely::Config {
        communication,
        worker: timely::WorkerConfig::default(),
    };
    let guards = timely::execute(config, move |worker| {
        let index = worker.index();
        if let Some(w) = &wakers {
            w.register();
        }
        let writer = if index == 0 {
            out.lock().ok().and_then(|mut o| o.take())
        } else {
            None
        };
        let mut state = SinkState::new(writer);
        state.flush_per_epoch = wall_clock;
        if strict {
            state.abort_on_malformed = Some(abort.clone());
        }
        let sink = Rc::new(RefCell::new(state));
        let settings = Settings {
            deliverer: deliverer.clone(),
            entry,
            clock_start,
            wall_clock,
            registry: registry.clone(),
        };
        let handles = worker.dataflow::<u64, _, _>(|scope| build(scope, &settings, sink.clone()));
        let feed = Feed {
            source: match &input {
                Input::Chunks(chunks) => Source::Chunks(chunks),
                Input::Live(_) if ordered && index % workers != 0 => {
                    Source::LiveElsewhere(&live_closed)
                }
                Input::Live(events) => Source::Live(events, &seq, &live_closed),
            },
            // Live processes of a cluster each feed what their own ingress accepted.
            share: if wall_clock { None } else { share },
            live: wall_clock,
            in_flight,
            max_batch,
            abort: &abort,
            stop_requested: if wall_clock {
                stop_requested.clone()
            } else {
                None
            },
        };
        drive(worker, handles, feed);
        let mut s = sink.borrow_mut();
        s.finish();
        (index, std::mem::take(&mut s.report), s.write_error.take())
    })
    .map_err(|e| EngineError::Dataflow(format!("{e:?}")))?;

    let mut report = None;
    for r in guards.join() {
        let (index, rep, err) = r.map_err(EngineError::Dataflow)?;
        if let Some(e) = err {
            return Err(EngineError::Write(e));
        }
        if index == 0 {
            report = Some(rep);
        }
    }
    let mut report = report.unwrap_or_default();
    report.workers = workers * share.map_or(1, |(_, n)| n as usize);
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    report.events_per_second = if report.elapsed_seconds > 0.0 {
        report.events_read as f64 / report.elapsed_seconds
    } else {
        0.0
    };
    Ok(report)
}

//! Firing timer sources on real time into a live engine (`eventflow run`).
//!
//! One thread per source sleeps until its next fire time, then queues the event with
//! [`LiveSender::try_send`] (never blocking on a full queue: that tick is dropped, logged and
//! counted, as Knative's adapter drops an event it could not send). The event's `time` is the
//! send time and its `id` a fresh UUID, as Knative's adapter does. Knative's 0–500 ms random
//! jitter before each send is not reproduced.

use super::{EventId, Timer};
use chrono::{DateTime, Utc};
use crossbeam_channel::{bounded, RecvTimeoutError, Sender};
use eventflow_engine::live::{LiveSender, SendError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Counts of a running set of sources.
#[derive(Debug, Default)]
pub struct LiveStats {
    /// Events queued into the engine.
    pub sent: AtomicU64,
    /// Ticks dropped because the engine's queue was full.
    pub dropped: AtomicU64,
}

/// Timer sources firing into a live engine until [`LiveSources::stop`] (or drop).
pub struct LiveSources {
    stop: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    stats: Arc<LiveStats>,
}

impl LiveSources {
    /// Starts one thread per timer, sending into `sender`.
    pub fn start(timers: Vec<Timer>, sender: &LiveSender) -> LiveSources {
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let stats = Arc::new(LiveStats::default());
        let threads = timers
            .into_iter()
            .map(|timer| {
                let (stop, sender, stats) = (stop_rx.clone(), sender.clone(), stats.clone());
                std::thread::Builder::new()
                    .name(format!("source {}", timer.name))
                    .spawn(move || fire(&timer, &sender, &stop, &stats))
            })
            .filter_map(|spawned| match spawned {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::error!("cannot start a source thread: {e}");
                    None
                }
            })
            .collect();
        LiveSources {
            stop: Some(stop_tx),
            threads,
            stats,
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> &LiveStats {
        &self.stats
    }

    /// Stops every source (at once: no tick is waited for) and returns (sent, dropped).
    pub fn stop(mut self) -> (u64, u64) {
        self.halt();
        (
            self.stats.sent.load(Ordering::Relaxed),
            self.stats.dropped.load(Ordering::Relaxed),
        )
    }

    fn halt(&mut self) {
        // Dropping the only sender disconnects every thread's `recv_timeout`.
        self.stop.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for LiveSources {
    fn drop(&mut self) {
        self.halt();
    }
}

fn fire(
    timer: &Timer,
    sender: &LiveSender,
    stop: &crossbeam_channel::Receiver<()>,
    stats: &LiveStats,
) {
    let mut last: Option<DateTime<Utc>> = None;
    loop {
        let now = Utc::now();
        // Never fire one tick twice, even if the clock reads early after waking.
        let after = last.map_or(now, |l| l.max(now));
        let Some(next) = timer.schedule.next_after(after) else {
            tracing::info!(source = %timer.name, "schedule has no further fire time");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        last = Some(next);
        let event = timer.template.event(Utc::now(), EventId::Random);
        match sender.try_send(timer.node, event) {
            Ok(()) => {
                stats.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(SendError::Full) => {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source = %timer.name, "engine queue full: event of {next} dropped");
            }
            Err(SendError::Stopped) => return,
        }
    }
}

//! In-process latency through the library API: events sent with [`RunningEngine::send`] at a
//! fixed offered rate (open loop), latency from each event's scheduled send time to the first
//! subscriber call, in an HDR histogram; and the floor under it ([`floor_open_loop`]): the
//! same sender through a bare channel to one thread, what the machine adds without an engine.
//!
//! [`RunningEngine::send`]: crate::RunningEngine::send

use crate::planner::event::Event;
use crate::planner::plan::Plan;
use crate::{Engine, Error, Reply};
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One open-loop run.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyPoint {
    /// Offered rate, events/s.
    pub offered: f64,
    /// Rate actually sent, events/s.
    pub sent_rate: f64,
    /// Events sent.
    pub sent: u64,
    /// Events that reached a subscriber (the latency sample).
    pub received: u64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// Maximum, µs.
    pub max_us: f64,
    /// Received events whose latency exceeded [`TARGET_P99_US`]: the p99 target is met
    /// when this is at most 1 % of `received`.
    pub over_target: u64,
}

/// The in-process p99 latency target, µs (DESIGN.md §8: p99 ≤ 250 µs at half of peak).
pub const TARGET_P99_US: f64 = 250.0;

/// Starts an engine on `plan` whose every external subscriber records, for event `i` (its
/// `id` is `i` in decimal), the nanoseconds since `base` of its first delivery into `recv[i]`.
fn start(
    plan: &Plan,
    workers: usize,
    recv: &Arc<Vec<AtomicU64>>,
    base: Instant,
) -> Result<crate::RunningEngine, Error> {
    let mut engine = Engine::from_plan(plan.clone()).workers(workers);
    for x in &plan.externals {
        let recv = recv.clone();
        engine = engine.bind(&x.name, move |e: &Event| {
            record(&recv, e, base);
            Reply::None
        });
    }
    engine.start()
}

fn numbered(templates: &[Event], i: usize) -> Event {
    let mut e = templates[i % templates.len()].clone();
    e.id = i.to_string().into();
    e
}

/// Closed loop: sends `n` events as fast as `send` takes them, waits for the drain, and
/// returns events/s (the peak the offered rates are derived from).
///
/// # Errors
/// The engine's.
pub fn peak_rate(
    plan: &Plan,
    into: &str,
    templates: &[Event],
    n: usize,
    workers: usize,
) -> Result<f64, Error> {
    if templates.is_empty() || n == 0 {
        return Ok(0.0);
    }
    let recv = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
    let engine = start(plan, workers, &recv, Instant::now())?;
    let t0 = Instant::now();
    for i in 0..n {
        engine.send(into, numbered(templates, i))?;
    }
    engine.shutdown()?;
    Ok(n as f64 / t0.elapsed().as_secs_f64().max(1e-9))
}

/// Open loop: event `i` is due at `i / rate` seconds; every event due is sent at once, and
/// latency counts from the due time (so a sender that falls behind shows as latency, not as
/// fewer samples). Sends `n` events.
///
/// # Errors
/// The engine's.
pub fn open_loop(
    plan: &Plan,
    into: &str,
    templates: &[Event],
    n: usize,
    rate: f64,
    workers: usize,
) -> Result<LatencyPoint, Error> {
    let recv = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
    let base = Instant::now();
    let engine = start(plan, workers, &recv, base)?;
    let paced = pace(templates, n, rate, base, |e| engine.send(into, e))?;
    engine.shutdown()?;
    paced.point(&recv)
}

/// The floor under [`open_loop`]: the same sender, pacing and recording, but the events go
/// through a bare bounded crossbeam channel to one consumer thread that the sender unparks
/// (the hand-off the engine's live queue uses) and that records them: no engine at all.
/// Its percentiles are what the machine itself adds (scheduling, wake-ups, preemption by
/// other tenants), measured in the same run as the engine's.
///
/// # Errors
/// [`Error::Ingress`] when the consumer thread cannot be started or panicked.
pub fn floor_open_loop(templates: &[Event], n: usize, rate: f64) -> Result<LatencyPoint, Error> {
    let recv = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
    let base = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded::<Event>(crate::engine::live::DEFAULT_QUEUE_CAPACITY);
    let sink = recv.clone();
    let consumer = std::thread::Builder::new()
        .name("bench-floor".into())
        .spawn(move || loop {
            match rx.try_recv() {
                Ok(e) => record(&sink, &e, base),
                Err(crossbeam_channel::TryRecvError::Empty) => {
                    std::thread::park_timeout(Duration::from_millis(10));
                }
                Err(crossbeam_channel::TryRecvError::Disconnected) => break,
            }
        })
        .map_err(|e| Error::Ingress(format!("floor consumer: {e}")))?;
    let waker = consumer.thread().clone();
    let paced = pace(templates, n, rate, base, |e| {
        tx.send(e).map_err(|_| Error::Stopped)?;
        waker.unpark();
        Ok(())
    });
    drop(tx);
    waker.unpark();
    consumer
        .join()
        .map_err(|_| Error::Ingress("floor consumer panicked".into()))?;
    paced?.point(&recv)
}

/// Records event `i`'s first arrival (its `id` is `i` in decimal) into `recv[i]`, in ns
/// since `base`.
fn record(recv: &[AtomicU64], e: &Event, base: Instant) {
    if let Some(slot) = e.id.parse::<usize>().ok().and_then(|i| recv.get(i)) {
        let t = base.elapsed().as_nanos().max(1) as u64;
        let _ = slot.compare_exchange(0, t, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// What [`pace`] sent: how many, from when (ns since `base`), at which rate.
struct Paced {
    rate: f64,
    t0: u64,
    sent: usize,
    sent_secs: f64,
}

impl Paced {
    /// Event `i`'s due time, ns since `base`.
    fn due(&self, i: usize) -> u64 {
        self.t0 + (i as f64 * 1e9 / self.rate.max(1e-3)) as u64
    }

    /// The percentiles of `recv` (arrival ns since `base`, 0 for never) against due times.
    fn point(&self, recv: &[AtomicU64]) -> Result<LatencyPoint, Error> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3)
            .map_err(|e| Error::Ingress(format!("histogram: {e}")))?;
        let mut received = 0;
        let mut over_target = 0;
        let target_ns = (TARGET_P99_US * 1000.0) as u64;
        for (i, slot) in recv.iter().enumerate().take(self.sent) {
            let t = slot.load(Ordering::Relaxed);
            if t > 0 {
                received += 1;
                let ns = t.saturating_sub(self.due(i)).max(1);
                over_target += u64::from(ns > target_ns);
                let _ = h.record(ns);
            }
        }
        let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Ok(LatencyPoint {
            offered: self.rate,
            sent_rate: self.sent as f64 / self.sent_secs.max(1e-9),
            sent: self.sent as u64,
            received,
            p50_us: us(0.5),
            p99_us: us(0.99),
            p999_us: us(0.999),
            max_us: h.max() as f64 / 1000.0,
            over_target,
        })
    }
}

/// Sends `n` numbered copies of `templates` with `send`, event `i` due at `i / rate` s
/// after a 1 ms start delay: sleeps while the next event is over 150 µs away, spins closer.
fn pace(
    templates: &[Event],
    n: usize,
    rate: f64,
    base: Instant,
    mut send: impl FnMut(Event) -> Result<(), Error>,
) -> Result<Paced, Error> {
    let mut paced = Paced {
        rate,
        t0: base.elapsed().as_nanos() as u64 + 1_000_000,
        sent: 0,
        sent_secs: 0.0,
    };
    let mut i = 0;
    while i < n && !templates.is_empty() {
        let now = base.elapsed().as_nanos() as u64;
        let next = paced.due(i);
        if next > now {
            let gap = next - now;
            if gap > 150_000 {
                std::thread::sleep(Duration::from_nanos(gap - 100_000));
            } else {
                std::hint::spin_loop();
            }
            continue;
        }
        while i < n && paced.due(i) <= now {
            send(numbered(templates, i))?;
            i += 1;
        }
    }
    paced.sent = i;
    paced.sent_secs = (base.elapsed().as_nanos() as u64).saturating_sub(paced.t0) as f64 / 1e9;
    Ok(paced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Vec<Event> {
        vec![Event::new("x", "/bench", "dev.bench.a")]
    }

    #[test]
    fn floor_receives_every_event_sent() {
        let p = floor_open_loop(&templates(), 500, 50_000.0).expect("floor");
        assert_eq!((p.sent, p.received), (500, 500));
        assert_eq!(p.offered, 50_000.0);
        assert!(p.p50_us > 0.0 && p.p50_us <= p.p99_us && p.p99_us <= p.max_us);
    }

    #[test]
    fn due_times_follow_the_rate() {
        let paced = Paced {
            rate: 1000.0,
            t0: 5,
            sent: 0,
            sent_secs: 0.0,
        };
        assert_eq!(paced.due(0), 5);
        assert_eq!(paced.due(3), 5 + 3_000_000);
    }

    #[test]
    fn latency_counts_from_the_due_time() {
        let paced = Paced {
            rate: 1000.0,
            t0: 0,
            sent: 4,
            sent_secs: 0.004,
        };
        // Event 0 arrives 2 µs after its due time, event 1 7 µs after, event 2 never, event 3
        // 300 µs after (over the 250 µs target).
        let recv = [
            AtomicU64::new(2_000),
            AtomicU64::new(1_007_000),
            AtomicU64::new(0),
            AtomicU64::new(3_300_000),
        ];
        let p = paced.point(&recv).expect("point");
        assert_eq!((p.sent, p.received, p.over_target), (4, 3, 1));
        assert!((p.p50_us - 7.0).abs() < 0.01, "{p:?}");
        assert!((p.max_us - 300.0).abs() < 0.5, "{p:?}");
        assert!((p.sent_rate - 1000.0).abs() < 1e-6, "{p:?}");
    }
}

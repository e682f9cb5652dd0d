//! In-process latency through the library API: events sent with [`RunningEngine::send`] at a
//! fixed offered rate (open loop), latency from each event's scheduled send time to the first
//! subscriber call, in an HDR histogram.
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
}

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
            if let Some(slot) = e.id.parse::<usize>().ok().and_then(|i| recv.get(i)) {
                let t = base.elapsed().as_nanos().max(1) as u64;
                let _ = slot.compare_exchange(0, t, Ordering::Relaxed, Ordering::Relaxed);
            }
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
    let t0 = base.elapsed().as_nanos() as u64 + 1_000_000;
    let due = |i: usize| t0 + (i as f64 * 1e9 / rate.max(1e-3)) as u64;
    let mut i = 0;
    while i < n && !templates.is_empty() {
        let now = base.elapsed().as_nanos() as u64;
        let next = due(i);
        if next > now {
            let gap = next - now;
            if gap > 150_000 {
                std::thread::sleep(Duration::from_nanos(gap - 100_000));
            } else {
                std::hint::spin_loop();
            }
            continue;
        }
        while i < n && due(i) <= now {
            engine.send(into, numbered(templates, i))?;
            i += 1;
        }
    }
    let sent_secs = (base.elapsed().as_nanos() as u64).saturating_sub(t0) as f64 / 1e9;
    engine.shutdown()?;
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3)
        .map_err(|e| Error::Ingress(format!("histogram: {e}")))?;
    let mut received = 0;
    for (i, slot) in recv.iter().enumerate().take(i) {
        let t = slot.load(Ordering::Relaxed);
        if t > 0 {
            received += 1;
            let _ = h.record(t.saturating_sub(due(i)).max(1));
        }
    }
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Ok(LatencyPoint {
        offered: rate,
        sent_rate: i as f64 / sent_secs.max(1e-9),
        sent: i as u64,
        received,
        p50_us: us(0.5),
        p99_us: us(0.99),
        p999_us: us(0.999),
        max_us: h.max() as f64 / 1000.0,
    })
}

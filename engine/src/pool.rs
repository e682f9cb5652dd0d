//! Threads for blocking subscribers (HTTP, co-processes), so no timely worker ever waits on
//! I/O. Each subscriber gets its own queue and at most [`PER_SUBSCRIBER`] threads, started on
//! demand: a slow subscriber holds back only its own deliveries. Serial lanes
//! ([`DeliveryPool::submit_serial`]) have one thread: ordered delivery, one at a time.

use crossbeam_channel::{unbounded, Receiver, Sender};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Deliveries in flight per blocking subscriber.
pub const PER_SUBSCRIBER: usize = 16;

/// One delivery to run off the timely workers.
pub type Job = Box<dyn FnOnce() + Send>;

struct Lane {
    tx: Sender<Job>,
    rx: Receiver<Job>,
    threads: usize,
    /// Most threads: [`PER_SUBSCRIBER`], or 1 for a serial lane.
    max: usize,
    /// Jobs submitted and not finished.
    busy: Arc<AtomicUsize>,
}

/// A pool of per-subscriber lanes. Dropping it lets the threads finish their queues and end.
#[derive(Default)]
pub struct DeliveryPool {
    lanes: Mutex<HashMap<usize, Lane>>,
}

impl DeliveryPool {
    /// An empty pool.
    pub fn new() -> DeliveryPool {
        DeliveryPool::default()
    }

    /// Runs `job` on lane `key` (a subscriber), starting another thread when every thread of
    /// the lane is busy and fewer than [`PER_SUBSCRIBER`] run.
    pub fn submit(&self, key: usize, job: Job) {
        self.submit_to(key, PER_SUBSCRIBER, job);
    }

    /// Runs `job` on serial lane `key`: one thread, jobs in submission order (ordered
    /// delivery per partition key).
    pub fn submit_serial(&self, key: usize, job: Job) {
        self.submit_to(key, 1, job);
    }

    fn submit_to(&self, key: usize, max: usize, job: Job) {
        let Ok(mut lanes) = self.lanes.lock() else {
            job(); // a poisoned lock: run inline rather than lose the delivery
            return;
        };
        let lane = lanes.entry(key).or_insert_with(|| {
            let (tx, rx) = unbounded::<Job>();
            Lane {
                tx,
                rx,
                threads: 0,
                max,
                busy: Arc::new(AtomicUsize::new(0)),
            }
        });
        let busy = lane.busy.fetch_add(1, Ordering::SeqCst);
        if busy >= lane.threads && lane.threads < lane.max {
            let (rx, counter) = (lane.rx.clone(), lane.busy.clone());
            let started = std::thread::Builder::new()
                .name("eventflow-delivery".into())
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                        counter.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            if started.is_ok() {
                lane.threads += 1;
            }
        }
        if lane.threads == 0 {
            lane.busy.fetch_sub(1, Ordering::SeqCst);
            drop(lanes);
            job(); // no thread could be started: run inline rather than lose the delivery
            return;
        }
        if let Err(e) = lane.tx.send(job) {
            lane.busy.fetch_sub(1, Ordering::SeqCst);
            (e.0)();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_every_job_and_bounds_threads() {
        let pool = DeliveryPool::new();
        let (tx, rx) = crossbeam_channel::unbounded();
        for i in 0..100 {
            let tx = tx.clone();
            pool.submit(
                i % 2,
                Box::new(move || {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    let _ = tx.send(i);
                }),
            );
        }
        let mut got: Vec<usize> = (0..100).map(|_| rx.recv().unwrap()).collect();
        got.sort();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        let lanes = pool.lanes.lock().unwrap();
        assert!(lanes
            .values()
            .all(|l| l.threads >= 1 && l.threads <= PER_SUBSCRIBER));
    }

    #[test]
    fn a_serial_lane_runs_jobs_one_at_a_time_in_order() {
        let pool = DeliveryPool::new();
        let (tx, rx) = crossbeam_channel::unbounded();
        for i in 0..50 {
            let tx = tx.clone();
            pool.submit_serial(
                7,
                Box::new(move || {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                    let _ = tx.send(i);
                }),
            );
        }
        let got: Vec<usize> = (0..50).map(|_| rx.recv().unwrap()).collect();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
        assert_eq!(pool.lanes.lock().unwrap()[&7].threads, 1);
    }
}

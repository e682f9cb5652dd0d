//! Completion callbacks for live sends: "every delivery descending from this event has ended".
//!
//! A durable ingress (a JetStream consumer, issue 5) acknowledges a message only when the
//! engine is done with it. The engine knows that per epoch: once the probe's frontier has
//! passed an epoch, every delivery, reply, retry and dead letter of the events in it has
//! ended. So a [`LiveSender`](crate::live::LiveSender) files each event's [`Done`] callback
//! under the input chunk the event travels in ([`Acks::file`]); the worker that sends the
//! chunk into the dataflow claims the callbacks ([`Acks::claim`]) under the epoch it used,
//! and runs them when its probe has passed that epoch ([`Pending::fire_passed`]).
//!
//! Callbacks of events still in flight when the engine stops abnormally are dropped without
//! being called: the message stays unacknowledged and its broker redelivers it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

/// Called once when every delivery descending from an event has ended (delivered,
/// dead-lettered or dropped with a reason). Never called if the engine stops first.
pub type Done = Box<dyn FnOnce() + Send>;

/// Callbacks filed per input chunk (the feeder's chunk index), shared by the feeder and the
/// workers of one process.
#[derive(Clone, Default)]
pub struct Acks(Arc<Mutex<HashMap<u64, Vec<Done>>>>);

impl Acks {
    /// An empty table.
    pub fn new() -> Acks {
        Acks::default()
    }

    /// Files `done` under chunk `chunk` (before the chunk is handed to the workers).
    pub fn file(&self, chunk: u64, done: Vec<Done>) {
        if done.is_empty() {
            return;
        }
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(chunk).or_default().extend(done);
    }

    /// Takes the callbacks of chunk `chunk` (none when it has none).
    pub fn claim(&self, chunk: u64) -> Vec<Done> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(&chunk).unwrap_or_default()
    }

    /// Callbacks filed and not yet claimed.
    pub fn unclaimed(&self) -> usize {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.values().map(Vec::len).sum()
    }
}

/// One worker's claimed callbacks, by the epoch their events entered with (increasing).
#[derive(Default)]
pub struct Pending(VecDeque<(u64, Vec<Done>)>);

impl Pending {
    /// Holds `done` until `epoch` has drained.
    pub fn hold(&mut self, epoch: u64, done: Vec<Done>) {
        if done.is_empty() {
            return;
        }
        match self.0.back_mut() {
            Some((e, v)) if *e == epoch => v.extend(done),
            _ => self.0.push_back((epoch, done)),
        }
    }

    /// Runs the callbacks of every epoch for which `open(epoch)` is false (the probe has passed
    /// it). Returns how many ran.
    pub fn fire_passed(&mut self, open: impl Fn(u64) -> bool) -> usize {
        let mut fired = 0;
        while let Some((epoch, _)) = self.0.front() {
            if open(*epoch) {
                break;
            }
            if let Some((_, done)) = self.0.pop_front() {
                fired += done.len();
                done.into_iter().for_each(|d| d());
            }
        }
        fired
    }

    /// Runs every callback held (the dataflow has drained completely).
    pub fn fire_all(&mut self) -> usize {
        self.fire_passed(|_| false)
    }

    /// `true` when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn callbacks_run_once_their_epoch_has_passed() {
        let count = Arc::new(AtomicUsize::new(0));
        let acks = Acks::new();
        let cb = |c: &Arc<AtomicUsize>| -> Done {
            let c = c.clone();
            Box::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
            })
        };
        acks.file(3, vec![cb(&count), cb(&count)]);
        acks.file(4, vec![cb(&count)]);
        assert_eq!(acks.unclaimed(), 3);
        let mut pending = Pending::default();
        pending.hold(10, acks.claim(3));
        pending.hold(11, acks.claim(4));
        assert!(acks.claim(3).is_empty());
        assert_eq!(pending.fire_passed(|e| e >= 10), 0);
        assert_eq!(pending.fire_passed(|e| e >= 11), 2);
        assert_eq!(count.load(Ordering::SeqCst), 2);
        assert_eq!(pending.fire_all(), 1);
        assert_eq!(count.load(Ordering::SeqCst), 3);
        assert!(pending.is_empty());
    }
}

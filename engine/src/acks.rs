//! Completion callbacks for live sends: "every delivery descending from this event has ended".
//!
//! A durable ingress (a JetStream consumer, issue 5) acknowledges a message only when the
//! engine is done with it. The engine knows that per epoch: once the probe's frontier has
//! passed an epoch, every delivery, reply, retry and dead letter of the events in it has
//! ended. So a [`LiveSender`](crate::live::LiveSender) queues each event with its [`Done`]
//! callback; the worker that takes the event into the dataflow holds the callback under the
//! epoch it used ([`Pending::hold`]) and runs it when its probe has passed that epoch
//! ([`Pending::fire_passed`]).
//!
//! Callbacks of events still in flight when the engine stops abnormally are dropped without
//! being called: the message stays unacknowledged and its broker redelivers it.

use std::collections::VecDeque;

/// Called once when every delivery descending from an event has ended (delivered,
/// dead-lettered or dropped with a reason). Never called if the engine stops first.
pub type Done = Box<dyn FnOnce() + Send>;

/// One worker's held callbacks, by the epoch their events entered with (increasing).
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
    use std::sync::Arc;

    #[test]
    fn callbacks_run_once_their_epoch_has_passed() {
        let count = Arc::new(AtomicUsize::new(0));
        let cb = |c: &Arc<AtomicUsize>| -> Done {
            let c = c.clone();
            Box::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
            })
        };
        let mut pending = Pending::default();
        pending.hold(10, vec![cb(&count), cb(&count)]);
        pending.hold(11, vec![cb(&count)]);
        pending.hold(11, Vec::new());
        assert_eq!(pending.fire_passed(|e| e >= 10), 0);
        assert_eq!(pending.fire_passed(|e| e >= 11), 2);
        assert_eq!(count.load(Ordering::SeqCst), 2);
        assert_eq!(pending.fire_all(), 1);
        assert_eq!(count.load(Ordering::SeqCst), 3);
        assert!(pending.is_empty());
    }
}

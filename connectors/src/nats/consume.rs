//! The consumer side: durable pull consumers feed the engine; a message is acknowledged only
//! when the engine reports that every delivery descending from it has ended.
//!
//! Each consumer task hands its messages to the engine with
//! [`LiveSender::try_send_tracked`]; the completion callback sends the message's key to the
//! acker task, which holds the message's [`Acker`] until then. The acker also sends an
//! in-progress acknowledgement (`+WPI`) for every message still in flight after half the ack
//! wait, so JetStream redelivers only what a stopped (crashed, killed, partitioned) engine
//! left unacknowledged, not what a slow subscriber still works on.

use super::stats::Counters;
use async_nats::jetstream::consumer::pull::MessagesErrorKind;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::{AckKind, Acker};
use eventflow_engine::live::{LiveSender, SendError};
use eventflow_planner::event::json::parse_event;
use eventflow_planner::plan::NodeId;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// What the consumers and the engine's callbacks tell the acker.
pub(crate) enum Cmd {
    /// A message entered the engine under this key.
    Track(u64, Box<Acker>),
    /// Its path ended: acknowledge it.
    Done(u64),
    /// The engine's queue was full: hand it back for redelivery.
    Nak(u64),
    /// The engine stopped before taking it: leave it unacknowledged.
    Forget(u64),
}

/// Runs until every sender of `rx` is gone (the consumers stopped and the engine dropped or ran
/// every callback). Messages still tracked then stay unacknowledged (JetStream redelivers them).
pub(crate) async fn acker(
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    counters: Arc<Counters>,
    ack_wait: Duration,
) {
    let mut inflight: HashMap<u64, (Box<Acker>, Instant)> = HashMap::new();
    let half = (ack_wait / 2).max(Duration::from_millis(50));
    let mut tick = tokio::time::interval(half);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None => break,
                Some(Cmd::Track(key, acker)) => {
                    inflight.insert(key, (acker, Instant::now()));
                }
                Some(Cmd::Done(key)) => {
                    if let Some((acker, _)) = inflight.remove(&key) {
                        match acker.ack().await {
                            Ok(()) => Counters::inc(&counters.acked),
                            Err(e) => tracing::warn!(error = %e, "cannot acknowledge a JetStream message; it will be redelivered"),
                        }
                    }
                }
                Some(Cmd::Nak(key)) => {
                    if let Some((acker, _)) = inflight.remove(&key) {
                        let _ = acker.ack_with(AckKind::Nak(Some(Duration::from_millis(100)))).await;
                    }
                }
                Some(Cmd::Forget(key)) => {
                    inflight.remove(&key);
                }
            },
            _ = tick.tick() => {
                let now = Instant::now();
                for (acker, since) in inflight.values_mut() {
                    if now.duration_since(*since) >= half {
                        let _ = acker.ack_with(AckKind::Progress).await;
                        Counters::inc(&counters.progress);
                        *since = now;
                    }
                }
            }
        }
    }
    if !inflight.is_empty() {
        tracing::info!(
            messages = inflight.len(),
            "JetStream messages left unacknowledged (redelivered on the next start)"
        );
    }
}

/// What one consumer task feeds and reports to.
#[derive(Clone)]
pub(crate) struct Feed {
    pub node: NodeId,
    pub sender: LiveSender,
    pub cmds: mpsc::UnboundedSender<Cmd>,
    pub counters: Arc<Counters>,
    pub keys: Arc<AtomicU64>,
}

/// Pulls from `consumer` and feeds the engine until `stop` turns true (or its sender is gone)
/// or the engine stops. Reconnects are the client's job; a broken message stream is reopened.
pub(crate) async fn consume(
    consumer: PullConsumer,
    feed: Feed,
    mut stop: watch::Receiver<bool>,
    batch: usize,
) {
    let name = consumer.cached_info().name.clone();
    loop {
        if *stop.borrow() {
            return;
        }
        let opened = consumer
            .stream()
            .max_messages_per_batch(batch.max(1))
            .messages()
            .await;
        let mut messages = match opened {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(consumer = %name, error = %e, "cannot pull from JetStream; retrying");
                tokio::select! {
                    _ = stop.changed() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.changed() => return,
                m = messages.next() => m,
            };
            match next {
                None => break,
                Some(Err(e)) if e.kind() == MessagesErrorKind::ConsumerDeleted => {
                    tracing::error!(consumer = %name, "the JetStream consumer was deleted; restart eventflow to recreate it");
                    return;
                }
                Some(Err(e)) => {
                    tracing::warn!(consumer = %name, error = %e, "JetStream pull error");
                }
                Some(Ok(m)) => {
                    if !feed.one(m).await {
                        return;
                    }
                }
            }
        }
    }
}

impl Feed {
    /// Hands one message to the engine; `false` once the engine has stopped.
    async fn one(&self, msg: async_nats::jetstream::Message) -> bool {
        Counters::inc(&self.counters.received);
        if msg.info().is_ok_and(|i| i.delivered > 1) {
            Counters::inc(&self.counters.redelivered);
        }
        let (m, acker) = msg.split();
        let parsed = std::str::from_utf8(&m.payload)
            .map_err(|e| e.to_string())
            .and_then(|text| parse_event(text).map_err(|e| e.to_string()));
        let event = match parsed {
            Ok(e) => e,
            Err(why) => {
                Counters::inc(&self.counters.malformed);
                tracing::warn!(subject = %m.subject, reason = %why, "dropped a JetStream message that is not a CloudEvent");
                let _ = acker.ack_with(AckKind::Term).await;
                return true;
            }
        };
        // Wait for room rather than bounce off a full queue.
        while self.sender.queued() + 1 > self.sender.capacity() {
            if !self.sender.is_running() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let key = self.keys.fetch_add(1, Ordering::Relaxed);
        let _ = self.cmds.send(Cmd::Track(key, Box::new(acker)));
        let tx = self.cmds.clone();
        let done = Box::new(move || {
            let _ = tx.send(Cmd::Done(key));
        });
        match self.sender.try_send_tracked(self.node, event, done) {
            Ok(()) => {
                Counters::inc(&self.counters.fed);
                true
            }
            Err(SendError::Full) => {
                Counters::inc(&self.counters.requeued);
                let _ = self.cmds.send(Cmd::Nak(key));
                true
            }
            Err(SendError::Stopped) => {
                let _ = self.cmds.send(Cmd::Forget(key));
                false
            }
        }
    }
}

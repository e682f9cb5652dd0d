//! The ingress side: publish an event to its node's stream and wait for JetStream's
//! acknowledgement (the [`DurableStore`] the HTTP ingress and the library use).

use super::stats::Counters;
use crate::http::{DurableStore, StoreError, StoreFuture};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::Context;
use eventflow_planner::event::json::write_event;
use eventflow_planner::event::Event;
use eventflow_planner::plan::durable::partition_of;
use eventflow_planner::plan::{JetStream, NodeId};
use std::collections::HashMap;
use std::sync::Arc;

/// Publishes events of JetStream-backed nodes: JSON format, one message each, to
/// `<subject>.<partition>`, with `Nats-Msg-Id: <source> <id>` so that JetStream drops a
/// producer's retry of an event it already stored (within the stream's duplicate window).
#[derive(Clone)]
pub(crate) struct Store {
    pub context: Context,
    pub nodes: Arc<HashMap<NodeId, JetStream>>,
    pub counters: Arc<Counters>,
}

/// The partition key of an event: its `partitionkey` extension, else its `source`.
pub(crate) fn partition_key(event: &Event) -> String {
    match event.extension("partitionkey") {
        Some(v) => v.to_string(),
        None => event.source.to_string(),
    }
}

/// `<source> <id>`, the CloudEvents identity of an event, when it is a valid header value.
fn message_id(event: &Event) -> Option<String> {
    let id = format!("{} {}", event.source, event.id);
    let ok = id.len() <= 1024 && !id.bytes().any(|b| b.is_ascii_control());
    ok.then_some(id)
}

impl Store {
    /// Publishes `event` to `js`'s stream; resolves once JetStream acknowledged it.
    pub fn publish(&self, js: &JetStream, event: &Event) -> StoreFuture {
        let subject = js.partition_subject(partition_of(&partition_key(event)));
        let mut payload = String::new();
        write_event(event, &mut payload);
        let mut publish = PublishMessage::build().payload(payload.into());
        if let Some(id) = message_id(event) {
            publish = publish.message_id(id);
        }
        let context = self.context.clone();
        let counters = self.counters.clone();
        Box::pin(async move {
            let result = async {
                let ack = context.send_publish(subject, publish).await?;
                Ok::<_, async_nats::Error>(ack.await?)
            }
            .await;
            match result {
                Ok(ack) => {
                    Counters::inc(&counters.stored);
                    if ack.duplicate {
                        Counters::inc(&counters.store_duplicates);
                    }
                    Ok(())
                }
                Err(e) => {
                    Counters::inc(&counters.store_failed);
                    tracing::debug!(error = %e, "JetStream publish failed");
                    Err(StoreError(format!(
                        "JetStream did not store the event: {e}"
                    )))
                }
            }
        })
    }
}

impl DurableStore for Store {
    fn is_durable(&self, node: NodeId) -> bool {
        self.nodes.contains_key(&node)
    }

    fn store(&self, node: NodeId, event: Event) -> StoreFuture {
        match self.nodes.get(&node) {
            Some(js) => self.publish(js, &event),
            None => {
                Box::pin(
                    async move { Err(StoreError(format!("node {node} is not JetStream-backed"))) },
                )
            }
        }
    }

    fn ready(&self) -> bool {
        self.context.client().connection_state() == async_nats::connection::State::Connected
    }

    fn metrics(&self) -> String {
        self.counters.snapshot().prometheus()
    }
}

//! Durable channels and brokers on NATS JetStream (issue 5; Knative's eventing-natss
//! `NatsJetStreamChannel` is the model). Which nodes are durable, and their stream and
//! subject names, the planner decides ([`eventflow_planner::plan::durable`]).
//!
//! The life of an event sent to a JetStream-backed node:
//!
//! 1. **Ingress** ([`JetStreamChannels::store`] for HTTP, [`JetStreamChannels::send`] for the
//!    library) publishes it to `<subject>.<partition>` and answers 202 only once JetStream
//!    acknowledged the publish (file storage: the event survives `kill -9` of eventflow).
//! 2. A **durable pull consumer** per node (`eventflow`; or, when the node asks for ordered
//!    delivery, one per partition, `eventflow-p<k>-of-16`, each with at most one
//!    unacknowledged message) hands the message to the engine
//!    ([`eventflow_engine::live::LiveSender::try_send_tracked`]).
//! 3. The message is **acknowledged** when every delivery descending from the event ended
//!    (delivered, dead-lettered, or dropped with a reason). Until then the acker keeps it alive
//!    with in-progress acknowledgements; if eventflow stops first, JetStream redelivers it
//!    after the ack wait ([`NatsConfig::ack_wait`]) to the next eventflow on that consumer.
//!    Redeliveries are counted ([`NatsStats::redelivered`]): each is a duplicate for the
//!    subscribers that had already been served (at-least-once).
//!
//! One consumer per node (not per Subscription/Trigger, as eventing-natss has it): the engine
//! takes events at nodes, so a redelivery goes to every subscriber of the node again.

mod consume;
mod reader;
mod setup;
mod stats;
mod store;

pub use reader::StreamReader;
pub use stats::NatsStats;

use crate::http::{SharedStore, StoreError};
use eventflow_engine::live::LiveSender;
use eventflow_planner::event::Event;
use eventflow_planner::plan::{JetStream, NodeId, Plan};
use stats::Counters;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The default server URL (`nats-server -js` listens there).
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// How to reach and use JetStream.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// Server URL (`nats://host:4222`; `--nats`, env `NATS_URL`).
    pub url: String,
    /// Giving up on the first connection after this long (later disconnects reconnect forever).
    pub connect_timeout: Duration,
    /// How long a publish may wait for JetStream's acknowledgement (then the ingress answers 503).
    pub publish_timeout: Duration,
    /// Publishes waiting for their acknowledgement at once (more wait for a slot).
    pub publish_inflight: usize,
    /// JetStream redelivers a message not acknowledged (nor kept alive) for this long.
    pub ack_wait: Duration,
    /// Unacknowledged messages per unordered consumer (the engine's window).
    pub max_ack_pending: usize,
    /// Messages pulled per request.
    pub batch: usize,
    /// Streams keep messages this long (limits retention; `replay --from-channel` reads them).
    pub max_age: Duration,
    /// Publishes with the same `Nats-Msg-Id` (`source` + `id`) within this window are stored once.
    pub duplicate_window: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: DEFAULT_URL.to_string(),
            connect_timeout: Duration::from_secs(5),
            publish_timeout: Duration::from_secs(5),
            publish_inflight: 8192,
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 8192,
            batch: 256,
            max_age: Duration::from_secs(7 * 24 * 3600),
            duplicate_window: Duration::from_secs(120),
        }
    }
}

/// What can go wrong with JetStream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NatsError {
    /// The server did not answer.
    #[error("cannot connect to NATS at {url}: {reason} (is `nats-server -js` running there? set --nats URL or NATS_URL)")]
    Connect {
        /// The URL tried.
        url: String,
        /// The client's error.
        reason: String,
    },
    /// The server answered but has no JetStream.
    #[error("NATS at {url} has no JetStream: {reason} (start the server with -js)")]
    NoJetStream {
        /// The URL.
        url: String,
        /// The server's answer.
        reason: String,
    },
    /// A stream or consumer could not be created or read.
    #[error("JetStream stream {stream}: {reason}")]
    Setup {
        /// The stream.
        stream: String,
        /// What failed.
        reason: String,
    },
    /// The connector's runtime could not be started.
    #[error("cannot start the NATS runtime: {0}")]
    Runtime(String),
}

/// The JetStream side of a running engine: streams and consumers set up, an ingress store,
/// consumer tasks feeding the engine once [started](JetStreamChannels::start).
pub struct JetStreamChannels {
    rt: tokio::runtime::Runtime,
    store: store::Store,
    consumers: Vec<(NodeId, async_nats::jetstream::consumer::PullConsumer)>,
    config: NatsConfig,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: watch::Sender<bool>,
    cmds: mpsc::UnboundedSender<consume::Cmd>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    acker: tokio::task::JoinHandle<()>,
}

impl JetStreamChannels {
    /// Connects and makes sure every JetStream-backed node of `plan` has its stream and
    /// durable consumers. Nothing is consumed until [`start`](JetStreamChannels::start).
    ///
    /// # Errors
    /// [`NatsError::Connect`] (naming the URL) when the server is unreachable,
    /// [`NatsError::NoJetStream`], [`NatsError::Setup`], [`NatsError::Runtime`].
    pub fn connect(plan: &Plan, config: NatsConfig) -> Result<JetStreamChannels, NatsError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("eventflow-nats")
            .enable_all()
            .build()
            .map_err(|e| NatsError::Runtime(e.to_string()))?;
        let (context, consumers) = rt.block_on(async {
            let context = setup::connect(&config).await?;
            let mut consumers = Vec::new();
            for js in &plan.jetstream {
                let stream = setup::ensure_stream(&context, js, &config).await?;
                for c in setup::ensure_consumers(&stream, js, &config).await? {
                    consumers.push((js.node, c));
                }
            }
            Ok::<_, NatsError>((context, consumers))
        })?;
        let nodes: HashMap<NodeId, JetStream> =
            plan.jetstream.iter().map(|j| (j.node, j.clone())).collect();
        tracing::info!(url = %config.url, streams = nodes.len(), consumers = consumers.len(), "JetStream ready");
        Ok(JetStreamChannels {
            rt,
            store: store::Store {
                context,
                nodes: Arc::new(nodes),
                counters: Arc::new(Counters::default()),
            },
            consumers,
            config,
            running: Mutex::new(None),
        })
    }

    /// The ingress hook for [`crate::http::HttpIngress::start_with_store`].
    pub fn store(&self) -> SharedStore {
        Arc::new(self.store.clone())
    }

    /// `true` when events for `node` are stored in JetStream.
    pub fn is_durable(&self, node: NodeId) -> bool {
        self.store.nodes.contains_key(&node)
    }

    /// Stores `event` for `node` and waits for JetStream's acknowledgement (the library's
    /// `send`). Blocks the calling thread; do not call it from async code.
    ///
    /// # Errors
    /// [`StoreError`] when the node is not durable or JetStream did not store the event.
    pub fn send(&self, node: NodeId, event: Event) -> Result<(), StoreError> {
        use crate::http::DurableStore;
        let fut = self.store.store(node, event);
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .unwrap_or_else(|_| Err(StoreError("the NATS runtime stopped".into())))
    }

    /// Starts the consumers: every stored message not yet acknowledged, and every new one,
    /// goes to `sender`'s engine. Calling it again does nothing.
    pub fn start(&self, sender: &LiveSender) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.is_some() {
            return;
        }
        let (stop, stopped) = watch::channel(false);
        let (cmds, rx) = mpsc::unbounded_channel();
        let counters = self.store.counters.clone();
        let acker = self
            .rt
            .spawn(consume::acker(rx, counters.clone(), self.config.ack_wait));
        let keys = Arc::new(AtomicU64::new(0));
        let tasks = self
            .consumers
            .iter()
            .map(|(node, consumer)| {
                let feed = consume::Feed {
                    node: *node,
                    sender: sender.clone(),
                    cmds: cmds.clone(),
                    counters: counters.clone(),
                    keys: keys.clone(),
                };
                let batch = self.config.batch;
                self.rt.spawn(consume::consume(
                    consumer.clone(),
                    feed,
                    stopped.clone(),
                    batch,
                ))
            })
            .collect();
        *running = Some(Running {
            stop,
            cmds,
            tasks,
            acker,
        });
    }

    /// Stops pulling (messages not handed to the engine yet stay unacknowledged), then — call
    /// it after the engine drained — sends the acknowledgements of everything that completed,
    /// waiting at most `timeout`. Returns the counters.
    pub fn finish(&self, timeout: Duration) -> NatsStats {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(r) = running {
            let _ = r.stop.send(true);
            drop(r.cmds);
            let client = self.store.context.client();
            let _ = self.rt.block_on(async move {
                tokio::time::timeout(timeout, async move {
                    for t in r.tasks {
                        let _ = t.await;
                    }
                    let _ = r.acker.await;
                    let _ = client.flush().await;
                })
                .await
            });
        }
        self.stats()
    }

    /// Stops pulling new messages (before the engine's shutdown, so that its drain ends).
    pub fn stop_pulling(&self) {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = running.as_ref() {
            let _ = r.stop.send(true);
        }
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.config.url
    }

    /// The counters so far.
    pub fn stats(&self) -> NatsStats {
        self.store.counters.snapshot()
    }
}

//! Connecting to NATS and making sure every stream and durable consumer exists.

use super::{NatsConfig, NatsError};
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, ReplayPolicy};
use async_nats::jetstream::stream::{self, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, Context};
use eventflow_planner::plan::durable::PARTITIONS;
use eventflow_planner::plan::JetStream;
use futures_util::TryStreamExt;
use std::time::Duration;

/// Name prefix of the durable consumers eventflow owns on a stream.
pub(crate) const CONSUMER_PREFIX: &str = "eventflow";

/// Connects to `config.url` and checks that JetStream is enabled.
///
/// # Errors
/// [`NatsError::Connect`] when the server cannot be reached within
/// `config.connect_timeout`, [`NatsError::NoJetStream`] when it answers without JetStream.
pub(crate) async fn connect(config: &NatsConfig) -> Result<Context, NatsError> {
    let url = config.url.clone();
    let client = async_nats::ConnectOptions::new()
        .name("eventflow")
        .connection_timeout(config.connect_timeout)
        .max_reconnects(None)
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("NATS connected"),
                async_nats::Event::Disconnected => {
                    tracing::warn!("NATS disconnected; reconnecting")
                }
                other => tracing::debug!(event = %other, "NATS event"),
            }
        })
        .connect(url.as_str())
        .await
        .map_err(|e| NatsError::Connect {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    // `$JS.API.INFO` has a responder only when JetStream is on (the raw request keeps this
    // check independent of the account-info shape, which varies across server versions).
    let info = tokio::time::timeout(
        config.connect_timeout,
        client.request("$JS.API.INFO", Default::default()),
    )
    .await;
    let failed = match info {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("no answer to $JS.API.INFO".to_string()),
    };
    if let Some(reason) = failed {
        return Err(NatsError::NoJetStream { url, reason });
    }
    Ok(jetstream::ContextBuilder::new()
        .timeout(config.publish_timeout)
        .max_ack_inflight(config.publish_inflight.max(1))
        .backpressure_on_inflight(true)
        .build(client))
}

/// Creates the stream of `js` (file storage, limits retention) unless it exists.
///
/// # Errors
/// [`NatsError::Setup`] naming the stream.
pub(crate) async fn ensure_stream(
    context: &Context,
    js: &JetStream,
    config: &NatsConfig,
) -> Result<stream::Stream, NatsError> {
    let wanted = stream::Config {
        name: js.stream.clone(),
        subjects: vec![js.stream_subjects()],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        max_age: config.max_age,
        duplicate_window: config.duplicate_window,
        description: Some(format!("eventflow: {}", js.subject)),
        ..stream::Config::default()
    };
    let mut s = context
        .get_or_create_stream(wanted)
        .await
        .map_err(|e| setup_err(&js.stream, e))?;
    let info = s.info().await.map_err(|e| setup_err(&js.stream, e))?;
    if !info.config.subjects.contains(&js.stream_subjects()) {
        tracing::warn!(
            stream = %js.stream,
            subjects = ?info.config.subjects,
            "the existing stream does not listen on {}; events published there will fail",
            js.stream_subjects()
        );
    }
    Ok(s)
}

/// The durable consumers a node needs: one (`eventflow`, whole stream) when unordered; one per
/// partition (`eventflow-p<k>-of-16`, max one unacknowledged message) when ordered.
fn wanted(js: &JetStream, config: &NatsConfig) -> Vec<pull::Config> {
    let base = |name: String, filter: String, pending: i64| pull::Config {
        durable_name: Some(name.clone()),
        name: Some(name),
        description: Some(format!("eventflow: {}", js.subject)),
        ack_policy: AckPolicy::Explicit,
        ack_wait: config.ack_wait,
        max_deliver: -1,
        filter_subject: filter,
        replay_policy: ReplayPolicy::Instant,
        max_ack_pending: pending,
        ..pull::Config::default()
    };
    if !js.ordered {
        let pending = i64::try_from(config.max_ack_pending.max(1)).unwrap_or(i64::MAX);
        return vec![base(CONSUMER_PREFIX.to_string(), String::new(), pending)];
    }
    (0..PARTITIONS)
        .map(|p| {
            let name = format!("{CONSUMER_PREFIX}-p{p}-of-{PARTITIONS}");
            base(name, js.partition_subject(p), 1)
        })
        .collect()
}

/// Makes sure the node's durable consumers exist and returns them.
///
/// New consumers take over from eventflow consumers of an earlier layout (the node switched
/// between ordered and unordered): they start right after the lowest acknowledged sequence of
/// the old ones, which are then deleted, so nothing stored is skipped (some messages are
/// delivered again). With no earlier consumer they start with new messages.
///
/// # Errors
/// [`NatsError::Setup`] naming the stream.
pub(crate) async fn ensure_consumers(
    stream: &stream::Stream,
    js: &JetStream,
    config: &NatsConfig,
) -> Result<Vec<jetstream::consumer::PullConsumer>, NatsError> {
    let err = |e: &dyn std::fmt::Display| setup_err(&js.stream, e);
    let wanted = wanted(js, config);
    let names: Vec<String> = stream
        .consumer_names()
        .try_collect()
        .await
        .map_err(|e| err(&e))?;
    let is_wanted = |n: &str| wanted.iter().any(|w| w.name.as_deref() == Some(n));
    let stale: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with(CONSUMER_PREFIX) && !is_wanted(n))
        .collect();
    let mut floor: Option<u64> = None;
    for name in &stale {
        let info = stream
            .consumer_info(name.as_str())
            .await
            .map_err(|e| err(&e))?;
        let next = info.ack_floor.stream_sequence + 1;
        floor = Some(floor.map_or(next, |f| f.min(next)));
    }
    let start = match floor {
        Some(start_sequence) => DeliverPolicy::ByStartSequence { start_sequence },
        None => DeliverPolicy::New,
    };
    let mut out = Vec::with_capacity(wanted.len());
    for mut cfg in wanted {
        let name = cfg.name.clone().unwrap_or_default();
        if names.contains(&name) {
            let mut c: jetstream::consumer::PullConsumer =
                stream.get_consumer(&name).await.map_err(|e| err(&e))?;
            let info = c.info().await.map_err(|e| err(&e))?;
            let (ack_wait, pending) = (info.config.ack_wait, info.config.max_ack_pending);
            if ack_wait != cfg.ack_wait || pending != cfg.max_ack_pending {
                cfg.deliver_policy = info.config.deliver_policy;
                // Creating an existing durable with changed updatable fields updates it.
                match stream.create_consumer(cfg).await {
                    Ok(updated) => c = updated,
                    Err(e) => {
                        tracing::warn!(stream = %js.stream, consumer = %name, error = %e, "cannot update the consumer's ack wait / max ack pending")
                    }
                }
            }
            out.push(c);
        } else {
            cfg.deliver_policy = start;
            let c = stream.create_consumer(cfg).await.map_err(|e| err(&e))?;
            out.push(c);
        }
    }
    for name in stale {
        if let Err(e) = stream.delete_consumer(name).await {
            tracing::warn!(stream = %js.stream, consumer = %name, error = %e, "cannot delete the old consumer");
        }
    }
    Ok(out)
}

fn setup_err(stream: &str, e: impl std::fmt::Display) -> NatsError {
    NatsError::Setup {
        stream: stream.to_string(),
        reason: e.to_string(),
    }
}

/// How long a replay waits for the next stored message before giving up.
pub(crate) const REPLAY_IDLE: Duration = Duration::from_secs(10);

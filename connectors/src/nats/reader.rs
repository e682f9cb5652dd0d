//! Replay from a stream: the events a JetStream-backed node stored, read back as JSON Lines
//! (`eventflow replay --from-channel`), from the start of the stream or from a point in time.

use super::setup::{connect, REPLAY_IDLE};
use super::{NatsConfig, NatsError};
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use eventflow_planner::plan::JetStream;
use futures_util::StreamExt;
use std::io::Read;
use std::time::Duration;

/// The stored messages of one stream as JSON Lines (one CloudEvent per line), in stream
/// order. Reads the messages stored when it was opened and then ends; later publishes are not
/// waited for. Blocking (`Read`): it runs a small tokio runtime of its own, so use it from a
/// plain thread (as [`crate::log::spawn_reader`] does), not from async code.
pub struct StreamReader {
    rt: tokio::runtime::Runtime,
    /// `Some` until dropped (its drop needs the runtime entered).
    messages: Option<pull::Stream>,
    remaining: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl StreamReader {
    /// Opens the stream of `js` on the server of `config` and positions an ephemeral consumer
    /// at `since_ms` (milliseconds since the Unix epoch; the first message stored at or after
    /// it), or at the first stored message.
    ///
    /// # Errors
    /// [`NatsError::Connect`] / [`NatsError::NoJetStream`] as for `run`,
    /// [`NatsError::Setup`] when the stream does not exist (nothing was ever stored for it)
    /// or the consumer cannot be created.
    pub fn open(
        config: &NatsConfig,
        js: &JetStream,
        since_ms: Option<i64>,
    ) -> Result<StreamReader, NatsError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| NatsError::Runtime(e.to_string()))?;
        let setup = |reason: String| NatsError::Setup {
            stream: js.stream.clone(),
            reason,
        };
        let (messages, remaining) = rt.block_on(async {
            let context = connect(config).await?;
            let mut stream = context
                .get_stream(&js.stream)
                .await
                .map_err(|e| setup(format!("no stream (nothing stored yet?): {e}")))?;
            let state = &stream.info().await.map_err(|e| setup(e.to_string()))?.state;
            let last_ns = state.last_timestamp.unix_timestamp_nanos();
            let deliver_policy = match since_ms.map(|ms| i128::from(ms) * 1_000_000) {
                None => DeliverPolicy::All,
                // Nothing stored at or after `since` (some servers would start at the
                // beginning instead).
                Some(ns) if ns > last_ns || state.messages == 0 => {
                    return Ok::<_, NatsError>((None, 0));
                }
                Some(ns) => DeliverPolicy::ByStartTime {
                    start_time: time::OffsetDateTime::from_unix_timestamp_nanos(ns)
                        .map_err(|e| setup(format!("--since out of range: {e}")))?,
                },
            };
            let cfg = pull::Config {
                deliver_policy,
                ack_policy: AckPolicy::None,
                inactive_threshold: Duration::from_secs(60),
                memory_storage: true,
                description: Some("eventflow replay".into()),
                ..pull::Config::default()
            };
            let mut consumer = stream
                .create_consumer(cfg)
                .await
                .map_err(|e| setup(e.to_string()))?;
            let remaining = consumer
                .info()
                .await
                .map_err(|e| setup(e.to_string()))?
                .num_pending;
            let messages = consumer
                .stream()
                .max_messages_per_batch(512)
                .messages()
                .await
                .map_err(|e| setup(e.to_string()))?;
            Ok((Some(messages), remaining))
        })?;
        Ok(StreamReader {
            rt,
            messages,
            remaining,
            buf: Vec::new(),
            pos: 0,
        })
    }

    /// Messages not read yet (of those stored when the reader was opened).
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    fn refill(&mut self) -> std::io::Result<bool> {
        if self.remaining == 0 {
            return Ok(false);
        }
        let Some(messages) = self.messages.as_mut() else {
            return Ok(false);
        };
        let next = self
            .rt
            .block_on(async { tokio::time::timeout(REPLAY_IDLE, messages.next()).await });
        let msg = match next {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => return Err(std::io::Error::other(e.to_string())),
            Ok(None) => return Ok(false),
            Err(_) => {
                return Err(std::io::Error::other(format!(
                    "no message from JetStream within {}s ({} still expected)",
                    REPLAY_IDLE.as_secs(),
                    self.remaining
                )))
            }
        };
        self.remaining -= 1;
        self.buf.clear();
        self.pos = 0;
        // A message is one CloudEvent; CR/LF can only be insignificant white space in valid
        // JSON, so flattening them keeps one event per line.
        self.buf.extend(msg.payload.iter().map(|&b| match b {
            b'\n' | b'\r' => b' ',
            b => b,
        }));
        self.buf.push(b'\n');
        Ok(true)
    }
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        // The client's subscription unsubscribes on drop, from inside a runtime.
        let _entered = self.rt.enter();
        self.messages.take();
    }
}

impl Read for StreamReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.buf.len() && !self.refill()? {
            return Ok(0);
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

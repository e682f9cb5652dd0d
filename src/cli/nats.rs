//! The NATS JetStream flags of `run` (`--nats URL`, env `NATS_URL`) and of `replay`
//! (`--from-channel NS/NAME [--since RFC3339]`): durable channels, issue 5.

use anyhow::bail;
use eventflow::planner::plan::{NodeId, Plan};
use std::time::Duration;

/// The environment variable read when `--nats` is not given.
pub const NATS_URL_ENV: &str = "NATS_URL";

/// JetStream flags shared by `run` and `replay`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct NatsArgs {
    /// NATS server with JetStream for NatsJetStreamChannel / NatsJetStreamBroker resources
    /// (default: env NATS_URL).
    #[arg(long = "nats", value_name = "URL")]
    pub url: Option<String>,
    /// Seconds JetStream waits for an acknowledgement before redelivering a message to the
    /// next eventflow (a running eventflow keeps its messages alive while it works on them).
    #[arg(long = "nats-ack-wait", value_name = "SECONDS", default_value_t = 30.0)]
    pub ack_wait: f64,
}

impl NatsArgs {
    /// `--nats`, else `NATS_URL`.
    pub fn url(&self) -> Option<String> {
        self.url
            .clone()
            .or_else(|| std::env::var(NATS_URL_ENV).ok().filter(|u| !u.is_empty()))
    }
}

/// The durable resources of `plan`, for messages.
fn durable_names(plan: &Plan) -> String {
    plan.jetstream
        .iter()
        .map(|j| plan.entry_name(j.node))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(feature = "nats")]
pub use enabled::*;

#[cfg(feature = "nats")]
mod enabled {
    use super::*;
    use anyhow::Context;
    use eventflow::connectors::http::SharedStore;
    use eventflow::connectors::nats::{JetStreamChannels, NatsConfig, StreamReader};
    use eventflow::engine::live::LiveSender;

    fn config(args: &NatsArgs, url: String) -> anyhow::Result<NatsConfig> {
        if !(args.ack_wait.is_finite() && args.ack_wait >= 0.1) {
            bail!("--nats-ack-wait must be at least 0.1 seconds");
        }
        Ok(NatsConfig {
            url,
            ack_wait: Duration::from_secs_f64(args.ack_wait),
            ..NatsConfig::default()
        })
    }

    /// The JetStream side of `run`.
    pub struct Durable(JetStreamChannels);

    impl Durable {
        /// The ingress hook.
        pub fn store(&self) -> SharedStore {
            self.0.store()
        }

        /// Starts the consumers feeding `sender`'s engine.
        pub fn start(&self, sender: &LiveSender) {
            self.0.start(sender);
        }

        /// Stops pulling (before the engine's drain).
        pub fn stop_pulling(&self) {
            self.0.stop_pulling();
        }

        /// Sends the last acknowledgements (after the drain) and returns the summary lines.
        pub fn finish(&self, timeout: Duration) -> String {
            self.0.finish(timeout).summary()
        }

        /// One line per durable node, for the start-up banner.
        pub fn describe(&self, plan: &Plan) -> String {
            plan.jetstream
                .iter()
                .map(|j| {
                    let order = if j.ordered {
                        ", ordered per partitionkey"
                    } else {
                        ""
                    };
                    format!(
                        "  durable {} → JetStream stream {} at {}{order}",
                        plan.entry_name(j.node),
                        j.stream,
                        self.0.url()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    }

    /// Connects when the plan has JetStream-backed nodes (streams and consumers are created);
    /// `None` when it has none.
    ///
    /// # Errors
    /// No URL, or the server is unreachable or has no JetStream (the message says which URL).
    pub fn connect(args: &NatsArgs, plan: &Plan) -> anyhow::Result<Option<Durable>> {
        if plan.jetstream.is_empty() {
            if args.url.is_some() {
                eprintln!("note: --nats: no NatsJetStreamChannel or NatsJetStreamBroker in the manifests; every channel is in memory");
            }
            return Ok(None);
        }
        let Some(url) = args.url() else {
            bail!(
                "{} are backed by NATS JetStream: pass --nats URL or set {NATS_URL_ENV} \
                 (start a server with `nats-server -js -sd DIR`)",
                durable_names(plan)
            );
        };
        let channels = JetStreamChannels::connect(plan, config(args, url)?)?;
        Ok(Some(Durable(channels)))
    }

    /// The reader and entry node for `replay --from-channel SPEC [--since TIME]`: SPEC is
    /// `NAMESPACE/NAME` of a channel, or `KIND/NAME` / `KIND/NAMESPACE/NAME` of any
    /// JetStream-backed Broker, channel, Sequence or Parallel.
    ///
    /// # Errors
    /// Unknown or in-memory resource, no URL, unreachable server, no stream.
    pub fn replay_reader(
        args: &NatsArgs,
        plan: &Plan,
        spec: &str,
        since_ms: Option<i64>,
    ) -> anyhow::Result<(NodeId, StreamReader)> {
        let parts: Vec<&str> = spec.split('/').collect();
        let found = match parts.as_slice() {
            [ns, name] => plan
                .entry(Some(&format!("channel/{name}")), Some(ns))
                .or_else(|_| plan.entry(Some(spec), None)),
            _ => plan.entry(Some(spec), None),
        };
        let node = found.map_err(|e| anyhow::anyhow!("--from-channel {spec}: {e}"))?;
        let Some(js) = plan.jetstream_of(node) else {
            bail!(
                "--from-channel {spec}: {} is not backed by JetStream (JetStream-backed: {})",
                plan.entry_name(node),
                match durable_names(plan) {
                    s if s.is_empty() => "none".to_string(),
                    s => s,
                }
            );
        };
        let Some(url) = args.url() else {
            bail!("--from-channel needs --nats URL (or {NATS_URL_ENV})");
        };
        let reader = StreamReader::open(&config(args, url)?, js, since_ms)
            .with_context(|| format!("--from-channel {spec}"))?;
        eprintln!(
            "replaying {} stored event(s) of {} (stream {})",
            reader.remaining(),
            plan.entry_name(node),
            js.stream
        );
        Ok((node, reader))
    }
}

#[cfg(not(feature = "nats"))]
pub use disabled::*;

#[cfg(not(feature = "nats"))]
mod disabled {
    use super::*;

    use eventflow::connectors::http::SharedStore;
    use eventflow::engine::live::LiveSender;

    /// Without the `nats` feature there is never a JetStream side.
    pub enum Durable {}

    impl Durable {
        /// Unreachable.
        pub fn store(&self) -> SharedStore {
            match *self {}
        }

        /// Unreachable.
        pub fn start(&self, _sender: &LiveSender) {
            match *self {}
        }

        /// Unreachable.
        pub fn stop_pulling(&self) {
            match *self {}
        }

        /// Unreachable.
        pub fn finish(&self, _timeout: Duration) -> String {
            match *self {}
        }

        /// Unreachable.
        pub fn describe(&self, _plan: &Plan) -> String {
            match *self {}
        }
    }

    /// Without the `nats` feature: an error when the plan needs JetStream.
    ///
    /// # Errors
    /// The plan has JetStream-backed nodes.
    pub fn connect(args: &NatsArgs, plan: &Plan) -> anyhow::Result<Option<Durable>> {
        if plan.jetstream.is_empty() {
            if args.url().is_some() {
                eprintln!("note: --nats / {NATS_URL_ENV}: this eventflow was built without the `nats` feature");
            }
            return Ok(None);
        }
        bail!(
            "{} are backed by NATS JetStream, but this eventflow was built without the `nats` feature",
            durable_names(plan)
        )
    }

    /// Without the `nats` feature: always an error.
    ///
    /// # Errors
    /// Always.
    pub fn replay_reader(
        _args: &NatsArgs,
        _plan: &Plan,
        _spec: &str,
        _since_ms: Option<i64>,
    ) -> anyhow::Result<(NodeId, std::io::Empty)> {
        bail!("--from-channel needs eventflow built with the `nats` feature")
    }
}

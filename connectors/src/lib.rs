//! # eventflow-connectors
//!
//! The outside world for eventflow: reading JSON Lines event logs into engine chunks, and the
//! Knative-compatible HTTP ingress of the live data plane ([`http`]), timer sources
//! (PingSource, CronJobSource: [`sources`]), ContainerSource processes
//! ([`sources::container`]) and `exec:` co-process subscribers ([`exec`]); with feature
//! `nats`, durable channels and brokers on NATS JetStream (`nats`).

pub mod exec;
pub mod http;
pub mod log;
#[cfg(feature = "nats")]
pub mod nats;
pub mod process;
pub mod sources;

pub use log::{read_log, spawn_reader, LogError, LogReader};

//! # eventflow-connectors
//!
//! The outside world for eventflow: reading JSON Lines event logs into engine chunks, and the
//! Knative-compatible HTTP ingress of the live data plane ([`http`]), timer sources
//! (PingSource, CronJobSource: [`sources`]); later HTTP subscribers and durable channels.

pub mod http;
pub mod log;
pub mod sources;

pub use log::{read_log, spawn_reader, LogError, LogReader};

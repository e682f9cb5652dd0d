//! # eventflow-connectors
//!
//! The outside world for eventflow: reading JSON Lines event logs into engine chunks, and the
//! Knative-compatible HTTP ingress of the live data plane ([`http`]); later HTTP subscribers,
//! sources and durable channels.

pub mod http;
pub mod log;

pub use log::{read_log, spawn_reader, LogError, LogReader};

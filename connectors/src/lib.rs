//! # eventflow-connectors
//!
//! The outside world for eventflow: reading JSON Lines event logs into engine chunks (and
//! later HTTP ingress, HTTP subscribers, sources and durable channels).

pub mod log;

pub use log::{read_log, spawn_reader, LogError, LogReader};

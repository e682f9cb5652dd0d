//! # eventflow-planner
//!
//! The pure half of eventflow: Knative Eventing manifests in, a [`plan::Plan`] out. No timely,
//! no tokio, no I/O but reading the manifest files.
//!
//! Pipeline: YAML files → [`manifest`] (typed, every apiVersion, diagnostics with file:line) →
//! [`topology::Topology`] (normalised v1 model, references resolved) → [`plan::Plan`] (ingress,
//! route, fan-out and deliver stages the engine renders as a timely dataflow).
//!
//! It also holds the CloudEvents model ([`event`]), Trigger filters ([`filter`]) and the CESQL
//! language ([`cesql`]), since filters are compiled here and evaluated by the engine.
//!
//! ```
//! use eventflow_planner::delivery::parse_duration_ms;
//! assert_eq!(parse_duration_ms("PT0.2S"), Ok(200));
//! ```

pub mod cesql;
pub mod delivery;
pub mod diagnostic;
pub mod event;
pub mod filter;
pub mod manifest;
pub mod plan;
pub mod topology;

//! # eventflow-engine
//!
//! Runs an eventflow [`Plan`](eventflow_planner::plan::Plan) on timely dataflow workers:
//! Broker routing with Trigger filters, channel fan-out, delivery with Knative's retry,
//! reply and dead-letter semantics, on a virtual clock.

pub mod acks;
mod answer;
pub mod clock;
pub mod dataflow;
pub mod deliver;
pub mod input;
pub mod live;
pub mod logline;
pub mod observe;
pub mod pool;
pub mod record;
pub mod registry;
pub mod report;
pub mod route;
pub mod run;
pub mod service;
pub mod sink;
mod staged;
pub mod stages;
pub mod tally;
pub mod ttl;
pub mod worker;

pub use report::Report;
pub use run::{run, RunOptions};
pub use service::{Bindings, Builtin, Reply, Subscriber};

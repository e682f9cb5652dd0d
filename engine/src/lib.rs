//! # eventflow-engine
//!
//! Runs an eventflow [`Plan`](eventflow_planner::plan::Plan) on timely dataflow workers:
//! Broker routing with Trigger filters, channel fan-out, delivery with Knative's retry,
//! reply and dead-letter semantics, on a virtual clock.

mod answer;
pub mod acks;
pub mod clock;
pub mod dataflow;
pub mod deliver;
pub mod input;
pub mod live;
pub mod logline;
pub mod pool;
pub mod record;
pub mod registry;
pub mod report;
pub mod route;
pub mod run;
pub mod service;
pub mod sink;
pub mod ttl;
mod worker;

pub use report::Report;
pub use run::{run, RunOptions};
pub use service::{Bindings, Builtin, Reply, Subscriber};

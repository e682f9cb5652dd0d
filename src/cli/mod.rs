//! One file per command.

pub mod bench;
pub mod bindings;
pub mod cluster;
pub mod explain;
pub mod explain_print;
pub mod load;
pub mod nats;
pub mod plan;
pub mod registry;
pub mod replay;
pub mod run;
pub mod sources;
pub mod summary;
pub mod validate;

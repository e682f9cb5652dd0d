//! One file per command.

pub mod load;
pub mod plan;
pub mod replay;
pub mod summary;
pub mod validate;

//! Plan (to be written).

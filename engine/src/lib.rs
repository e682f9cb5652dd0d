//! eventflow-engine (to be written).

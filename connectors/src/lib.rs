//! eventflow-connectors (to be written).

//! eventflow facade.

//! Behavior tests: Knative features as YAML cases (tests/behavior/*.yaml, format in
//! tests/behavior/README.md), each run with 1 and 2 workers against the delivery log.
//!
//! `BEHAVIOR_CASE=substring cargo test --test behavior` runs only the matching cases.

#[path = "behavior/runner/mod.rs"]
mod runner;

/// The files with a test below; a new file must be added here too.
const FILES: &[&str] = &[
    "broker-routing.yaml",
    "trigger-filters.yaml",
    "broker-ttl.yaml",
    "channel.yaml",
    "sequence.yaml",
    "parallel.yaml",
    "delivery-retry.yaml",
    "delivery-dls.yaml",
    "hop-limit.yaml",
];

#[test]
fn every_file_has_a_test() {
    let mut found: Vec<String> = std::fs::read_dir(runner::dir())
        .expect("tests/behavior")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    found.sort();
    let mut listed: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "tests/behavior/*.yaml and FILES in tests/behavior.rs differ"
    );
}

#[test]
fn broker_routing() {
    runner::run_file("broker-routing.yaml");
}

#[test]
fn trigger_filters() {
    runner::run_file("trigger-filters.yaml");
}

#[test]
fn broker_ttl() {
    runner::run_file("broker-ttl.yaml");
}

#[test]
fn channel() {
    runner::run_file("channel.yaml");
}

#[test]
fn sequence() {
    runner::run_file("sequence.yaml");
}

#[test]
fn parallel() {
    runner::run_file("parallel.yaml");
}

#[test]
fn delivery_retry() {
    runner::run_file("delivery-retry.yaml");
}

#[test]
fn delivery_dls() {
    runner::run_file("delivery-dls.yaml");
}

#[test]
fn hop_limit() {
    runner::run_file("hop-limit.yaml");
}

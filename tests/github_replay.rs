//! The main job on real input: the GitHub event log through its topology, via the CLI binary,
//! exactly as a user runs it. Counts come from `examples/github/expected-*.json`.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn eventflow(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run eventflow")
}

fn counts(log: &Path) -> (BTreeMap<String, u64>, u64) {
    let text = std::fs::read_to_string(log).expect("delivery log");
    let mut per_via = BTreeMap::new();
    let mut n = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("json line");
        let key = format!(
            "{} <- {}",
            v["subscriber"].as_str().unwrap(),
            v["via"].as_str().unwrap()
        );
        *per_via.entry(key).or_default() += 1;
        n += 1;
    }
    (per_via, n)
}

fn expected(name: &str) -> (BTreeMap<String, u64>, u64) {
    let text = std::fs::read_to_string(root().join("examples/github").join(name)).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let per_via = v["per_via"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    (per_via, v["deliveries"].as_u64().unwrap())
}

fn replay(tag: &str, workers: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "eventflow-gh-{}-{tag}-{workers}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, report) = (dir.join("out.jsonl"), dir.join("report.json"));
    let mut args = vec![
        "replay",
        "-f",
        "examples/github/topology.yaml",
        "--events",
        "examples/github/events.jsonl",
        "--into",
        "broker/github",
        "--workers",
        workers,
        "-q",
        "--out",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = eventflow(&args);
    assert!(
        o.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (out, report)
}

fn check(tag: &str, expected_file: &str, extra: &[&str]) {
    let (want, want_n) = expected(expected_file);
    let (out1, report1) = replay(tag, "1", extra);
    let (out2, _) = replay(tag, "2", extra);
    let (got, n) = counts(&out1);
    assert_eq!(got, want);
    assert_eq!(n, want_n);
    let bytes1 = std::fs::read(&out1).unwrap();
    assert_eq!(
        bytes1,
        std::fs::read(&out2).unwrap(),
        "delivery log differs between 1 and 2 workers"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(report1).unwrap()).unwrap();
    assert_eq!(report["events_read"], 273);
    assert_eq!(report["accepted"], 273);
    assert_eq!(report["deliveries"], want_n);
    assert_eq!(report["into"], "Broker/default/github");
}

#[test]
fn github_log_default_bindings() {
    check("default", "expected-default.json", &[]);
}

#[test]
fn github_log_with_echo_steps() {
    check(
        "echo",
        "expected-echo-steps.json",
        &[
            "--service",
            "lint=echo",
            "--service",
            "unit-tests=echo",
            "--service",
            "needs-label=echo",
        ],
    );
}

#[test]
fn delivered_events_carry_broker_stamps() {
    let (out, _) = replay("stamps", "1", &[]);
    let text = std::fs::read_to_string(out).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let ev = &first["event"];
    assert!(ev["knativearrivaltime"].as_str().unwrap().ends_with('Z'));
    assert!(
        ev.get("knativebrokerttl").is_none(),
        "TTL is stripped before the subscriber"
    );
    assert_eq!(first["outcome"], "delivered");
    assert_eq!(first["attempts"], 1);
}

#[test]
fn malformed_lines_are_reported_and_the_rest_goes_on() {
    let dir = std::env::temp_dir().join(format!("eventflow-gh-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("report.json");
    let o = eventflow(&[
        "replay",
        "-f",
        "examples/github/topology.yaml",
        "--events",
        "examples/github/events-with-errors.jsonl",
        "-q",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let expect: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/github/events-with-errors.expect.json"))
            .unwrap(),
    )
    .unwrap();
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["accepted"], expect["good_events"]);
    assert_eq!(r["events_read"], 50);
    let lines: Vec<u64> = r["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["line"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = expect["bad_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, want);
    for l in &want {
        assert!(
            stderr.contains(&format!("events-with-errors.jsonl:{l}: malformed event:")),
            "line {l} not reported: {stderr}"
        );
    }
    let strict = eventflow(&[
        "replay",
        "-f",
        "examples/github/topology.yaml",
        "--events",
        "examples/github/events-with-errors.jsonl",
        "-q",
        "--strict",
    ]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("--strict"));
}

#[test]
fn into_must_name_an_ingress() {
    let o = eventflow(&[
        "replay",
        "-f",
        "examples/github/topology.yaml",
        "--events",
        "examples/github/events.jsonl",
        "--into",
        "broker/nope",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no ingress `broker/nope`") && err.contains("broker/default/github"),
        "{err}"
    );
}

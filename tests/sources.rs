//! PingSource and CronJobSource end to end: `replay --from/--until` on the virtual clock (byte
//! identical across runs and workers) and `run` on real timers (the binary on 127.0.0.1:0).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SEQUENCE: &str =
    "tests/data/knative-manifests/04-sequence-v1alpha1-reply-to-event-display.yaml";

fn replay(files: &[&Path], extra: &[&str], workers: &str, out: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eventflow"));
    cmd.arg("replay");
    for f in files {
        cmd.arg("-f").arg(f);
    }
    let out = cmd
        .args(extra)
        .args(["--workers", workers, "-q", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Replays the CronJobSource → Sequence sample over ten minutes with 1 and 2 workers; returns
/// the delivery log (checked identical) as JSON values.
fn replay_sequence(manifest: &Path) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--from",
        "2024-01-01T00:00:00Z",
        "--until",
        "2024-01-01T00:10:00Z",
        "--service",
        "first=echo",
        "--service",
        "second=echo",
        "--service",
        "third=echo",
    ];
    let mut logs = Vec::new();
    for (i, workers) in ["1", "2", "2"].iter().enumerate() {
        let out = dir.path().join(format!("d{i}.jsonl"));
        replay(&[manifest], &args, workers, &out);
        logs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(logs[0], logs[1], "1 vs 2 workers");
    assert_eq!(logs[1], logs[2], "two runs with 2 workers");
    String::from_utf8(logs.swap_remove(0))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn at_display(log: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    log.iter()
        .filter(|r| r["subscriber"] == "Service/default/event-display")
        .collect()
}

#[test]
fn cronjob_source_fires_into_a_sequence_on_the_virtual_clock() {
    // The sample as published: `*/2 * * * *` → 00:00, 00:02, …, 00:08 in [00:00, 00:10).
    let log = replay_sequence(Path::new(SEQUENCE));
    let display = at_display(&log);
    assert_eq!(display.len(), 5);
    assert_eq!(log.len(), 20, "3 steps + the reply per tick");

    // Every minute: exactly 10 events reach event-display.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(SEQUENCE)
        .unwrap()
        .replace("\"*/2 * * * *\"", "\"*/1 * * * *\"");
    let manifest = dir.path().join("every-minute.yaml");
    std::fs::write(&manifest, text).unwrap();
    let log = replay_sequence(&manifest);
    let display = at_display(&log);
    assert_eq!(display.len(), 10);
    let mut times = Vec::new();
    for r in &display {
        assert_eq!(r["via"], "Sequence/default/sequence/reply");
        assert_eq!(r["outcome"], "delivered");
        let e = &r["event"];
        assert_eq!(e["specversion"], "0.3");
        assert_eq!(e["type"], "dev.knative.cronjob.event");
        assert_eq!(
            e["source"],
            "/apis/v1/namespaces/default/cronjobsources/cronjob-source"
        );
        assert_eq!(e["datacontenttype"], "application/json");
        assert_eq!(e["data"]["message"], "Hello world!");
        times.push(e["time"].as_str().unwrap().to_string());
    }
    let expected: Vec<String> = (0..10)
        .map(|m| format!("2024-01-01T00:{m:02}:00Z"))
        .collect();
    assert_eq!(times, expected);
}

#[test]
fn sources_are_merged_with_the_event_log() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("t.yaml");
    std::fs::write(
        &manifest,
        "
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: all, namespace: default}
spec:
  broker: default
  subscriber: {ref: {apiVersion: v1, kind: Service, name: display}}
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: hourly, namespace: default}
spec:
  schedule: '@hourly'
  timezone: Asia/Kolkata
  contentType: text/plain
  data: tick
  ceOverrides: {extensions: {origin: ping}}
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}
",
    )
    .unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"s\",\"type\":\"t\",\"time\":\"2024-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let out = dir.path().join("d.jsonl");
    let ev = events.to_str().unwrap();
    let window = [
        "--events",
        ev,
        "--from",
        "2024-01-01T00:00:00Z",
        "--until",
        "2024-01-01T03:00:00Z",
    ];
    let run = replay(&[&manifest], &window, "2", &out);
    assert!(String::from_utf8_lossy(&run.stderr).contains("fired 3 source event(s)"));
    let log = std::fs::read_to_string(&out).unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[0]["event"]["id"], "a",
        "the log's events come first"
    );
    for r in &records[1..] {
        let e = &r["event"];
        assert_eq!(e["type"], "dev.knative.sources.ping");
        assert_eq!(e["origin"], "ping");
        assert_eq!(e["data_base64"], "dGljaw==");
        assert!(e["knativearrivaltime"].is_string());
    }
    // Kolkata is UTC+05:30: its full hours are at half past in UTC.
    assert_eq!(records[1]["event"]["time"], "2024-01-01T00:30:00Z");
    let out1 = dir.path().join("d1.jsonl");
    replay(&[&manifest], &window, "1", &out1);
    assert_eq!(std::fs::read(&out1).unwrap(), log.as_bytes());
}

#[test]
fn replay_needs_events_or_a_window() {
    let out = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["replay", "-f", SEQUENCE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["replay", "-f", SEQUENCE, "--from", "2024-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_fires_a_ping_source_every_second() {
    let dir = tempfile::tempdir().unwrap();
    let manifest: PathBuf = dir.path().join("ping.yaml");
    std::fs::write(
        &manifest,
        "
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: tick, namespace: default}
spec:
  schedule: '* * * * * *'
  data: hello
  sink: {ref: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ticks}}
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: {name: ticks, namespace: default}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {name: to-display, namespace: default}
spec:
  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ticks}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: display}}
",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["run", "-f"])
        .arg(&manifest)
        .args(["--listen", "127.0.0.1:0", "--service", "display=ack"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.starts_with("listening on http://"), "{first:?}");
    std::thread::sleep(std::time::Duration::from_millis(3200));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "exit {status:?}\n{rest}\n{err}");
    assert!(rest.contains("source PingSource/default/tick"), "{rest}");
    let delivered = rest
        .lines()
        .find(|l| l.contains("Service/default/display <- Subscription/default/to-display"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(delivered >= 2, "{rest}\n{err}");
    assert!(err.contains("sources stopped:"), "{err}");
}

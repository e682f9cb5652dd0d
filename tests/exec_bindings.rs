//! `--service NAME=exec:COMMAND` with real co-processes (python3 and sh): a reply that re-enters
//! the Broker, `null` answers, a process that exits every two lines (restarted, its failures
//! retried), one that prints garbage (502 → retries → dead-letter sink) — through `replay`
//! (delivery log asserted, byte-identical across runs and workers) and once through `run`.

mod loopback;

use base64::Engine as _;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Replies to each event with a new one: type `enriched`, id `enriched-<id>`, data saying what
/// it saw (deterministic: a function of the line only).
const ENRICH: &str = r#"
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    reply = {"specversion": "1.0", "id": "enriched-" + e["id"], "source": "/enrich",
             "type": "enriched",
             "data": {"original": e["type"], "data": e.get("data"),
                      "stamped": "knativearrivaltime" in e,
                      "ttl_stripped": "knativebrokerttl" not in e}}
    print(json.dumps(reply), flush=True)
"#;

/// Answers two events with `null`, then exits.
const CRASHY: &str = r#"
import sys
for n in range(2):
    sys.stdin.readline()
    print("null", flush=True)
"#;

const TOPOLOGY: &str = "
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
spec:
  delivery:
    deadLetterSink: {ref: {apiVersion: v1, kind: Service, name: dls}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-enrich, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: a}}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: enrich}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: on-enriched, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: enriched}}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: sink}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-quiet, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: b}}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: quiet}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-crashy, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: c}}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: crashy}}
  delivery: {retry: 3}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-garbage, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: d}}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: garbage}}
  delivery: {retry: 2}
";

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::write(root.join("t.yaml"), TOPOLOGY).unwrap();
        std::fs::write(root.join("enrich.py"), ENRICH).unwrap();
        std::fs::write(root.join("crashy.py"), CRASHY).unwrap();
        let mut events = String::new();
        for (ty, n) in [("a", 2), ("b", 2), ("c", 5), ("d", 1)] {
            for i in 1..=n {
                events += &format!(
                    "{{\"specversion\":\"1.0\",\"id\":\"{ty}{i}\",\"source\":\"/src\",\"type\":\"{ty}\",\"time\":\"2024-01-01T00:00:0{i}Z\",\"data\":{{\"n\":{i}}}}}\n"
                );
            }
        }
        std::fs::write(root.join("events.jsonl"), events).unwrap();
        Setup { _dir: dir, root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// `--service` specs: the deterministic co-processes, and `crashy` when asked.
    fn services(&self, crashy: bool) -> Vec<String> {
        let mut s = vec![
            format!("enrich=exec:python3 {}", self.path("enrich.py").display()),
            "quiet=exec:while read -r line; do echo null; done".to_string(),
            "garbage=exec:while read -r line; do echo 'oops, not JSON'; done".to_string(),
        ];
        if crashy {
            s.push(format!(
                "crashy=exec:python3 {}",
                self.path("crashy.py").display()
            ));
        }
        s
    }
}

fn replay(setup: &Setup, services: &[String], workers: &str, out: &Path) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eventflow"));
    cmd.args(["replay", "-q", "--workers", workers, "-f"])
        .arg(setup.path("t.yaml"))
        .arg("--events")
        .arg(setup.path("events.jsonl"))
        .arg("--out")
        .arg(out);
    for s in services {
        cmd.arg("--service").arg(s);
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    stderr
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn with<'a>(records: &'a [Value], subscriber: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["subscriber"] == format!("Service/default/{subscriber}"))
        .collect()
}

#[test]
fn replay_through_co_processes() {
    let setup = Setup::new();
    let out = setup.path("out.jsonl");
    let stderr = replay(&setup, &setup.services(true), "2", &out);
    let recs = records(&out);

    // The enrich co-process saw the event as the Broker delivers it and its reply re-entered
    // the Broker, reaching the `enriched` Trigger.
    let enrich = with(&recs, "enrich");
    assert_eq!(enrich.len(), 2);
    assert!(enrich
        .iter()
        .all(|r| r["outcome"] == "delivered" && r["attempts"] == 1));
    let mut sink: Vec<&Value> = with(&recs, "sink");
    sink.sort_by_key(|r| r["event"]["id"].as_str().unwrap().to_string());
    assert_eq!(sink.len(), 2);
    assert_eq!(sink[0]["via"], "Trigger/default/on-enriched");
    assert_eq!(sink[0]["event"]["id"], "enriched-a1");
    assert_eq!(sink[0]["event"]["source"], "/enrich");
    assert_eq!(
        sink[0]["event"]["data"],
        serde_json::json!({"original": "a", "data": {"n": 1}, "stamped": true, "ttl_stripped": true})
    );
    assert_eq!(sink[1]["event"]["id"], "enriched-a2");

    // `null` answers: delivered, no reply.
    let quiet = with(&recs, "quiet");
    assert_eq!(quiet.len(), 2);
    assert!(quiet
        .iter()
        .all(|r| r["outcome"] == "delivered" && r["attempts"] == 1));

    // The crashy process answers two events and exits; the third call fails (counted as a
    // failed attempt), the retry restarts it. Five events: every one delivered, in 5 + 2
    // attempts whatever the order the pool called it in.
    let crashy = with(&recs, "crashy");
    assert_eq!(crashy.len(), 5);
    assert!(
        crashy.iter().all(|r| r["outcome"] == "delivered"),
        "{crashy:?}"
    );
    let attempts: u64 = crashy.iter().map(|r| r["attempts"].as_u64().unwrap()).sum();
    assert_eq!(attempts, 7, "{crashy:?}");
    assert!(
        stderr.contains("without answering; restarting it on the next call"),
        "{stderr}"
    );

    // Garbage: 502 on each of the 3 attempts, then the Broker's dead-letter sink.
    let garbage = with(&recs, "garbage");
    assert_eq!(garbage.len(), 1);
    assert_eq!(garbage[0]["outcome"], "dead-lettered");
    assert_eq!(garbage[0]["attempts"], 3);
    let dls = with(&recs, "dls");
    assert_eq!(dls.len(), 1);
    assert_eq!(dls[0]["via"], "Trigger/default/to-garbage");
    assert_eq!(dls[0]["event"]["id"], "d1");
    assert_eq!(dls[0]["event"]["knativeerrorcode"], 502);
    let data = base64::engine::general_purpose::STANDARD
        .decode(dls[0]["event"]["knativeerrordata"].as_str().unwrap())
        .unwrap();
    let data = String::from_utf8(data).unwrap();
    assert!(
        data.starts_with(
            "dispatch error: exec: the answer is neither a CloudEvent nor null: invalid JSON"
        ),
        "{data}"
    );
    assert_eq!(recs.len(), 2 + 2 + 2 + 5 + 1 + 1);
}

#[test]
fn replay_with_deterministic_co_processes_is_byte_identical() {
    let setup = Setup::new();
    let services = setup.services(false);
    let mut logs = Vec::new();
    for (i, workers) in ["1", "2", "1"].iter().enumerate() {
        let out = setup.path(&format!("d{i}.jsonl"));
        replay(&setup, &services, workers, &out);
        logs.push(std::fs::read(&out).unwrap());
    }
    assert!(!logs[0].is_empty());
    assert_eq!(logs[0], logs[1], "1 vs 2 workers");
    assert_eq!(logs[0], logs[2], "two runs");
}

#[test]
fn exec_bindings_are_checked_when_parsed() {
    let setup = Setup::new();
    let o = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["replay", "-q", "-f"])
        .arg(setup.path("t.yaml"))
        .arg("--events")
        .arg(setup.path("events.jsonl"))
        .args(["--service", "enrich=exec:"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("expected exec:COMMAND"), "{err}");
}

#[test]
fn run_calls_the_co_process_live() {
    let setup = Setup::new();
    let receiver = loopback::Recorder::start();
    let mut args: Vec<String> = Vec::new();
    for s in setup.services(false) {
        args.push("--service".into());
        args.push(s);
    }
    args.push("--service".into());
    args.push(format!("sink={}", receiver.url("/sink")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = loopback::Run::start(&setup.path("t.yaml"), &args);
    let status = loopback::post_event(run.addr, "/default/default", "live-1", "a", "{\"n\":7}");
    assert_eq!(status, 202);
    let seen = receiver.wait_for(1);
    let stopped = run.stop();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    assert_eq!(seen.len(), 1, "{}", stopped.stderr);
    let r = &seen[0];
    assert_eq!(r.path, "/sink");
    assert_eq!(r.headers["ce-id"], "enriched-live-1");
    assert_eq!(r.headers["ce-type"], "enriched");
    let data: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(data["original"], "a");
    assert_eq!(data["data"], serde_json::json!({"n": 7}));
    assert!(
        stopped
            .stdout
            .contains("Service/default/enrich <- Trigger/default/to-enrich"),
        "{}",
        stopped.stdout
    );
}

//! The event registry (issue 6): counts after replaying the bundled GitHub log match counts
//! computed here independently from the log with serde_json; declared vs observed; the YAML
//! for undeclared types loads back and declares them.
//!
//! Decision pinned here: the registry observes every event that *arrives at* an ingress node,
//! so a reply that re-enters a Broker is observed there again (as Knative's EventType
//! auto-creation does at Broker ingress and for replies).

use eventflow::engine::input::{Chunk, ChunkBody};
use eventflow::engine::registry::{Observed, Registry};
use eventflow::engine::run::{run, RunOptions};
use eventflow::{Bindings, Event, Reply};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (type, source, dataschema) → (count, first ms, last ms).
type Counts = BTreeMap<(String, String, Option<String>), (u64, i64, i64)>;

fn log_lines() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("examples/github/events.jsonl")).unwrap();
    text.lines().map(str::to_string).collect()
}

/// Independent count: every line of the log, optionally only those matching `keep`.
fn independent(keep: impl Fn(&Value) -> bool) -> Counts {
    let mut out = Counts::new();
    for line in log_lines() {
        let v: Value = serde_json::from_str(&line).unwrap();
        if !keep(&v) {
            continue;
        }
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let ms = chrono::DateTime::parse_from_rfc3339(&s("time").unwrap())
            .unwrap()
            .timestamp_millis();
        let key = (s("type").unwrap(), s("source").unwrap(), s("dataschema"));
        let e = out.entry(key).or_insert((0, ms, ms));
        e.0 += 1;
        e.1 = e.1.min(ms);
        e.2 = e.2.max(ms);
    }
    out
}

/// Replays the log (in 40-line chunks, so many epochs) with the registry on.
fn replay(
    manifests: &[&str],
    bindings: &Bindings,
    workers: usize,
) -> (Vec<Observed>, Arc<eventflow::planner::plan::Plan>) {
    let paths: Vec<PathBuf> = manifests.iter().map(|m| root().join(m)).collect();
    let loaded = eventflow::load(&paths).unwrap();
    let plan = Arc::new(loaded.plan);
    let entry = plan.entry(Some("broker/github"), None).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded::<Chunk>();
    for (i, lines) in log_lines().chunks(40).enumerate() {
        let chunk = Chunk {
            index: i as u64,
            first_line: (i * 40 + 1) as u64,
            body: ChunkBody::Lines(lines.join("\n")),
        };
        tx.send(chunk).unwrap();
    }
    drop(tx);
    let registry = Registry::new();
    let opts = RunOptions {
        workers,
        entry,
        registry: Some(registry.clone()),
        ..RunOptions::default()
    };
    let report = run(plan.clone(), bindings, rx, opts).unwrap();
    assert_eq!(report.accepted, 273);
    (registry.snapshot(), plan)
}

fn at(observed: &[Observed], plan: &eventflow::planner::plan::Plan, node: &str) -> Counts {
    observed
        .iter()
        .filter(|o| plan.nodes[o.node as usize].name == node)
        .map(|o| {
            let key = (o.ty.clone(), o.source.clone(), o.schema.clone());
            (key, (o.seen.count, o.seen.first, o.seen.last))
        })
        .collect()
}

#[test]
fn broker_counts_match_the_log() {
    let (observed, plan) = replay(&["examples/github/topology.yaml"], &Bindings::new(), 1);
    let want = independent(|_| true);
    assert_eq!(want.values().map(|c| c.0).sum::<u64>(), 273);
    assert_eq!(at(&observed, &plan, "Broker/default/github"), want);
}

#[test]
fn channel_counts_match_the_log_and_workers_agree() {
    let (one, plan) = replay(&["examples/github/topology.yaml"], &Bindings::new(), 1);
    // Trigger archive-hello-world: source = the Hello-World API URL → InMemoryChannel archive.
    let hello = "https://api.github.com/repos/Codertocat/Hello-World";
    let want = independent(|v| v["source"] == hello);
    assert_eq!(at(&one, &plan, "InMemoryChannel/default/archive"), want);
    let (two, _) = replay(&["examples/github/topology.yaml"], &Bindings::new(), 2);
    assert_eq!(one, two);
}

#[test]
fn replies_reentering_the_broker_are_observed() {
    // ci-runner answers every push with one `com.github.ci.started` reply, which re-enters
    // Broker/default/github (a Trigger reply goes back to its Broker).
    let mut bindings = Bindings::new();
    let reply = |e: &Event| {
        if &*e.ty == "com.github.push" {
            let mut r = Event::new(&format!("{}-ci", e.id), "/ci", "com.github.ci.started");
            r.time = e.time.clone();
            Reply::Event(r)
        } else {
            Reply::None
        }
    };
    bindings.bind("ci-runner", Arc::new(reply));
    let (observed, plan) = replay(&["examples/github/topology.yaml"], &bindings, 1);
    let broker = at(&observed, &plan, "Broker/default/github");
    let pushes: u64 = independent(|v| v["type"] == "com.github.push")
        .values()
        .map(|c| c.0)
        .sum();
    let key = ("com.github.ci.started".to_string(), "/ci".to_string(), None);
    assert_eq!(broker.get(&key).map(|c| c.0), Some(pushes));
    assert_eq!(broker.values().map(|c| c.0).sum::<u64>(), 273 + pushes);
}

fn cli(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn declared_versus_observed_and_yaml_round_trip() {
    let base = [
        "registry",
        "-f",
        "examples/github/topology.yaml",
        "-f",
        "examples/github/eventtypes.yaml",
        "--events",
        "examples/github/events.jsonl",
    ];
    let json: Value =
        serde_json::from_str(&cli(&[&base[..], &["--format", "json"]].concat())).unwrap();
    let declared = json["declared"].as_array().unwrap();
    let seen = |name: &str| {
        declared
            .iter()
            .find(|d| d["name"] == name)
            .map(|d| d["seen"].as_u64().unwrap())
    };
    // v1beta2 with reference, v1alpha1 with broker, v1beta3 with a {placeholder} source.
    assert_eq!(seen("EventType/default/push"), Some(6));
    assert_eq!(seen("EventType/default/issue-opened"), Some(4));
    assert_eq!(seen("EventType/default/pull-request-opened"), Some(3));
    assert_eq!(seen("EventType/default/marketplace-purchase"), Some(0));
    let observed = json["observed"].as_array().unwrap();
    let undeclared = observed
        .iter()
        .filter(|r| r["declared_by"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(undeclared, observed.len() - 3);

    let table = cli(&base);
    assert!(table.contains("declared, never seen: 1\n  EventType/default/marketplace-purchase"));
    assert!(table.contains(&format!(
        "seen, never declared: {undeclared} at 5 ingress(es)"
    )));

    // The YAML for the undeclared ones loads back and declares every observation.
    let yaml = cli(&[&base[..], &["--format", "yaml"]].concat());
    assert_eq!(yaml.matches("kind: EventType").count(), undeclared);
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("generated.yaml");
    std::fs::write(&generated, &yaml).unwrap();
    let g = generated.to_str().unwrap();
    let again = cli(&[&base[..], &["-f", g, "--format", "yaml"]].concat());
    assert_eq!(
        again,
        "# every observed event type is declared by an EventType\n"
    );
}

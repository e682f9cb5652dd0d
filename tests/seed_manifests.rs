//! The seed's own manifests (CronJobSource, ContainerSource, Channel, Subscription, Sequence,
//! Parallel, Trigger with `sourceAndType`) validate, and the routable ones replay.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest(prefix: &str) -> String {
    let dir = root().join("tests/data/knative-manifests");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    dir.join(&names[0]).to_string_lossy().to_string()
}

fn eventflow(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

const EVENTS: &str = r#"{"specversion":"1.0","id":"1","source":"dev.knative.bar","type":"dev.knative.foo","data":{"n":1}}
{"specversion":"1.0","id":"2","source":"/cron","type":"dev.knative.cronjob.event","data":{"n":2}}
{"specversion":"0.3","id":"3","source":"/cron","type":"dev.knative.cronjob.event","data":{"n":3}}
"#;

/// Replays EVENTS; returns counts per `subscriber <- via` from the delivery log.
fn replay(file: &str, into: &str, services: &[&str]) -> BTreeMap<String, u64> {
    let dir = std::env::temp_dir().join(format!(
        "eventflow-seed-{}-{}",
        std::process::id(),
        into.replace('/', "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (events, out) = (dir.join("events.jsonl"), dir.join("out.jsonl"));
    std::fs::write(&events, EVENTS).unwrap();
    let mut args = vec![
        "replay",
        "-q",
        "-f",
        file,
        "--events",
        events.to_str().unwrap(),
        "--into",
        into,
        "--out",
        out.to_str().unwrap(),
    ];
    for s in services {
        args.extend(["--service", s]);
    }
    let o = eventflow(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(out).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = format!(
            "{} <- {}",
            v["subscriber"].as_str().unwrap(),
            v["via"].as_str().unwrap()
        );
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn seed_manifests_validate() {
    for prefix in ["01", "03", "04", "07", "08", "09", "10"] {
        let o = eventflow(&["validate", "-f", &manifest(prefix)]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && stdout.starts_with("valid:"),
            "{prefix}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn trigger_source_and_type_replays() {
    // v1alpha1 Triggers on the implicit default Broker: two unfiltered, one on type
    // dev.knative.foo, one on source dev.knative.bar, one on both (sourceAndType).
    let got = replay(&manifest("01"), "broker/default", &[]);
    let via = |t: &str| format!("Service/default/message-dumper <- Trigger/default/{t}");
    assert_eq!(got.get(&via("knative-service-default-broker")), Some(&3));
    assert_eq!(got.get(&via("k8s-service-default-broker")), Some(&3));
    assert_eq!(got.get(&via("filtering-type")), Some(&1));
    assert_eq!(got.get(&via("filtering-source")), Some(&1));
}

#[test]
fn sequence_v1alpha1_replays_through_three_steps() {
    let got = replay(
        &manifest("04"),
        "sequence/sequence",
        &["first=echo", "second=echo", "third=echo"],
    );
    assert_eq!(
        got,
        map(&[
            (
                "Service/default/event-display <- Sequence/default/sequence/reply",
                3
            ),
            (
                "Service/default/first <- Sequence/default/sequence/step/0",
                3
            ),
            (
                "Service/default/second <- Sequence/default/sequence/step/1",
                3
            ),
            (
                "Service/default/third <- Sequence/default/sequence/step/2",
                3
            ),
        ])
    );
    // A step that only acknowledges ends the chain.
    let got = replay(&manifest("04"), "sequence/sequence", &["first=echo"]);
    assert_eq!(got.len(), 2, "{got:?}");
}

#[test]
fn parallel_v1alpha1_filter_reply_selects_the_branch() {
    let got = replay(
        &manifest("07"),
        "parallel/odd-even-parallel",
        &["even-filter=echo", "even-transformer=echo"],
    );
    assert_eq!(
        got,
        map(&[
            ("Service/default/even-filter <- Parallel/default/odd-even-parallel/branch/0/filter", 3),
            ("Service/default/even-transformer <- Parallel/default/odd-even-parallel/branch/0/subscriber", 3),
            ("Service/default/event-display <- Parallel/default/odd-even-parallel/reply", 3),
            ("Service/default/odd-filter <- Parallel/default/odd-even-parallel/branch/1/filter", 3),
        ])
    );
}

#[test]
fn channel_and_subscriptions_replay() {
    let got = replay(&manifest("10"), "channel/camel-test", &[]);
    assert_eq!(
        got,
        map(&[(
            "Service/default/camel-event-display <- Subscription/default/camel-source-display",
            3
        )])
    );
}

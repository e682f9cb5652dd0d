//! JetStream-backed channels without a server: what `plan` shows, and the clear errors `run`
//! and `replay --from-channel` give when NATS is not configured or not reachable.

#![cfg(feature = "nats")]

use std::process::Command;

const YAML: &str = "\
apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata: {name: orders, namespace: shop}
spec:
  stream: {config: {maxAge: 24h}}
---
apiVersion: messaging.knative.dev/v1
kind: Channel
metadata: {name: audit, namespace: shop}
spec:
  channelTemplate: {apiVersion: messaging.knative.dev/v1alpha1, kind: NatsJetStreamChannel}
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: {name: scratch, namespace: shop}
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: shop
  annotations: {eventing.knative.dev/broker.class: NatsJetStreamBroker}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: in-order
  namespace: shop
  annotations: {kafka.eventing.knative.dev/delivery.order: ordered}
spec:
  broker: default
  subscriber: {ref: {apiVersion: v1, kind: Service, name: billing}}
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata: {name: steps, namespace: shop}
spec:
  channelTemplate: {apiVersion: messaging.knative.dev/v1alpha1, kind: NatsJetStreamChannel}
  steps:
  - ref: {apiVersion: v1, kind: Service, name: one}
  - ref: {apiVersion: v1, kind: Service, name: two}
";

fn eventflow(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(args)
        .env_remove("NATS_URL")
        .current_dir(dir)
        .output()
        .expect("run eventflow")
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), YAML).unwrap();
    dir
}

#[test]
fn plan_marks_jetstream_backed_nodes() {
    let dir = setup();
    let o = eventflow(&["plan", "-f", "m.yaml"], dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let durable: Vec<&str> = text.lines().filter(|l| l.contains("durable:")).collect();
    assert_eq!(
        durable,
        [
            "  durable: JetStream stream KN_BROKER_SHOP__DEFAULT, subjects shop.default._knative_broker.> (ordered per partitionkey, 16 partitions)",
            "  durable: JetStream stream KN_SHOP__ORDERS, subjects shop.orders._knative.> (unordered, 16 partitions)",
            "  durable: JetStream stream KN_SHOP__AUDIT, subjects shop.audit._knative.> (unordered, 16 partitions)",
            "  durable: JetStream stream KN_SHOP__STEPS_KN_SEQUENCE_0, subjects shop.steps-kn-sequence-0._knative.> (unordered, 16 partitions)",
        ],
        "{text}"
    );
    let o = eventflow(&["plan", "-f", "m.yaml", "--format", "json"], dir.path());
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let backed: Vec<(String, String, bool)> = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n.get("jetstream").is_some())
        .map(|n| {
            let js = &n["jetstream"];
            (
                n["name"].as_str().unwrap().to_string(),
                js["stream"].as_str().unwrap().to_string(),
                js["ordered"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(backed.len(), 4);
    assert_eq!(
        backed[0],
        (
            "Broker/shop/default".to_string(),
            "KN_BROKER_SHOP__DEFAULT".to_string(),
            true
        )
    );
    // The in-memory channel and the Sequence's second channel are not backed.
    assert!(!text.contains("KN_SHOP__SCRATCH"));
    assert!(!text.contains("STEPS_KN_SEQUENCE_1"));
}

#[test]
fn run_without_nats_url_says_what_needs_it() {
    let dir = setup();
    let o = eventflow(
        &["run", "-f", "m.yaml", "--listen", "127.0.0.1:0"],
        dir.path(),
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Broker/shop/default, NatsJetStreamChannel/shop/orders, Channel/shop/audit, Sequence/shop/steps are backed by NATS JetStream: pass --nats URL or set NATS_URL"),
        "{err}"
    );
}

#[test]
fn run_with_unreachable_nats_names_the_url() {
    let dir = setup();
    // Port 1 on loopback: nothing listens there.
    let url = "nats://127.0.0.1:1";
    let o = eventflow(
        &[
            "run",
            "-f",
            "m.yaml",
            "--listen",
            "127.0.0.1:0",
            "--nats",
            url,
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot connect to NATS at nats://127.0.0.1:1"),
        "{err}"
    );
    assert!(err.contains("nats-server -js"), "{err}");
}

#[test]
fn replay_from_an_in_memory_channel_is_refused() {
    let dir = setup();
    let o = eventflow(
        &[
            "replay",
            "-f",
            "m.yaml",
            "--from-channel",
            "shop/scratch",
            "--nats",
            "nats://127.0.0.1:1",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("InMemoryChannel/shop/scratch is not backed by JetStream"),
        "{err}"
    );
}

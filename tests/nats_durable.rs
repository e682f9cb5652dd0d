//! Durable channels on NATS JetStream, end to end (issue 5): `eventflow run --nats` behind its
//! HTTP ingress, a real `nats-server -js` (started here, temporary store), a loopback receiver
//! for the subscribers. Needs `nats-server` on PATH:
//! `cargo test --features nats-tests --test nats_durable` (`.ci/run` installs and runs it).

#![cfg(feature = "nats-tests")]

mod nats_common;

use nats_common::{
    free_port, manifests, receiver, wait_until, Client, Eventflow, NatsServer, Seen,
};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A NatsJetStreamChannel `orders` with Subscriptions delivering to `/a` and `/b`.
fn channel_yaml(port: u16) -> String {
    let sub = |name: &str, path: &str| {
        format!(
            "---\napiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  channel: {{apiVersion: messaging.knative.dev/v1alpha1, kind: NatsJetStreamChannel, name: orders}}\n  subscriber: {{uri: \"http://127.0.0.1:{port}{path}\"}}\n"
        )
    };
    format!(
        "apiVersion: messaging.knative.dev/v1alpha1\nkind: NatsJetStreamChannel\nmetadata: {{name: orders, namespace: default}}\n{}{}",
        sub("to-a", "/a"),
        sub("to-b", "/b")
    )
}

/// Sends events `0..n` from `threads` producers until every one was answered 202; returns the
/// ids acknowledged. Refused or failed sends are retried (the ingress may be down).
fn produce(port: u16, n: usize, threads: usize, acked: &Arc<AtomicUsize>) -> HashSet<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(Mutex::new(HashSet::new()));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (next, ok, acked) = (next.clone(), ok.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut client = Client::new(port);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    let id = format!("e{i}");
                    while client.post_event("/channels/default/orders", &id, "") != Some(202) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    ok.lock().unwrap().insert(id);
                    acked.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("producer");
    }
    let ok = ok.lock().unwrap().clone();
    ok
}

/// Per path: (distinct ids, total deliveries).
fn tally(seen: &Seen) -> HashMap<String, (HashSet<String>, usize)> {
    let mut out: HashMap<String, (HashSet<String>, usize)> = HashMap::new();
    for (path, id) in seen.lock().unwrap().iter() {
        let e = out.entry(path.clone()).or_default();
        e.0.insert(id.clone());
        e.1 += 1;
    }
    out
}

fn all_delivered(seen: &Seen, ids: &HashSet<String>, paths: &[&str]) -> bool {
    let t = tally(seen);
    paths
        .iter()
        .all(|p| t.get(*p).is_some_and(|(got, _)| ids.is_subset(got)))
}

fn report_duplicates(what: &str, seen: &Seen, paths: &[&str]) -> usize {
    let t = tally(seen);
    let mut dups = 0;
    for p in paths {
        let (ids, total) = &t[*p];
        println!(
            "{what}: {p}: {} distinct events, {total} deliveries, {} duplicates",
            ids.len(),
            total - ids.len()
        );
        dups += total - ids.len();
    }
    dups
}

#[test]
fn kill_9_mid_stream_loses_no_acknowledged_event() {
    const N: usize = 10_000;
    let t0 = std::time::Instant::now();
    let nats = NatsServer::start();
    let (sub_port, seen) = receiver();
    let (dir, yaml) = manifests(&channel_yaml(sub_port));
    let port = free_port();
    let log = dir.path().join("run.log");
    let args = ["--nats-ack-wait", "2"];
    let first = Eventflow::start(&yaml, port, &nats.url(), &args, &log);
    let acked = Arc::new(AtomicUsize::new(0));
    let producer = {
        let acked = acked.clone();
        std::thread::spawn(move || produce(port, N, 4, &acked))
    };
    wait_until(Duration::from_secs(120), "a third of the events", || {
        acked.load(Ordering::SeqCst) >= N / 3
    });
    first.kill9();
    let killed_at = acked.load(Ordering::SeqCst);
    let second = Eventflow::start(
        &yaml,
        port,
        &nats.url(),
        &args,
        &dir.path().join("run2.log"),
    );
    println!(
        "kill -9 at {:?}; restarted at {:?}",
        killed_at,
        t0.elapsed()
    );
    let ids = producer.join().expect("producer");
    println!("all {N} acknowledged at {:?}", t0.elapsed());
    assert_eq!(ids.len(), N, "every event was eventually acknowledged");
    wait_until(
        Duration::from_secs(180),
        "every acknowledged event at both subscribers",
        || all_delivered(&seen, &ids, &["/a", "/b"]),
    );
    println!("all delivered at {:?}", t0.elapsed());
    let dups = report_duplicates("kill -9", &seen, &["/a", "/b"]);
    println!("kill -9 after {killed_at} acknowledged events; {dups} duplicate deliveries in all");
    assert!(second.stop(), "eventflow exits cleanly on SIGTERM");
    let summary = std::fs::read_to_string(dir.path().join("run2.log")).unwrap();
    assert!(summary.contains("jetstream received"), "{summary}");
}

#[test]
fn nats_server_restart_mid_stream_loses_no_acknowledged_event() {
    const N: usize = 3_000;
    let mut nats = NatsServer::start();
    let (sub_port, seen) = receiver();
    let (dir, yaml) = manifests(&channel_yaml(sub_port));
    let port = free_port();
    let log = dir.path().join("run.log");
    let engine = Eventflow::start(&yaml, port, &nats.url(), &["--nats-ack-wait", "2"], &log);
    let acked = Arc::new(AtomicUsize::new(0));
    let producer = {
        let acked = acked.clone();
        std::thread::spawn(move || produce(port, N, 4, &acked))
    };
    wait_until(Duration::from_secs(120), "a third of the events", || {
        acked.load(Ordering::SeqCst) >= N / 3
    });
    nats.stop();
    std::thread::sleep(Duration::from_millis(500));
    nats.restart();
    let ids = producer.join().expect("producer");
    assert_eq!(ids.len(), N);
    wait_until(
        Duration::from_secs(180),
        "every acknowledged event at both subscribers",
        || all_delivered(&seen, &ids, &["/a", "/b"]),
    );
    let dups = report_duplicates("nats restart", &seen, &["/a", "/b"]);
    println!("nats-server restarted mid-stream; {dups} duplicate deliveries in all");
    assert!(engine.stop(), "eventflow exits cleanly on SIGTERM");
    let summary = std::fs::read_to_string(&log).unwrap();
    assert!(summary.contains("jetstream acked"), "{summary}");

    // What the channel stored can be replayed through the topology like a log.
    let out = dir.path().join("replayed.jsonl");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["replay", "-q", "-f"])
        .arg(&yaml)
        .args([
            "--from-channel",
            "default/orders",
            "--nats",
            &nats.url(),
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("replay");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let records = std::fs::read_to_string(&out).unwrap();
    let replayed: HashSet<String> = records
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(replayed, ids, "the stream holds every acknowledged event");
    assert_eq!(records.lines().count() % 2, 0, "two subscribers per event");
    // From a point after everything: nothing to replay.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["replay", "-q", "-f"])
        .arg(&yaml)
        .args(["--from-channel", "default/orders", "--nats", &nats.url()])
        .args(["--since", "2999-01-01T00:00:00Z", "--out"])
        .arg(dir.path().join("none.jsonl"))
        .output()
        .expect("replay --since");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("none.jsonl")).unwrap(),
        ""
    );
}

#[test]
fn ordered_trigger_delivers_in_order_per_partitionkey() {
    let nats = NatsServer::start();
    let (sub_port, seen) = receiver();
    let yaml = format!(
        "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: shop\n  namespace: default\n  annotations: {{eventing.knative.dev/broker.class: NatsJetStreamBroker}}\n---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: in-order\n  namespace: default\n  annotations: {{kafka.eventing.knative.dev/delivery.order: ordered}}\nspec:\n  broker: shop\n  subscriber: {{uri: \"http://127.0.0.1:{sub_port}/ordered\"}}\n"
    );
    let (dir, path) = manifests(&yaml);
    let port = free_port();
    let engine = Eventflow::start(&path, port, &nats.url(), &[], &dir.path().join("run.log"));
    // Four keys, 100 events each, interleaved; each key's events are sent in order.
    let keys = ["red", "green", "blue", "cyan"];
    let mut client = Client::new(port);
    for i in 0..100 {
        for k in keys {
            let id = format!("{k}-{i:03}");
            let header = format!("ce-partitionkey: {k}\r\n");
            while client.post_event("/default/shop", &id, &header) != Some(202) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    wait_until(Duration::from_secs(120), "400 deliveries", || {
        seen.lock().unwrap().len() >= 400
    });
    let got = seen.lock().unwrap().clone();
    for k in keys {
        let order: Vec<&str> = got
            .iter()
            .map(|(_, id)| id.as_str())
            .filter(|id| id.starts_with(&format!("{k}-")))
            .collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(order, sorted, "events of key {k} arrived out of order");
        assert_eq!(order.len(), 100);
    }
    assert!(engine.stop());
}

#[test]
fn library_engine_with_nats_delivers_what_it_stored() {
    let nats = NatsServer::start();
    let (_dir, path) = manifests(&channel_yaml(1).replace(
        "uri: \"http://127.0.0.1:1/a\"",
        "ref: {apiVersion: v1, kind: Service, name: counter}",
    ));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let engine = eventflow::Engine::from_paths([&path])
        .expect("manifests")
        .nats(&nats.url())
        .bind("counter", move |e: &eventflow::Event| {
            s.lock().unwrap().push(e.id.to_string());
            eventflow::Reply::None
        })
        .bind("http://127.0.0.1:1/b", |_: &eventflow::Event| {
            eventflow::Reply::None
        })
        .start()
        .expect("start with NATS");
    for i in 0..100 {
        let event = eventflow::Event::new(&format!("lib-{i}"), "/lib", "t");
        engine.send("channel/orders", event).expect("stored");
    }
    wait_until(Duration::from_secs(60), "100 deliveries", || {
        seen.lock().unwrap().len() >= 100
    });
    let stats = engine.jetstream_stats().expect("JetStream in use");
    assert_eq!(stats.stored, 100);
    let report = engine.shutdown().expect("shutdown");
    assert_eq!(
        report.per_via["Service/default/counter <- Subscription/default/to-a"],
        100
    );
}

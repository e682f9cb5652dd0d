//! The HTTP ingress hook for durable nodes, with a store of our own instead of JetStream (no
//! server needed): 202 only once the store resolved, 503 `store_unavailable` when it failed,
//! in-memory nodes untouched, and the store's metrics and readiness served.

mod nats_common;

use eventflow::connectors::http::{DurableStore, HttpConfig, HttpIngress, StoreError, StoreFuture};
use eventflow::engine::live::LiveEngine;
use eventflow::planner::plan::NodeId;
use eventflow::{Bindings, Event};
use nats_common::Client;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const YAML: &str = "\
apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata: {name: durable, namespace: default}
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: {name: volatile, namespace: default}
";

/// Keeps what it is given; refuses while `down`.
#[derive(Default)]
struct Fake {
    nodes: Vec<NodeId>,
    kept: Mutex<Vec<String>>,
    down: AtomicBool,
}

/// The store handle the ingress holds.
struct Handle(Arc<Fake>);

impl DurableStore for Handle {
    fn is_durable(&self, node: NodeId) -> bool {
        self.0.nodes.contains(&node)
    }

    fn store(&self, _node: NodeId, event: Event) -> StoreFuture {
        let me = self.0.clone();
        Box::pin(async move {
            if me.down.load(Ordering::SeqCst) {
                return Err(StoreError("server unreachable".into()));
            }
            me.kept.lock().unwrap().push(event.id.to_string());
            Ok(())
        })
    }

    fn ready(&self) -> bool {
        !self.0.down.load(Ordering::SeqCst)
    }

    fn metrics(&self) -> String {
        format!("fake_kept_total {}\n", self.0.kept.lock().unwrap().len())
    }
}

fn body(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn durable_nodes_answer_after_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, YAML).unwrap();
    let loaded = eventflow::load(&[&path]).unwrap();
    let plan = Arc::new(loaded.plan);
    let durable = plan.entry(Some("channel/durable"), None).unwrap();
    assert!(plan.jetstream_of(durable).is_some());
    let fake = Arc::new(Fake {
        nodes: vec![durable],
        ..Fake::default()
    });
    let engine = LiveEngine::start(plan.clone(), Bindings::new(), 1).unwrap();
    let config = HttpConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..HttpConfig::default()
    };
    let store: Arc<dyn DurableStore> = Arc::new(Handle(fake.clone()));
    let server =
        HttpIngress::start_with_store(&plan, engine.sender(), &config, Some(store)).unwrap();
    let port = server.local_addr().port();
    let mut c = Client::new(port);
    assert_eq!(
        c.post_event("/channels/default/durable", "d1", ""),
        Some(202)
    );
    assert_eq!(
        c.post_event("/channels/default/volatile", "v1", ""),
        Some(202)
    );
    // Ready once the engine's workers have started (a few ms after start).
    let mut ready = None;
    for _ in 0..200 {
        ready = c.get("/readyz");
        if ready == Some(200) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(ready, Some(200));
    fake.down.store(true, Ordering::SeqCst);
    assert_eq!(
        c.post_event("/channels/default/durable", "d2", ""),
        Some(503)
    );
    assert_eq!(c.get("/readyz"), Some(503));
    // The in-memory channel does not depend on the store.
    assert_eq!(
        c.post_event("/channels/default/volatile", "v2", ""),
        Some(202)
    );
    assert_eq!(*fake.kept.lock().unwrap(), ["d1"]);
    let metrics = body(port, "/metrics");
    assert!(metrics.contains("fake_kept_total 1"), "{metrics}");
    assert!(
        metrics.contains("reason=\"store_unavailable\"} 1"),
        "{metrics}"
    );
    drop(server);
    let report = engine.shutdown().unwrap();
    // Only the in-memory events reached the engine; the stored one waits for its consumer.
    assert_eq!(report.accepted, 2);
}

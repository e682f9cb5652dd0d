//! Ordered delivery per `partitionkey` (Trigger annotation
//! `kafka.eventing.knative.dev/delivery.order: ordered`, knative-semantics.md §5): one
//! delivery in flight per key, in the order the events were sent — even with a blocking
//! subscriber that answers in a random time and several workers.

use eventflow::engine::live::{LiveEngine, LiveOptions};
use eventflow::engine::service::Subscriber;
use eventflow::planner::event::ExtValue;
use eventflow::{Event, Reply};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOPOLOGY: &str = r#"
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: in-order
  namespace: default
  annotations:
    kafka.eventing.knative.dev/delivery.order: ordered
spec:
  broker: default
  subscriber: {ref: {apiVersion: v1, kind: Service, name: slow}}
"#;

/// Records (key, n) per call; sleeps a pseudo-random 0–1.5 ms; counts calls in flight per key.
#[derive(Default)]
struct Slow {
    seen: Mutex<Vec<(String, u32)>>,
    in_flight: Mutex<HashMap<String, usize>>,
    overlaps: AtomicUsize,
}

impl Subscriber for Slow {
    fn call(&self, e: &Event) -> Reply {
        let key = match e.extension("partitionkey") {
            Some(ExtValue::String(s)) => s.to_string(),
            _ => String::new(),
        };
        {
            let mut f = self.in_flight.lock().unwrap();
            let n = f.entry(key.clone()).or_default();
            *n += 1;
            if *n > 1 {
                self.overlaps.fetch_add(1, Ordering::SeqCst);
            }
        }
        let n: u32 = e.id.split('-').nth(1).unwrap().parse().unwrap();
        std::thread::sleep(Duration::from_micros(u64::from((n * 7919) % 1500)));
        self.seen.lock().unwrap().push((key.clone(), n));
        *self.in_flight.lock().unwrap().get_mut(&key).unwrap() -= 1;
        Reply::None
    }
    fn blocking(&self) -> bool {
        true
    }
}

#[test]
fn each_partition_key_is_delivered_in_order_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, TOPOLOGY).unwrap();
    let plan = Arc::new(eventflow::load(&[&path]).unwrap().plan);
    assert!(plan.edges[0].policy.ordered);
    assert!(plan
        .to_text()
        .contains("ordered: one delivery in flight per partitionkey"));
    let node = plan.entry(Some("broker/default"), None).unwrap();
    let slow = Arc::new(Slow::default());
    let mut bindings = eventflow::Bindings::new();
    bindings.bind("slow", slow.clone());
    let opts = LiveOptions {
        workers: 2,
        ..Default::default()
    };
    let engine = LiveEngine::start_with(plan, bindings, opts).unwrap();
    let keys = ["a", "b", "c", "d"];
    for n in 0..60u32 {
        for k in keys {
            let mut e = Event::new(&format!("{k}-{n}"), "/t", "t");
            e.set_extension("partitionkey", ExtValue::String(k.into()));
            engine.send(node, e).unwrap();
        }
        if n % 10 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let report = engine.shutdown().unwrap();
    assert_eq!(report.accepted, 240);
    let seen = slow.seen.lock().unwrap();
    assert_eq!(seen.len(), 240);
    for k in keys {
        let order: Vec<u32> = seen
            .iter()
            .filter(|(x, _)| x == k)
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(order, (0..60).collect::<Vec<_>>(), "key {k}");
    }
    assert_eq!(slow.overlaps.load(Ordering::SeqCst), 0);
}

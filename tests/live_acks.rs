//! Completion callbacks of tracked live sends (`LiveSender::try_send_tracked`): a durable
//! ingress acknowledges a message only when every delivery descending from it has ended.

use eventflow::engine::service::Subscriber;
use eventflow::{Engine, Event, Reply};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOPOLOGY: &str = r#"
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: slow, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: slow}}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: gate}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: fast, namespace: default}
spec:
  broker: default
  subscriber: {ref: {apiVersion: v1, kind: Service, name: quick}}
"#;

/// A blocking subscriber that answers only when the test opens the gate.
struct Gate(Mutex<mpsc::Receiver<()>>);

impl Subscriber for Gate {
    fn call(&self, _event: &Event) -> Reply {
        if let Ok(rx) = self.0.lock() {
            let _ = rx.recv_timeout(Duration::from_secs(20));
        }
        Reply::None
    }
    fn blocking(&self) -> bool {
        true
    }
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn counter(c: &Arc<AtomicUsize>) -> Box<dyn FnOnce() + Send> {
    let c = c.clone();
    Box::new(move || {
        c.fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn done_runs_only_after_every_delivery_of_the_event_ended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, TOPOLOGY).unwrap();
    for workers in [1, 2] {
        let (open, gate) = mpsc::channel();
        let loaded = eventflow::load(&[&path]).unwrap();
        let mut bindings = eventflow::Bindings::new();
        bindings.bind("gate", Arc::new(Gate(Mutex::new(gate))));
        let plan = Arc::new(loaded.plan);
        let node = plan.entry(Some("broker/default"), None).unwrap();
        let opts = eventflow::engine::live::LiveOptions {
            workers,
            ..Default::default()
        };
        let live = eventflow::engine::live::LiveEngine::start_with(plan, bindings, opts).unwrap();
        let (fast_done, slow_done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let sender = live.sender();
        for i in 0..50 {
            let e = Event::new(&format!("f{i}"), "/t", "fast");
            sender
                .try_send_tracked(node, e, counter(&fast_done))
                .unwrap();
        }
        // Events the gate holds are not done until the gate opens; the others finish meanwhile.
        wait_until("fast events done", || {
            fast_done.load(Ordering::SeqCst) == 50
        });
        let slow = Event::new("s1", "/t", "slow");
        sender
            .try_send_tracked(node, slow, counter(&slow_done))
            .unwrap();
        for i in 50..60 {
            let e = Event::new(&format!("f{i}"), "/t", "fast");
            sender
                .try_send_tracked(node, e, counter(&fast_done))
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(slow_done.load(Ordering::SeqCst), 0, "{workers} worker(s)");
        open.send(()).unwrap();
        wait_until("slow event done", || slow_done.load(Ordering::SeqCst) == 1);
        wait_until("all fast events done", || {
            fast_done.load(Ordering::SeqCst) == 60
        });
        let report = live.shutdown().unwrap();
        assert_eq!(report.accepted, 61);
        assert_eq!(fast_done.load(Ordering::SeqCst), 60);
        assert_eq!(slow_done.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn done_is_not_called_for_a_refused_send() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, TOPOLOGY).unwrap();
    let engine = Engine::from_paths([&path]).unwrap().start().unwrap();
    let sender = engine.live().sender();
    let node = engine
        .live()
        .plan()
        .entry(Some("broker/default"), None)
        .unwrap();
    let report = engine.shutdown().unwrap();
    assert_eq!(report.accepted, 0);
    let calls = Arc::new(AtomicUsize::new(0));
    let e = Event::new("late", "/t", "fast");
    assert!(sender.try_send_tracked(node, e, counter(&calls)).is_err());
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

//! Live engines stamp with the wall clock: a reply that re-enters a Broker gets the time it
//! arrived as its `knativearrivaltime` (Knative stamps every ingress), not its parent's.

use eventflow::{Engine, Event, Reply};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
  filter: {attributes: {type: ask}}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: slow}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: display, namespace: default}
spec:
  broker: default
  subscriber: {ref: {apiVersion: v1, kind: Service, name: display}}
"#;

fn millis(text: &str) -> i64 {
    eventflow::engine::clock::parse_rfc3339_ms(text).unwrap()
}

#[test]
fn a_reply_is_stamped_when_it_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, TOPOLOGY).unwrap();
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = seen.clone();
    let engine = Engine::from_paths([&path])
        .unwrap()
        .bind("slow", |e: &Event| {
            std::thread::sleep(Duration::from_millis(300));
            let mut reply = Event::new(&format!("{}-answer", e.id), "/slow", "answer");
            reply.data = e.data.clone();
            Reply::Event(reply)
        })
        .bind("display", move |e: &Event| {
            let at = match e.extension("knativearrivaltime") {
                Some(eventflow::planner::event::ExtValue::String(s)) => s.to_string(),
                other => format!("{other:?}"),
            };
            record.lock().unwrap().push((e.ty.to_string(), at));
            Reply::None
        })
        .start()
        .unwrap();
    engine
        .send("broker/default", Event::new("q1", "/t", "ask"))
        .unwrap();
    engine.shutdown().unwrap();
    let seen = seen.lock().unwrap();
    let at = |ty: &str| millis(&seen.iter().find(|(t, _)| t == ty).unwrap().1);
    assert_eq!(seen.len(), 2, "{seen:?}");
    let (asked, answered) = (at("ask"), at("answer"));
    assert!(answered - asked >= 300, "{seen:?}");
}

//! Tests of [`super`] (the live engine).

use super::*;
use eventflow_planner::plan::{Node, NodeKind, NodeRole};

fn one_channel() -> Arc<Plan> {
    Arc::new(Plan {
        nodes: vec![Node {
            id: 0,
            name: "InMemoryChannel/default/c".into(),
            namespace: "default".into(),
            kind: NodeKind::Channel {
                kind: "InMemoryChannel".into(),
            },
            role: NodeRole::Declared,
            edges: vec![],
        }],
        entries: vec![("channel/default/c".into(), 0)],
        ..Plan::default()
    })
}

#[test]
fn sends_drain_into_the_report() {
    let engine = LiveEngine::start(one_channel(), Bindings::new(), 2).unwrap();
    for i in 0..100 {
        engine
            .send(0, Event::new(&i.to_string(), "/t", "t"))
            .unwrap();
    }
    let report = engine.shutdown().unwrap();
    assert_eq!(report.accepted, 100);
    assert_eq!(
        engine.try_send(0, Event::new("x", "/t", "t")),
        Err(SendError::Stopped)
    );
    assert!(engine.shutdown().is_err());
}

#[test]
fn a_full_queue_says_so() {
    let plan = one_channel();
    let opts = LiveOptions {
        queue_capacity: 1,
        ..LiveOptions::default()
    };
    let engine = LiveEngine::start_with(plan, Bindings::new(), opts).unwrap();
    // Fill faster than the feeder can take: at least one of many quick sends sees Full
    // or all pass; either way nothing is lost.
    let mut ok = 0;
    for i in 0..10_000 {
        match engine.try_send(0, Event::new(&i.to_string(), "/t", "t")) {
            Ok(()) => ok += 1,
            Err(SendError::Full) => {}
            Err(SendError::Stopped) => panic!("stopped"),
        }
    }
    let report = engine.shutdown().unwrap();
    assert_eq!(report.accepted, ok);
}

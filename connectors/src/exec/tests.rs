use super::*;
use eventflow_planner::event::Data;

fn event(id: &str) -> Event {
    let mut e = Event::new(id, "/test", "com.example.test");
    e.data = Some(Data::Json("{\"n\":1}".into()));
    e
}

fn ctx(timeout_ms: Option<u64>) -> CallContext<'static> {
    CallContext {
        timeout_ms,
        namespace: "default",
        prefer_reply: true,
    }
}

fn body(reply: &Reply) -> (u16, String) {
    match reply {
        Reply::Status(code, body) => (*code, String::from_utf8_lossy(body).into_owned()),
        other => panic!("expected a failure status, got {other:?}"),
    }
}

#[test]
fn a_cat_replies_with_the_event_itself() {
    let sub = ExecSubscriber::new("cat");
    for id in ["a", "b", "c"] {
        assert_eq!(sub.call(&event(id)), Reply::Event(event(id)));
    }
    assert_eq!(sub.stats().starts.load(Ordering::Relaxed), 1);
    assert_eq!(sub.stats().calls.load(Ordering::Relaxed), 3);
    assert!(sub.blocking());
}

#[test]
fn null_and_empty_lines_are_no_reply() {
    let sub = ExecSubscriber::new("while read -r l; do echo null; read -r l; echo; done");
    assert_eq!(sub.call(&event("1")), Reply::None);
    assert_eq!(sub.call(&event("2")), Reply::None);
    assert_eq!(sub.stats().failures.load(Ordering::Relaxed), 0);
}

#[test]
fn garbage_is_a_502_and_the_process_keeps_running() {
    let sub = ExecSubscriber::new("while read -r l; do echo 'not json'; done");
    let (code, text) = body(&sub.call(&event("1")));
    assert_eq!(code, 502);
    assert!(
        text.starts_with(
            "dispatch error: exec: the answer is neither a CloudEvent nor null: invalid JSON"
        ),
        "{text}"
    );
    let (code, _) = body(&sub.call(&event("2")));
    assert_eq!(code, 502);
    // JSON that is not a CloudEvent fails the same way.
    let sub = ExecSubscriber::new("while read -r l; do echo '{\"id\":\"x\"}'; done");
    let (code, text) = body(&sub.call(&event("1")));
    assert_eq!(code, 502);
    assert!(
        text.ends_with("missing required attribute \"specversion\""),
        "{text}"
    );
    assert_eq!(sub.stats().starts.load(Ordering::Relaxed), 1);
}

#[test]
fn a_dead_process_fails_one_call_and_is_restarted() {
    // Answers two events, then exits.
    let sub = ExecSubscriber::new("for i in 1 2; do read -r l; echo null; done");
    assert_eq!(sub.call(&event("1")), Reply::None);
    assert_eq!(sub.call(&event("2")), Reply::None);
    let (code, text) = body(&sub.call(&event("3")));
    assert_eq!(code, 500);
    assert!(
        text.contains("exited (exit status: 0) without answering"),
        "{text}"
    );
    assert_eq!(sub.call(&event("3")), Reply::None);
    assert_eq!(sub.stats().starts.load(Ordering::Relaxed), 2);
    assert_eq!(sub.stats().failures.load(Ordering::Relaxed), 1);
}

#[test]
fn a_command_that_cannot_run_fails_every_call() {
    let sub = ExecSubscriber::new("exit 3");
    let (code, text) = body(&sub.call(&event("1")));
    assert_eq!(code, 500);
    assert!(text.contains("exited (exit status: 3)"), "{text}");
    let (code, _) = body(&sub.call(&event("2")));
    assert_eq!(code, 500);
    assert_eq!(sub.stats().starts.load(Ordering::Relaxed), 2);
}

#[test]
fn a_timeout_stops_the_process_so_late_answers_cannot_go_astray() {
    // Answers the first event after 2 s, the next at once.
    let sub = ExecSubscriber::new(
        "read -r l; sleep 2; echo null; while read -r l; do printf '%s\\n' \"$l\"; done",
    );
    let (code, text) = body(&sub.call_with(&event("slow"), &ctx(Some(100))));
    assert_eq!(code, 500);
    assert!(text.contains("no answer within 100 ms"), "{text}");
    // A fresh process: its first answer is again the slow one, well within 10 s.
    assert_eq!(sub.call_with(&event("1"), &ctx(Some(10_000))), Reply::None);
    assert_eq!(
        sub.call_with(&event("2"), &ctx(None)),
        Reply::Event(event("2"))
    );
}

#[test]
fn dropping_the_subscriber_ends_the_process() {
    // Ignores SIGTERM and outlives the end of its input: killed after the grace period.
    let sub = ExecSubscriber::new("trap '' TERM; while read -r l; do echo null; done; sleep 30");
    assert_eq!(sub.call(&event("1")), Reply::None);
    let pid = {
        let state = sub.state.lock().unwrap();
        state.running.as_ref().map(|p| p.child.id()).unwrap()
    };
    drop(sub);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(stat.is_empty() || stat.contains(") Z"), "{stat}");
}

//! `eventflow run` end to end on loopback: an HTTP subscriber this test serves gets the
//! ingress request's `x-request-id` and `traceparent`, `/metrics` shows the deliveries in
//! `event_dispatch_latencies`, and the summary after SIGTERM counts every accepted event.

mod http_support;

use http_support::{broker, ce, request, trigger, Answer, Server, PATIENCE};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn run_passes_request_ids_through_and_serves_dispatch_metrics() {
    let server = Server::start(|_, _| Answer::ack());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    let y = broker("") + &trigger("to-http", "a", &server.url("/sub"), "");
    std::fs::write(&path, y).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["run", "-f"])
        .arg(&path)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr: SocketAddr = first
        .strip_prefix("listening on http://")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for id in ["1", "2", "3"] {
        let mut h = ce(id, "a");
        let rid = format!("req-{id}");
        h.push(("x-request-id", &rid));
        h.push(("traceparent", tp));
        assert_eq!(request(addr, "POST", "/default/default", &h, b"").0, 202);
    }
    for r in server.wait_for("/sub", 3) {
        assert_eq!(r.h("x-request-id"), format!("req-{}", r.h("ce-id")));
        assert_eq!(r.h("traceparent"), tp);
    }
    let want = "event_dispatch_latencies_count{broker_name=\"default\",channel_name=\"\",namespace_name=\"default\",response_code=\"202\",response_code_class=\"2xx\",subscription_name=\"\",trigger_name=\"to-http\"} 3";
    let deadline = Instant::now() + PATIENCE;
    let mut text = String::new();
    while Instant::now() < deadline {
        text = request(addr, "GET", "/metrics", &[], b"").1;
        if text.lines().any(|l| l == want) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(text.lines().any(|l| l == want), "{text}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let accepted = rest
        .lines()
        .find(|l| l.trim_start().starts_with("accepted"))
        .unwrap_or_default();
    assert_eq!(
        accepted.split_whitespace().collect::<Vec<_>>(),
        ["accepted", "3"],
        "{rest}"
    );
}

//! The live HTTP ingress on loopback: real HTTP/1.1 requests (a minimal client over
//! `TcpStream`, no mocks) against `HttpIngress` + `LiveEngine` started in-process on
//! 127.0.0.1:0, and the `eventflow run` binary for graceful shutdown.

use eventflow::connectors::http::{HttpConfig, HttpIngress};
use eventflow::engine::live::{LiveEngine, LiveOptions};
use eventflow::planner::event::{Data, ExtValue, SpecVersion};
use eventflow::{Bindings, Event, Reply, Report};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOPOLOGY: &str = "
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: on-push, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: com.example.push}}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: ci}}
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: {name: archive, namespace: default}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {name: to-store, namespace: default}
spec:
  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: archive}
  subscriber: {ref: {apiVersion: v1, kind: Service, name: store}}
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata: {name: steps, namespace: default}
spec:
  steps:
    - ref: {apiVersion: v1, kind: Service, name: step}
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata: {name: fan, namespace: default}
spec:
  branches:
    - subscriber: {ref: {apiVersion: v1, kind: Service, name: branch}}
";

/// Writes the topology to a temporary folder (kept alive by the returned guard).
fn topology() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("topology.yaml");
    std::fs::write(&path, TOPOLOGY).unwrap();
    (dir, path)
}

type Seen = Arc<Mutex<Vec<(String, Event)>>>;

/// An engine + ingress with every Service bound to a closure recording what it received.
struct Live {
    _dir: tempfile::TempDir,
    engine: LiveEngine,
    server: Option<HttpIngress>,
    addr: SocketAddr,
    seen: Seen,
}

fn start(queue: usize, max_body: usize, delay: Duration) -> Live {
    let (dir, path) = topology();
    let loaded = eventflow::load(&[&path]).unwrap();
    let plan = Arc::new(loaded.plan);
    let seen: Seen = Arc::default();
    let mut bindings = Bindings::new();
    for name in ["ci", "store", "step", "branch"] {
        let seen = seen.clone();
        let f = move |e: &Event| {
            std::thread::sleep(delay);
            seen.lock().unwrap().push((name.to_string(), e.clone()));
            Reply::None
        };
        bindings.bind(name, Arc::new(f));
    }
    let opts = LiveOptions {
        queue_capacity: queue,
        max_batch: 1,
        epochs_in_flight: 1,
        ..LiveOptions::default()
    };
    let engine = LiveEngine::start_with(plan.clone(), bindings, opts).unwrap();
    let config = HttpConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body,
        threads: 2,
        registry: None,
    };
    let server = HttpIngress::start(&plan, engine.sender(), &config).unwrap();
    let addr = server.local_addr();
    Live {
        _dir: dir,
        engine,
        server: Some(server),
        addr,
        seen,
    }
}

impl Live {
    fn stop(mut self) -> (Report, Vec<(String, Event)>) {
        if let Some(s) = self.server.take() {
            s.stop(Duration::from_secs(5)).unwrap();
        }
        let report = self.engine.shutdown().unwrap();
        let seen = std::mem::take(&mut *self.seen.lock().unwrap());
        (report, seen)
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before reading the whole body and close: ignore write errors.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    request(addr, "POST", path, headers, body.as_bytes())
}

const CE_PUSH: [(&str, &str); 4] = [
    ("ce-specversion", "1.0"),
    ("ce-id", "push-1"),
    ("ce-source", "https://github.com/octo/hello"),
    ("ce-type", "com.example.push"),
];

const STRUCTURED: (&str, &str) = ("Content-Type", "application/cloudevents+json");

#[test]
fn binary_mode_reaches_the_trigger_closure_with_arrival_time() {
    let live = start(1024, 1 << 20, Duration::ZERO);
    let mut h = CE_PUSH.to_vec();
    h.push(("ce-comment", "caf%C3%A9%20ol%C3%A9"));
    h.push(("ce-subject", "\"refs/heads/main\""));
    h.push(("Content-Type", "application/json"));
    let r = post(live.addr, "/default/default", &h, r#"{"ref":"main"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.body.is_empty());
    let (report, seen) = live.stop();
    assert_eq!(report.accepted, 1);
    assert_eq!(seen.len(), 1);
    let (to, e) = &seen[0];
    assert_eq!(to, "ci");
    assert_eq!(e.specversion, SpecVersion::V10);
    assert_eq!(&*e.id, "push-1");
    assert_eq!(e.subject.as_deref(), Some("refs/heads/main"));
    assert_eq!(e.datacontenttype.as_deref(), Some("application/json"));
    assert_eq!(e.data, Some(Data::Json(r#"{"ref":"main"}"#.into())));
    assert_eq!(
        e.extension("comment"),
        Some(&ExtValue::String("café olé".into()))
    );
    assert!(e.extension("knativearrivaltime").is_some(), "{e:?}");
    assert!(e.extension("knativebrokerttl").is_none());
}

#[test]
fn binary_non_json_body_becomes_base64_data() {
    let live = start(1024, 1 << 20, Duration::ZERO);
    let mut h = CE_PUSH.to_vec();
    h.push(("Content-Type", "text/plain"));
    assert_eq!(post(live.addr, "/default/default", &h, "hi").status, 202);
    let (_, seen) = live.stop();
    assert_eq!(seen[0].1.data, Some(Data::Base64("aGk=".into())));
}

#[test]
fn structured_and_binary_0_3_and_1_0_are_accepted_and_not_upgraded() {
    let live = start(1024, 1 << 20, Duration::ZERO);
    let v03 = r#"{"specversion":"0.3","id":"a","source":"/s","type":"com.example.push","schemaurl":"/schema","data":{"x":1}}"#;
    let v10 = r#"{"specversion":"1.0","id":"b","source":"/s","type":"com.example.push","data_base64":"aGk="}"#;
    assert_eq!(
        post(live.addr, "/default/default", &[STRUCTURED], v03).status,
        202
    );
    assert_eq!(
        post(live.addr, "/default/default", &[STRUCTURED], v10).status,
        202
    );
    let mut h = CE_PUSH.to_vec();
    h[0] = ("ce-specversion", "0.3");
    h[1] = ("ce-id", "c");
    assert_eq!(post(live.addr, "/default/default", &h, "").status, 202);
    let (report, mut seen) = live.stop();
    assert_eq!(report.accepted, 3);
    seen.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    let versions: Vec<SpecVersion> = seen.iter().map(|(_, e)| e.specversion).collect();
    assert_eq!(
        versions,
        [SpecVersion::V03, SpecVersion::V10, SpecVersion::V03]
    );
    assert_eq!(seen[0].1.dataschema.as_deref(), Some("/schema"));
    assert_eq!(seen[0].1.data, Some(Data::Json(r#"{"x":1}"#.into())));
    assert_eq!(seen[1].1.data, Some(Data::Base64("aGk=".into())));
}

#[test]
fn batched_mode_accepts_or_refuses_each_event() {
    let live = start(1024, 1 << 20, Duration::ZERO);
    let batch = ("Content-Type", "application/cloudevents-batch+json");
    let ok = r#"[{"specversion":"1.0","id":"1","source":"/s","type":"com.example.push"},
                 {"specversion":"0.3","id":"2","source":"/s","type":"com.example.push"}]"#;
    assert_eq!(
        post(live.addr, "/default/default", &[batch], ok).status,
        202
    );
    let mixed = r#"[{"specversion":"1.0","id":"3","source":"/s","type":"com.example.push"},
                    {"specversion":"1.0","source":"/s","type":"com.example.push"},
                    {"specversion":"19.0","id":"5","source":"/s","type":"t"}]"#;
    let r = post(live.addr, "/default/default", &[batch], mixed);
    assert_eq!(r.status, 400);
    assert_eq!(r.body.lines().count(), 1, "{}", r.body);
    assert!(
        r.body.starts_with("refused 2 of 3 events: [1] "),
        "{}",
        r.body
    );
    assert!(r.body.contains("[2] unknown specversion"), "{}", r.body);
    let r = post(
        live.addr,
        "/default/default",
        &[batch],
        r#"{"not":"an array"}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        post(live.addr, "/default/default", &[batch], "[]").status,
        202
    );
    let (report, seen) = live.stop();
    assert_eq!(report.accepted, 3);
    let mut ids: Vec<String> = seen.iter().map(|(_, e)| e.id.to_string()).collect();
    ids.sort();
    assert_eq!(ids, ["1", "2", "3"]);
}

#[test]
fn malformed_events_get_400_with_a_one_line_reason() {
    let live = start(1024, 1 << 20, Duration::ZERO);
    let a = live.addr;
    let no_version = [("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")];
    let r = post(a, "/default/default", &no_version, "");
    assert_eq!(r.status, 400);
    assert!(r.body.starts_with("not a CloudEvent"), "{}", r.body);
    let mut v19 = CE_PUSH.to_vec();
    v19[0] = ("ce-specversion", "19.0");
    let r = post(a, "/default/default", &v19, "");
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, "malformed event: unknown specversion \"19.0\"\n")
    );
    let r = post(a, "/default/default", &[STRUCTURED], "{\"specversion\":");
    assert_eq!(r.status, 400);
    assert!(
        r.body.starts_with("malformed event: invalid JSON"),
        "{}",
        r.body
    );
    let no_id = r#"{"specversion":"1.0","source":"/s","type":"t"}"#;
    let r = post(a, "/default/default", &[STRUCTURED], no_id);
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, "malformed event: missing required attribute \"id\"\n")
    );
    let r = post(a, "/default/default", &CE_PUSH[..3], "");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("\"type\""), "{}", r.body);
    let mut bad_name = CE_PUSH.to_vec();
    bad_name.push(("ce-my_ext", "x"));
    assert_eq!(post(a, "/default/default", &bad_name, "").status, 400);
    // Broker check order (Knative): a malformed event to an unknown broker is a 400.
    assert_eq!(post(a, "/default/nope", &v19, "").status, 400);
    let (report, seen) = live.stop();
    assert_eq!((report.accepted, seen.len()), (0, 0));
}

#[test]
fn unknown_ingresses_get_404() {
    let live = start(1024, 1 << 20, Duration::ZERO);
    let a = live.addr;
    assert_eq!(post(a, "/default/nope", &CE_PUSH, "").status, 404);
    assert_eq!(post(a, "/other/default", &CE_PUSH, "").status, 404);
    // Channel check order (Knative): the channel is looked up before the body is parsed.
    assert_eq!(
        post(a, "/channels/default/nope", &[STRUCTURED], "{").status,
        404
    );
    assert_eq!(post(a, "/sequences/default/nope", &CE_PUSH, "").status, 404);
    assert_eq!(post(a, "/parallels/default/nope", &CE_PUSH, "").status, 404);
    assert_eq!(post(a, "/", &CE_PUSH, "").status, 404);
    assert_eq!(post(a, "/a/b/c/d", &CE_PUSH, "").status, 404);
    live.stop();
}

#[test]
fn other_methods_get_405_and_options_advertises_post() {
    let live = start(1024, 1 << 20, Duration::ZERO);
    for path in [
        "/default/default",
        "/channels/default/archive",
        "/default/nope",
    ] {
        for method in ["GET", "PUT", "DELETE", "PATCH"] {
            let r = request(live.addr, method, path, &[], b"");
            assert_eq!(r.status, 405, "{method} {path}");
            assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
        }
        let r = request(live.addr, "OPTIONS", path, &[], b"");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
        assert_eq!(r.header("webhook-allowed-origin"), Some("*"));
        assert_eq!(r.header("webhook-allowed-rate"), Some("*"));
    }
    live.stop();
}

#[test]
fn bodies_over_the_limit_get_413() {
    let live = start(1024, 1024, Duration::ZERO);
    let mut h = CE_PUSH.to_vec();
    h.push(("Content-Type", "text/plain"));
    let big = "x".repeat(2048);
    let r = post(live.addr, "/default/default", &h, &big);
    assert_eq!(r.status, 413);
    assert_eq!(
        post(live.addr, "/default/default", &h, &big[..1024]).status,
        202
    );
    // Without Content-Length (chunked), the limit applies while reading.
    let mut s = TcpStream::connect(live.addr).unwrap();
    let mut head =
        String::from("POST /default/default HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (k, v) in &h {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    let chunk = format!("{:x}\r\n{}\r\n", 600, "y".repeat(600));
    let _ = s.write_all(format!("{head}{chunk}{chunk}0\r\n\r\n").as_bytes());
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let (report, _) = live.stop();
    assert_eq!(report.accepted, 1);
}

#[test]
fn a_full_queue_answers_429_and_loses_nothing_accepted() {
    // Queue of one event, a subscriber that takes 100 ms: the engine falls behind at once.
    let live = start(1, 1 << 20, Duration::from_millis(100));
    let (mut accepted, mut full) = (0u64, 0u64);
    for i in 0..20 {
        let id = format!("e{i}");
        let mut h = CE_PUSH.to_vec();
        h[1] = ("ce-id", &id);
        let r = post(live.addr, "/default/default", &h, "");
        match r.status {
            202 => accepted += 1,
            429 => {
                full += 1;
                assert_eq!(r.header("retry-after"), Some("1"));
                assert!(r.body.starts_with("queue full"), "{}", r.body);
            }
            s => panic!("unexpected status {s}: {}", r.body),
        }
    }
    assert!(full > 0, "no 429 in 20 requests");
    let (report, seen) = live.stop();
    assert_eq!(report.accepted, accepted);
    assert_eq!(seen.len() as u64, accepted);
}

#[test]
fn a_stopped_engine_answers_503_and_readyz_says_so() {
    let mut live = start(1024, 1 << 20, Duration::ZERO);
    // Ready once the workers started (a few ms after start).
    let mut status = 0;
    for _ in 0..200 {
        status = request(live.addr, "GET", "/readyz", &[], b"").status;
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(status, 200);
    let report = live.engine.shutdown().unwrap();
    assert_eq!(report.accepted, 0);
    assert_eq!(
        post(live.addr, "/default/default", &CE_PUSH, "").status,
        503
    );
    assert_eq!(request(live.addr, "GET", "/readyz", &[], b"").status, 503);
    assert_eq!(request(live.addr, "GET", "/healthz", &[], b"").status, 200);
    if let Some(s) = live.server.take() {
        s.stop(Duration::from_secs(5)).unwrap();
    }
}

#[test]
fn channel_sequence_and_parallel_paths_reach_their_subscribers() {
    let live = start(1024, 1 << 20, Duration::ZERO);
    for path in [
        "/channels/default/archive",
        "/sequences/default/steps",
        "/parallels/default/fan",
    ] {
        assert_eq!(post(live.addr, path, &CE_PUSH, "").status, 202, "{path}");
    }
    let (report, seen) = live.stop();
    assert_eq!(report.accepted, 3);
    let mut to: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    to.sort();
    assert_eq!(to, ["branch", "step", "store"]);
    // Channels add no broker extensions.
    assert!(seen
        .iter()
        .all(|(_, e)| e.extension("knativearrivaltime").is_none()));
}

#[test]
fn metrics_count_accepted_and_refused_events() {
    let live = start(1024, 1 << 20, Duration::ZERO);
    assert_eq!(
        post(live.addr, "/default/default", &CE_PUSH, "").status,
        202
    );
    assert_eq!(
        post(live.addr, "/default/default", &CE_PUSH[..3], "").status,
        400
    );
    let r = request(live.addr, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let want = [
        r#"event_count{broker_name="default",kind="broker",name="default",namespace_name="default",response_code="202",response_code_class="2xx"} 1"#,
        r#"event_count{broker_name="default",kind="broker",name="default",namespace_name="default",response_code="400",response_code_class="4xx"} 1"#,
        r#"eventflow_ingress_rejected_events_total{kind="broker",name="default",namespace_name="default",reason="malformed"} 1"#,
        "eventflow_ingress_queue_capacity 1024",
    ];
    for line in want {
        assert!(
            r.body.lines().any(|l| l == line),
            "missing {line}\n{}",
            r.body
        );
    }
    live.stop();
}

#[test]
fn run_prints_its_address_and_drains_on_sigterm() {
    let (_dir, path) = topology();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["run", "-f"])
        .arg(&path)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--service",
            "ci=echo",
            "--registry",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    let mut listing = String::new();
    for _ in 0..5 {
        out.read_line(&mut listing).unwrap();
    }
    assert!(
        listing.contains(&format!("POST http://{addr}/default/default")),
        "{listing}"
    );
    assert!(listing.contains(&format!("POST http://{addr}/channels/default/archive")));
    for i in 0..3 {
        let id = format!("e{i}");
        let mut h = CE_PUSH.to_vec();
        h[1] = ("ce-id", &id);
        assert_eq!(post(addr, "/default/default", &h, "").status, 202);
    }
    // A malformed event is refused at the ingress and counted in the summary.
    assert_eq!(
        post(addr, "/default/default", &[("ce-specversion", "1.0")], "").status,
        400
    );
    // The event registry (`--registry`) answers at GET /registry once the epochs settle. `ci`
    // echoes, so each push re-enters the Broker until knativebrokerttl runs out: 3 × 255.
    let mut registry = String::new();
    for _ in 0..100 {
        registry = request(addr, "GET", "/registry", &[], b"").body;
        if registry.contains("\"count\": 765") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let v: serde_json::Value = serde_json::from_str(&registry).unwrap();
    let row = &v["observed"][0];
    assert_eq!(row["ingress"], "Broker/default/default", "{registry}");
    assert_eq!(row["type"], "com.example.push");
    assert_eq!(row["count"], 765);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "exit {status:?}\n{rest}");
    assert!(
        rest.contains(&format!("served http://{addr} on 1 worker(s)")),
        "{rest}"
    );
    let accepted = rest
        .lines()
        .find(|l| l.trim_start().starts_with("accepted"))
        .unwrap_or_default();
    assert_eq!(
        accepted.split_whitespace().collect::<Vec<_>>(),
        ["accepted", "3"]
    );
    let refused = rest
        .lines()
        .find(|l| l.trim_start().starts_with("refused at ingress"))
        .unwrap_or_default();
    assert_eq!(
        refused.split_whitespace().collect::<Vec<_>>(),
        ["refused", "at", "ingress", "1"]
    );
    assert!(
        rest.contains("Service/default/ci <- Trigger/default/on-push"),
        "{rest}"
    );
}

#[test]
fn run_refuses_tls_subscribers() {
    // Plain HTTP subscribers are called for real (tests/http_subscribers.rs); this build has no
    // TLS, so an https:// binding is refused before anything starts.
    let (_dir, path) = topology();
    let out = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["run", "-f"])
        .arg(&path)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--service",
            "ci=https://127.0.0.1:1/",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain HTTP only (no TLS)"), "{err}");
}

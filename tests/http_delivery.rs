//! HTTP delivery on loopback (real HTTP both ways, no mocks): content modes out
//! (`delivery.format`), replies read back in binary and structured mode, `x-request-id` and
//! trace-context pass-through, `Retry-After` (live: gaps measured on the receiving server,
//! lower bounds only; replay: the virtual clock), and `event_dispatch_latencies` on `/metrics`.

mod http_support;

use http_support::{broker, ce, trigger, Answer, Server, Stack, PATIENCE};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn delivery_format_chooses_binary_or_structured_for_each_mode_in() {
    let sink = Server::start(|_, _| Answer::ack());
    let mut y = broker("");
    y += &trigger("bin", "", &sink.url("/bin"), "");
    y += &trigger(
        "json",
        "",
        &sink.url("/json"),
        "  delivery: {format: json}\n",
    );
    y += &trigger(
        "forced",
        "",
        &sink.url("/forced"),
        "  delivery: {format: binary}\n",
    );
    let stack = Stack::start(&y);
    // Binary in, with a non-JSON body (conformance: thrift/xml bodies are accepted).
    let mut h = ce("x1", "com.example.xml");
    h.push(("content-type", "application/xml"));
    h.push(("ce-subject", "a%20b"));
    assert_eq!(stack.post("/default/default", &h, b"<a>1</a>").0, 202);
    // Structured in, JSON data.
    let event = json!({"specversion": "1.0", "id": "s1", "source": "/test",
        "type": "com.example.json", "data": {"n": 1}});
    let structured = [("content-type", "application/cloudevents+json")];
    let body = event.to_string();
    assert_eq!(
        stack
            .post("/default/default", &structured, body.as_bytes())
            .0,
        202
    );
    for path in ["/bin", "/forced"] {
        let got = sink.wait_for(path, 2);
        let xml = got.iter().find(|r| r.h("ce-id") == "x1").unwrap();
        assert_eq!(xml.h("content-type"), "application/xml");
        assert_eq!(xml.h("ce-subject"), "a%20b");
        assert_eq!(xml.body, b"<a>1</a>");
        let js = got.iter().find(|r| r.h("ce-id") == "s1").unwrap();
        assert_eq!(js.h("ce-type"), "com.example.json");
        assert_eq!(js.h("content-type"), "application/json");
        assert_eq!(js.body, br#"{"n":1}"#);
    }
    let got = sink.wait_for("/json", 2);
    for r in &got {
        assert_eq!(r.h("content-type"), "application/cloudevents+json");
        assert_eq!(r.h("ce-id"), "", "no ce- headers in structured mode");
        assert_eq!(r.h("prefer"), "reply");
        assert_eq!(r.h("kn-namespace"), "default");
    }
    let by_id = |id: &str| got.iter().find(|r| r.json()["id"] == id).unwrap().json();
    let xml = by_id("x1");
    assert_eq!(xml["datacontenttype"], "application/xml");
    assert_eq!(xml["subject"], "a b");
    assert_eq!(xml["data_base64"], "PGE+MTwvYT4=");
    assert!(xml["knativearrivaltime"].is_string());
    assert!(xml.get("knativebrokerttl").is_none());
    let js = by_id("s1");
    assert_eq!(js["type"], "com.example.json");
    assert_eq!(js["data"], json!({"n": 1}));
    stack.stop();
}

#[test]
fn replies_are_read_back_in_binary_and_structured_mode() {
    let server = Server::start(|r, _| match r.path.as_str() {
        "/structured-echo" => {
            let mut e = r.json();
            e["type"] = "answer.structured".into();
            e["id"] = format!("re-{}", e["id"].as_str().unwrap()).into();
            Answer::structured_reply(&e)
        }
        "/binary-echo" => Answer::binary_reply(
            &[
                ("specversion", "1.0"),
                ("id", &format!("rb-{}", r.h("ce-id"))),
                ("source", "/binary-echo"),
                ("type", "answer.binary"),
            ],
            "text/plain",
            b"plain reply",
        )
        .with("x-request-id", "from-the-reply"),
        _ => Answer::ack(),
    });
    let mut y = broker("");
    let json = "  delivery: {format: json}\n";
    y += &trigger("s", "ask", &server.url("/structured-echo"), json);
    y += &trigger("b", "ask", &server.url("/binary-echo"), "");
    y += &trigger("sink-s", "answer.structured", &server.url("/sink-s"), "");
    y += &trigger("sink-b", "answer.binary", &server.url("/sink-b"), json);
    let stack = Stack::start(&y);
    let mut h = ce("q1", "ask");
    h.push(("content-type", "application/json"));
    h.push(("x-request-id", "req-1"));
    assert_eq!(stack.post("/default/default", &h, br#"{"q":1}"#).0, 202);
    let s = &server.wait_for("/sink-s", 1)[0];
    assert_eq!(
        (s.h("ce-id"), s.h("ce-type")),
        ("re-q1", "answer.structured")
    );
    assert_eq!(s.body, br#"{"q":1}"#);
    // The reply carries on the request's x-request-id...
    assert_eq!(s.h("x-request-id"), "req-1");
    let b = server.wait_for("/sink-b", 1)[0].json();
    assert_eq!(b["id"], "rb-q1");
    assert_eq!(b["datacontenttype"], "text/plain");
    // A non-JSON body is bytes to the binding: structured mode carries it as data_base64.
    assert_eq!(b["data_base64"], "cGxhaW4gcmVwbHk=");
    // ...unless the reply's response brought its own.
    assert_eq!(
        server.requests("/sink-b")[0].h("x-request-id"),
        "from-the-reply"
    );
    stack.stop();
}

#[test]
fn request_id_and_trace_context_pass_through_to_subscribers_and_dead_letters() {
    let server = Server::start(|r, _| match r.path.as_str() {
        "/bad" => Answer::status(422),
        _ => Answer::ack(),
    });
    let mut y = broker(&format!(
        "    deadLetterSink: {{uri: \"{}\"}}\n",
        server.url("/dls")
    ));
    y += &trigger("ok", "a", &server.url("/sub"), "");
    y += &trigger("bad", "a", &server.url("/bad"), "");
    let stack = Stack::start(&y);
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let mut h = ce("1", "a");
    h.extend([
        ("x-request-id", "req-42"),
        ("traceparent", tp),
        ("tracestate", "congo=t61rcWkgMzE"),
        ("authorization", "Bearer secret"),
    ]);
    assert_eq!(stack.post("/default/default", &h, b"").0, 202);
    assert_eq!(stack.post("/default/default", &ce("2", "a"), b"").0, 202);
    for path in ["/sub", "/bad", "/dls"] {
        let got = server.wait_for(path, 2);
        let first = got.iter().find(|r| r.h("ce-id") == "1").unwrap();
        assert_eq!(first.h("x-request-id"), "req-42", "{path}");
        assert_eq!(first.h("traceparent"), tp, "{path}");
        assert_eq!(first.h("tracestate"), "congo=t61rcWkgMzE", "{path}");
        assert_eq!(first.h("authorization"), "", "{path}");
        let second = got.iter().find(|r| r.h("ce-id") == "2").unwrap();
        assert_eq!(second.h("x-request-id"), "", "{path}");
    }
    stack.stop();
}

#[test]
fn retry_after_lengthens_the_wait_between_live_attempts() {
    let server = Server::start(|r, before| match (r.path.as_str(), before) {
        ("/throttled", 0) => Answer::status(429).with("retry-after", "1"),
        ("/throttled", 1) => {
            let at = std::time::SystemTime::now() + Duration::from_secs(2);
            let date = chrono::DateTime::<chrono::Utc>::from(at)
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            Answer::status(503).with("retry-after", &date)
        }
        _ => Answer::ack(),
    });
    let mut y = broker("");
    let delivery = "  delivery: {retry: 3, retryAfterMax: PT5S}\n";
    y += &trigger("t", "a", &server.url("/throttled"), delivery);
    let stack = Stack::start(&y);
    assert_eq!(stack.post("/default/default", &ce("1", "a"), b"").0, 202);
    let got = server.wait_for("/throttled", 3);
    let gap = |i: usize| got[i + 1].at.duration_since(got[i].at);
    // Without Retry-After these retries would be back to back (no backoff policy).
    assert!(gap(0) >= Duration::from_millis(1000), "{:?}", gap(0));
    // An HTTP-date 2 s ahead, truncated to the second: at least 1 s.
    assert!(gap(1) >= Duration::from_millis(1000), "{:?}", gap(1));
    let report = stack.stop();
    assert_eq!(report.accepted, 1);
}

#[test]
fn replay_advances_the_virtual_clock_by_the_honoured_retry_after() {
    // Each path fails once (with a Retry-After), then replies with an event of type r.<path>,
    // which re-enters the Broker: its knativearrivaltime is the virtual time of the retry.
    let server = Server::start(|r, before| {
        let (code, after) = match r.path.as_str() {
            "/capped" | "/ignored" => (429, "3600"),
            "/not-429" => (500, "60"),
            "/backoff-longer" => (503, "1"),
            "/retry-after-longer" => (503, "2"),
            _ => return Answer::ack(),
        };
        if before == 0 {
            return Answer::status(code).with("retry-after", after);
        }
        let ty = format!("r.{}", &r.path[1..]);
        Answer::binary_reply(
            &[
                ("specversion", "1.0"),
                ("id", "r"),
                ("source", "/s"),
                ("type", &ty),
            ],
            "application/json",
            b"{}",
        )
    });
    let mut y = broker("");
    let cases = [
        ("capped", "retry: 1, retryAfterMax: PT2S", 2_000),
        ("ignored", "retry: 1", 0),
        ("not-429", "retry: 1, retryAfterMax: PT100S", 0),
        (
            "backoff-longer",
            "retry: 1, retryAfterMax: PT10S, backoffPolicy: linear, backoffDelay: PT3S",
            3_000,
        ),
        (
            "retry-after-longer",
            "retry: 1, retryAfterMax: PT10S, backoffPolicy: linear, backoffDelay: PT0.5S",
            2_000,
        ),
    ];
    for (name, delivery, _) in cases {
        let uri = server.url(&format!("/{name}"));
        y += &trigger(name, name, &uri, &format!("  delivery: {{{delivery}}}\n"));
        y += &trigger(
            &format!("sink-{name}"),
            &format!("r.{name}"),
            &server.url("/sink"),
            "",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.yaml"), y).unwrap();
    let log: String = cases
        .iter()
        .map(|(name, _, _)| {
            format!("{{\"specversion\":\"1.0\",\"id\":\"{name}\",\"source\":\"/s\",\"type\":\"{name}\",\"time\":\"2024-01-01T00:00:00Z\"}}\n")
        })
        .collect();
    std::fs::write(dir.path().join("e.jsonl"), log).unwrap();
    let out = dir.path().join("out.jsonl");
    let started = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["replay", "-q", "--call-uris", "-f"])
        .arg(dir.path().join("t.yaml"))
        .arg("--events")
        .arg(dir.path().join("e.jsonl"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(started.elapsed() < PATIENCE, "replay waited for real");
    let records: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let t0 = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap();
    for (name, _, wait_ms) in cases {
        let sub = records
            .iter()
            .find(|r| r["via"] == format!("Trigger/default/{name}"))
            .unwrap_or_else(|| panic!("no record for {name}"));
        assert_eq!(sub["attempts"], 2, "{name}");
        let reply = records
            .iter()
            .find(|r| r["via"] == format!("Trigger/default/sink-{name}"))
            .unwrap_or_else(|| panic!("no reply for {name}"));
        let arrival = reply["event"]["knativearrivaltime"].as_str().unwrap();
        let arrival = chrono::DateTime::parse_from_rfc3339(arrival).unwrap();
        assert_eq!((arrival - t0).num_milliseconds(), wait_ms, "{name}");
    }
}

/// The `/metrics` line starting with `prefix`, waiting until it reads `value`.
fn metric(stack: &Stack, prefix: &str, value: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = stack.metrics();
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .map(str::to_string);
        if line
            .as_deref()
            .is_some_and(|l| l.ends_with(&format!(" {value}")))
            || Instant::now() > deadline
        {
            return line.unwrap_or_else(|| format!("missing {prefix}\n{text}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn dispatch_latencies_are_served_with_knative_labels() {
    let server = Server::start(|r, _| match r.path.as_str() {
        "/fail" => Answer::status(500),
        _ => Answer::ack(),
    });
    let mut y = broker("");
    y += &trigger("to-ok", "a", &server.url("/ok"), "");
    y += &trigger(
        "to-fail",
        "a",
        &server.url("/fail"),
        "  delivery: {retry: 1}\n",
    );
    y += &format!(
        "---\napiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata: {{name: ch, namespace: default}}\n---\napiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata: {{name: sub, namespace: default}}\nspec:\n  channel: {{apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ch}}\n  subscriber: {{uri: \"{}\"}}\n",
        server.url("/ok")
    );
    let stack = Stack::start(&y);
    for id in ["1", "2"] {
        assert_eq!(stack.post("/default/default", &ce(id, "a"), b"").0, 202);
    }
    assert_eq!(
        stack.post("/channels/default/ch", &ce("3", "a"), b"").0,
        202
    );
    let trig = |t: &str, code: &str| {
        format!("event_dispatch_latencies_count{{broker_name=\"default\",channel_name=\"\",namespace_name=\"default\",response_code=\"{code}\",response_code_class=\"{}xx\",subscription_name=\"\",trigger_name=\"{t}\"}}", &code[..1])
    };
    assert_eq!(
        metric(&stack, &trig("to-ok", "202"), "2"),
        trig("to-ok", "202") + " 2"
    );
    // Every attempt counts: 2 events × 2 attempts.
    assert_eq!(
        metric(&stack, &trig("to-fail", "500"), "4"),
        trig("to-fail", "500") + " 4"
    );
    let sub = "event_dispatch_latencies_count{broker_name=\"\",channel_name=\"ch\",namespace_name=\"default\",response_code=\"202\",response_code_class=\"2xx\",subscription_name=\"sub\",trigger_name=\"\"}";
    assert_eq!(metric(&stack, sub, "1"), format!("{sub} 1"));
    let text = stack.metrics();
    // Knative's buckets, in ms.
    for le in [
        "1", "2", "5", "10", "20", "50", "100", "200", "500", "1000", "2000", "5000", "10000",
        "+Inf",
    ] {
        let bucket = format!("trigger_name=\"to-ok\",le=\"{le}\"}}");
        let bucket = bucket.as_str();
        assert!(
            text.lines()
                .any(|l| l.starts_with("event_dispatch_latencies_bucket{") && l.contains(bucket)),
            "no bucket {le}\n{text}"
        );
    }
    let ingress = "event_count{broker_name=\"default\",kind=\"broker\",name=\"default\",namespace_name=\"default\",response_code=\"202\",response_code_class=\"2xx\"} 2";
    assert!(text.lines().any(|l| l == ingress), "{text}");
    let channel = "event_count{broker_name=\"\",kind=\"channel\",name=\"ch\",namespace_name=\"default\",response_code=\"202\",response_code_class=\"2xx\"} 1";
    assert!(text.lines().any(|l| l == channel), "{text}");
    stack.stop();
}

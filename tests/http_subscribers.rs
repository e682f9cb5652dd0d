//! Real HTTP subscribers on loopback (no mocks of HTTP): Knative's delivery request, replies in
//! binary mode, retries on 503, 422 straight to the dead-letter sink with the `knativeerror*`
//! extensions, and a per-attempt timeout — through `eventflow replay --call-uris`.

use base64::Engine as _;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server saw: (path, headers lower-cased, body).
type Seen = Arc<Mutex<Vec<(String, HashMap<String, String>, Vec<u8>)>>>;

fn handle(mut stream: TcpStream, seen: &Seen, flaky: &Arc<Mutex<u32>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    seen.lock()
        .unwrap()
        .push((path.clone(), headers.clone(), body.clone()));
    let response = match path.as_str() {
        "/echo" => {
            let id = headers.get("ce-id").cloned().unwrap_or_default();
            format!(
                "HTTP/1.1 200 OK\r\nce-specversion: 1.0\r\nce-id: reply-{id}\r\nce-source: /echo\r\nce-type: com.example.reply\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{{\"ok\":true}}"
            )
        }
        "/flaky" => {
            let mut n = flaky.lock().unwrap();
            *n += 1;
            if *n <= 2 {
                "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_string()
            } else {
                "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_string()
            }
        }
        "/bad" => {
            let b = "{ \"message\": \"catastrophic failure\" }";
            format!("HTTP/1.1 422 Unprocessable Entity\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}", b.len())
        }
        "/slow" => {
            std::thread::sleep(Duration::from_millis(600));
            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
        }
        _ => "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string(),
    };
    let _ = stream.write_all(response.as_bytes());
}

fn server() -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let flaky = Arc::new(Mutex::new(0));
    let s = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (s, f) = (s.clone(), flaky.clone());
            std::thread::spawn(move || handle(stream, &s, &f));
        }
    });
    (port, seen)
}

fn manifests(port: u16) -> String {
    let uri = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let trigger = |name: &str, ty: &str, path: &str, delivery: &str| {
        format!(
            "---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  broker: default\n  filter: {{attributes: {{type: {ty}}}}}\n  subscriber: {{uri: \"{}\"}}\n{delivery}",
            uri(path)
        )
    };
    let mut y = format!(
        "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {{name: default, namespace: team}}\nspec:\n  delivery:\n    deadLetterSink: {{uri: \"{}\"}}\n",
        uri("/dls")
    );
    y += &trigger("to-echo", "a", "/echo", "");
    y += &trigger("on-reply", "com.example.reply", "/sink", "");
    y += &trigger(
        "to-flaky",
        "b",
        "/flaky",
        "  delivery: {retry: 3, backoffPolicy: linear, backoffDelay: PT0.01S}\n",
    );
    y += &trigger("to-bad", "c", "/bad", "  delivery: {retry: 5}\n");
    y += &trigger("to-slow", "d", "/slow", "  delivery: {timeout: PT0.2S}\n");
    y
}

#[test]
fn replay_calls_real_http_subscribers() {
    let (port, seen) = server();
    let dir = std::env::temp_dir().join(format!("eventflow-httpsub-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.yaml"), manifests(port)).unwrap();
    let events: String = ["a", "b", "c", "d"]
        .iter()
        .map(|t| format!("{{\"specversion\":\"1.0\",\"id\":\"{t}1\",\"source\":\"/src\",\"type\":\"{t}\",\"subject\":\"x y\",\"data\":{{\"n\":1}}}}\n"))
        .collect();
    std::fs::write(dir.join("e.jsonl"), events).unwrap();
    let out = dir.join("out.jsonl");
    let o = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["replay", "-q", "--call-uris", "--workers", "2", "-f"])
        .arg(dir.join("t.yaml"))
        .arg("--events")
        .arg(dir.join("e.jsonl"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let records: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |via: &str, sub: &str| {
        records
            .iter()
            .find(|r| {
                r["via"] == format!("Trigger/team/{via}")
                    && r["subscriber"].as_str().unwrap().ends_with(sub)
            })
            .unwrap_or_else(|| panic!("no record {via} {sub}: {records:?}"))
    };
    // The echo's binary-mode reply re-entered the Broker and reached the reply's Trigger.
    assert_eq!(find("to-echo", "/echo")["outcome"], "delivered");
    let reply = find("on-reply", "/sink");
    assert_eq!(reply["event"]["id"], "reply-a1");
    assert_eq!(reply["event"]["data"], serde_json::json!({"ok": true}));
    // 503 twice, then accepted on the third attempt.
    let flaky = find("to-flaky", "/flaky");
    assert_eq!(
        (flaky["outcome"].clone(), flaky["attempts"].clone()),
        ("delivered".into(), 3.into())
    );
    // 422 is not retried: dead-lettered with the three extensions.
    let bad = find("to-bad", "/bad");
    assert_eq!(
        (bad["outcome"].clone(), bad["attempts"].clone()),
        ("dead-lettered".into(), 1.into())
    );
    let dls = find("to-bad", "/dls");
    assert_eq!(dls["event"]["knativeerrorcode"], 422);
    assert_eq!(
        dls["event"]["knativeerrordest"],
        format!("http://127.0.0.1:{port}/bad")
    );
    let data = base64::engine::general_purpose::STANDARD
        .encode("{ \"message\": \"catastrophic failure\" }");
    assert_eq!(dls["event"]["knativeerrordata"], data);
    // A response slower than the 0.2 s timeout is a transport error: 500 to the DLS.
    let slow = find("to-slow", "/dls");
    assert_eq!(slow["event"]["knativeerrorcode"], 500);
    // What the subscribers received: binary mode with Knative's headers.
    let seen = seen.lock().unwrap();
    let (_, h, body) = seen.iter().find(|(p, _, _)| p == "/echo").unwrap();
    assert_eq!(h["ce-type"], "a");
    assert_eq!(h["ce-subject"], "x%20y");
    assert_eq!(h["prefer"], "reply");
    assert_eq!(h["kn-namespace"], "team");
    assert_eq!(h["content-type"], "application/json");
    assert!(h.contains_key("ce-knativearrivaltime") && !h.contains_key("ce-knativebrokerttl"));
    assert_eq!(body, b"{\"n\":1}");
    let (_, h, _) = seen.iter().find(|(p, _, _)| p == "/dls").unwrap();
    // Dead-letter sinks and reply targets are not asked for a reply (Knative §3.5, §3.7).
    assert!(h.get("prefer").is_none(), "{h:?}");
    assert_eq!(seen.iter().filter(|(p, _, _)| p == "/flaky").count(), 3);
    assert_eq!(seen.iter().filter(|(p, _, _)| p == "/bad").count(), 1);
}

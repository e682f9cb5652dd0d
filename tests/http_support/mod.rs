//! Shared by the `tests/http_*.rs` delivery tests: a recording HTTP/1.1 server on loopback
//! (std threads, no mocks: subscribers, reply targets and dead-letter sinks the tests serve
//! themselves), a minimal HTTP client, and an engine + ingress started in-process on
//! 127.0.0.1:0 whose `uri` subscribers are real [`HttpSubscriber`]s.
#![allow(dead_code)]

use eventflow::connectors::http::{DispatchMetrics, HttpConfig, HttpIngress, HttpSubscriber};
use eventflow::engine::live::{LiveEngine, LiveOptions};
use eventflow::{Bindings, Report};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for deliveries before it gives up (a liveness bound, not a timing
/// assertion: everything here normally takes milliseconds).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The path (and query).
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Request {
    /// Header `name` (lower-case), or "".
    pub fn h(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (structured mode).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// An answer the server gives.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// `status` with an empty body.
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// 202 Accepted, no body.
    pub fn ack() -> Answer {
        Answer::status(202)
    }

    /// Adds a header.
    pub fn with(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `status` with a text body.
    pub fn text(status: u16, body: &str) -> Answer {
        Answer {
            body: body.as_bytes().to_vec(),
            ..Answer::status(status)
        }
    }

    /// 200 with a binary-mode CloudEvent reply (`ce` = attribute name → value).
    pub fn binary_reply(ce: &[(&str, &str)], content_type: &str, body: &[u8]) -> Answer {
        let mut a = Answer {
            body: body.to_vec(),
            ..Answer::status(200)
        };
        for (k, v) in ce {
            a = a.with(&format!("ce-{k}"), v);
        }
        a.with("content-type", content_type)
    }

    /// 200 with a structured-mode CloudEvent reply.
    pub fn structured_reply(event: &serde_json::Value) -> Answer {
        Answer {
            body: event.to_string().into_bytes(),
            ..Answer::status(200)
        }
        .with("content-type", "application/cloudevents+json")
    }
}

type Handler = Arc<dyn Fn(&Request, usize) -> Answer + Send + Sync>;

/// A recording server on 127.0.0.1 answering through a handler called with the request and
/// how many requests to the same path came before it.
pub struct Server {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    /// Starts serving on a free loopback port.
    pub fn start(handler: impl Fn(&Request, usize) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
        let handler: Handler = Arc::new(handler);
        let s = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, h) = (s.clone(), handler.clone());
                std::thread::spawn(move || serve(stream, &s, &h));
            }
        });
        Server { addr, seen }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far to `path`.
    pub fn requests(&self, path: &str) -> Vec<Request> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Waits (at most [`PATIENCE`]) until `path` got `n` requests; returns them all.
    pub fn wait_for(&self, path: &str, n: usize) -> Vec<Request> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let got = self.requests(path);
            if got.len() >= n || Instant::now() > deadline {
                assert!(got.len() >= n, "{path}: {} of {n} requests", got.len());
                return got;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Request>>, handler: &Handler) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
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
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let req = Request {
        path: path.clone(),
        headers,
        body,
        at: Instant::now(),
    };
    let before = {
        let mut seen = seen.lock().unwrap();
        let n = seen.iter().filter(|r| r.path == path).count();
        seen.push(req.clone());
        n
    };
    let a = handler(&req, before);
    let mut head = format!("HTTP/1.1 {} X\r\n", a.status);
    for (k, v) in &a.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        a.body.len()
    ));
    let mut stream = stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&a.body);
}

/// One HTTP/1.1 request on a fresh connection: (status, body).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// Binary-mode CloudEvent headers for `id`/`type` from `/test`.
pub fn ce<'a>(id: &'a str, ty: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ce-specversion", "1.0"),
        ("ce-id", id),
        ("ce-source", "/test"),
        ("ce-type", ty),
    ]
}

/// An engine + ingress in this process: every `uri` subscriber is called over HTTP, every
/// delivery attempt is measured into `event_dispatch_latencies` (as `eventflow run` does).
pub struct Stack {
    pub addr: SocketAddr,
    engine: LiveEngine,
    ingress: Option<HttpIngress>,
    _dir: tempfile::TempDir,
}

impl Stack {
    /// Loads `manifests` (multi-document YAML) and starts serving on 127.0.0.1:0.
    pub fn start(manifests: &str) -> Stack {
        Stack::start_with(manifests, Bindings::new())
    }

    /// [`Stack::start`] with Services bound in `bindings`.
    pub fn start_with(manifests: &str, mut bindings: Bindings) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topology.yaml");
        std::fs::write(&path, manifests).unwrap();
        let plan = Arc::new(eventflow::load(&[&path]).unwrap().plan);
        for x in &plan.externals {
            if x.service.is_none() && bindings.resolve(x).is_none() {
                bindings.bind(&x.name, Arc::new(HttpSubscriber::new(&x.url)));
            }
        }
        let dispatch = DispatchMetrics::new(&plan).unwrap();
        bindings.observe(dispatch.clone());
        let engine =
            LiveEngine::start_with(plan.clone(), bindings, LiveOptions::default()).unwrap();
        let config = HttpConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..HttpConfig::default()
        };
        let ingress = HttpIngress::start(&plan, engine.sender(), &config).unwrap();
        ingress.metrics().register_dispatch(&dispatch).unwrap();
        Stack {
            addr: ingress.local_addr(),
            engine,
            ingress: Some(ingress),
            _dir: dir,
        }
    }

    /// POSTs to the ingress: (status, body).
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        request(self.addr, "POST", path, headers, body)
    }

    /// The `/metrics` text.
    pub fn metrics(&self) -> String {
        request(self.addr, "GET", "/metrics", &[], b"").1
    }

    /// Stops the ingress, drains the engine, returns the report.
    pub fn stop(mut self) -> Report {
        if let Some(i) = self.ingress.take() {
            i.stop(Duration::from_secs(5)).unwrap();
        }
        self.engine.shutdown().unwrap()
    }
}

/// A Broker `default` in namespace `default`, with `delivery` (YAML, indented by 4) if given.
pub fn broker(delivery: &str) -> String {
    let mut y = "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default, namespace: default}\n".to_string();
    if !delivery.is_empty() {
        y += "spec:\n  delivery:\n";
        y += delivery;
    }
    y
}

/// A Trigger `name` on Broker `default` for `ty` (any type when empty) to `uri`, with
/// `extra` spec lines (indented by 2).
pub fn trigger(name: &str, ty: &str, uri: &str, extra: &str) -> String {
    let filter = if ty.is_empty() {
        String::new()
    } else {
        format!("  filter: {{attributes: {{type: {ty}}}}}\n")
    };
    format!(
        "---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  broker: default\n{filter}  subscriber: {{uri: \"{uri}\"}}\n{extra}"
    )
}

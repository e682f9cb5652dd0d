//! Harness for the JetStream tests: a `nats-server -js` of their own on a free loopback port
//! with a temporary store, `eventflow run` as a child process, a keep-alive HTTP receiver
//! standing in for the subscribers, and a small keep-alive HTTP producer.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

fn wait_for_port(port: u16, what: &str, limit: Duration) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < limit,
            "{what} did not listen on port {port} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `nats-server -js` on a free port with its store in a temporary directory.
pub struct NatsServer {
    child: Option<Child>,
    /// The client port.
    pub port: u16,
    /// The JetStream store directory.
    pub store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts the server; panics with an install hint when `nats-server` is missing.
    pub fn start() -> NatsServer {
        let store = tempfile::tempdir().expect("temp dir");
        let mut s = NatsServer {
            child: None,
            port: free_port(),
            store,
        };
        s.restart();
        s
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on the same port and store.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start nats-server ({e}): install it (Debian: apt-get install nats-server) or run without --features nats-tests")
            });
        self.child = Some(child);
        wait_for_port(self.port, "nats-server", Duration::from_secs(20));
    }

    /// Stops the server gracefully (SIGTERM: JetStream flushes its store) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(&c, "TERM");
            let _ = c.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Sends `kill -SIG` to a child.
pub fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status();
}

/// `eventflow run` as a child process.
pub struct Eventflow {
    /// The process (`None` once stopped).
    child: Option<Child>,
    /// Its HTTP port.
    pub port: u16,
}

impl Eventflow {
    /// Starts `eventflow run -f manifests --listen 127.0.0.1:PORT --nats URL extra...` and
    /// waits until `/readyz` answers 200. Its stdout goes to `log`.
    pub fn start(manifests: &Path, port: u16, nats: &str, extra: &[&str], log: &Path) -> Eventflow {
        let out = std::fs::File::create(log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_eventflow"))
            .args(["run", "-f"])
            .arg(manifests)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(["--nats", nats])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(out)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start eventflow");
        let start = Instant::now();
        loop {
            let mut c = Client::new(port);
            if c.get("/readyz") == Some(200) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "eventflow did not become ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Eventflow {
            child: Some(child),
            port,
        }
    }

    /// `kill -9`.
    pub fn kill9(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit; returns whether it succeeded.
    pub fn stop(mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        signal(&c, "TERM");
        c.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Eventflow {
    /// A failed test leaves no process behind.
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What the receiver saw: (path, ce-id), in arrival order.
pub type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A keep-alive HTTP/1.1 receiver on a free port answering 202 to every request.
pub fn receiver() -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let port = listener.local_addr().expect("addr").port();
    let seen: Seen = Arc::default();
    let s = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let s = s.clone();
            std::thread::spawn(move || serve(stream, &s));
        }
    });
    (port, seen)
}

fn serve(stream: TcpStream, seen: &Seen) {
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let Some((line, headers, _body)) = read_message(&mut reader) else {
            return;
        };
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let id = headers.get("ce-id").cloned().unwrap_or_default();
        seen.lock().expect("seen").push((path, id));
        if writer
            .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// Reads a start line, headers (lower-cased) and a content-length body.
fn read_message(r: &mut impl BufRead) -> Option<(String, HashMap<String, String>, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
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
    r.read_exact(&mut body).ok()?;
    Some((line.trim_end().to_string(), headers, body))
}

/// A keep-alive HTTP client for one port; reconnects after any error.
pub struct Client {
    port: u16,
    conn: Option<(TcpStream, BufReader<TcpStream>)>,
}

impl Client {
    /// A client for `127.0.0.1:port` (connects lazily).
    pub fn new(port: u16) -> Client {
        Client { port, conn: None }
    }

    fn request(&mut self, head: &str, body: &[u8]) -> Option<u16> {
        if self.conn.is_none() {
            let s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
            s.set_nodelay(true).ok()?;
            let r = BufReader::new(s.try_clone().ok()?);
            self.conn = Some((s, r));
        }
        let result = (|| {
            let (w, r) = self.conn.as_mut()?;
            let mut request = Vec::with_capacity(head.len() + body.len());
            request.extend_from_slice(head.as_bytes());
            request.extend_from_slice(body);
            w.write_all(&request).ok()?;
            let (line, _, _) = read_message(r)?;
            line.split_whitespace().nth(1)?.parse().ok()
        })();
        if result.is_none() {
            self.conn = None;
        }
        result
    }

    /// `GET path`; the status, or `None` on a transport error.
    pub fn get(&mut self, path: &str) -> Option<u16> {
        let head = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\n\r\n");
        self.request(&head, b"")
    }

    /// POSTs a binary-mode CloudEvent; the status, or `None` on a transport error.
    pub fn post_event(&mut self, path: &str, id: &str, extra_headers: &str) -> Option<u16> {
        let body = format!("{{\"id\":\"{id}\"}}");
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\nce-specversion: 1.0\r\nce-id: {id}\r\nce-source: /test\r\nce-type: test.event\r\n{extra_headers}content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        self.request(&head, body.as_bytes())
    }
}

/// Waits until `done()` holds, polling; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A temporary directory holding `manifests.yaml` with `yaml`.
pub fn manifests(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("manifests.yaml");
    std::fs::write(&path, yaml).expect("write manifests");
    (dir, path)
}

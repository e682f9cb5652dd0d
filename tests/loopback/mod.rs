//! Loopback helpers shared by tests/exec_bindings.rs and tests/container_source.rs: a recording
//! HTTP receiver, and `eventflow run` as a child process stopped with SIGTERM.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request a [`Recorder`] received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request path.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

/// An HTTP receiver on 127.0.0.1 (free port) answering 202 to everything and keeping the
/// requests.
pub struct Recorder {
    pub port: u16,
    seen: Arc<Mutex<Vec<Request>>>,
}

fn handle(stream: TcpStream, seen: &Mutex<Vec<Request>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    // Keep-alive: serve requests until the client closes.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
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
        reader.read_exact(&mut body)?;
        seen.lock().unwrap().push(Request {
            path,
            headers,
            body,
        });
        writer.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")?;
    }
}

impl Recorder {
    /// Starts the receiver.
    pub fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
        let s = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || handle(stream, &s));
            }
        });
        Recorder { port, seen }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits (at most 60 s) until at least `n` requests arrived; returns them.
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let seen = self.requests();
            if seen.len() >= n || Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `eventflow run` on 127.0.0.1:0, its output collected in the background.
pub struct Run {
    child: Child,
    pub addr: SocketAddr,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

/// What a stopped `eventflow run` printed.
pub struct Stopped {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Reads `from` to the end on a thread; the first line goes to `first` (if any).
fn collect(
    from: impl Read + Send + 'static,
    first: Option<std::sync::mpsc::Sender<String>>,
) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut all = String::new();
        let mut line = String::new();
        let mut first = first;
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(f) = first.take() {
                let _ = f.send(line.clone());
            }
            all.push_str(&line);
            line.clear();
        }
        let _ = tx.send(all);
    });
    rx
}

impl Run {
    /// Starts `eventflow run -f manifest --listen 127.0.0.1:0 ARGS...` and waits for its address.
    pub fn start(manifest: &Path, args: &[&str]) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eventflow"))
            .args(["run", "-f"])
            .arg(manifest)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (first_tx, first_rx) = channel();
        let stdout = collect(child.stdout.take().unwrap(), Some(first_tx));
        let stderr = collect(child.stderr.take().unwrap(), None);
        let first = first_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_default();
        let Some(addr) = first
            .strip_prefix("listening on http://")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|a| a.parse().ok())
        else {
            let _ = child.kill();
            let err = stderr
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_default();
            panic!("eventflow run did not start: {first:?}\n{err}");
        };
        Run {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    /// The pid of `eventflow run`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the exit and for the end of its output (every process that
    /// inherited its stdout/stderr must be gone: at most 30 s).
    pub fn stop(mut self) -> Stopped {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let wait = Duration::from_secs(30);
        let stdout = self
            .stdout
            .recv_timeout(wait)
            .expect("eventflow's stdout still open 30 s after it exited: a child process survived");
        let stderr = self.stderr.recv_timeout(wait).unwrap_or_default();
        Stopped {
            status,
            stdout,
            stderr,
        }
    }
}

/// POSTs a binary-mode CloudEvent to `addr` `path`; returns the status code.
pub fn post_event(addr: SocketAddr, path: &str, id: &str, ty: &str, data: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nce-specversion: 1.0\r\n\
         ce-id: {id}\r\nce-source: /test\r\nce-type: {ty}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{data}",
        data.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// True while process `pid` exists and is not a zombie (Linux `/proc/PID/stat`).
pub fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
}

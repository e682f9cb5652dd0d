//! `eventflow run` in a timely cluster (issue 7): every process serves HTTP ingress; an event
//! accepted by any process is routed and delivered once; process 0 writes the delivery log and
//! the report. A process that dies is reported clearly by the others, which stop.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const BINDINGS: &[&str] = &[
    "--service",
    "lint=echo",
    "--service",
    "unit-tests=echo",
    "--service",
    "needs-label=echo",
    "--service",
    "http://127.0.0.1:9/audit=fail:500",
];

fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Starts `n` processes of `run`; returns them with their HTTP addresses.
fn start(dir: &Path, n: usize, out: &Path) -> Vec<(Child, SocketAddr)> {
    let hostfile = dir.join(format!("hosts{n}"));
    let hosts: Vec<String> = free_ports(n)
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    std::fs::write(&hostfile, hosts.join("\n")).unwrap();
    let mut procs = Vec::new();
    for p in 0..n {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eventflow"))
            .args(["run", "-f", "examples/github/topology.yaml"])
            .args(BINDINGS)
            .args(["--listen", "127.0.0.1:0", "--grace", "60"])
            .args(["--processes", &n.to_string(), "--process", &p.to_string()])
            .arg("--hostfile")
            .arg(&hostfile)
            .arg("--out")
            .arg(out)
            .arg("--report")
            .arg(dir.join(format!("report{p}.json")))
            .env("RUST_BACKTRACE", "0")
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Timely prints "awaiting connections" on stdout too: find our line.
        let mut reader = BufReader::new(child.stdout.as_mut().unwrap());
        let mut first = String::new();
        while !first.starts_with("listening on") {
            first.clear();
            assert!(reader.read_line(&mut first).unwrap() > 0, "no address");
        }
        let addr: SocketAddr = first
            .strip_prefix("listening on http://")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        procs.push((child, addr));
    }
    procs
}

/// `GET /readyz` until it answers 200: the process's workers run, so the cluster connected.
fn wait_ready(addr: SocketAddr) {
    for _ in 0..600 {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let req = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut raw = String::new();
            if s.write_all(req.as_bytes()).is_ok()
                && s.read_to_string(&mut raw).is_ok()
                && raw.starts_with("HTTP/1.1 200")
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{addr} never became ready");
}

/// Posts one structured-mode event; returns the status code.
fn post(addr: SocketAddr, body: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /default/github HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/cloudevents+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    if s.write_all(head.as_bytes()).is_err() || s.write_all(body.as_bytes()).is_err() {
        return 0;
    }
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// (subscriber, via, outcome, event id, event type) → count: the delivery log without times.
fn deliveries(text: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = format!(
            "{} <- {} {} {} {}",
            v["subscriber"], v["via"], v["outcome"], v["event"]["id"], v["event"]["type"]
        );
        *m.entry(key).or_default() += 1;
    }
    m
}

#[test]
fn two_processes_serve_ingress_and_deliver_like_one_replay_and_stop_together() {
    let dir = tempfile::tempdir().unwrap();
    let want = dir.path().join("replay.jsonl");
    let o = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["replay", "-q", "-f", "examples/github/topology.yaml"])
        .args(["--events", "examples/github/events.jsonl"])
        .args(BINDINGS)
        .arg("--out")
        .arg(&want)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let out = dir.path().join("cluster.jsonl");
    let mut procs = start(dir.path(), 2, &out);
    let log = std::fs::read_to_string(root().join("examples/github/events.jsonl")).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    for (i, line) in lines.iter().enumerate() {
        // Alternate between the processes: each event enters the cluster exactly once.
        assert_eq!(post(procs[i % 2].1, line), 202, "event {i}");
    }
    // One SIGTERM is enough: the process that gets it tells the others, and the cluster
    // drains as one.
    sigterm(&procs[1].0);
    let mut stdout = Vec::new();
    for (child, _) in procs.iter_mut() {
        let o = std::mem::replace(child, Command::new("true").spawn().unwrap())
            .wait_with_output()
            .unwrap();
        assert!(
            o.status.success(),
            "{:?}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        stdout.push(String::from_utf8_lossy(&o.stdout).to_string());
    }
    assert!(
        stdout[1].contains("process 1 of 2 drained"),
        "{}",
        stdout[1]
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report0.json")).unwrap())
            .unwrap();
    assert_eq!(report["accepted"], lines.len());
    assert_eq!(report["workers"], 2);
    assert!(!dir.path().join("report1.json").exists());
    let got = deliveries(&std::fs::read_to_string(&out).unwrap());
    let want = deliveries(&std::fs::read_to_string(&want).unwrap());
    // expected-echo-steps (628) plus a dead letter for each of the 142 audit deliveries.
    assert_eq!(got.values().sum::<usize>(), 770);
    assert_eq!(got, want);
}

#[test]
fn a_lost_process_is_reported_and_its_peers_stop() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.jsonl");
    let mut procs = start(dir.path(), 2, &out);
    // Before the cluster has connected a killed peer would leave the other waiting for it
    // (timely has no connect time-out): wait until both serve /readyz.
    for (_, addr) in &procs {
        wait_ready(*addr);
    }
    let event = r#"{"specversion":"1.0","id":"a","source":"/s","type":"com.github.push"}"#;
    assert_eq!(post(procs[0].1, event), 202);
    procs[1].0.kill().unwrap();
    let _ = procs[1].0.wait();
    let (mut survivor, addr) = procs.remove(0);
    let mut stderr = String::new();
    survivor
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = survivor.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a process of the cluster was lost"),
        "{stderr}"
    );
    assert!(stderr.contains("start the whole cluster again"), "{stderr}");
    // Nothing is accepted any more.
    assert_eq!(post(addr, event), 0);
}

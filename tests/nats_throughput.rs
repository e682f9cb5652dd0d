//! Throughput of the HTTP ingress into a JetStream-backed channel next to an in-memory one
//! (issue 5's closing numbers). A measurement, not a test: it asserts only that every event
//! was accepted and acknowledged, and prints events/s and latency percentiles. Run it in
//! release mode on a quiet machine:
//! `cargo test --release --features nats-tests --test nats_throughput -- --ignored --nocapture`
//! (`EVENTS=50000 CONNECTIONS=16` to change the load).

#![cfg(feature = "nats-tests")]

mod nats_common;

use nats_common::{free_port, manifests, wait_until, Client, Eventflow, NatsServer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn yaml(kind: &str, api: &str) -> String {
    format!(
        "apiVersion: {api}\nkind: {kind}\nmetadata: {{name: load, namespace: default}}\n---\napiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata: {{name: sink, namespace: default}}\nspec:\n  channel: {{apiVersion: {api}, kind: {kind}, name: load}}\n  subscriber: {{ref: {{apiVersion: v1, kind: Service, name: sink}}}}\n"
    )
}

/// Posts `n` events (ids `<prefix><i>`) over `conns` keep-alive connections; returns
/// (seconds, latencies in µs).
fn load(port: u16, prefix: &'static str, n: usize, conns: usize) -> (f64, Vec<u64>) {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || {
                let mut client = Client::new(port);
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return lat;
                    }
                    let id = format!("{prefix}{i}");
                    loop {
                        let t = Instant::now();
                        let status = client.post_event("/channels/default/load", &id, "");
                        if status == Some(202) {
                            lat.push(t.elapsed().as_micros() as u64);
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(n);
    for h in handles {
        all.extend(h.join().expect("load thread"));
    }
    (start.elapsed().as_secs_f64(), all)
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn metric(port: u16, name: &str) -> u64 {
    // A tiny GET of /metrics over a fresh connection.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics");
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "a measurement: run with --release -- --ignored --nocapture"]
fn jetstream_vs_in_memory_ingress() {
    let n = env("EVENTS", 20_000);
    let conns = env("CONNECTIONS", 16);
    let nats = NatsServer::start();
    let cases = [
        ("InMemoryChannel", "messaging.knative.dev/v1"),
        ("NatsJetStreamChannel", "messaging.knative.dev/v1alpha1"),
    ];
    for (kind, api) in cases {
        let (dir, path) = manifests(&yaml(kind, api));
        let port = free_port();
        let log = dir.path().join("run.log");
        let ef = Eventflow::start(&path, port, &nats.url(), &["--workers", "2"], &log);
        // Warm-up.
        let _ = load(port, "warm-", 1_000, conns);
        let start = Instant::now();
        let (secs, mut lat) = load(port, "e", n, conns);
        let accepted_rate = n as f64 / secs;
        let mut e2e = String::new();
        if kind == "NatsJetStreamChannel" {
            let target = (n + 1_000) as u64;
            wait_until(
                Duration::from_secs(300),
                "every message acknowledged",
                || metric(port, "eventflow_jetstream_acked_total") >= target,
            );
            let all = start.elapsed().as_secs_f64();
            e2e = format!(
                "; all acknowledged after {all:.2} s ({:.0} events/s end to end)",
                n as f64 / all
            );
        }
        lat.sort_unstable();
        println!(
            "{kind:<22} {n} events over {conns} connections: {accepted_rate:>8.0} events/s accepted; latency p50 {} µs, p99 {} µs, max {} µs{e2e}",
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            lat.last().copied().unwrap_or(0)
        );
        assert_eq!(lat.len(), n);
        assert!(ef.stop());
    }
}

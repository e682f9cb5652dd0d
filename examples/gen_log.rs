//! Generates a large JSON Lines CloudEvents log for benchmarks by cycling through the real
//! GitHub log's envelopes (type, source, subject, time, extensions) with fresh ids and a small
//! payload (`{"action": …, "n": i}`, ~400-byte events):
//! `cargo run --release --example gen_log -- 1000000 > /tmp/1m.jsonl`.

use std::io::{BufWriter, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let source = std::fs::read_to_string("examples/github/events.jsonl")?;
    let lines: Vec<serde_json::Value> = source
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for i in 0..n {
        let mut event = lines[i % lines.len()].clone();
        event["id"] = serde_json::Value::String(format!("gen-{i}"));
        let action = event["data"]["action"].clone();
        event["data"] = serde_json::json!({"action": action, "n": i});
        serde_json::to_writer(&mut out, &event)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

//! A bare axum CloudEvents receiver: decodes every POST with the same CloudEvents HTTP binding
//! as `eventflow run`'s ingress and answers 202 (400 for a non-event) — no routing, no engine.
//! The baseline of `scripts/load.sh` (DESIGN.md §8: ingress ≥ 85 % of a bare receiver), and a
//! counting HTTP subscriber for load runs (`GET /count` = events accepted so far).
//!
//! ```sh
//! cargo run --release --example bare_receiver -- --listen 127.0.0.1:8090 --threads 2
//! ```
//! Prints `listening on http://ADDR`, serves until Ctrl-C / SIGTERM, then prints
//! `received N events`.

use eventflow::connectors::http::{BareReceiver, ShutdownSignals};
use std::error::Error;
use std::io::Write;
use std::net::SocketAddr;

fn main() -> Result<(), Box<dyn Error>> {
    let mut listen: SocketAddr = "127.0.0.1:8090".parse()?;
    let mut threads = 2usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen ADDR")?.parse()?,
            "--threads" => threads = args.next().ok_or("--threads N")?.parse()?,
            other => {
                return Err(
                    format!("unknown argument `{other}` (--listen ADDR, --threads N)").into(),
                )
            }
        }
    }
    let signals = ShutdownSignals::install()?;
    let receiver = BareReceiver::start(listen, threads)?;
    println!("listening on http://{}", receiver.local_addr());
    std::io::stdout().flush()?;
    let signal = signals.wait()?;
    let n = receiver.stop()?;
    println!("{signal}: received {n} events");
    Ok(())
}

//! `eventflow explain -f PATH... --event EVENT.json [--into broker/NAME] [--service ...]`:
//! why an event goes where it goes (issue 6).
//!
//! Nothing here routes on its own: the Trigger filters are traced with
//! [`Filter::explain`](eventflow::planner::filter::Filter::explain), which shares every test
//! and combinator with the `evaluate` the engine's router calls, on the event as the Broker
//! ingress stamps it (`knativearrivaltime`, `knativebrokerttl`, same functions as the engine);
//! the path is the real engine run on this one event, its delivery log printed in order, and
//! the ingress nodes it entered taken from the engine's event registry.

use anyhow::{bail, Context};
use eventflow::engine::clock::parse_rfc3339_ms;
use eventflow::engine::input::{Chunk, ChunkBody};
use eventflow::engine::registry::Registry;
use eventflow::engine::run::{run as run_engine, RunOptions};
use eventflow::planner::event::json::parse_event;
use eventflow::Bindings;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Arguments of `explain`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Manifest files or folders.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// One CloudEvent in JSON format (a file, or `-` for stdin).
    #[arg(long)]
    pub event: PathBuf,
    /// Where the event enters: broker/NAME, channel/NAME, sequence/NAME, parallel/NAME
    /// (default: the only Broker).
    #[arg(long)]
    pub into: Option<String>,
    /// Namespace of the --into resource.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Give a Service (or uri) a behaviour: NAME=ack | echo | fail:CODE | http://URL | exec:COMMAND.
    #[arg(long = "service", value_name = "NAME=BINDING")]
    pub services: Vec<String>,
    /// Virtual time for an event without `time` (RFC 3339).
    #[arg(long, default_value = "1970-01-01T00:00:00Z")]
    pub clock_start: String,
    /// Deliveries and hops the event may cause along one path before it is dropped.
    #[arg(long, default_value_t = 1000)]
    pub hop_limit: u32,
}

pub use super::bindings::Described;

/// Parses `--service NAME=BINDING` specs exactly as `replay` does (see `super::bindings`).
///
/// # Errors
/// A usage message naming the bad spec.
pub fn parse_bindings(specs: &[String]) -> anyhow::Result<(Bindings, Described)> {
    super::bindings::parse_described(specs)
}

/// A `Write` into a shared buffer (the delivery log of the one-event run).
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        v.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Prints the explanation; exit 1 on invalid manifests or an unreadable/invalid event.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (bindings, described) = parse_bindings(&args.services)?;
    let Some((topology, plan)) = super::load::load(&args.files) else {
        return Ok(ExitCode::from(1));
    };
    let entry = match plan.entry(args.into.as_deref(), args.namespace.as_deref()) {
        Ok(e) => e,
        Err(msg) => bail!("{msg}"),
    };
    let clock_start = parse_rfc3339_ms(&args.clock_start)
        .with_context(|| format!("--clock-start `{}` is not RFC 3339", args.clock_start))?;
    let text = if args.event.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(&args.event)
            .with_context(|| format!("cannot read {}", args.event.display()))?
    };
    let event = parse_event(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a CloudEvent: {e}", args.event.display()))?;

    // The path: the real engine on this one event, delivery log into a buffer.
    let (tx, rx) = crossbeam_channel::unbounded::<Chunk>();
    let chunk = Chunk {
        index: 0,
        first_line: 1,
        body: ChunkBody::Events(vec![(entry, event.clone())]),
    };
    tx.send(chunk).context("the engine input closed")?;
    drop(tx);
    let buf = SharedBuf::default();
    let registry = Registry::new();
    let opts = RunOptions {
        workers: 1,
        entry,
        clock_start,
        hop_limit: args.hop_limit,
        out: Some(Box::new(buf.clone())),
        registry: Some(registry.clone()),
        ..RunOptions::default()
    };
    let plan = Arc::new(plan);
    let report = run_engine(plan.clone(), &bindings, rx, opts)?;
    let log =
        String::from_utf8_lossy(&buf.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    let run = super::explain_print::RunResult {
        log,
        report,
        entered: registry.snapshot(),
    };
    let binding_of = |x: &eventflow::planner::plan::External| match bindings.resolve(x) {
        None => "ack".to_string(),
        Some(s) => described
            .iter()
            .find(|(d, _)| std::ptr::addr_eq(Arc::as_ptr(d), Arc::as_ptr(&s)))
            .map_or_else(|| "bound".to_string(), |(_, t)| t.clone()),
    };
    let out = super::explain_print::render(
        &plan,
        &topology,
        entry,
        &event,
        clock_start,
        &run,
        &binding_of,
    );
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(ExitCode::SUCCESS)
}

//! `eventflow run -f PATH... [--listen ADDR] [...]`: the live data plane (DESIGN.md §5).
//!
//! Serves Knative-compatible HTTP ingress for every Broker, channel, Sequence and Parallel and
//! routes what it accepts through the engine in real time. Subscribers are in-process bindings
//! (`ack`, `echo`, `fail:CODE`) for now; HTTP subscribers are refused. Ctrl-C / SIGTERM stops
//! accepting, drains the engine within `--grace` and prints the summary.

use anyhow::Context;
use eventflow::connectors::http::RegistryView;
use eventflow::connectors::http::{HttpConfig, HttpIngress, ShutdownSignals, DEFAULT_MAX_BODY};
use eventflow::engine::live::{LiveEngine, LiveOptions, DEFAULT_QUEUE_CAPACITY};
use eventflow::engine::registry::catalog::Catalog;
use eventflow::engine::registry::Registry;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Manifest files or folders.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Address to listen on (`127.0.0.1:0` picks a free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Timely worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Give a Service (or uri) a behaviour: NAME=ack | NAME=echo | NAME=fail:CODE.
    #[arg(long = "service", value_name = "NAME=BINDING")]
    pub services: Vec<String>,
    /// Largest request body accepted, in bytes (413 above).
    #[arg(long, default_value_t = DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Events the engine's queue holds before the ingress answers 429.
    #[arg(long = "queue", default_value_t = DEFAULT_QUEUE_CAPACITY)]
    pub queue: usize,
    /// Seconds to finish requests in progress and drain the engine after Ctrl-C / SIGTERM.
    #[arg(long, default_value_t = 30)]
    pub grace: u64,
    /// Delivery log: one JSON line per subscriber delivery that ended.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Report (JSON) written on shutdown.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// tokio threads serving HTTP.
    #[arg(long, default_value_t = 2)]
    pub http_threads: usize,
    /// Keep the event registry (types seen per ingress) and serve it at `GET /registry`.
    #[arg(long)]
    pub registry: bool,
}

/// Serves until a signal; exit 0 after a clean drain, 1 when the manifests are invalid or the
/// drain did not finish within the grace period.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs();
    let mut bindings = super::bindings::parse(&args.services)?;
    let Some((topology, plan)) = super::load::load(&args.files) else {
        return Ok(ExitCode::from(1));
    };
    // `uri` subscribers (and dead-letter sinks) not bound by name are real HTTP calls.
    for url in super::bindings::bind_uris(&mut bindings, &plan)? {
        eprintln!("calling {url} over HTTP (bind it with --service {url}=… to simulate it)");
    }
    let out: Option<Box<dyn Write + Send>> = match &args.out {
        Some(p) => Some(Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
        None => None,
    };
    let check = bindings.clone();
    let plan = Arc::new(plan);
    let registry = args.registry.then(Registry::new);
    let registry_view = registry.clone().map(|r| {
        let (plan, topology) = (plan.clone(), topology);
        RegistryView(Arc::new(move || {
            let catalog = Catalog::build(&plan, &topology, &r.snapshot());
            serde_json::to_string_pretty(&catalog)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
                + "\n"
        }))
    });
    let opts = LiveOptions {
        workers: args.workers.max(1),
        queue_capacity: args.queue.max(1),
        clock_start: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        out,
        registry: registry.clone(),
        ..LiveOptions::default()
    };
    let signals = ShutdownSignals::install().context("cannot install signal handlers")?;
    let engine = Arc::new(LiveEngine::start_with(plan.clone(), bindings, opts)?);
    let config = HttpConfig {
        listen: args.listen,
        max_body: args.max_body,
        threads: args.http_threads.max(1),
        registry: registry_view,
    };
    let ingress = HttpIngress::start(&plan, engine.sender(), &config)?;
    let addr = ingress.local_addr();
    println!(
        "listening on http://{addr} ({} worker(s), queue {} events, body limit {} bytes)",
        args.workers.max(1),
        args.queue.max(1),
        args.max_body
    );
    let w = ingress
        .urls()
        .iter()
        .map(|u| u.resource.len())
        .max()
        .unwrap_or(0);
    for u in ingress.urls() {
        println!("  {:<w$}  POST {}", u.resource, u.url);
    }
    println!(
        "  health http://{addr}/healthz  ready http://{addr}/readyz  metrics http://{addr}/metrics"
    );
    let unbound: Vec<&str> = plan
        .externals
        .iter()
        .filter(|x| x.service.is_some() && check.resolve(x).is_none())
        .filter_map(|x| x.service.as_deref())
        .collect();
    if !unbound.is_empty() {
        println!(
            "  unbound Services acknowledge (ack): {}",
            unbound.join(", ")
        );
    }
    // PingSources and CronJobSources fire on real timers until the signal.
    let sources = super::sources::start_live(&plan, &engine.sender())?;
    let _ = std::io::stdout().flush();

    let signal = signals.wait().context("waiting for a signal")?;
    let grace = Duration::from_secs(args.grace);
    eprintln!(
        "{signal}: no longer accepting; draining (grace {}s)",
        args.grace
    );
    if let Some(sources) = sources {
        let (sent, dropped) = sources.stop();
        eprintln!("sources stopped: {sent} event(s) sent, {dropped} dropped (queue full)");
    }
    let refused = ingress.rejected_total();
    if let Err(e) = ingress.stop(grace) {
        eprintln!("warning: {e}");
    }
    let (tx, rx) = crossbeam_channel::bounded(1);
    let draining = engine.clone();
    std::thread::spawn(move || {
        let _ = tx.send(draining.shutdown());
    });
    let report = match rx.recv_timeout(grace) {
        Ok(r) => r?,
        Err(_) => {
            eprintln!(
                "error: the engine did not drain within {}s ({} event(s) still queued); exiting",
                args.grace,
                engine.sender().queued()
            );
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let table = super::summary::table(&report, "");
    println!("served http://{addr} on {} worker(s)", report.workers);
    for line in table.lines().skip(1) {
        println!("{line}");
    }
    // Refused requests never reach the engine: counted by the ingress (`/metrics` by reason).
    println!("  refused at ingress {refused:>8}");
    Ok(ExitCode::SUCCESS)
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

//! `eventflow run -f PATH... [--listen ADDR] [...]`: the live data plane (DESIGN.md §5).
//!
//! Serves Knative-compatible HTTP ingress for every Broker, channel, Sequence and Parallel and
//! routes what it accepts through the engine in real time. `uri` subscribers and dead-letter
//! sinks are called over HTTP; Services are bound with `--service` (ack, echo, fail:CODE,
//! http://…, exec:COMMAND; unbound ones acknowledge). PingSources, CronJobSources and
//! ContainerSources (`--image`) run while it serves. In a cluster (`--processes`) every
//! process serves ingress and process 0 writes the log and the summary. Ctrl-C / SIGTERM
//! stops accepting, drains the engine within `--grace` and prints the summary.

use crate::cli::cluster::ClusterArgs;
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
    /// Give a Service (or uri) a behaviour: NAME=ack | echo | fail:CODE | http://URL | exec:COMMAND.
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
    /// Cluster flags: every process serves HTTP ingress; process 0 writes --out, --report and
    /// the summary, and runs the sources.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Run ContainerSources whose image is IMAGE as the local COMMAND (`sh -c`, the
    /// container's args appended, K_SINK and K_CE_OVERRIDES set); restarted when it exits.
    #[arg(long = "image", value_name = "IMAGE=COMMAND")]
    pub images: Vec<String>,
    /// NATS JetStream for durable channels (`--nats URL`, `--nats-ack-wait`).
    #[command(flatten)]
    pub nats: super::nats::NatsArgs,
}

/// Serves until a signal; exit 0 after a clean drain, 1 when the manifests are invalid or the
/// drain did not finish within the grace period.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs();
    let mut bindings = super::bindings::parse(&args.services)?;
    let Some((topology, plan)) = super::load::load(&args.files) else {
        return Ok(ExitCode::from(1));
    };
    let images = super::sources::parse_images(&args.images)?;
    super::sources::check_images(&plan, &images)?;
    // `uri` subscribers (and dead-letter sinks) not bound by name are real HTTP calls.
    for url in super::bindings::bind_uris(&mut bindings, &plan)? {
        eprintln!("calling {url} over HTTP (bind it with --service {url}=… to simulate it)");
    }
    let communication = args.cluster.communication()?;
    let leader = args.cluster.leader();
    let out: Option<Box<dyn Write + Send>> = match &args.out {
        Some(p) if leader => Some(Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
        _ => None,
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
        communication,
        // Process 0 writes the delivery log; the others build the lines it writes.
        lines_for_leader: args.out.is_some() && !leader,
        ..LiveOptions::default()
    };
    // JetStream-backed channels: connect (a clear error when unreachable) before serving.
    let durable = super::nats::connect(&args.nats, &plan)?;
    let signals = ShutdownSignals::install().context("cannot install signal handlers")?;
    // Every delivery attempt feeds `event_dispatch_latencies` (served at /metrics).
    let dispatch = eventflow::connectors::http::DispatchMetrics::new(&plan)?;
    bindings.observe(dispatch.clone());
    let engine = Arc::new(LiveEngine::start_with(plan.clone(), bindings, opts)?);
    let config = HttpConfig {
        listen: args.listen,
        max_body: args.max_body,
        threads: args.http_threads.max(1),
        registry: registry_view,
    };
    let store = durable.as_ref().map(super::nats::Durable::store);
    let ingress = HttpIngress::start_with_store(&plan, engine.sender(), &config, store)?;
    ingress.metrics().register_dispatch(&dispatch)?;
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
    if let Some(d) = &durable {
        d.start(&engine.sender());
        println!("{}", d.describe(&plan));
    }
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
    if args.cluster.is_cluster() {
        println!(
            "  process {} of {} in the cluster; {}",
            args.cluster.process,
            args.cluster.processes,
            if leader {
                "this process writes the delivery log, the report and the summary"
            } else {
                "process 0 writes the delivery log, the report and the summary"
            }
        );
    }
    // PingSources and CronJobSources fire on real timers until the signal (on process 0 only:
    // every process firing them would send each tick N times).
    let sources = if leader {
        super::sources::start_live(&plan, &engine.sender())?
    } else {
        None
    };
    // ContainerSources run as local processes posting to this ingress (process 0 only).
    let containers = if leader {
        super::sources::start_containers(&plan, &images, ingress.urls(), &args.services)?
    } else {
        None
    };
    let _ = std::io::stdout().flush();

    let watched = engine.clone();
    let signal = signals
        .wait_or(move || !watched.sender().is_running() || watched.stop_requested())
        .context("waiting for a signal")?;
    let signal = match signal {
        Some(signal) => signal,
        // A cluster drains as one: another process was told to stop.
        None if engine.stop_requested() && engine.sender().is_running() => {
            "another process of the cluster is stopping"
        }
        None => return engine_lost(&engine, ingress, args.cluster.is_cluster()),
    };
    let grace = Duration::from_secs(args.grace);
    eprintln!(
        "{signal}: no longer accepting; draining (grace {}s)",
        args.grace
    );
    if let Some(sources) = sources {
        let (sent, dropped) = sources.stop();
        eprintln!("sources stopped: {sent} event(s) sent, {dropped} dropped (queue full)");
    }
    if let Some(containers) = containers {
        let (starts, exits) = containers.stop();
        eprintln!(
            "container sources stopped: {starts} process start(s), {exits} exit(s) before shutdown"
        );
    }
    let refused = ingress.rejected_total();
    if let Err(e) = ingress.stop(grace) {
        eprintln!("warning: {e}");
    }
    if let Some(d) = &durable {
        d.stop_pulling();
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
            if args.cluster.is_cluster() {
                eprintln!(
                    "error: a cluster drains as one: every process must finish its deliveries \
                     before any can stop (the others were told to stop too)"
                );
            }
            return Ok(ExitCode::from(1));
        }
    };
    // The drain ran every completion callback: send the last JetStream acknowledgements.
    let jetstream = durable.as_ref().map(|d| d.finish(grace));
    if !leader {
        println!(
            "process {} of {} drained; the delivery log, the report and the summary are on process 0",
            args.cluster.process, args.cluster.processes
        );
        println!("  refused at this process's ingress {refused:>8}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let table = super::summary::table(&report, "");
    println!("served http://{addr} on {} worker(s)", report.workers);
    for line in table.lines().skip(1) {
        println!("{line}");
    }
    // Refused requests never reach the engine: counted by the ingress (`/metrics` by reason),
    // per process in a cluster (the table above counts the whole cluster).
    if args.cluster.is_cluster() {
        println!("  refused at process 0's ingress {refused:>8} (each process prints its own)");
    } else {
        println!("  refused at ingress {refused:>8}");
    }
    if let Some(lines) = &jetstream {
        print!("{lines}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The engine ended without a signal: it failed (in a cluster: a peer process was lost).
/// Stops the ingress at once and says what the operator should do; nothing accepted is
/// claimed as delivered.
fn engine_lost(
    engine: &LiveEngine,
    ingress: HttpIngress,
    cluster: bool,
) -> anyhow::Result<ExitCode> {
    let queued = engine.sender().queued();
    let _ = ingress.stop(Duration::ZERO);
    let why = match engine.shutdown() {
        Err(e) => e.to_string(),
        Ok(_) => "it stopped".to_string(),
    };
    eprintln!("error: the engine stopped on its own: {why}");
    if cluster {
        eprintln!(
            "error: a process of the cluster was lost (crashed, killed or unreachable). Timely \
             cannot rejoin a process: stop every process and start the whole cluster again."
        );
    }
    eprintln!(
        "error: events accepted here and not yet delivered are lost ({queued} were still queued); \
         the delivery log holds only deliveries that ended. Durable channels (NATS JetStream) \
         redeliver what was accepted."
    );
    Ok(ExitCode::from(2))
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

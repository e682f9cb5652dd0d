//! `eventflow replay -f PATH... --events LOG.jsonl [...]` (DESIGN.md §5).

use crate::cli::cluster::ClusterArgs;
use anyhow::{bail, Context};
use eventflow::connectors::log::{read_log, spawn_reader, CHUNK_LINES};
use eventflow::engine::clock::parse_rfc3339_ms;
use eventflow::engine::run::{run as run_engine, RunOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Arguments of `replay`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Manifest files or folders.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// The event log: JSON Lines, one CloudEvent (JSON format) per line; `-` for stdin.
    /// Optional with --from/--until or --from-channel.
    #[arg(long, required_unless_present_any = ["from", "from_channel"])]
    pub events: Option<PathBuf>,
    /// Fire the PingSources and CronJobSources on the virtual clock from this time
    /// (RFC 3339, inclusive; with --until), after the log's events.
    #[arg(long, requires = "until")]
    pub from: Option<String>,
    /// End of the --from window (RFC 3339, exclusive).
    #[arg(long, requires = "from")]
    pub until: Option<String>,
    /// Where the log's events enter: broker/NAME, channel/NAME, sequence/NAME, parallel/NAME
    /// (default: the only Broker).
    #[arg(long)]
    pub into: Option<String>,
    /// Namespace of the --into resource.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Delivery log: one JSON line per subscriber delivery that ended (`-` for stdout; the
    /// summary then goes to stderr).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Report: JSON with counts, malformed lines, drops and speed.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Timely worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Give a Service (or uri) a behaviour: NAME=ack | echo | fail:CODE | http://URL (a real
    /// HTTP subscriber) | exec:COMMAND (a JSON Lines co-process); replay otherwise calls
    /// nothing outside.
    #[arg(long = "service", value_name = "NAME=BINDING")]
    pub services: Vec<String>,
    /// Exit 1 when a line is malformed; reading stops after the chunk (1024 lines) that held it.
    #[arg(long)]
    pub strict: bool,
    /// Virtual time for events without `time` (RFC 3339).
    #[arg(long, default_value = "1970-01-01T00:00:00Z")]
    pub clock_start: String,
    /// Deliveries and hops one input event may cause along one path before it is dropped.
    #[arg(long, default_value_t = 1000)]
    pub hop_limit: u32,
    /// Print no summary table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Call `uri` subscribers (and dead-letter sinks) over HTTP for real instead of simulating
    /// them; backoff still runs on the virtual clock.
    #[arg(long)]
    pub call_uris: bool,
    /// Cluster flags (`--processes`, `--process`, `--hostfile`).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Replay the events a JetStream-backed channel stored (NAMESPACE/NAME, or KIND/NAME /
    /// KIND/NAMESPACE/NAME of a JetStream-backed Broker, Sequence or Parallel); they enter
    /// there. Needs --nats URL (or NATS_URL).
    #[arg(long = "from-channel", value_name = "NS/NAME", conflicts_with_all = ["events", "into"])]
    pub from_channel: Option<String>,
    /// With --from-channel: start at the first event stored at or after this time (RFC 3339).
    #[arg(long, requires = "from_channel")]
    pub since: Option<String>,
    /// NATS server for --from-channel.
    #[command(flatten)]
    pub nats: super::nats::NatsArgs,
}

/// Runs the replay; exit 1 on invalid manifests, unreadable input or a `--strict` failure.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut bindings = super::bindings::parse(&args.services)?;
    let Some(plan) = super::load::load_plan(&args.files) else {
        return Ok(ExitCode::from(1));
    };
    if args.call_uris {
        super::bindings::bind_uris(&mut bindings, &plan)?;
    }
    for name in bindings.names() {
        let known = plan.externals.iter().any(|x| {
            x.name == name
                || x.service.as_deref() == Some(name)
                || x.name.ends_with(&format!("/{name}"))
        });
        if !known {
            let services = plan.externals.iter().filter_map(|x| x.service.as_deref());
            let hint = match eventflow::planner::manifest::did_you_mean(name, services) {
                Some(s) => format!(" (did you mean `{s}`?)"),
                None => String::new(),
            };
            eprintln!(
                "warning: --service {name}: no subscriber of that name in the manifests{hint}"
            );
        }
    }
    let timers = super::sources::timers(&args, &plan)?;
    // `--from-channel`: the events a JetStream-backed channel stored, entering there.
    let stored = match &args.from_channel {
        Some(spec) => {
            let since = match args.since.as_deref() {
                Some(t) => Some(
                    parse_rfc3339_ms(t)
                        .with_context(|| format!("--since `{t}` is not RFC 3339"))?,
                ),
                None => None,
            };
            Some(super::nats::replay_reader(&args.nats, &plan, spec, since)?)
        }
        None => None,
    };
    let entry = match &stored {
        Some((node, _)) => Ok(*node),
        None => plan.entry(args.into.as_deref(), args.namespace.as_deref()),
    };
    let (entry, into) = match entry {
        Ok(e) => (e, plan.entry_name(e)),
        // Sources alone need no entry for a log.
        Err(_) if args.events.is_none() => (0, "sources".to_string()),
        Err(msg) => bail!("{msg}"),
    };
    let communication = args.cluster.communication()?;
    let clock_start = parse_rfc3339_ms(&args.clock_start)
        .with_context(|| format!("--clock-start `{}` is not RFC 3339", args.clock_start))?;
    let to_stdout = args.out.as_deref().is_some_and(|p| p.as_os_str() == "-");
    // In a cluster, process 0 holds the delivery log, the report and the summary.
    let leader = args.cluster.leader();
    let out: Option<Box<dyn Write + Send>> = match &args.out {
        Some(_) if !leader => None,
        // In a cluster, timely prints while connecting: keep that out of the log.
        Some(_) if to_stdout && args.cluster.is_cluster() => {
            Some(Box::new(BufWriter::new(super::cluster::private_stdout()?)))
        }
        Some(_) if to_stdout => Some(Box::new(BufWriter::new(std::io::stdout()))),
        Some(p) => Some(Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
        None => None,
    };
    let reader = match (&args.events, stored) {
        (_, Some((_, stream))) => spawn_reader(Box::new(stream), None, CHUNK_LINES),
        (Some(path), None) => read_log(path, CHUNK_LINES)?,
        (None, None) => spawn_reader(Box::new(std::io::empty()), Some(0), CHUNK_LINES),
    };
    let log_name = match (&args.from_channel, &args.events) {
        (Some(spec), _) => format!("stream of {spec}"),
        (None, events) => events
            .as_deref()
            .map_or_else(String::new, |p| p.display().to_string()),
    };
    let bar = match reader.total_bytes {
        Some(total) if total > 0 => ProgressBar::new(total),
        _ => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} replay [{bar:30}] {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (progress, stop) = (reader.progress.clone(), reader.stop.clone());
    let ticker = {
        let bar = bar.clone();
        std::thread::spawn(move || {
            while !bar.is_finished() {
                bar.set_position(progress.bytes.load(Ordering::Relaxed));
                bar.set_message(format!("{} lines", progress.lines.load(Ordering::Relaxed)));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let opts = RunOptions {
        workers: args.workers,
        entry,
        clock_start,
        hop_limit: args.hop_limit,
        out,
        strict: args.strict,
        communication,
        lines_for_leader: args.out.is_some(),
        ..RunOptions::default()
    };
    let (chunks, firing) = super::sources::chunks(timers, reader.chunks);
    let report = run_engine(std::sync::Arc::new(plan), &bindings, chunks, opts);
    let fired = firing.map(super::sources::finish);
    stop.store(true, Ordering::SeqCst);
    bar.finish_and_clear();
    let _ = ticker.join();
    match reader.thread.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => bail!("reading {log_name}: {e}"),
        Err(_) => bail!("the log reader stopped unexpectedly"),
    }
    let report = report?;
    if !leader {
        eprintln!(
            "process {} of {} done; the delivery log and the report are on process 0",
            args.cluster.process, args.cluster.processes
        );
        return Ok(ExitCode::SUCCESS);
    }
    for m in &report.malformed {
        eprintln!("{log_name}:{}: malformed event: {}", m.line, m.reason);
    }
    if let Some(line) = fired {
        eprintln!("{line}");
    }
    if let Some(path) = &args.report {
        let mut json = serde_json::to_value(&report)?;
        if let Some(obj) = json.as_object_mut() {
            obj.insert("into".into(), serde_json::Value::String(into.clone()));
            obj.insert(
                "bindings".into(),
                serde_json::to_value(bindings.described())?,
            );
        }
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !args.quiet {
        // With the delivery log on stdout, the summary goes to stderr.
        let table = super::summary::table(&report, &into);
        let _ = if to_stdout {
            std::io::Write::write_all(&mut std::io::stderr().lock(), table.as_bytes())
        } else {
            std::io::Write::write_all(&mut std::io::stdout().lock(), table.as_bytes())
        };
    }
    if args.strict && !report.malformed.is_empty() {
        eprintln!(
            "error: --strict: {} malformed line(s); first at line {}",
            report.malformed.len(),
            report.malformed[0].line
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

//! Sources for `replay` and `run`: timer sources (PingSource, CronJobSource) fired on the
//! virtual clock (`replay --from/--until`) or real timers (`run`), and ContainerSources run as
//! local processes (`run --image IMAGE=COMMAND`; never in replay).

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use crossbeam_channel::Receiver;
use eventflow::connectors::http::IngressUrl;
use eventflow::connectors::log::CHUNK_LINES;
use eventflow::connectors::sources::container::{self, ContainerError, LiveContainers};
use eventflow::connectors::sources::live::LiveSources;
use eventflow::connectors::sources::replay::{fire_between, Firing};
use eventflow::connectors::sources::{self, Timer};
use eventflow::engine::input::Chunk;
use eventflow::engine::live::LiveSender;
use eventflow::planner::plan::{Plan, Target};
use eventflow::planner::topology::SourceKind;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long a ContainerSource process gets between SIGTERM and SIGKILL when `run` stops.
pub const CONTAINER_GRACE: Duration = Duration::from_secs(2);

/// The sources a replay fires and its `[from, until)` window.
pub struct Window {
    timers: Vec<Timer>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// A replay's source producer and what to say when it is done.
pub struct Running {
    firing: Firing,
    sources: usize,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

fn instant(flag: &str, text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("{flag} `{text}` is not RFC 3339"))
}

/// `None` without `--from/--until`; else the timers of `plan` (warnings for sources that
/// cannot fire on stderr). Either way, warns that ContainerSources are not run by replay.
pub fn timers(args: &super::replay::Args, plan: &Plan) -> anyhow::Result<Option<Window>> {
    for name in container::names(plan) {
        eprintln!(
            "warning: {name}: not run by replay (its process runs only under `eventflow run \
             --image IMAGE=COMMAND`); record what it sends and replay that with --events"
        );
    }
    let (Some(from), Some(until)) = (&args.from, &args.until) else {
        return Ok(None);
    };
    let (from, until) = (instant("--from", from)?, instant("--until", until)?);
    if until <= from {
        bail!("--until must be later than --from");
    }
    if args.cluster.is_cluster() {
        bail!("--from/--until cannot be combined with --processes yet");
    }
    let found = sources::timers(plan)?;
    for s in &found.skipped {
        eprintln!("warning: {s}: not fired by replay");
    }
    if found.timers.is_empty() {
        eprintln!(
            "warning: --from/--until: no PingSource or CronJobSource fires into this topology"
        );
    }
    Ok(Some(Window {
        timers: found.timers,
        from,
        until,
    }))
}

/// The chunks to replay: the log's, then (with a window) the sources' in fire-time order.
pub fn chunks(window: Option<Window>, log: Receiver<Chunk>) -> (Receiver<Chunk>, Option<Running>) {
    match window {
        None => (log, None),
        Some(w) => {
            let sources = w.timers.len();
            let firing = fire_between(w.timers, w.from, w.until, Some(log), CHUNK_LINES);
            let chunks = firing.chunks.clone();
            let running = Running {
                firing,
                sources,
                from: w.from,
                until: w.until,
            };
            (chunks, Some(running))
        }
    }
}

/// Waits for the producer; the line to print about what fired.
pub fn finish(running: Running) -> String {
    let Running {
        firing,
        sources,
        from,
        until,
    } = running;
    let fired = firing.fired.load(Ordering::Relaxed);
    drop(firing.chunks);
    let _ = firing.thread.join();
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    format!(
        "fired {fired} source event(s) from {sources} source(s) in [{}, {})",
        fmt(from),
        fmt(until)
    )
}

/// Starts the plan's timer sources on real time into `sender` (`None` when there are none);
/// prints what fires, and a warning for each source that cannot.
pub fn start_live(plan: &Plan, sender: &LiveSender) -> anyhow::Result<Option<LiveSources>> {
    let found = sources::timers(plan)?;
    for s in &found.skipped {
        eprintln!("warning: {s}: not fired");
    }
    if found.timers.is_empty() {
        return Ok(None);
    }
    for t in &found.timers {
        let tz = t.schedule.timezone();
        println!(
            "  source {}  schedule \"{}\" ({tz})",
            t.name,
            t.schedule.as_str()
        );
    }
    Ok(Some(LiveSources::start(found.timers, sender)))
}

/// `--image IMAGE=COMMAND` specs as (image, command), in order.
///
/// # Errors
/// A usage message for a spec without `=`, or with an empty image or command.
pub fn parse_images(specs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    specs
        .iter()
        .map(|spec| match spec.split_once('=') {
            Some((image, command)) if !image.is_empty() && !command.trim().is_empty() => {
                Ok((image.to_string(), command.to_string()))
            }
            _ => bail!(
                "--image `{spec}`: expected IMAGE=COMMAND (the image as the ContainerSource \
                 names it, and a local command, e.g. --image \
                 heartbeats=target/release/examples/heartbeats)"
            ),
        })
        .collect()
}

/// Checks, before anything starts, that every ContainerSource's image has a mapping (an error
/// naming each unmapped source and image, with a hint); warns about mappings no source uses.
///
/// # Errors
/// A ContainerSource without an image, or images without a mapping.
pub fn check_images(plan: &Plan, images: &[(String, String)]) -> anyhow::Result<()> {
    let used: Vec<&str> = plan
        .sources
        .iter()
        .filter_map(|(s, _)| match &s.kind {
            SourceKind::Container {
                image: Some(image), ..
            } => Some(image.as_str()),
            _ => None,
        })
        .collect();
    for (image, command) in images {
        let maps = |u: &&str| *u == image || container::repository(u) == image;
        if !used.iter().any(maps) {
            eprintln!("warning: --image {image}={command}: no ContainerSource uses this image");
        }
    }
    container::containers(plan, images, |_| Ok(String::new())).map_err(|e| {
        let image = match &e {
            ContainerError::Unmapped(list) => list.first().map_or("IMAGE", |(_, i)| i.as_str()),
            ContainerError::NoImage(_) => "IMAGE",
        };
        anyhow::anyhow!(
            "{e}\nhint: ContainerSources run as local processes: map each image to a command \
             with --image IMAGE=COMMAND, e.g. --image {image}=target/release/examples/heartbeats \
             (built by `cargo build --release --example heartbeats`)"
        )
    })?;
    Ok(())
}

/// The URL a ContainerSource's `K_SINK` gets for `target`: the ingress URL of a Broker,
/// channel, Sequence or Parallel on the `--listen` address; a `uri` sink's URI; a Service's
/// `--service NAME=http://…` URL. Errors say why there is none.
fn sink_url(
    plan: &Plan,
    urls: &[IngressUrl],
    services: &[String],
    target: Target,
) -> Result<String, String> {
    match target {
        Target::Node(n) => {
            let resource = plan.entry_name(n);
            urls.iter()
                .find(|u| u.resource == resource)
                .map(|u| u.url.clone())
                .ok_or_else(|| format!("its sink {resource} has no ingress URL"))
        }
        Target::External(x) => {
            let Some(external) = plan.externals.get(x as usize) else {
                return Err("its sink does not resolve".into());
            };
            if external.service.is_none() {
                return Ok(external.url.clone());
            }
            let (bindings, described) =
                super::bindings::parse_described(services).map_err(|e| e.to_string())?;
            let bound = bindings.resolve(external).and_then(|sub| {
                described
                    .iter()
                    .find(|(s, _)| Arc::ptr_eq(s, &sub))
                    .map(|(_, text)| text.clone())
            });
            match bound {
                Some(url) if url.starts_with("http://") => Ok(url),
                _ => Err(format!(
                    "its sink {} has no HTTP address; bind it with --service {}=http://…",
                    external.name,
                    external.service.as_deref().unwrap_or("NAME")
                )),
            }
        }
    }
}

/// Starts the ContainerSources of `plan` as local processes posting to the ingress `urls`
/// (`None` when there are none); prints each one, and a warning for each that cannot run.
///
/// # Errors
/// Unmapped images (see [`check_images`]).
pub fn start_containers(
    plan: &Plan,
    images: &[(String, String)],
    urls: &[IngressUrl],
    services: &[String],
) -> anyhow::Result<Option<LiveContainers>> {
    let found = container::containers(plan, images, |t| sink_url(plan, urls, services, t))?;
    for s in &found.skipped {
        eprintln!("warning: {s}: not started");
    }
    if found.processes.is_empty() {
        return Ok(None);
    }
    for p in &found.processes {
        println!(
            "  source {}  image {} → `{}`  K_SINK={}",
            p.name,
            p.image,
            p.command,
            p.sink()
        );
    }
    Ok(Some(LiveContainers::start(
        found.processes,
        CONTAINER_GRACE,
    )))
}

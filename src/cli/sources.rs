//! Timer sources (PingSource, CronJobSource) for `replay --from/--until` and `run`.

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use crossbeam_channel::Receiver;
use eventflow::connectors::log::CHUNK_LINES;
use eventflow::connectors::sources::live::LiveSources;
use eventflow::connectors::sources::replay::{fire_between, Firing};
use eventflow::connectors::sources::{self, Timer};
use eventflow::engine::input::Chunk;
use eventflow::engine::live::LiveSender;
use eventflow::planner::plan::Plan;
use std::sync::atomic::Ordering;

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
/// cannot fire on stderr).
pub fn timers(args: &super::replay::Args, plan: &Plan) -> anyhow::Result<Option<Window>> {
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

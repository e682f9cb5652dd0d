//! The throughput rows of `bench`: the baselines and the engine, interleaved round by round.

use super::{time, Args, Row};
use eventflow::bench::baseline::{
    engine_replay_on, parse_and_route, parse_events, parse_value, reader_only, split_lines, Lookup,
    SharedLog,
};
use eventflow::engine::run::Communication;
use eventflow::planner::plan::{NodeId, Plan};
use eventflow::Bindings;
use std::sync::Arc;

/// What one run of a variant did: events, deliveries, and its own timing when the wall time
/// around the call would not be fair (a cluster's engine runs).
type Outcome = (u64, Option<u64>, Option<f64>);
type Variant<'a> = Box<dyn Fn() -> anyhow::Result<Outcome> + 'a>;

/// The baselines and the engine, interleaved, `runs` rounds. In a cluster every process runs
/// the engine rows (in the same order: each is one timely computation over all processes) and
/// only process 0 the baselines.
pub fn baselines(
    args: &Args,
    plan: &Plan,
    entry: NodeId,
    log: &SharedLog,
    communication: &Communication,
) -> anyhow::Result<Vec<Row>> {
    let shared = Arc::new(plan.clone());
    let bindings = Bindings::new();
    let mut variants: Vec<(String, Variant<'_>)> = vec![
        (
            "read + split lines".into(),
            Box::new(|| Ok((split_lines(&log.0), None, None))),
        ),
        (
            "log reader thread (chunks)".into(),
            Box::new(|| Ok((reader_only(log)?, None, None))),
        ),
        (
            "serde_json::Value parse".into(),
            Box::new(|| Ok((parse_value(&log.0), None, None))),
        ),
        (
            "parse_event (eventflow)".into(),
            Box::new(|| Ok((parse_events(&log.0), None, None))),
        ),
        (
            "hand loop: parse + RouteIndex".into(),
            Box::new(|| {
                let (e, d) = parse_and_route(&log.0, plan, entry, Lookup::Indexed);
                Ok((e, Some(d), None))
            }),
        ),
    ];
    if plan.edges.len() <= 1000 {
        variants.push((
            "hand loop: parse + naive filters".into(),
            Box::new(|| {
                let (e, d) = parse_and_route(&log.0, plan, entry, Lookup::Naive);
                Ok((e, Some(d), None))
            }),
        ));
    }
    if !args.cluster.leader() {
        variants.clear();
    }
    let mut workers = vec![1];
    if args.workers > 1 {
        workers.push(args.workers);
    }
    let cluster = args.cluster.is_cluster();
    let processes = if cluster {
        format!(" × {} processes", args.cluster.processes)
    } else {
        String::new()
    };
    for w in workers {
        let (shared, bindings) = (shared.clone(), &bindings);
        variants.push((
            format!("engine replay, {w} worker(s){processes}"),
            Box::new(move || {
                let c = communication.clone();
                let (r, secs) = engine_replay_on(shared.clone(), bindings, log, entry, w, c)?;
                Ok((r.events_read, Some(r.deliveries), cluster.then_some(secs)))
            }),
        ));
    }
    let mut rows: Vec<Row> = variants
        .iter()
        .map(|(name, _)| Row {
            name: name.clone(),
            events: 0,
            bytes: log.0.len() as u64,
            deliveries: None,
            secs: Vec::new(),
        })
        .collect();
    for round in 0..args.runs.max(1) {
        for (row, (name, f)) in rows.iter_mut().zip(&variants) {
            eprintln!("run {}/{}: {name}", round + 1, args.runs.max(1));
            let (secs, (events, deliveries, own)) = time(f)?;
            row.secs.push(own.unwrap_or(secs));
            row.events = events;
            row.deliveries = deliveries;
        }
    }
    Ok(rows)
}

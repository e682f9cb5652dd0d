//! The Trigger sweep: one Broker with N exact-type Triggers, events/s at each N, planner
//! compile time, and memory measured in a fresh process.

use super::{time, Args, Row, SweepPoint};
use eventflow::bench::baseline::{engine_replay, SharedLog};
use eventflow::bench::memory::{reset_peak, rss};
use eventflow::bench::workload::{self, generate_log, sweep_plan, Source};
use eventflow::Bindings;
use std::process::ExitCode;
use std::sync::Arc;

/// Engine replay at each Trigger count (interleaved rounds), with compile time and memory.
pub fn sweep(args: &Args) -> anyhow::Result<Vec<SweepPoint>> {
    let mut points = Vec::new();
    let mut logs = Vec::new();
    for &n in &args.triggers_sweep {
        let n = n.max(1);
        let (compile, plan) = time(|| sweep_plan(n).map_err(anyhow::Error::msg))?;
        let source = Source::Generated {
            size: args.size,
            types: n,
        };
        let log = SharedLog(generate_log(&source, args.events).into());
        let peak_bytes = probe_in_child(n, args);
        points.push(SweepPoint {
            triggers: n,
            compile_ms: compile * 1e3,
            row: Row {
                name: format!("engine, {n} Trigger(s)"),
                events: 0,
                bytes: log.0.len() as u64,
                deliveries: None,
                secs: Vec::new(),
            },
            peak_bytes,
        });
        logs.push((Arc::new(plan), log));
    }
    let bindings = Bindings::new();
    for round in 0..args.runs.max(1) {
        for (p, (plan, log)) in points.iter_mut().zip(&logs) {
            eprintln!(
                "sweep run {}/{}: {} Triggers",
                round + 1,
                args.runs.max(1),
                p.triggers
            );
            let (secs, r) = time(|| Ok(engine_replay(plan.clone(), &bindings, log, 0, 1)?))?;
            p.row.secs.push(secs);
            p.row.events = r.events_read;
            p.row.deliveries = Some(r.deliveries);
        }
    }
    Ok(points)
}

/// Runs `eventflow bench --probe-memory N` in a fresh process; its peak RSS growth.
fn probe_in_child(n: usize, args: &Args) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let events = args.events.min(4096).to_string();
    let out = std::process::Command::new(exe)
        .args([
            "bench",
            "--probe-memory",
            &n.to_string(),
            "--events",
            &events,
        ])
        .args(["--size", args.size.as_str()])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v.get("peak_growth").and_then(serde_json::Value::as_u64)
}

/// In this (fresh) process: RSS before the manifests are written and loaded, then the peak
/// while replaying a small log through the N-Trigger topology once it is loaded as `replay`
/// loads it (`load_plan`: the loader's memory, YAML text included, goes back to the OS; the
/// plan and the engine's indexes count); prints one JSON object.
pub fn probe_memory(n: usize, args: &Args) -> anyhow::Result<ExitCode> {
    let source = Source::Generated {
        size: args.size,
        types: n.max(1),
    };
    let log = SharedLog(generate_log(&source, args.events).into());
    // A clean start: what generating the log freed is not resident any more.
    crate::cli::load::release_freed_memory();
    let before = rss();
    let yaml = workload::sweep_yaml(n.max(1));
    let plan = Arc::new(workload::plan_from_yaml(&yaml).map_err(anyhow::Error::msg)?);
    drop(yaml);
    crate::cli::load::release_freed_memory();
    let after_plan = rss();
    // The peak counts from here: the plan kept plus the engine's run, not YAML parsing.
    let reset = reset_peak();
    let report = engine_replay(plan, &Bindings::new(), &log, 0, 1)?;
    let after = rss();
    let v = serde_json::json!({
        "triggers": n,
        "peak_reset": reset,
        "rss_before": before.current,
        "rss_after_plan": after_plan.current,
        "peak": after.peak,
        "peak_growth": after.peak.saturating_sub(before.current),
        "deliveries": report.deliveries,
    });
    println!("{v}");
    Ok(ExitCode::SUCCESS)
}

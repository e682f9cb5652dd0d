//! The bench results as markdown tables and as JSON.

use super::{Results, Row, SweepPoint};
use eventflow::bench::latency::{LatencyPoint, TARGET_P99_US};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// A measured value against its target.
struct Target {
    label: String,
    value: f64,
    unit: Unit,
    /// `None`: informational (no target).
    bound: Option<Bound>,
}

/// What a [`Target`] measures.
#[derive(Clone, Copy)]
enum Unit {
    Ratio,
    Bytes,
    Micros,
}

/// A target: the measured value must be at least / at most this.
#[derive(Clone, Copy)]
enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

impl Unit {
    fn text(self, x: f64) -> String {
        match self {
            Unit::Ratio => format!("{x:.2}"),
            Unit::Bytes => format!("{x:.0} B"),
            Unit::Micros => format!("{x:.0} µs"),
        }
    }

    fn json_name(self) -> &'static str {
        match self {
            Unit::Ratio => "ratio",
            Unit::Bytes => "bytes",
            Unit::Micros => "us",
        }
    }
}

impl Target {
    fn met(&self) -> Option<bool> {
        self.bound.map(|b| match b {
            Bound::AtLeast(x) => self.value >= x,
            Bound::AtMost(x) => self.value <= x,
        })
    }

    fn target_text(&self) -> String {
        match self.bound {
            Some(Bound::AtLeast(x)) => format!("≥ {}", self.unit.text(x)),
            Some(Bound::AtMost(x)) => format!("≤ {}", self.unit.text(x)),
            None => "(machine)".into(),
        }
    }
}

fn find<'a>(res: &'a Results, prefix: &str) -> Option<&'a Row> {
    res.rows.iter().find(|r| r.name.starts_with(prefix))
}

fn engine(res: &Results, workers: usize) -> Option<&Row> {
    find(res, &format!("engine replay, {workers} worker"))
}

/// (peak growth of the largest sweep point − of the smallest) / (Trigger difference), bytes.
pub fn memory_per_trigger(sweep: &[SweepPoint]) -> Option<f64> {
    let lo = sweep.iter().min_by_key(|p| p.triggers)?;
    let hi = sweep.iter().max_by_key(|p| p.triggers)?;
    let (a, b) = (lo.peak_bytes?, hi.peak_bytes?);
    (hi.triggers > lo.triggers)
        .then(|| (b as f64 - a as f64).max(0.0) / (hi.triggers - lo.triggers) as f64)
}

fn targets(res: &Results) -> Vec<Target> {
    let mut t = Vec::new();
    let ratio = |label: &str, a: Option<&Row>, b: Option<&Row>, min: f64| {
        let (a, b) = (a?, b?);
        Some(Target {
            label: label.to_string(),
            value: a.eps() / b.eps().max(1e-12),
            unit: Unit::Ratio,
            bound: Some(Bound::AtLeast(min)),
        })
    };
    let e1 = engine(res, 1);
    let ew = res
        .rows
        .iter()
        .rfind(|r| r.name.starts_with("engine replay") && !r.name.contains(" 1 worker"));
    t.extend(ratio(
        "engine 1 worker ÷ serde_json::Value parse",
        e1,
        find(res, "serde_json"),
        0.5,
    ));
    t.extend(ratio(
        "engine 1 worker ÷ hand loop (parse + RouteIndex)",
        e1,
        find(res, "hand loop: parse + RouteIndex"),
        0.7,
    ));
    if let Some(ew) = ew {
        let label = format!(
            "{} ÷ engine 1 worker",
            ew.name.trim_start_matches("engine replay, ")
        );
        t.extend(ratio(&label, Some(ew), e1, 1.7));
    }
    let lo = res.sweep.iter().min_by_key(|p| p.triggers);
    let hi = res.sweep.iter().max_by_key(|p| p.triggers);
    if let (Some(lo), Some(hi)) = (lo, hi) {
        if hi.triggers > lo.triggers {
            let label = format!(
                "events/s at {} ÷ at {} Trigger(s)",
                hi.triggers, lo.triggers
            );
            t.extend(ratio(&label, Some(&hi.row), Some(&lo.row), 0.7));
        }
    }
    if let Some(m) = memory_per_trigger(&res.sweep) {
        t.push(Target {
            label: "memory per Trigger (peak RSS growth)".into(),
            value: m,
            unit: Unit::Bytes,
            bound: Some(Bound::AtMost(1024.0)),
        });
    }
    if let (Some(peak), Some(p)) = (res.api_peak, half_peak(res)) {
        t.push(Target {
            label: format!("p99 latency at {:.0} % of peak", 100.0 * p.offered / peak),
            value: p.p99_us,
            unit: Unit::Micros,
            bound: Some(Bound::AtMost(TARGET_P99_US)),
        });
        if let Some(f) = half_peak_floor(res) {
            t.push(Target {
                label: format!(
                    "p99 at {:.0} % of peak, floor (no engine, same run)",
                    100.0 * f.offered / peak
                ),
                value: f.p99_us,
                unit: Unit::Micros,
                bound: None,
            });
        }
    }
    t
}

/// The floor point measured beside [`half_peak`].
fn half_peak_floor(res: &Results) -> Option<&LatencyPoint> {
    let p = half_peak(res)?;
    let i = res.latency.iter().position(|q| std::ptr::eq(q, p))?;
    res.latency_floor.get(i)
}

/// The latency point whose offered rate is closest to half of the peak.
fn half_peak(res: &Results) -> Option<&LatencyPoint> {
    let peak = res.api_peak?;
    res.latency.iter().min_by(|a, b| {
        (a.offered - peak / 2.0)
            .abs()
            .total_cmp(&(b.offered - peak / 2.0).abs())
    })
}

fn count(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// The markdown report.
pub fn markdown(res: &Results) -> String {
    let mut s = String::from("## eventflow bench\n\n| setup | |\n|---|---|\n");
    for (k, v) in &res.setup {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let e1 = engine(res, 1).map(Row::eps);
    s.push_str("\n### Throughput (median of the runs)\n\n");
    s.push_str("| variant | events/s | MB/s | deliveries | engine 1 worker ÷ this |\n");
    s.push_str("|---|---:|---:|---:|---:|\n");
    for r in &res.rows {
        let ratio = e1.map_or("".into(), |e| format!("{:.2}", e / r.eps().max(1e-12)));
        let d = r.deliveries.map_or("".into(), |d| d.to_string());
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {d} | {ratio} |",
            r.name,
            count(r.eps()),
            r.mbps()
        );
    }
    let t = targets(res);
    if !t.is_empty() {
        s.push_str("\n### Ratios against the targets\n\n");
        s.push_str("| ratio | measured | target | met |\n|---|---:|---:|---|\n");
        for t in &t {
            let met = match t.met() {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {met} |",
                t.label,
                t.unit.text(t.value),
                t.target_text()
            );
        }
    }
    if !res.sweep.is_empty() {
        let base = res
            .sweep
            .iter()
            .min_by_key(|p| p.triggers)
            .map(|p| p.row.eps());
        s.push_str("\n### Trigger sweep (1 Broker, N exact-type Triggers, one match per event, 1 worker)\n\n");
        s.push_str(
            "| Triggers | compile ms | events/s | ÷ fewest | deliveries | peak RSS growth |\n",
        );
        s.push_str("|---:|---:|---:|---:|---:|---:|\n");
        for p in &res.sweep {
            let rel = base.map_or("".into(), |b| format!("{:.2}", p.row.eps() / b.max(1e-12)));
            let mem = p
                .peak_bytes
                .map_or("n/a".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0));
            let d = p.row.deliveries.map_or("".into(), |d| d.to_string());
            let _ = writeln!(
                s,
                "| {} | {:.1} | {} | {rel} | {d} | {mem} |",
                p.triggers,
                p.compile_ms,
                count(p.row.eps())
            );
        }
    }
    if let Some(peak) = res.api_peak {
        let _ = write!(
            s,
            "\n### Latency (library API `send` → subscriber call, open loop, 1 worker; closed-loop peak {}/s; each row the run with the median p99 of {})\n\n",
            count(peak),
            res.latency_runs
        );
        s.push_str("| offered events/s | % of peak | sent | received | p50 µs | p99 µs | p99.9 µs | max µs | > 250 µs | floor p50 µs | floor p99 µs | floor p99.9 µs | floor > 250 µs |\n");
        s.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (i, p) in res.latency.iter().enumerate() {
            let floor = |f: fn(&LatencyPoint) -> f64| {
                res.latency_floor
                    .get(i)
                    .map_or_else(String::new, |q| format!("{:.1}", f(q)))
            };
            let _ = writeln!(
                s,
                "| {} | {:.0} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} % | {} | {} | {} | {} |",
                count(p.offered),
                100.0 * p.offered / peak.max(1e-12),
                p.sent,
                p.received,
                p.p50_us,
                p.p99_us,
                p.p999_us,
                p.max_us,
                over_share(p),
                floor(|q| q.p50_us),
                floor(|q| q.p99_us),
                floor(|q| q.p999_us),
                res.latency_floor
                    .get(i)
                    .map_or_else(String::new, |q| format!("{:.2} %", over_share(q))),
            );
        }
        s.push_str(
            "\nfloor: the same sender and recording through a bare bounded channel to one \
             consumer thread (no engine), in the same run: what the machine itself adds. \
             > 250 µs: the share of received events over the p99 target (the target is met \
             when it is at most 1 %).\n",
        );
    }
    let _ = writeln!(
        s,
        "\npeak RSS of the bench process: {:.1} MiB",
        res.peak_rss as f64 / 1048576.0
    );
    s
}

fn row_json(r: &Row) -> Value {
    json!({
        "name": r.name,
        "events": r.events,
        "bytes": r.bytes,
        "deliveries": r.deliveries,
        "seconds": r.secs,
        "events_per_second": r.eps(),
        "mb_per_second": r.mbps(),
    })
}

/// The JSON report (same content as the markdown, unrounded).
pub fn json(res: &Results) -> Value {
    let setup: serde_json::Map<String, Value> = res
        .setup
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let ratios: Vec<Value> = targets(res)
        .into_iter()
        .map(|t| {
            let target = match t.bound {
                Some(Bound::AtLeast(x)) => json!({"at_least": x}),
                Some(Bound::AtMost(x)) => json!({"at_most": x}),
                None => Value::Null,
            };
            json!({
                "ratio": t.label,
                "measured": t.value,
                "unit": t.unit.json_name(),
                "target": target,
                "met": t.met(),
            })
        })
        .collect();
    json!({
        "setup": setup,
        "throughput": res.rows.iter().map(row_json).collect::<Vec<_>>(),
        "ratios": ratios,
        "sweep": res.sweep.iter().map(|p| json!({
            "triggers": p.triggers,
            "compile_ms": p.compile_ms,
            "engine": row_json(&p.row),
            "peak_rss_growth_bytes": p.peak_bytes,
        })).collect::<Vec<_>>(),
        "memory_per_trigger_bytes": memory_per_trigger(&res.sweep),
        "latency": {
            "api_peak_events_per_second": res.api_peak,
            "runs_per_point": res.latency_runs,
            "points": res.latency.iter().map(point_json).collect::<Vec<_>>(),
            "floor_points": res.latency_floor.iter().map(point_json).collect::<Vec<_>>(),
        },
        "peak_rss_bytes": res.peak_rss,
    })
}

fn point_json(p: &LatencyPoint) -> Value {
    json!({
        "offered": p.offered, "sent_rate": p.sent_rate, "sent": p.sent,
        "received": p.received, "p50_us": p.p50_us, "p99_us": p.p99_us,
        "p999_us": p.p999_us, "max_us": p.max_us, "over_250_us": p.over_target,
    })
}

/// The share of `p`'s received events over the p99 target, in %.
fn over_share(p: &LatencyPoint) -> f64 {
    100.0 * p.over_target as f64 / p.received.max(1) as f64
}

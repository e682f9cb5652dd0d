//! `eventflow bench -f PATH... [--events N] [--workers N] [--size small|2k|20k] [--types K]
//! [--sample LOG.jsonl] [--triggers-sweep 1,100,10000] [--rate EV/S,...] [--json]
//! [--report-dir DIR] [--processes N --process I --hostfile FILE]`: throughput of a topology
//! beside its baselines, a Trigger-count sweep with memory per Trigger, and open-loop latency
//! through the library API (DESIGN.md §8). In a cluster (timely's, issue 7) every process
//! runs the engine rows together and process 0 alone the rest and the report.

mod output;
mod plot;
mod sweep;
mod variants;

use super::cluster::ClusterArgs;
use anyhow::{bail, Context};
use eventflow::bench::baseline::SharedLog;
use eventflow::bench::latency::{floor_open_loop, open_loop, peak_rate, LatencyPoint};
use eventflow::bench::median;
use eventflow::bench::memory::rss;
use eventflow::bench::workload::{self, generate_log, parse_sample, sweep_plan, Size, Source};
use eventflow::planner::plan::{NodeId, Plan};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Manifest files or folders (default: one Broker with --types exact-type Triggers).
    #[arg(short = 'f', long = "filename", num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Where the events enter: broker/NAME, channel/NAME, … (default: the only Broker).
    #[arg(long)]
    pub into: Option<String>,
    /// Namespace of the --into resource.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Events in the generated log (at least 1).
    #[arg(long, default_value_t = 200_000, value_parser = at_least_one)]
    pub events: usize,
    /// Engine workers: the engine is measured on 1 and on this many workers (at least 1).
    #[arg(long, default_value_t = 2, value_parser = at_least_one)]
    pub workers: usize,
    /// Size of generated events: small (~400 B), 2k, 20k.
    #[arg(long, default_value = "small")]
    pub size: Size,
    /// Number of distinct event types in generated events (at least 1).
    #[arg(long, default_value_t = 100, value_parser = at_least_one)]
    pub types: usize,
    /// Cycle through the events of this JSON Lines log (fresh ids) instead of generating.
    #[arg(long)]
    pub sample: Option<PathBuf>,
    /// Trigger counts of the sweep, comma-separated (one Broker, N exact-type Triggers, one
    /// match per event; each at least 1).
    #[arg(long, value_delimiter = ',', default_value = "1,100,10000", value_parser = at_least_one)]
    pub triggers_sweep: Vec<usize>,
    /// Skip the Trigger sweep.
    #[arg(long)]
    pub no_sweep: bool,
    /// Offered rates for the latency runs, events/s, comma-separated (default: 10 %, 50 %,
    /// 90 % of the peak). Each run sends rate × --latency-seconds events, at least 100 and at
    /// most 2,000,000.
    #[arg(long, value_delimiter = ',', value_parser = positive)]
    pub rate: Vec<f64>,
    /// Skip the latency runs.
    #[arg(long)]
    pub no_latency: bool,
    /// Seconds of traffic per latency run (more than 0).
    #[arg(long, default_value_t = 2.0, value_parser = positive)]
    pub latency_seconds: f64,
    /// Runs per variant (interleaved; the median is reported; at least 1).
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    pub runs: usize,
    /// Print JSON instead of the markdown tables.
    #[arg(long)]
    pub json: bool,
    /// Write report.md, report.json and SVG plots into this folder.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Internal: measure the memory of an N-Trigger sweep topology in this process.
    #[arg(long, hide = true)]
    pub probe_memory: Option<usize>,
    /// Cluster flags (`--processes`, `--process`, `--hostfile`; `--workers` is per process):
    /// the engine rows run on every process, everything else on process 0 only.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// One measured variant: what it processed and its run times.
#[derive(Debug, Clone)]
pub struct Row {
    /// Name in the table.
    pub name: String,
    /// Events per run.
    pub events: u64,
    /// Bytes per run.
    pub bytes: u64,
    /// Deliveries per run (routing variants).
    pub deliveries: Option<u64>,
    /// Seconds of each run.
    pub secs: Vec<f64>,
}

impl Row {
    /// Median events/s.
    pub fn eps(&self) -> f64 {
        self.events as f64 / median(&self.secs).max(1e-12)
    }
    /// Median MB/s (10^6 bytes).
    pub fn mbps(&self) -> f64 {
        self.bytes as f64 / 1e6 / median(&self.secs).max(1e-12)
    }
}

/// One point of the Trigger sweep.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// Triggers on the Broker.
    pub triggers: usize,
    /// Planner compile time (YAML → Plan), ms.
    pub compile_ms: f64,
    /// Engine replay, 1 worker.
    pub row: Row,
    /// Peak RSS growth while replaying, plan included, in a fresh process (bytes), if measured.
    pub peak_bytes: Option<u64>,
}

/// Everything one bench run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// What ran: topology, ingress, log.
    pub setup: Vec<(String, String)>,
    /// Baselines and engine rows.
    pub rows: Vec<Row>,
    /// The Trigger sweep.
    pub sweep: Vec<SweepPoint>,
    /// Closed-loop peak through the library API, events/s.
    pub api_peak: Option<f64>,
    /// Open-loop latency points.
    pub latency: Vec<LatencyPoint>,
    /// The floor under each latency point (same rates, no engine; see `floor_open_loop`).
    pub latency_floor: Vec<LatencyPoint>,
    /// Runs per latency point (the run with the median p99 is reported).
    pub latency_runs: usize,
    /// Peak RSS of this process, bytes.
    pub peak_rss: u64,
}

fn time<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(f64, T)> {
    let t = Instant::now();
    let v = f()?;
    Ok((t.elapsed().as_secs_f64(), v))
}

/// A count of at least 1 (clap value parser).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(_) => Err("must be a number greater than 0".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(n) = args.probe_memory {
        return sweep::probe_memory(n, &args);
    }
    let (plan, entry, topo_name) = if args.files.is_empty() {
        let plan = sweep_plan(args.types.max(1)).map_err(anyhow::Error::msg)?;
        // The generated topology has one Broker: an --into that names another is a mistake.
        let entry = plan
            .entry(args.into.as_deref(), args.namespace.as_deref())
            .map_err(anyhow::Error::msg)?;
        if args.sample.is_some() {
            eprintln!(
                "warning: --sample without -f: the generated Triggers match the generated \
                 types `dev.eventflow.bench.tN`, so sampled events are parsed and routed but rarely \
                 delivered; pass the topology the log was made for with -f"
            );
        }
        let name = format!(
            "generated: 1 Broker, {} exact-type Triggers",
            args.types.max(1)
        );
        (plan, entry, name)
    } else {
        let Some(plan) = super::load::load_plan(&args.files) else {
            return Ok(ExitCode::from(1));
        };
        let entry = plan
            .entry(args.into.as_deref(), args.namespace.as_deref())
            .map_err(anyhow::Error::msg)?;
        let files: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
        (plan, entry, files.join(" "))
    };
    let source = match &args.sample {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let (events, bad) = parse_sample(&text);
            if events.is_empty() {
                bail!("{}: no valid CloudEvent to sample", path.display());
            }
            if bad > 0 {
                eprintln!(
                    "warning: {}: {bad} malformed line(s) skipped",
                    path.display()
                );
            }
            Source::Sample(Arc::new(events))
        }
        None => Source::Generated {
            size: args.size,
            types: args.types.max(1),
        },
    };
    let communication = args.cluster.communication()?;
    let log = SharedLog(generate_log(&source, args.events).into());
    let mut res = Results::default();
    let into = plan.nodes[entry as usize].name.clone();
    res.setup = vec![
        ("topology".into(), topo_name),
        ("ingress".into(), into),
        ("events".into(), args.events.to_string()),
        ("log".into(), describe_log(&args, &log)),
        (
            "runs".into(),
            format!("{} (interleaved; median)", args.runs.max(1)),
        ),
        ("machine".into(), machine()),
    ];
    if args.cluster.is_cluster() {
        res.setup.push((
            "cluster".into(),
            format!(
                "{} processes × {} worker(s); engine rows on every process (timed from the \
                 first chunk taken: connecting excluded), the rest on process 0; no sweep or \
                 latency runs",
                args.cluster.processes, args.workers
            ),
        ));
    }
    res.rows = variants::baselines(&args, &plan, entry, &log, &communication)?;
    if !args.cluster.leader() {
        eprintln!(
            "process {} of {} done; the report is on process 0",
            args.cluster.process, args.cluster.processes
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !args.no_sweep && !args.cluster.is_cluster() {
        res.sweep = sweep::sweep(&args)?;
    }
    if !args.no_latency && !args.cluster.is_cluster() {
        latency(&args, &plan, entry, &source, &mut res)?;
    }
    res.peak_rss = rss().peak;
    let markdown = output::markdown(&res);
    let json = output::json(&res);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{markdown}");
    }
    if let Some(dir) = &args.report_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut md = markdown.clone();
        if !res.sweep.is_empty() {
            plot::throughput(&res.sweep, &dir.join("throughput-vs-triggers.svg"))?;
            md.push_str("\n![throughput vs Triggers](throughput-vs-triggers.svg)\n");
        }
        if !res.latency.is_empty() {
            plot::latency(
                &res.latency,
                &res.latency_floor,
                &dir.join("latency-vs-rate.svg"),
            )?;
            md.push_str("\n![latency vs offered rate](latency-vs-rate.svg)\n");
        }
        std::fs::write(dir.join("report.md"), md)?;
        std::fs::write(
            dir.join("report.json"),
            serde_json::to_string_pretty(&json)? + "\n",
        )?;
        eprintln!("report written to {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_log(args: &Args, log: &SharedLog) -> String {
    let avg = log.0.len() as f64 / args.events.max(1) as f64;
    let what = match &args.sample {
        Some(p) => format!("sampled from {} (fresh ids)", p.display()),
        None => format!(
            "generated, size {}, {} types",
            args.size.as_str(),
            args.types
        ),
    };
    format!(
        "{what}; {:.1} MB, {avg:.0} B/event",
        log.0.len() as f64 / 1e6
    )
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} core(s)")
}

/// Closed-loop peak through the library API, then open-loop runs at the offered rates.
fn latency(
    args: &Args,
    plan: &Plan,
    entry: NodeId,
    source: &Source,
    res: &mut Results,
) -> anyhow::Result<()> {
    let into = plan
        .entries
        .iter()
        .find(|(_, id)| *id == entry)
        .map(|(name, _)| name.clone())
        .context("the ingress has no entry name")?;
    let templates: Vec<_> = (0..args.events.clamp(1, 1024))
        .map(|i| workload::event(source, i))
        .collect();
    let n_peak = args.events.clamp(1, 200_000);
    eprintln!("latency: closed-loop peak over {n_peak} events");
    let peak = peak_rate(plan, &into, &templates, n_peak, 1)?;
    res.api_peak = Some(peak);
    let rates: Vec<f64> = if args.rate.is_empty() {
        vec![0.1 * peak, 0.5 * peak, 0.9 * peak]
    } else {
        args.rate.clone()
    };
    let runs = args.runs.max(1);
    res.latency_runs = runs;
    for rate in rates {
        let n = ((rate * args.latency_seconds) as usize).clamp(100, 2_000_000);
        let (mut floor, mut engine) = (Vec::new(), Vec::new());
        for run in 1..=runs {
            eprintln!(
                "latency run {run}/{runs}: {n} events at {rate:.0} events/s (floor, then engine)"
            );
            floor.push(floor_open_loop(&templates, n, rate)?);
            engine.push(open_loop(plan, &into, &templates, n, rate, 1)?);
        }
        res.latency_floor.extend(median_run(floor));
        res.latency.extend(median_run(engine));
    }
    Ok(())
}

/// The run whose p99 is the median of `runs` (the lower middle one for an even count), so
/// the percentiles reported together come from one run.
fn median_run(mut runs: Vec<LatencyPoint>) -> Option<LatencyPoint> {
    runs.sort_by(|a, b| a.p99_us.total_cmp(&b.p99_us));
    let mid = runs.len().saturating_sub(1) / 2;
    runs.into_iter().nth(mid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(p99_us: f64) -> LatencyPoint {
        LatencyPoint {
            offered: 1.0,
            sent_rate: 1.0,
            sent: 1,
            received: 1,
            p50_us: p99_us / 2.0,
            p99_us,
            p999_us: p99_us * 2.0,
            max_us: p99_us * 3.0,
            over_target: 0,
        }
    }

    #[test]
    fn the_median_run_is_reported_whole() {
        let got = median_run(vec![point(900.0), point(100.0), point(300.0)]);
        assert_eq!(got, Some(point(300.0)));
        assert_eq!(median_run(vec![point(5.0), point(7.0)]), Some(point(5.0)));
        assert_eq!(median_run(Vec::new()), None);
    }
}

//! `eventflow registry -f PATH... --events LOG [...]`: replays a log with the event registry
//! on and prints the event types seen per Broker/channel, declared versus observed (issue 6).

use anyhow::{bail, Context};
use eventflow::connectors::log::{read_log, CHUNK_LINES};
use eventflow::engine::clock::parse_rfc3339_ms;
use eventflow::engine::registry::catalog::Catalog;
use eventflow::engine::registry::Registry;
use eventflow::engine::run::{run as run_engine, RunOptions};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `registry`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Manifest files or folders.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// The event log: JSON Lines, one CloudEvent (JSON format) per line; `-` for stdin.
    #[arg(long)]
    pub events: PathBuf,
    /// Where the log's events enter: broker/NAME, channel/NAME, sequence/NAME, parallel/NAME
    /// (default: the only Broker).
    #[arg(long)]
    pub into: Option<String>,
    /// Namespace of the --into resource.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Timely worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Give a Service (or uri) a behaviour: NAME=ack | echo | fail:CODE | http://URL | exec:COMMAND.
    #[arg(long = "service", value_name = "NAME=BINDING")]
    pub services: Vec<String>,
    /// Virtual time for events without `time` (RFC 3339).
    #[arg(long, default_value = "1970-01-01T00:00:00Z")]
    pub clock_start: String,
    /// Deliveries and hops one input event may cause along one path before it is dropped.
    #[arg(long, default_value_t = 1000)]
    pub hop_limit: u32,
    /// `table` (default), `json` (observed and declared rows), or `yaml` (EventType manifests
    /// for the undeclared event types, ready to apply).
    #[arg(long, default_value = "table", value_parser = ["table", "json", "yaml"])]
    pub format: String,
}

/// Replays the log with the registry on and prints it; exit 1 on invalid manifests or
/// unreadable input. Malformed lines are reported on stderr and skipped.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bindings = super::explain::parse_bindings(&args.services)?.0;
    let Some((topology, plan)) = super::load::load(&args.files) else {
        return Ok(ExitCode::from(1));
    };
    let entry = match plan.entry(args.into.as_deref(), args.namespace.as_deref()) {
        Ok(e) => e,
        Err(msg) => bail!("{msg}"),
    };
    let into = plan.nodes[entry as usize].name.clone();
    let clock_start = parse_rfc3339_ms(&args.clock_start)
        .with_context(|| format!("--clock-start `{}` is not RFC 3339", args.clock_start))?;
    let reader = read_log(&args.events, CHUNK_LINES)?;
    let registry = Registry::new();
    let opts = RunOptions {
        workers: args.workers,
        entry,
        clock_start,
        hop_limit: args.hop_limit,
        registry: Some(registry.clone()),
        ..RunOptions::default()
    };
    let plan = Arc::new(plan);
    let report = run_engine(plan.clone(), &bindings, reader.chunks, opts);
    match reader.thread.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => bail!("reading {}: {e}", args.events.display()),
        Err(_) => bail!("the log reader stopped unexpectedly"),
    }
    let report = report?;
    for m in &report.malformed {
        let path = args.events.display();
        eprintln!("{path}:{}: malformed event: {}", m.line, m.reason);
    }
    let catalog = Catalog::build(&plan, &topology, &registry.snapshot());
    let text = match args.format.as_str() {
        "json" => {
            let mut json = serde_json::to_value(&catalog)?;
            if let Some(obj) = json.as_object_mut() {
                obj.insert("into".into(), into.clone().into());
                obj.insert("events_accepted".into(), report.accepted.into());
            }
            serde_json::to_string_pretty(&json)? + "\n"
        }
        "yaml" => {
            let yaml = catalog.undeclared_yaml();
            if yaml.is_empty() {
                "# every observed event type is declared by an EventType\n".to_string()
            } else {
                yaml
            }
        }
        _ => table(&catalog, &into, report.accepted, report.workers),
    };
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(ExitCode::SUCCESS)
}

/// The table: one block per ingress, then the declared types never seen and a count of the
/// undeclared ones.
pub fn table(c: &Catalog, into: &str, accepted: u64, workers: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "event registry after replaying {accepted} event(s) into {into} on {workers} worker(s)"
    );
    let mut by_ingress: BTreeMap<(bool, &str), Vec<usize>> = BTreeMap::new();
    for (i, r) in c.observed.iter().enumerate() {
        // Declared ingresses first, then channels generated for Sequences/Parallels.
        let key = (r.generated_for.is_some(), r.ingress.as_str());
        by_ingress.entry(key).or_default().push(i);
    }
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    for ((_, ingress), rows) in &by_ingress {
        let rows: Vec<_> = rows.iter().map(|&i| &c.observed[i]).collect();
        let events: u64 = rows.iter().map(|r| r.count).sum();
        let generated = rows[0]
            .generated_for
            .as_ref()
            .map(|g| format!(" (generated for {g})"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "\n{ingress}{generated}: {} event type(s), {events} event(s)",
            rows.len()
        );
        let cells: Vec<[String; 7]> = rows
            .iter()
            .map(|r| {
                let declared = if r.declared_by.is_empty() {
                    "-".to_string()
                } else {
                    r.declared_by.join(", ")
                };
                [
                    r.r#type.clone(),
                    r.source.clone(),
                    dash(&r.schema),
                    r.count.to_string(),
                    r.first_seen.clone(),
                    r.last_seen.clone(),
                    declared,
                ]
            })
            .collect();
        let head = [
            "TYPE",
            "SOURCE",
            "SCHEMA",
            "COUNT",
            "FIRST SEEN",
            "LAST SEEN",
            "DECLARED BY",
        ];
        let mut w = head.map(str::len);
        for row in &cells {
            for (k, cell) in row.iter().enumerate() {
                w[k] = w[k].max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 7]| {
            let mut l = String::from(" ");
            for (k, cell) in cells.iter().enumerate() {
                if k == 3 {
                    let _ = write!(l, " {cell:>width$}", width = w[k]);
                } else if k == 6 {
                    let _ = write!(l, " {cell}");
                } else {
                    let _ = write!(l, " {cell:<width$}", width = w[k]);
                }
            }
            l.trim_end().to_string() + "\n"
        };
        s.push_str(&line(head));
        for row in &cells {
            s.push_str(&line(row.each_ref().map(String::as_str)));
        }
    }
    if c.observed.is_empty() {
        let _ = writeln!(s, "\nno event entered any ingress");
    }
    let unseen: Vec<_> = c.unseen().collect();
    let _ = writeln!(s, "\ndeclared, never seen: {}", unseen.len());
    for d in unseen {
        let _ = writeln!(
            s,
            "  {}  type {}  source {}  schema {}  reference {}",
            d.name,
            dash(&d.r#type),
            dash(&d.source),
            dash(&d.schema),
            dash(&d.reference)
        );
    }
    let undeclared = c.undeclared().count();
    let ingresses = c
        .undeclared()
        .map(|r| r.ingress.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let _ = writeln!(
        s,
        "seen, never declared: {undeclared} at {ingresses} ingress(es){}",
        if undeclared > 0 {
            " (`--format yaml` prints EventType manifests for them)"
        } else {
            ""
        }
    );
    s
}

//! Loads behavior files (tests/behavior/*.yaml), runs each case through the engine with 1 and
//! 2 workers, and compares the delivery log with the case's expectations.

mod bindings;
mod check;

use eventflow::engine::input::{Chunk, ChunkBody};
use eventflow::engine::run::{run, RunOptions};
use eventflow::Report;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A behavior file: a list of cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviorFile {
    /// The cases, run in order.
    pub cases: Vec<Case>,
}

/// One case: manifests, bindings, events in, deliveries expected out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Case {
    /// What the case shows.
    pub name: String,
    /// Multi-document manifest YAML.
    pub manifests: String,
    /// `broker/NAME`, `channel/NAME`, `sequence/NAME`, `parallel/NAME`; default: the only Broker.
    #[serde(default)]
    pub into: Option<String>,
    /// Hop limit (default 1000, as the CLI).
    #[serde(default)]
    pub hop_limit: Option<u32>,
    /// Service name → behaviour.
    #[serde(default)]
    pub bindings: BTreeMap<String, Value>,
    /// CloudEvents sent, in order.
    #[serde(default)]
    pub events: Vec<Value>,
    /// The delivery log, record by record, in order.
    #[serde(default)]
    pub expect: Vec<check::Expect>,
    /// Report `dropped` reasons: substring → count.
    #[serde(default)]
    pub dropped: BTreeMap<String, u64>,
    /// Loading must fail with a message containing this text.
    #[serde(default)]
    pub load_error: Option<String>,
    /// The expectations state Knative's behaviour, which the engine does not (yet) have: the
    /// case must fail (it is reported, not counted), and fails the suite once it passes.
    #[serde(default)]
    pub known_bug: Option<String>,
}

/// The directory holding the behavior files.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("behavior")
}

/// A `Write` whose bytes can be read back after the engine dropped it.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fills `specversion`, `id` and `source` when a case leaves them out.
fn complete_event(i: usize, v: &Value) -> Result<String, String> {
    let mut m = v
        .as_object()
        .cloned()
        .ok_or(format!("events[{i}] is not a map"))?;
    m.entry("specversion")
        .or_insert(Value::String("1.0".into()));
    m.entry("id")
        .or_insert(Value::String(format!("e{}", i + 1)));
    m.entry("source")
        .or_insert(Value::String("/behavior".into()));
    Ok(Value::Object(m).to_string())
}

/// Runs `case` once with `workers`; returns the delivery log and the report.
fn run_once(
    case: &Case,
    plan: &Arc<eventflow::planner::plan::Plan>,
    workers: usize,
) -> Result<(String, Report), String> {
    let bindings = bindings::bindings(&case.bindings)?;
    let entry = plan.entry(case.into.as_deref(), None)?;
    let (tx, rx) = crossbeam_channel::unbounded::<Chunk>();
    for (i, e) in case.events.iter().enumerate() {
        let line = complete_event(i, e)?;
        let chunk = Chunk {
            index: i as u64,
            first_line: i as u64 + 1,
            body: ChunkBody::Lines(line),
        };
        tx.send(chunk).map_err(|e| e.to_string())?;
    }
    drop(tx);
    let buf = SharedBuf::default();
    let opts = RunOptions {
        workers,
        entry,
        hop_limit: case.hop_limit.unwrap_or(1000),
        out: Some(Box::new(buf.clone())),
        ..RunOptions::default()
    };
    let report = run(plan.clone(), &bindings, rx, opts).map_err(|e| format!("engine: {e}"))?;
    let bytes = buf.0.lock().expect("buffer lock").clone();
    Ok((String::from_utf8(bytes).map_err(|e| e.to_string())?, report))
}

/// Runs one case; `Err` explains every mismatch.
pub fn run_case(case: &Case) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = tmp.path().join("manifests.yaml");
    std::fs::write(&path, &case.manifests).map_err(|e| e.to_string())?;
    let loaded = eventflow::load(&[&path]);
    if let Some(want) = &case.load_error {
        return match loaded {
            Ok(_) => Err(format!(
                "loading succeeded; expected an error containing `{want}`"
            )),
            Err(e) if e.to_string().contains(want.as_str()) => Ok(()),
            Err(e) => Err(format!("loading failed, but without `{want}`:\n{e}")),
        };
    }
    let plan = Arc::new(loaded.map_err(|e| e.to_string())?.plan);
    let (log1, report1) = run_once(case, &plan, 1)?;
    let (log2, report2) = run_once(case, &plan, 2)?;
    if log1 != log2 {
        return Err(format!("delivery logs differ between 1 and 2 workers:\n--- 1 worker\n{log1}--- 2 workers\n{log2}"));
    }
    if (&report1.per_via, &report1.dropped) != (&report2.per_via, &report2.dropped) {
        return Err(format!(
            "reports differ between 1 and 2 workers: {:?} / {:?}",
            report1.dropped, report2.dropped
        ));
    }
    check::log(&case.expect, &log1)?;
    if report1.deliveries != log1.lines().count() as u64 {
        return Err(format!(
            "report counts {} deliveries, the log has {} lines",
            report1.deliveries,
            log1.lines().count()
        ));
    }
    check::dropped(&case.dropped, &report1.dropped)
}

/// Runs every case of `file` (a name in tests/behavior/), panicking with all failures.
/// `BEHAVIOR_CASE=substring` runs only the matching cases.
pub fn run_file(file: &str) {
    let path = dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed: BehaviorFile =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let only = std::env::var("BEHAVIOR_CASE").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &parsed.cases {
        if only.as_deref().is_some_and(|o| !case.name.contains(o)) {
            continue;
        }
        ran += 1;
        match (run_case(case), &case.known_bug) {
            (Ok(()), None) => {}
            (Err(e), None) => failures.push(format!("{file}: case `{}`:\n{e}", case.name)),
            (Err(e), Some(bug)) => {
                let why: Vec<&str> = e.lines().take_while(|l| !l.starts_with("--- ")).collect();
                eprintln!(
                    "{file}: case `{}`: known bug ({bug}):\n{}\n",
                    case.name,
                    why.join("\n")
                );
            }
            (Ok(()), Some(bug)) => {
                failures.push(format!(
                    "{file}: case `{}` passes now: remove `known-bug: {bug}`",
                    case.name
                ));
            }
        }
    }
    assert!(ran > 0 || only.is_some(), "{file}: no cases");
    assert!(
        failures.is_empty(),
        "{} of {ran} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

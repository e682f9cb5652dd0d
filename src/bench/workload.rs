//! Workloads: generated CloudEvents logs (JSON Lines in memory) and generated topologies of
//! one Broker with N exact-type Triggers.

use crate::planner::event::json::{parse_event, write_event};
use crate::planner::event::{Data, Event, ExtValue};
use crate::planner::manifest::load_str;
use crate::planner::plan::Plan;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;

/// Target size of a generated event (one JSON line, newline excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// About 400 bytes: attributes and a small JSON object.
    Small,
    /// About 2 KiB.
    K2,
    /// About 20 KiB.
    K20,
}

impl Size {
    /// The target line length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Size::Small => 400,
            Size::K2 => 2 * 1024,
            Size::K20 => 20 * 1024,
        }
    }

    /// The name used on the command line (`small`, `2k`, `20k`).
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::K2 => "2k",
            Size::K20 => "20k",
        }
    }
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        match s.to_ascii_lowercase().as_str() {
            "small" | "400" | "400b" => Ok(Size::Small),
            "2k" | "2kib" => Ok(Size::K2),
            "20k" | "20kib" => Ok(Size::K20),
            _ => Err(format!("unknown size `{s}` (small, 2k or 20k)")),
        }
    }
}

/// The `type` of generated event class `i`: `dev.eventflow.bench.t{i}`.
pub fn type_name(i: usize) -> String {
    format!("dev.eventflow.bench.t{i}")
}

/// A generated event: 1.0, fresh id `b-{i}`, type `type_name(i % types)`, a few attributes and
/// an extension, and JSON `data` padded so that the line is about `size` bytes.
pub fn generated_event(i: usize, types: usize, size: Size) -> Event {
    let mut e = Event::new(
        &format!("b-{i}"),
        &format!("/bench/source/{}", i % 16),
        &type_name(i % types.max(1)),
    );
    e.datacontenttype = Some("application/json".into());
    e.subject = Some(format!("item-{}", i % 1000).into());
    e.time = Some("2024-05-01T12:00:00Z".into());
    e.extensions = vec![
        (
            "partitionkey".into(),
            ExtValue::String(format!("k{}", i % 64).into()),
        ),
        (
            "seq".into(),
            ExtValue::Integer((i % (i32::MAX as usize)) as i32),
        ),
    ];
    let mut line = String::new();
    e.data = Some(Data::Json(format!("{{\"n\":{i},\"pad\":\"\"}}").into()));
    write_event(&e, &mut line);
    let pad = size.bytes().saturating_sub(line.len());
    let mut data = format!("{{\"n\":{i},\"pad\":\"");
    data.extend(std::iter::repeat_n('x', pad));
    data.push_str("\"}");
    e.data = Some(Data::Json(data.into()));
    e
}

/// Where a log's events come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Generated events of one size over `types` event types.
    Generated {
        /// Line size.
        size: Size,
        /// Type cardinality (≥ 1).
        types: usize,
    },
    /// Cycles through these events (e.g. a real log) with fresh ids `{id}-{i}`.
    Sample(Arc<Vec<Event>>),
}

/// Parses a JSON Lines sample (blank and malformed lines skipped; the count of skipped lines
/// is returned beside the events).
pub fn parse_sample(text: &str) -> (Vec<Event>, usize) {
    let (mut events, mut bad) = (Vec::new(), 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match parse_event(line) {
            Ok(e) => events.push(e),
            Err(_) => bad += 1,
        }
    }
    (events, bad)
}

/// Event `i` of the log described by `source`.
pub fn event(source: &Source, i: usize) -> Event {
    match source {
        Source::Generated { size, types } => generated_event(i, *types, *size),
        Source::Sample(sample) if !sample.is_empty() => {
            let mut e = sample[i % sample.len()].clone();
            e.id = format!("{}-{i}", e.id).into();
            e
        }
        Source::Sample(_) => generated_event(i, 1, Size::Small),
    }
}

/// Writes `n` events of `source` as JSON Lines into one buffer.
pub fn generate_log(source: &Source, n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        write_event(&event(source, i), &mut out);
        out.push('\n');
    }
    out.into_bytes()
}

/// The YAML of one Broker `default/bench` with `triggers` Triggers; Trigger `j` has the legacy
/// filter `type: type_name(j)` and the subscriber `Service/default/sink`.
pub fn sweep_yaml(triggers: usize) -> String {
    let mut y = String::with_capacity(300 + triggers * 260);
    y.push_str(
        "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: bench, namespace: default}\n",
    );
    for j in 0..triggers {
        let _ = write!(
            y,
            "---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {{name: t{j}, namespace: default}}\n\
             spec:\n  broker: bench\n  filter: {{attributes: {{type: {}}}}}\n  \
             subscriber: {{ref: {{apiVersion: serving.knative.dev/v1, kind: Service, name: sink}}}}\n",
            type_name(j)
        );
    }
    y
}

/// Loads and lowers YAML text to a plan.
///
/// # Errors
/// The diagnostics or plan errors, as text.
pub fn plan_from_yaml(yaml: &str) -> Result<Plan, String> {
    let loaded = load_str("bench.yaml", yaml);
    if loaded.diagnostics.has_errors() {
        return Err(loaded.diagnostics.to_string());
    }
    Plan::lower(&loaded.topology).map_err(|errs| {
        errs.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The plan of [`sweep_yaml`]`(triggers)`.
///
/// # Errors
/// See [`plan_from_yaml`] (never expected for generated YAML).
pub fn sweep_plan(triggers: usize) -> Result<Plan, String> {
    plan_from_yaml(&sweep_yaml(triggers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_close_to_target() {
        for size in [Size::Small, Size::K2, Size::K20] {
            let log = generate_log(&Source::Generated { size, types: 3 }, 10);
            let text = String::from_utf8(log).unwrap_or_default();
            for line in text.lines() {
                assert!(line.len().abs_diff(size.bytes()) < 8, "{}", line.len());
                assert!(parse_event(line).is_ok());
            }
        }
    }

    #[test]
    fn sweep_plan_has_one_broker_and_n_triggers() {
        let plan = sweep_plan(5).map_err(|e| e.to_string());
        let plan = plan.unwrap_or_default();
        assert_eq!(plan.edges.len(), 5);
        assert_eq!(plan.entry(None, None), Ok(0));
    }
}

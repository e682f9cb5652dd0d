//! Comparing a delivery log and a report with a case's expectations.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One expected delivery-log record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `Kind/namespace/name` or the URL.
    pub subscriber: String,
    /// The Trigger, Subscription, step or branch.
    pub via: String,
    /// `delivered`, `dead-lettered` or `dropped`.
    pub outcome: String,
    /// Attempts, when checked.
    #[serde(default)]
    pub attempts: Option<u64>,
    /// A substring of `reason`, when checked.
    #[serde(default)]
    pub reason: Option<String>,
    /// Attributes the delivered event must have (`null` = must be absent).
    #[serde(default)]
    pub event: Map<String, Value>,
    /// This record repeated N times (default 1).
    #[serde(default)]
    pub repeat: Option<usize>,
}

fn describe(e: &Expect) -> String {
    format!("{} <- {} {}", e.subscriber, e.via, e.outcome)
}

fn mismatch(e: &Expect, actual: &Map<String, Value>) -> Option<String> {
    let s = |k: &str| actual.get(k).and_then(Value::as_str).unwrap_or("");
    let mut why = Vec::new();
    for (k, want) in [
        ("subscriber", &e.subscriber),
        ("via", &e.via),
        ("outcome", &e.outcome),
    ] {
        if s(k) != want {
            why.push(format!("{k} is `{}`, expected `{want}`", s(k)));
        }
    }
    if let Some(a) = e.attempts {
        if actual.get("attempts").and_then(Value::as_u64) != Some(a) {
            why.push(format!(
                "attempts is {:?}, expected {a}",
                actual.get("attempts")
            ));
        }
    }
    if let Some(r) = &e.reason {
        if !s("reason").contains(r.as_str()) {
            why.push(format!("reason `{}` does not contain `{r}`", s("reason")));
        }
    }
    let event = actual.get("event").and_then(Value::as_object);
    for (k, want) in &e.event {
        let have = event.and_then(|ev| ev.get(k));
        match (want, have) {
            (Value::Null, None) => {}
            (Value::Null, Some(h)) => why.push(format!("event.{k} is {h}, expected absent")),
            (w, Some(h)) if w == h => {}
            (w, h) => why.push(format!(
                "event.{k} is {}, expected {w}",
                h.map_or("absent".into(), Value::to_string)
            )),
        }
    }
    (!why.is_empty()).then(|| why.join("; "))
}

fn clip(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    if lines.len() <= 30 {
        return log.to_string();
    }
    format!(
        "{}\n… ({} more lines) …\n{}\n",
        lines[..20].join("\n"),
        lines.len() - 25,
        lines[lines.len() - 5..].join("\n")
    )
}

/// Compares the log, record by record, with `expect` (repeats expanded).
pub fn log(expect: &[Expect], log: &str) -> Result<(), String> {
    let want: Vec<&Expect> = expect
        .iter()
        .flat_map(|e| std::iter::repeat_n(e, e.repeat.unwrap_or(1)))
        .collect();
    let mut actual = Vec::new();
    for (i, line) in log.lines().enumerate() {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => actual.push(m),
            _ => {
                return Err(format!(
                    "delivery log line {} is not a JSON object: {line}",
                    i + 1
                ))
            }
        }
    }
    let mut errors = Vec::new();
    for (i, w) in want.iter().enumerate() {
        match actual.get(i) {
            None => errors.push(format!(
                "record {}: missing, expected {}",
                i + 1,
                describe(w)
            )),
            Some(a) => {
                if let Some(why) = mismatch(w, a) {
                    errors.push(format!("record {}: {why}", i + 1));
                }
            }
        }
        if errors.len() >= 5 {
            break;
        }
    }
    if actual.len() > want.len() && errors.len() < 5 {
        errors.push(format!(
            "{} unexpected record(s) after record {}",
            actual.len() - want.len(),
            want.len()
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n--- delivery log ({} records)\n{}",
            errors.join("\n"),
            actual.len(),
            clip(log)
        ))
    }
}

/// Every report drop must match a key of `want`; each key's count must be exact.
pub fn dropped(want: &BTreeMap<String, u64>, have: &BTreeMap<String, u64>) -> Result<(), String> {
    let mut errors = Vec::new();
    for (sub, n) in want {
        let got: u64 = have
            .iter()
            .filter(|(r, _)| r.contains(sub.as_str()))
            .map(|(_, c)| c)
            .sum();
        if got != *n {
            errors.push(format!("dropped `{sub}`: {got}, expected {n}"));
        }
    }
    for reason in have.keys() {
        if !want.keys().any(|sub| reason.contains(sub.as_str())) {
            errors.push(format!("unexpected drop: `{reason}`"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n--- report.dropped: {have:#?}",
            errors.join("\n")
        ))
    }
}

//! The delivery-log line (DESIGN.md §5).

use crate::record::Outcome;
use eventflow_planner::event::{json::write_event, Event};

/// One delivery-log line (DESIGN.md §5), without the trailing newline.
pub fn delivery_line(
    subscriber: &str,
    via: &str,
    outcome: Outcome,
    attempts: u32,
    reason: Option<&str>,
    event: &Event,
) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string());
    let mut out = String::with_capacity(256);
    out.push_str("{\"subscriber\":");
    out.push_str(&q(subscriber));
    out.push_str(",\"via\":");
    out.push_str(&q(via));
    out.push_str(",\"outcome\":\"");
    out.push_str(outcome.as_str());
    out.push_str("\",\"attempts\":");
    out.push_str(&attempts.to_string());
    if let Some(r) = reason {
        out.push_str(",\"reason\":");
        out.push_str(&q(r));
    }
    out.push_str(",\"event\":");
    write_event(event, &mut out);
    out.push('}');
    out
}

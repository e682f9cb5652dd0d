//! The delivery-log line (DESIGN.md §5).
//!
//! Events delivered to several subscribers (channel fan-out, several matching Triggers) share
//! one `Arc<Event>`; their JSON is written once and reused for each line (a small per-thread
//! cache keyed by the `Arc`, which it keeps alive so an address is never reused under it).

use crate::record::Outcome;
use eventflow_planner::event::{json::write_event, Event};
use std::cell::RefCell;
use std::sync::Arc;

const CACHE: usize = 8;

thread_local! {
    static RECENT: RefCell<Vec<(Arc<Event>, Arc<str>)>> = const { RefCell::new(Vec::new()) };
}

/// The JSON of `event`, from the per-thread cache when it was just written.
pub fn event_json(event: &Arc<Event>) -> Arc<str> {
    RECENT.with(|cell| {
        let mut recent = cell.borrow_mut();
        if let Some((_, json)) = recent.iter().find(|(e, _)| Arc::ptr_eq(e, event)) {
            return json.clone();
        }
        let mut out = String::with_capacity(512);
        write_event(event, &mut out);
        let json: Arc<str> = Arc::from(out);
        if recent.len() == CACHE {
            recent.remove(0);
        }
        recent.push((event.clone(), json.clone()));
        json
    })
}

fn push_quoted(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string()));
    }
}

/// One delivery-log line (DESIGN.md §5), without the trailing newline; `event_json` is the
/// event in CloudEvents JSON format.
pub fn delivery_line(
    subscriber: &str,
    via: &str,
    outcome: Outcome,
    attempts: u32,
    reason: Option<&str>,
    event_json: &str,
) -> String {
    let mut out = String::with_capacity(96 + subscriber.len() + via.len() + event_json.len());
    out.push_str("{\"subscriber\":");
    push_quoted(&mut out, subscriber);
    out.push_str(",\"via\":");
    push_quoted(&mut out, via);
    out.push_str(",\"outcome\":\"");
    out.push_str(outcome.as_str());
    out.push_str("\",\"attempts\":");
    out.push_str(itoa_u32(attempts, &mut [0u8; 10]));
    if let Some(r) = reason {
        out.push_str(",\"reason\":");
        push_quoted(&mut out, r);
    }
    out.push_str(",\"event\":");
    out.push_str(event_json);
    out.push('}');
    out
}

fn itoa_u32(mut n: u32, buf: &mut [u8; 10]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shape_and_escaping() {
        let e = Arc::new(Event::new("1", "/s", "t"));
        let json = event_json(&e);
        assert!(Arc::ptr_eq(&json, &event_json(&e)), "cached");
        let line = delivery_line(
            "Service/default/a",
            "Trigger/default/\"q\"",
            Outcome::Dropped,
            12,
            Some("HTTP 500"),
            &json,
        );
        assert_eq!(
            line,
            r#"{"subscriber":"Service/default/a","via":"Trigger/default/\"q\"","outcome":"dropped","attempts":12,"reason":"HTTP 500","event":{"specversion":"1.0","id":"1","source":"/s","type":"t"}}"#
        );
    }
}

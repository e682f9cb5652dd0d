//! Broker ingress stamps: `knativearrivaltime` and the `knativebrokerttl` loop guard
//! (knative-semantics.md §3.2; DESIGN.md §4).

use crate::clock::{format_rfc3339, VirtualMs};
use eventflow_planner::event::{Event, ExtValue};
use std::sync::Arc;

/// The loop-guard extension.
pub const TTL_EXTENSION: &str = "knativebrokerttl";
/// The arrival-time extension.
pub const ARRIVAL_EXTENSION: &str = "knativearrivaltime";
/// `knativebrokerttl` on first entry.
pub const DEFAULT_TTL: i32 = 255;

thread_local! {
    /// The two extension names, per thread: every stamped event holds them, and a reference
    /// count shared by all workers would bounce between their cores on every event.
    static NAMES: (Arc<str>, Arc<str>) = (Arc::from(TTL_EXTENSION), Arc::from(ARRIVAL_EXTENSION));
    /// The last arrival time formatted on this thread: events of one batch often share it.
    static LAST_ARRIVAL: std::cell::RefCell<(VirtualMs, Option<Arc<str>>)> =
        const { std::cell::RefCell::new((0, None)) };
}

fn arrival(clock: VirtualMs) -> Arc<str> {
    LAST_ARRIVAL.with(|cell| {
        let mut last = cell.borrow_mut();
        match &last.1 {
            Some(s) if last.0 == clock => s.clone(),
            _ => {
                let s: Arc<str> = Arc::from(format_rfc3339(clock));
                *last = (clock, Some(s.clone()));
                s
            }
        }
    })
}

fn ttl_of(event: &Event) -> Option<i32> {
    ttl_value(event.extension(TTL_EXTENSION)?)
}

fn ttl_value(v: &ExtValue) -> Option<i32> {
    match v {
        ExtValue::Integer(i) => Some(*i),
        ExtValue::String(s) => s.trim().parse().ok(),
        ExtValue::Boolean(_) => None,
    }
}

/// True when an event carrying TTL value `ttl` would be rejected by a Broker's ingress.
pub fn ttl_exhausted(ttl: &ExtValue) -> bool {
    ttl_value(ttl).is_some_and(|t| t.saturating_sub(1) <= 0)
}

/// True when `reply`, re-entering a Broker, would be rejected (TTL present and ≤ 1 before the
/// decrement).
pub fn reply_ttl_exhausted(reply: &Event) -> bool {
    ttl_of(reply).is_some_and(|t| t.saturating_sub(1) <= 0)
}

/// Broker ingress: a present TTL is decremented (floored at 0), an absent or non-integer one set
/// to 255; `knativearrivaltime` is (over)written with `clock`.
///
/// # Errors
/// The rejection reason when the TTL is exhausted (Knative answers 400).
pub fn broker_ingress(event: &Event, clock: VirtualMs) -> Result<Event, String> {
    broker_ingress_owned(event.clone(), clock)
}

/// [`broker_ingress`] of an event the caller owns: stamped in place, not copied (a freshly
/// parsed event entering its first Broker).
///
/// # Errors
/// As [`broker_ingress`]; the event is dropped.
pub fn broker_ingress_owned(mut event: Event, clock: VirtualMs) -> Result<Event, String> {
    stamp_ingress(&mut event, clock)?;
    Ok(event)
}

/// [`broker_ingress_owned`] that also returns the TTL it set: the routing stage evaluates
/// the Triggers on the stamped event, then strips the TTL for the subscribers and keeps the
/// value beside the event (no second copy of the event).
///
/// # Errors
/// As [`broker_ingress`].
pub fn stamp_ingress(event: &mut Event, clock: VirtualMs) -> Result<i32, String> {
    let ttl = ingress_ttl(event)?;
    stamp(event, ttl, clock);
    Ok(ttl)
}

/// The TTL an event carries after entering a Broker, or why the Broker rejects it.
fn ingress_ttl(event: &Event) -> Result<i32, String> {
    let ttl = match ttl_of(event) {
        Some(t) => t.saturating_sub(1).max(0),
        None => DEFAULT_TTL,
    };
    if ttl <= 0 {
        return Err("knativebrokerttl exhausted".to_string());
    }
    Ok(ttl)
}

fn stamp(e: &mut Event, ttl: i32, clock: VirtualMs) {
    e.extensions.reserve(2);
    NAMES.with(|(ttl_name, arrival_name)| {
        e.set_extension_shared(ttl_name, ExtValue::Integer(ttl));
        e.set_extension_shared(arrival_name, ExtValue::String(arrival(clock)));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_entry_sets_255_then_decrements() {
        let e = Event::new("1", "/s", "t");
        let a = broker_ingress(&e, 0).unwrap();
        assert_eq!(a.extension(TTL_EXTENSION), Some(&ExtValue::Integer(255)));
        assert_eq!(
            a.extension(ARRIVAL_EXTENSION),
            Some(&ExtValue::String("1970-01-01T00:00:00.000Z".into()))
        );
        let b = broker_ingress(&a, 5).unwrap();
        assert_eq!(b.extension(TTL_EXTENSION), Some(&ExtValue::Integer(254)));
        assert_eq!(broker_ingress_owned(a.clone(), 5), Ok(b));
        let mut last = e.clone();
        last.set_extension(TTL_EXTENSION, ExtValue::String("1".into()));
        assert!(broker_ingress(&last, 0).is_err());
        assert!(reply_ttl_exhausted(&last));
        assert!(broker_ingress_owned(last, 0).is_err());
    }
}

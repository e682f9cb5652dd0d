//! How a failed delivery ends: its record (dead-lettered, or dropped without a dead-letter
//! sink), the dead letter itself (the original event with `knativeerrordest`,
//! `knativeerrorcode` and `knativeerrordata`, knative-semantics.md §3.7), and the records the
//! report and the delivery log are made from.

use super::{record, Deliverer, Leg, MARK_DEAD_LETTER, MARK_SUBSCRIBER};
use crate::answer::Failure;
use crate::logline::{delivery_line, event_json};
use crate::record::{Delivery, Item, Meta, Outcome, Place, Record, RecordKind};
use crate::ttl::TTL_EXTENSION;
use base64::Engine as _;
use eventflow_planner::event::{Event, ExtValue};
use eventflow_planner::plan::{Policy, Target};
use std::sync::Arc;

/// What an edge received, as its dead letters carry it: the event, and the
/// `knativebrokerttl` its Broker's ingress gave it, which the event itself no longer carries
/// (knative-semantics.md §3.2: the dead-letter copy of a Broker event keeps its TTL).
#[derive(Clone, Copy)]
pub(crate) struct Received<'a> {
    /// The event as the edge got it (for Trigger edges: without the TTL).
    pub event: &'a Event,
    /// The TTL to restore on a copy of it, if any.
    pub ttl: Option<i32>,
}

impl Received<'_> {
    /// The event as it arrived at the edge, TTL restored: the base of a dead letter.
    pub(crate) fn to_event(self) -> Event {
        let mut e = self.event.clone();
        if let Some(t) = self.ttl {
            e.set_extension(TTL_EXTENSION, ExtValue::Integer(t));
        }
        e
    }
}

impl Deliverer {
    /// A delivery to external `x` failed after `attempts`: log it (dead-lettered when the
    /// policy has a dead-letter sink, else dropped) and dead-letter `ctx.1`, the event the edge
    /// received.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn failed(
        &self,
        (policy, original, dest): (&Policy, Received<'_>, &str),
        meta: Meta,
        x: usize,
        via: Arc<str>,
        attempts: u32,
        f: Failure,
        sent: &Arc<Event>,
        items: &mut Vec<Item>,
        records: &mut Vec<Record>,
    ) {
        let outcome = if policy.dead_letter.is_some() {
            Outcome::DeadLettered
        } else {
            Outcome::Dropped
        };
        let reason = format!("{} after {attempts} attempt(s)", f.reason);
        self.log(
            &meta,
            MARK_SUBSCRIBER,
            x,
            &via,
            outcome,
            attempts,
            Some(reason),
            sent,
            records,
        );
        self.dead_letter(policy, original, &f, dest, via, meta, items, records);
    }

    /// Sends `original` (decorated with `knativeerror*`) to the policy's dead-letter sink.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn dead_letter(
        &self,
        policy: &Policy,
        original: Received<'_>,
        f: &Failure,
        dest: &str,
        via: Arc<str>,
        mut meta: Meta,
        items: &mut Vec<Item>,
        records: &mut Vec<Record>,
    ) {
        meta.trail = meta.trail.push(MARK_DEAD_LETTER);
        let Some(target) = policy.dead_letter else {
            let reason = format!("{} (no dead-letter sink)", f.reason);
            // Rejections outside a subscriber delivery have no record of their own: count them.
            if f.reason.starts_with("rejected by") || f.reason.starts_with("reply rejected:") {
                records.push(record(&meta, RecordKind::Dropped { reason }));
            }
            return;
        };
        let mut dl = original.to_event();
        dl.set_extension("knativeerrordest", ExtValue::String(Arc::from(dest)));
        dl.set_extension("knativeerrorcode", ExtValue::Integer(i32::from(f.code)));
        if !f.body.is_empty() {
            let mut data = base64::engine::general_purpose::STANDARD.encode(&f.body);
            data.truncate(1024);
            dl.set_extension("knativeerrordata", ExtValue::String(Arc::from(data)));
        }
        match target {
            Target::Node(n) => items.push(Item {
                broker_ttl: None,
                place: Place::Node(n),
                event: Arc::new(dl),
                meta,
            }),
            Target::External(d) => {
                let d = d as usize;
                let dl = Arc::new(dl);
                let (answer, attempts) =
                    self.call(d, &dl, policy, Leg::Forward, &mut meta.clock, &via);
                let (outcome, reason) = match answer {
                    Ok(_) => (Outcome::Delivered, None),
                    Err(f2) => (
                        Outcome::Dropped,
                        Some(format!(
                            "dead-letter sink failed: {} after {attempts} attempt(s)",
                            f2.reason
                        )),
                    ),
                };
                self.log(
                    &meta,
                    MARK_SUBSCRIBER,
                    d,
                    &via,
                    outcome,
                    attempts,
                    reason,
                    &dl,
                    records,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn log(
        &self,
        meta: &Meta,
        mark: u32,
        x: usize,
        via: &Arc<str>,
        outcome: Outcome,
        attempts: u32,
        reason: Option<String>,
        event: &Arc<Event>,
        records: &mut Vec<Record>,
    ) {
        let subscriber = self.external_names[x].clone();
        let mut m = *meta;
        m.trail = m.trail.push(mark);
        if !self.write_lines && outcome != Outcome::Dropped {
            let via = via.clone();
            records.push(record(
                &m,
                RecordKind::Count {
                    subscriber,
                    via,
                    outcome,
                },
            ));
            return;
        }
        let line = self.write_lines.then(|| {
            let json = event_json(event);
            delivery_line(
                &subscriber,
                via,
                outcome,
                attempts,
                reason.as_deref(),
                &json,
            )
        });
        let d = Delivery {
            subscriber,
            via: via.clone(),
            outcome,
            attempts,
            reason,
            line,
        };
        records.push(record(&m, RecordKind::Delivery(Box::new(d))));
    }
}

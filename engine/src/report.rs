//! The replay report (DESIGN.md §5 `--report`): what went in, what came out, how fast.

use crate::record::{Outcome, Record, RecordKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// A malformed input line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    /// 1-based line number.
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// Totals of a replay or of a library engine's life. Counts are exact; maps are sorted by key.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Report {
    /// Non-blank input lines (or events sent).
    pub events_read: u64,
    /// Valid events that entered the graph.
    pub accepted: u64,
    /// Malformed lines, in line order.
    pub malformed: Vec<Malformed>,
    /// Subscriber deliveries that ended (records in the delivery log).
    pub deliveries: u64,
    /// Deliveries by outcome (`delivered`, `dead-lettered`, `dropped`).
    pub outcomes: BTreeMap<String, u64>,
    /// Deliveries per subscriber.
    pub per_subscriber: BTreeMap<String, u64>,
    /// Deliveries per `subscriber <- via`.
    pub per_via: BTreeMap<String, u64>,
    /// Deliveries whose subscriber failed and whose event went to a dead-letter sink.
    pub dead_lettered: u64,
    /// Events dropped, by reason (failed deliveries without dead-letter sink, hop limit, TTL).
    pub dropped: BTreeMap<String, u64>,
    /// Wall-clock seconds from start to drained.
    pub elapsed_seconds: f64,
    /// `events_read / elapsed_seconds`.
    pub events_per_second: f64,
    /// Timely workers used, over all processes of a cluster.
    pub workers: usize,
}

impl Report {
    /// Counts one record.
    pub fn add(&mut self, r: &Record) {
        match &r.kind {
            RecordKind::Input { read, accepted } => {
                self.events_read += read;
                self.accepted += accepted;
            }
            RecordKind::Malformed { line, reason } => {
                self.malformed.push(Malformed {
                    line: *line,
                    reason: reason.clone(),
                });
            }
            RecordKind::Dropped { reason } => {
                *self.dropped.entry(reason.clone()).or_default() += 1;
            }
            RecordKind::Count {
                subscriber,
                via,
                outcome,
            } => {
                self.add_deliveries(subscriber, via, *outcome, 1);
            }
            RecordKind::Tally(counts) => {
                for (subscriber, via, outcome, n) in counts {
                    self.add_deliveries(subscriber, via, *outcome, *n);
                }
            }
            RecordKind::Delivery(d) => {
                self.add_deliveries(&d.subscriber, &d.via, d.outcome, 1);
                if d.outcome == Outcome::Dropped {
                    let reason = d.reason.clone().unwrap_or_else(|| "failed".into());
                    let key = format!("{}: {}", d.subscriber, reason);
                    *self.dropped.entry(key).or_default() += 1;
                }
            }
        }
    }

    /// Counts `n` deliveries to `subscriber` through `via` that ended with `outcome` (drop
    /// reasons are counted by [`Report::add`]).
    pub fn add_deliveries(&mut self, subscriber: &str, via: &str, outcome: Outcome, n: u64) {
        self.deliveries += n;
        *self
            .outcomes
            .entry(outcome.as_str().to_string())
            .or_default() += n;
        *self
            .per_subscriber
            .entry(subscriber.to_string())
            .or_default() += n;
        *self
            .per_via
            .entry(format!("{subscriber} <- {via}"))
            .or_default() += n;
        if outcome == Outcome::DeadLettered {
            self.dead_lettered += n;
        }
    }

    /// Events dropped in total.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

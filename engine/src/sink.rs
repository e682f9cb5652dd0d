//! The sink: records of every worker, gathered on worker 0, written per completed epoch in a
//! deterministic order (epoch, input line, trail), so the delivery log is byte-identical for
//! any number of workers.

use crate::record::{Outcome, Record, RecordKind};
use crate::report::Report;
use crate::tally::{count, Counts, FastMap};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where finished records go: the report, and the delivery log when one is written.
pub struct SinkState {
    /// Totals so far.
    pub report: Report,
    /// The delivery log.
    pub out: Option<Box<dyn Write + Send>>,
    /// The first write error, if any.
    pub write_error: Option<std::io::Error>,
    /// Set on the first malformed line when the run is `--strict`.
    pub abort_on_malformed: Option<Arc<AtomicBool>>,
    /// Flush the writer after each completed epoch (live engines: the log can be followed
    /// with `tail -f` and loses at most the epochs in flight on a crash).
    pub flush_per_epoch: bool,
    /// Deliveries counted by (subscriber, via, outcome), keyed by the identity of the shared
    /// names (the deliverer's: no string hashing per count); moved into `by_name` once it
    /// holds more than [`SINK_NAME_KEYS`] keys, since names that arrive freshly allocated
    /// (from the other processes of a cluster) make a key each.
    tally: Counts,
    /// The same counts keyed by text; both are folded into the report at
    /// [`SinkState::finish`].
    by_name: FastMap<(Arc<str>, Arc<str>, Outcome), u64>,
}

/// Keys [`SinkState`]'s identity-keyed counts hold before they are merged by text.
const SINK_NAME_KEYS: usize = 1 << 16;

impl SinkState {
    /// A sink writing to `out` (if any).
    pub fn new(out: Option<Box<dyn Write + Send>>) -> SinkState {
        SinkState {
            report: Report::default(),
            out,
            write_error: None,
            abort_on_malformed: None,
            flush_per_epoch: false,
            tally: Counts::default(),
            by_name: FastMap::default(),
        }
    }

    /// Sorts and writes one completed epoch.
    pub fn flush(&mut self, mut records: Vec<Record>) {
        // (seq, trail) is unique but for a 64-bit hash collision; the line breaks such ties.
        records.sort_by(|a, b| {
            (a.seq, a.trail)
                .cmp(&(b.seq, b.trail))
                .then_with(|| line_of(a).cmp(line_of(b)))
        });
        for r in records {
            match r.kind {
                RecordKind::Tally(counts) => {
                    // The names move into the map (no reference-count traffic).
                    for (subscriber, via, outcome, n) in counts {
                        count(&mut self.tally, subscriber, via, outcome, n);
                    }
                    continue;
                }
                RecordKind::Delivery(ref d) if d.outcome != Outcome::Dropped => {
                    let (s, v) = (d.subscriber.clone(), d.via.clone());
                    count(&mut self.tally, s, v, d.outcome, 1);
                }
                _ => self.report.add(&r),
            }
            match &r.kind {
                RecordKind::Malformed { .. } => {
                    if let Some(flag) = &self.abort_on_malformed {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                RecordKind::Delivery(d) => {
                    if let (Some(out), Some(line), None) = (
                        self.out.as_mut(),
                        d.line.as_ref(),
                        self.write_error.as_ref(),
                    ) {
                        let res = out
                            .write_all(line.as_bytes())
                            .and_then(|_| out.write_all(b"\n"));
                        if let Err(e) = res {
                            self.write_error = Some(e);
                        }
                    }
                }
                _ => {}
            }
        }
        if self.tally.len() > SINK_NAME_KEYS {
            self.merge_by_name();
        }
        if self.flush_per_epoch && self.write_error.is_none() {
            if let Some(out) = self.out.as_mut() {
                if let Err(e) = out.flush() {
                    self.write_error = Some(e);
                }
            }
        }
    }

    /// Moves the identity-keyed counts into `by_name`.
    fn merge_by_name(&mut self) {
        for (_, (subscriber, via, outcome, n)) in self.tally.drain() {
            *self.by_name.entry((subscriber, via, outcome)).or_default() += n;
        }
    }

    /// Flushes the writer.
    pub fn finish(&mut self) {
        // The report merges by text itself.
        for (_, (subscriber, via, outcome, n)) in self.tally.drain() {
            self.report.add_deliveries(&subscriber, &via, outcome, n);
        }
        for ((subscriber, via, outcome), n) in self.by_name.drain() {
            self.report.add_deliveries(&subscriber, &via, outcome, n);
        }
        if let Some(out) = self.out.as_mut() {
            if let Err(e) = out.flush() {
                self.write_error.get_or_insert(e);
            }
        }
        self.report.malformed.sort_by_key(|m| m.line);
    }
}

fn line_of(r: &Record) -> &str {
    match &r.kind {
        RecordKind::Delivery(d) => d.line.as_deref().unwrap_or(""),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Trail;

    fn tally(epoch: u64, names: &[(&Arc<str>, &Arc<str>, u64)]) -> Record {
        Record {
            epoch,
            seq: 0,
            trail: Trail::ROOT,
            kind: RecordKind::Tally(
                names
                    .iter()
                    .map(|(s, v, n)| ((*s).clone(), (*v).clone(), Outcome::Delivered, *n))
                    .collect(),
            ),
        }
    }

    #[test]
    fn counts_merge_by_name_whatever_the_allocation() {
        let mut sink = SinkState::new(None);
        let (s, v): (Arc<str>, Arc<str>) = (Arc::from("Service/default/a"), Arc::from("T/x"));
        // The same names, allocated apart (as they arrive from another process).
        let (s2, v2): (Arc<str>, Arc<str>) = (Arc::from("Service/default/a"), Arc::from("T/x"));
        let other: Arc<str> = Arc::from("T/y");
        sink.flush(vec![tally(1, &[(&s, &v, 2), (&s, &other, 1)])]);
        sink.flush(vec![tally(2, &[(&s2, &v2, 3), (&s, &v, 4)])]);
        sink.finish();
        let r = &sink.report;
        assert_eq!(r.deliveries, 10);
        assert_eq!(r.per_subscriber.get("Service/default/a"), Some(&10));
        assert_eq!(r.per_via.get("Service/default/a <- T/x"), Some(&9));
        assert_eq!(r.per_via.get("Service/default/a <- T/y"), Some(&1));
    }
}

//! The sink: records of every worker, gathered on worker 0, written per completed epoch in a
//! deterministic order (epoch, input line, trail), so the delivery log is byte-identical for
//! any number of workers.

use crate::record::{Outcome, Record, RecordKind};
use crate::report::Report;
use crate::tally::FastMap;
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
    /// Deliveries counted by (subscriber, via, outcome) during the run, folded into the
    /// report's string-keyed maps at [`SinkState::finish`].
    tally: FastMap<(Arc<str>, Arc<str>, Outcome), u64>,
}

impl SinkState {
    /// A sink writing to `out` (if any).
    pub fn new(out: Option<Box<dyn Write + Send>>) -> SinkState {
        SinkState {
            report: Report::default(),
            out,
            write_error: None,
            abort_on_malformed: None,
            flush_per_epoch: false,
            tally: FastMap::default(),
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
                        *self.tally.entry((subscriber, via, outcome)).or_default() += n;
                    }
                    continue;
                }
                RecordKind::Delivery(ref d) if d.outcome != Outcome::Dropped => {
                    let key = (d.subscriber.clone(), d.via.clone(), d.outcome);
                    *self.tally.entry(key).or_default() += 1;
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
        if self.flush_per_epoch && self.write_error.is_none() {
            if let Some(out) = self.out.as_mut() {
                if let Err(e) = out.flush() {
                    self.write_error = Some(e);
                }
            }
        }
    }

    /// Flushes the writer.
    pub fn finish(&mut self) {
        for ((subscriber, via, outcome), n) in self.tally.drain() {
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

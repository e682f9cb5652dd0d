//! The sink: records of every worker, gathered on worker 0, written per completed epoch in a
//! deterministic order (epoch, input line, trail), so the delivery log is byte-identical for
//! any number of workers.

use crate::record::{Record, RecordKind};
use crate::report::Report;
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
}

impl SinkState {
    /// A sink writing to `out` (if any).
    pub fn new(out: Option<Box<dyn Write + Send>>) -> SinkState {
        SinkState {
            report: Report::default(),
            out,
            write_error: None,
            abort_on_malformed: None,
        }
    }

    /// Sorts and writes one completed epoch.
    pub fn flush(&mut self, mut records: Vec<Record>) {
        records.sort_by(|a, b| (a.seq, &a.trail).cmp(&(b.seq, &b.trail)));
        for r in &records {
            self.report.add(r);
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
    }

    /// Flushes the writer.
    pub fn finish(&mut self) {
        if let Some(out) = self.out.as_mut() {
            if let Err(e) = out.flush() {
                self.write_error.get_or_insert(e);
            }
        }
        self.report.malformed.sort_by_key(|m| m.line);
    }
}

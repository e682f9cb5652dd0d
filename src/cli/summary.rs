//! The summary table printed at the end of a replay.

use eventflow::Report;
use std::fmt::Write;

/// Renders the report as a small aligned table.
pub fn table(r: &Report, into: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "replayed into {into} on {} worker(s)", r.workers);
    let _ = writeln!(s, "  events read      {:>10}", r.events_read);
    let _ = writeln!(s, "  accepted         {:>10}", r.accepted);
    let _ = writeln!(s, "  malformed        {:>10}", r.malformed.len());
    let _ = writeln!(s, "  deliveries       {:>10}", r.deliveries);
    let _ = writeln!(s, "  dead-lettered    {:>10}", r.dead_lettered);
    let _ = writeln!(s, "  dropped          {:>10}", r.dropped_total());
    let _ = writeln!(s, "  elapsed          {:>10.3} s", r.elapsed_seconds);
    let _ = writeln!(s, "  events/s         {:>10.0}", r.events_per_second);
    if !r.per_via.is_empty() {
        let w = r.per_via.keys().map(String::len).max().unwrap_or(0);
        let _ = writeln!(s, "deliveries per subscriber <- via:");
        for (k, v) in &r.per_via {
            let _ = writeln!(s, "  {k:<w$}  {v:>8}");
        }
    }
    if !r.dropped.is_empty() {
        let _ = writeln!(s, "dropped:");
        for (k, v) in &r.dropped {
            let _ = writeln!(s, "  {k}  {v}");
        }
    }
    s
}

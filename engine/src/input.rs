//! Input to the dataflow: chunks of JSON Lines (replay) or of parsed events (library `send`),
//! each one timely epoch.

use crate::clock::{parse_rfc3339_ms, VirtualMs};
use crate::record::{Item, Meta, Place, Record, RecordKind, Trail};
use eventflow_planner::event::json::parse_event;
use eventflow_planner::event::Event;
use eventflow_planner::plan::NodeId;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a chunk carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ChunkBody {
    /// Raw JSON Lines text (several lines, `\n`-separated), parsed inside the workers.
    Lines(String),
    /// Parsed events with their ingress node.
    Events(Vec<(NodeId, Event)>),
}

/// One batch of input: one epoch of the dataflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// The epoch; increasing in the order a worker receives chunks.
    pub index: u64,
    /// The 1-based line number (or sequence number) of the first line / event.
    pub first_line: u64,
    /// The lines or events.
    pub body: ChunkBody,
}

/// Either an item entering the graph or a record for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Stage {
    /// An event in flight.
    Item(Item),
    /// A finished record.
    Record(Record),
}

/// Turns a chunk into items at `entry` and records (malformed lines, input accounting).
/// An event's virtual clock starts at its own `time`, else at `clock_start`; with `wall_clock`
/// (live engines) at the wall-clock time the chunk is parsed.
pub fn parse_chunk(
    chunk: Chunk,
    entry: NodeId,
    clock_start: VirtualMs,
    wall_clock: bool,
    out: &mut Vec<Stage>,
) {
    let epoch = chunk.index;
    // Live engines stamp the ingest time (Knative: arrival time); replay uses the event's own.
    let now = if wall_clock {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as VirtualMs)
    } else {
        0
    };
    let item = |seq: u64, node: NodeId, event: Event| {
        let clock = if wall_clock {
            now
        } else {
            event
                .time
                .as_deref()
                .and_then(parse_rfc3339_ms)
                .unwrap_or(clock_start)
        };
        let meta = Meta {
            epoch,
            seq,
            trail: Trail::ROOT,
            hops: 0,
            clock,
        };
        Stage::Item(Item {
            stripped: None,
            place: Place::Node(node),
            event: Arc::new(event),
            meta,
        })
    };
    let (mut read, mut accepted) = (0u64, 0u64);
    match chunk.body {
        ChunkBody::Lines(text) => {
            for (i, line) in text.split('\n').enumerate() {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if line.trim().is_empty() {
                    continue;
                }
                read += 1;
                let seq = chunk.first_line + i as u64;
                match parse_event(line) {
                    Ok(event) => {
                        accepted += 1;
                        out.push(item(seq, entry, event));
                    }
                    Err(e) => {
                        let kind = RecordKind::Malformed {
                            line: seq,
                            reason: e.to_string(),
                        };
                        out.push(Stage::Record(Record {
                            epoch,
                            seq,
                            trail: Trail::ROOT,
                            kind,
                        }));
                    }
                }
            }
        }
        ChunkBody::Events(events) => {
            for (i, (node, event)) in events.into_iter().enumerate() {
                read += 1;
                accepted += 1;
                out.push(item(chunk.first_line + i as u64, node, event));
            }
        }
    }
    let kind = RecordKind::Input { read, accepted };
    out.push(Stage::Record(Record {
        epoch,
        seq: 0,
        trail: Trail::ROOT,
        kind,
    }));
}

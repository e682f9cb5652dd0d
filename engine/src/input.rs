//! Input to the dataflow: chunks of JSON Lines (replay) or of parsed events (library `send`),
//! each one timely epoch.

use crate::clock::VirtualMs;
use crate::record::{Item, Meta, Place, Record, RecordKind, Trail};
use eventflow_planner::event::json::{parse_event_with_time, rfc3339_ms};
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
    // `time_ms`: the event's `time` in ms, when it has one.
    let item = |seq: u64, node: NodeId, event: Event, time_ms: Option<VirtualMs>| {
        let clock = if wall_clock {
            now
        } else {
            time_ms.unwrap_or(clock_start)
        };
        let meta = Meta {
            epoch,
            seq,
            trail: Trail::ROOT,
            hops: 0,
            clock,
        };
        Stage::Item(Item {
            broker_ttl: None,
            place: Place::Node(node),
            event: Arc::new(event),
            meta,
        })
    };
    let (mut read, mut accepted) = (0u64, 0u64);
    match chunk.body {
        ChunkBody::Lines(text) => {
            for (i, line) in Lines::new(&text).enumerate() {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if line.trim().is_empty() {
                    continue;
                }
                read += 1;
                let seq = chunk.first_line + i as u64;
                match parse_event_with_time(line) {
                    Ok((event, time_ms)) => {
                        accepted += 1;
                        out.push(item(seq, entry, event, time_ms));
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
                let time_ms = event.time.as_deref().and_then(rfc3339_ms);
                out.push(item(chunk.first_line + i as u64, node, event, time_ms));
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

/// Bit `i` is set when `block[i]` is `\n` (`block` is at most 64 bytes).
#[inline]
fn newline_mask(block: &[u8]) -> u64 {
    match <&[u8; 64]>::try_from(block) {
        Ok(full) => newline_mask_64(full),
        Err(_) => {
            let mut padded = [0u8; 64];
            let n = block.len().min(64);
            padded[..n].copy_from_slice(&block[..n]);
            newline_mask_64(&padded)
        }
    }
}

/// [`newline_mask`] of 64 bytes: SSE2 compares (part of every x86_64 CPU), 16 bytes at once.
#[cfg(target_arch = "x86_64")]
#[inline]
fn newline_mask_64(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let mut mask = 0u64;
    // SAFETY: SSE2 is in the x86_64 baseline; each unaligned 16-byte load lies inside `block`.
    unsafe {
        let newline = _mm_set1_epi8(b'\n' as i8);
        for j in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * j).cast());
            let bits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, newline)) as u32;
            mask |= u64::from(bits) << (16 * j);
        }
    }
    mask
}

/// [`newline_mask`] of 64 bytes elsewhere.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn newline_mask_64(block: &[u8; 64]) -> u64 {
    newline_mask_swar(block)
}

/// [`newline_mask`] of 64 bytes, 8 at a time in a `u64` (exact zero-byte test, no false hits).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn newline_mask_swar(block: &[u8; 64]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut mask = 0u64;
    for (j, word) in block.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(word);
        let x = u64::from_le_bytes(b) ^ 0x0a0a_0a0a_0a0a_0a0a;
        // High bit of each byte set where that byte of `x` is zero, i.e. was `\n`.
        let zero = !(((x & LOW7) + LOW7) | x | LOW7);
        let bits = ((zero >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
        mask |= bits << (8 * j);
    }
    mask
}

/// The byte offset just past the `n`-th `\n` of `bytes` (`n` ≥ 1), or, when `bytes` holds
/// fewer, how many it holds. Scans 64 bytes at a time (the log reader cuts chunks with it).
///
/// # Errors
/// `Err(count)` when `bytes` has fewer than `n` newlines.
pub fn nth_newline(bytes: &[u8], n: usize) -> Result<usize, usize> {
    let mut found = 0usize;
    let mut at = 0usize;
    for block in bytes.chunks(64) {
        let mut mask = newline_mask(block);
        let count = mask.count_ones() as usize;
        if found + count >= n && n > found {
            for _ in 0..(n - found - 1) {
                mask &= mask - 1;
            }
            return Ok(at + mask.trailing_zeros() as usize + 1);
        }
        found += count;
        at += block.len();
    }
    Err(found)
}

/// The lines of a text split at `\n`, like `str::split('\n')` (the part after the last `\n`
/// is the last item, empty when the text ends with `\n`), found 64 bytes at a time.
pub struct Lines<'a> {
    text: &'a str,
    /// Start of the next line.
    start: usize,
    /// Offset of the block `mask` describes.
    block: usize,
    /// Newlines of that block not yet returned.
    mask: u64,
    /// Offset of the next block to scan.
    next: usize,
    done: bool,
}

impl<'a> Lines<'a> {
    /// The lines of `text`.
    pub fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text,
            start: 0,
            block: 0,
            mask: 0,
            next: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        loop {
            if self.mask != 0 {
                let end = self.block + self.mask.trailing_zeros() as usize;
                self.mask &= self.mask - 1;
                // `\n` is ASCII: both ends are character boundaries.
                let line = self.text.get(self.start..end).unwrap_or("");
                self.start = end + 1;
                return Some(line);
            }
            if self.next >= bytes.len() {
                if self.done {
                    return None;
                }
                self.done = true;
                return Some(self.text.get(self.start..).unwrap_or(""));
            }
            let end = (self.next + 64).min(bytes.len());
            self.mask = newline_mask(&bytes[self.next..end]);
            self.block = self.next;
            self.next = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_masks_are_exact() {
        let mut block = [0u8; 64];
        for seed in 0..2000u32 {
            for (i, b) in block.iter_mut().enumerate() {
                let x = (seed.wrapping_mul(2_654_435_761) ^ (i as u32 * 40_503)) >> 7;
                *b = [b'\n', 0x0b, 0x09, 0x8a, 0x0a ^ 0x80, b'x', 0, 0xff][(x % 8) as usize];
            }
            let want = (0..64).fold(0u64, |m, i| m | (u64::from(block[i] == b'\n') << i));
            assert_eq!(newline_mask_64(&block), want);
            assert_eq!(newline_mask_swar(&block), want);
        }
    }

    #[test]
    fn lines_split_like_str_split() {
        let long = "x".repeat(200);
        let texts = [
            String::new(),
            "\n".into(),
            "a".into(),
            "a\nb\n".into(),
            "a\n\n\nb".into(),
            format!("{long}\n{long}\r\n\n{long}"),
            format!("é{long}\n{}\n", "ü".repeat(40)),
            "\n".repeat(130),
            "\u{a0a}\u{10a0a}\n\u{b}\n".repeat(9),
        ];
        for t in &texts {
            let ours: Vec<&str> = Lines::new(t).collect();
            let std: Vec<&str> = t.split('\n').collect();
            assert_eq!(ours, std, "{t:?}");
            let total = t.matches('\n').count();
            for n in 1..=total + 1 {
                let want = t
                    .match_indices('\n')
                    .nth(n - 1)
                    .map(|(i, _)| i + 1)
                    .ok_or(total);
                assert_eq!(nth_newline(t.as_bytes(), n), want, "{t:?} {n}");
            }
        }
    }
}

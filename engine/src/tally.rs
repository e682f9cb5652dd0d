//! Delivery counts on their way to the report. Without a delivery log a delivery that ended
//! well is only counted: the deliver operator folds its `Count` records into one `Tally` per
//! batch ([`fold_counts`]), and [`pre_aggregate`] merges a worker's tallies into one per epoch
//! before they cross to worker 0's sink — so worker 0 sees a handful of records per epoch and
//! worker, not one per delivery (the sink would otherwise be the serial bottleneck of a
//! multi-worker replay).
//!
//! Counts are keyed by the identity of the shared `Arc<str>` names ([`Deliverer`]'s
//! per-external and per-edge names): a pointer comparison instead of hashing the strings. Two
//! `Arc`s with equal text are merely two keys; the sink merges by text.
//!
//! [`Deliverer`]: crate::deliver::Deliverer

use crate::record::{Outcome, Record, RecordKind, Trail};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::Stream;

/// A multiply-rotate hasher (the FxHash step) for small trusted keys: pointers, indexes,
/// names from the plan. Not for keys an outsider chooses.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn finish(&self) -> u64 {
        // The product's high bits are the well-mixed ones; hash tables index by the low bits.
        self.0.rotate_left(26)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.add(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// (subscriber name, via name, outcome) by `Arc` identity.
pub(crate) type Key = (usize, usize, Outcome);
/// Counts with the names they are for.
pub(crate) type Counts = FastMap<Key, (Arc<str>, Arc<str>, Outcome, u64)>;

fn key(subscriber: &Arc<str>, via: &Arc<str>, outcome: Outcome) -> Key {
    (
        Arc::as_ptr(subscriber) as *const u8 as usize,
        Arc::as_ptr(via) as *const u8 as usize,
        outcome,
    )
}

/// Adds `n` to the key's count; the names are moved into the map when the key is new (no
/// reference-count traffic) and dropped otherwise.
pub(crate) fn count(
    counts: &mut Counts,
    subscriber: Arc<str>,
    via: Arc<str>,
    outcome: Outcome,
    n: u64,
) {
    counts
        .entry(key(&subscriber, &via, outcome))
        .or_insert_with(|| (subscriber, via, outcome, 0))
        .3 += n;
}

fn tally_record(epoch: u64, counts: Vec<(Arc<str>, Arc<str>, Outcome, u64)>) -> Record {
    Record {
        epoch,
        seq: 0,
        trail: Trail::ROOT,
        kind: RecordKind::Tally(counts),
    }
}

/// A [`Counts`] map with room for `n` keys.
fn counts_for(n: usize) -> Counts {
    Counts::with_capacity_and_hasher(n, BuildHasherDefault::default())
}

/// Above this many slots [`fold_counts`]' map gives its memory back after a batch.
const FOLD_KEEP_CAPACITY: usize = 4096;

thread_local! {
    /// [`fold_counts`]' scratch, kept across batches so that a batch neither grows a map from
    /// empty nor allocates a second vector: the counts, and the records that pass.
    static FOLD: RefCell<(Counts, Vec<Record>)> = RefCell::new((Counts::default(), Vec::new()));
}

/// Replaces the batch's `Count` records by one `Tally` (all records of a batch share its
/// epoch), so the records leaving the deliver operator are a handful instead of one per
/// delivery. Other records keep their order, before the `Tally`.
pub fn fold_counts(records: &mut Vec<Record>) {
    if !records
        .iter()
        .any(|r| matches!(r.kind, RecordKind::Count { .. }))
    {
        return;
    }
    FOLD.with(|cell| {
        let mut scratch = cell.borrow_mut();
        let (counts, pass) = &mut *scratch;
        let mut epoch = 0;
        for r in records.drain(..) {
            match r.kind {
                RecordKind::Count {
                    subscriber,
                    via,
                    outcome,
                } => {
                    epoch = r.epoch;
                    count(counts, subscriber, via, outcome, 1);
                }
                kind => pass.push(Record { kind, ..r }),
            }
        }
        records.append(pass);
        records.push(tally_record(
            epoch,
            counts.drain().map(|(_, v)| v).collect(),
        ));
        if counts.capacity() > FOLD_KEEP_CAPACITY {
            counts.shrink_to(FOLD_KEEP_CAPACITY / 4);
        }
    });
}

/// One worker's records, with its `Count`s and `Tally`s merged into one `Tally` per epoch
/// (sent once the worker's input has passed the epoch); every other record passes at once.
/// Pipeline: runs on each worker before the exchange to the sink.
pub fn pre_aggregate<'s>(records: Stream<'s, u64, Vec<Record>>) -> Stream<'s, u64, Vec<Record>> {
    records.unary_frontier::<CapacityContainerBuilder<Vec<Record>>, _, _, _>(
        Pipeline,
        "tally",
        |_, _| {
            let mut pending: BTreeMap<u64, (Capability<u64>, Counts)> = BTreeMap::new();
            let mut pass = Vec::new();
            move |(input, frontier), output| {
                input.for_each(|cap, data| {
                    let Some(&time) = cap.least() else {
                        // No progress claim to hold: let everything through as it came.
                        output.session(&cap).give_container(data);
                        return;
                    };
                    for r in data.drain(..) {
                        let size = match &r.kind {
                            RecordKind::Count { .. } => 1,
                            RecordKind::Tally(counts) => counts.len(),
                            _ => {
                                pass.push(r);
                                continue;
                            }
                        };
                        let (_, counts) = pending
                            .entry(time)
                            .or_insert_with(|| (cap.delayed(&time, 0), counts_for(size)));
                        match r.kind {
                            RecordKind::Count {
                                subscriber,
                                via,
                                outcome,
                            } => count(counts, subscriber, via, outcome, 1),
                            RecordKind::Tally(tally) => {
                                for (subscriber, via, outcome, n) in tally {
                                    count(counts, subscriber, via, outcome, n);
                                }
                            }
                            _ => {}
                        }
                    }
                    output.session(&cap).give_iterator(pass.drain(..));
                });
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (epoch, (cap, counts)) = entry.remove_entry();
                    output
                        .session(&cap)
                        .give(tally_record(epoch, counts.into_values().collect()));
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn rec(kind: RecordKind) -> Record {
        Record {
            epoch: 7,
            seq: 1,
            trail: Trail::ROOT,
            kind,
        }
    }

    #[test]
    fn fold_counts_keeps_other_records_and_sums_counts() {
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("Service/default/a"), Arc::from("T/b"));
        let c = |via: &Arc<str>, outcome| {
            rec(RecordKind::Count {
                subscriber: a.clone(),
                via: via.clone(),
                outcome,
            })
        };
        let mut records = vec![
            c(&b, Outcome::Delivered),
            rec(RecordKind::Input {
                read: 3,
                accepted: 3,
            }),
            c(&b, Outcome::Delivered),
            c(&b, Outcome::DeadLettered),
        ];
        fold_counts(&mut records);
        assert_eq!(records.len(), 2);
        assert!(matches!(records[0].kind, RecordKind::Input { read: 3, .. }));
        let RecordKind::Tally(mut t) = records[1].kind.clone() else {
            panic!("no tally");
        };
        t.sort_by_key(|x| x.2);
        let got: Vec<(Outcome, u64)> = t.iter().map(|x| (x.2, x.3)).collect();
        assert_eq!(
            got,
            vec![(Outcome::Delivered, 2), (Outcome::DeadLettered, 1)]
        );
        assert_eq!(records[1].epoch, 7);
    }

    #[test]
    fn fold_counts_moves_names_and_starts_each_batch_empty() {
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("Service/default/a"), Arc::from("T/b"));
        let batch = |n: usize| -> Vec<Record> {
            (0..n)
                .map(|_| {
                    rec(RecordKind::Count {
                        subscriber: a.clone(),
                        via: b.clone(),
                        outcome: Outcome::Delivered,
                    })
                })
                .collect()
        };
        let mut first = batch(3);
        fold_counts(&mut first);
        // The tally holds the one clone that was moved in; the other records' clones are gone.
        assert_eq!((Arc::strong_count(&a), Arc::strong_count(&b)), (2, 2));
        let mut second = batch(2);
        fold_counts(&mut second);
        let totals = |records: &[Record]| -> Vec<u64> {
            records
                .iter()
                .filter_map(|r| match &r.kind {
                    RecordKind::Tally(t) => Some(t.iter().map(|x| x.3).sum()),
                    _ => None,
                })
                .collect()
        };
        // The scratch map kept across batches starts each batch empty.
        assert_eq!((totals(&first), totals(&second)), (vec![3], vec![2]));
        let mut none = vec![rec(RecordKind::Input {
            read: 1,
            accepted: 1,
        })];
        fold_counts(&mut none);
        assert_eq!(none.len(), 1, "no tally without counts");
    }

    #[test]
    fn fast_hasher_tells_short_strings_apart() {
        let build = BuildHasherDefault::<FastHasher>::default();
        let words = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
        ];
        let mut hashes: Vec<u64> = words.iter().map(|w| build.hash_one(w)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), words.len());
    }
}

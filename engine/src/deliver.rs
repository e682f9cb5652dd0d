//! The deliver stage: one delivery along a plan edge, with Knative's delivery semantics
//! (knative-semantics.md §3.3–3.7, DESIGN.md §4): attempts = retry + 1 with backoff on the
//! virtual clock, retryable codes, replies (Trigger replies keep `knativebrokerttl`), reply legs
//! to external destinations, and the dead-letter sink with `knativeerror*` extensions.
//! The attempts of one call live in `deliver/attempts.rs`, failures and records in
//! `deliver/outcome.rs`.

mod attempts;
mod outcome;

use outcome::Received;

use crate::answer::Failure;
pub use crate::logline::delivery_line;
use crate::observe::DispatchObserver;
use crate::pool::DeliveryPool;
use crate::record::{Item, Meta, Outcome, Place, Record, RecordKind};
use crate::service::{Bindings, Subscriber};
use crate::ttl::{reply_ttl_exhausted, ttl_exhausted, TTL_EXTENSION};
use eventflow_planner::event::{Event, ExtValue};
use eventflow_planner::plan::durable::{partition_of, PARTITIONS};
use eventflow_planner::plan::{Edge, EdgeId, EdgeKind, NodeKind, Plan, ReplyTo, Target};
use std::sync::Arc;

/// Pool lanes from here on are ordered (single-thread) lanes, below are subscribers.
const ORDERED_LANES: usize = usize::MAX / 2;

/// Trail markers after an edge id: the subscriber's record, the reply, the dead letter.
const MARK_SUBSCRIBER: u32 = u32::MAX - 2;
const MARK_REPLY: u32 = u32::MAX - 1;
const MARK_DEAD_LETTER: u32 = u32::MAX;

/// Which leg of a delivery a call is: the subscriber itself, or a reply target / dead-letter
/// sink (no `Prefer: reply`, answered like a Subscription's subscriber).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leg {
    /// The edge's own subscriber (its attempts are reported to the dispatch observer).
    Subscriber(EdgeKind, EdgeId),
    Forward,
}

impl Leg {
    fn kind(self) -> EdgeKind {
        match self {
            Leg::Subscriber(k, _) => k,
            Leg::Forward => EdgeKind::Subscription,
        }
    }
}

/// Everything the deliver operator needs, shared by all workers.
pub struct Deliverer {
    plan: Arc<Plan>,
    subscribers: Vec<Option<Arc<dyn Subscriber>>>,
    external_names: Vec<Arc<str>>,
    vias: Vec<Arc<str>>,
    node_urls: Vec<String>,
    hop_limit: u32,
    write_lines: bool,
    /// Per edge: the pool lane (subscriber) when a blocking subscriber takes part in it.
    lanes: Vec<Option<usize>>,
    /// Live engines wait out backoff on the pool threads; replay advances its virtual clock.
    sleep_backoff: bool,
    pool: DeliveryPool,
    /// Told about every subscriber attempt (dispatch metrics), when one is registered.
    observer: Option<Arc<dyn DispatchObserver>>,
}

impl Deliverer {
    /// Binds every external of `plan`; `write_lines` makes records carry delivery-log lines.
    pub fn new(
        plan: Arc<Plan>,
        bindings: &Bindings,
        hop_limit: u32,
        write_lines: bool,
    ) -> Deliverer {
        let subscribers = plan.externals.iter().map(|x| bindings.resolve(x)).collect();
        let external_names = plan
            .externals
            .iter()
            .map(|x| Arc::from(x.name.as_str()))
            .collect();
        let vias = plan
            .edges
            .iter()
            .map(|e| Arc::from(e.via.as_str()))
            .collect();
        let node_urls = plan
            .nodes
            .iter()
            .map(|n| {
                let mut parts = n.name.splitn(3, '/');
                let (kind, ns, name) = (
                    parts.next(),
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                );
                match kind {
                    Some("Broker") => format!(
                        "http://broker-ingress.knative-eventing.svc.cluster.local/{ns}/{name}"
                    ),
                    _ => format!("http://{name}-kn-channel.{ns}.svc.cluster.local"),
                }
            })
            .collect();
        let subscribers: Vec<Option<Arc<dyn Subscriber>>> = subscribers;
        let blocking = |t: Option<Target>| match t {
            Some(Target::External(x)) => subscribers[x as usize]
                .as_ref()
                .is_some_and(|s| s.blocking()),
            _ => false,
        };
        let lanes = plan
            .edges
            .iter()
            .map(|e| {
                let reply = match &e.reply {
                    Some(ReplyTo::External(x, _)) => Some(Target::External(*x)),
                    _ => None,
                };
                let involved = [e.subscriber, reply, e.policy.dead_letter];
                let lane = match e.subscriber {
                    Some(Target::External(x)) => x as usize,
                    _ => usize::MAX,
                };
                involved.iter().any(|t| blocking(*t)).then_some(lane)
            })
            .collect();
        Deliverer {
            plan,
            subscribers,
            external_names,
            vias,
            node_urls,
            hop_limit,
            write_lines,
            lanes,
            sleep_backoff: false,
            pool: DeliveryPool::new(),
            observer: bindings.observer().cloned(),
        }
    }

    /// Live engines: backoff before a retry of a blocking subscriber is waited out in real
    /// time (on the pool thread); otherwise it only advances the virtual clock.
    pub fn with_real_backoff(mut self, on: bool) -> Deliverer {
        self.sleep_backoff = on;
        self
    }

    /// The pool lane of `item`, when its delivery involves a blocking subscriber and must run
    /// off the timely worker (see [`Deliverer::pool`]).
    pub fn lane(&self, item: &Item) -> Option<usize> {
        match item.place {
            Place::Edge(e) => self.lanes.get(e as usize).copied().flatten(),
            Place::Node(_) => None,
        }
    }

    /// For an edge with ordered delivery (`Policy::ordered`): the partition (0..16) of the
    /// event's `partitionkey`, else of its `source` — the same stable FNV-1a partition the
    /// JetStream channels use, so every worker and process agrees. `None` for other items.
    pub fn ordered_partition(&self, item: &Item) -> Option<u32> {
        let Place::Edge(e) = item.place else {
            return None;
        };
        if !self.plan.edges.get(e as usize)?.policy.ordered {
            return None;
        }
        let event = &item.event;
        Some(match event.extension("partitionkey") {
            Some(ExtValue::String(key)) => partition_of(key),
            Some(other) => partition_of(&other.to_string()),
            None => partition_of(&event.source),
        })
    }

    /// The serial pool lane of an ordered delivery on `lane` (see [`Deliverer::lane`]):
    /// one thread per (subscriber lane, partition), deliveries of a key one at a time.
    pub fn ordered_lane_of(lane: usize, partition: u32) -> usize {
        ORDERED_LANES
            .wrapping_add(lane.wrapping_mul(PARTITIONS as usize))
            .wrapping_add(partition as usize)
    }

    /// Threads for deliveries that block.
    pub fn pool(&self) -> &DeliveryPool {
        &self.pool
    }

    /// The plan this deliverer serves.
    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// Delivers `item` (which must be at an edge); new items go to `items`, records to `records`.
    pub fn deliver(&self, item: Item, items: &mut Vec<Item>, records: &mut Vec<Record>) {
        let Place::Edge(e) = item.place else { return };
        let edge = &self.plan.edges[e as usize];
        let mut meta = item.meta;
        meta.hops += 1;
        meta.trail = meta.trail.push(e);
        if meta.hops > self.hop_limit {
            let reason = format!(
                "hop limit {} exceeded (a loop knativebrokerttl does not catch?)",
                self.hop_limit
            );
            records.push(record(&meta, RecordKind::Dropped { reason }));
            return;
        }
        // What the edge received: the dead-letter copy is made from it, with its TTL (as the
        // RI's dispatcher sends the message it got from the channel).
        let (original, mut restore) = (item.event.clone(), None);
        // A Trigger strips knativebrokerttl before the subscriber (the route stage did, and the
        // value travels beside the event) and restores it on the reply.
        let (sent, ttl) = match (edge.kind, item.broker_ttl) {
            (EdgeKind::Trigger, Some(t)) => {
                restore = Some(t);
                (item.event, Some(ExtValue::Integer(t)))
            }
            (EdgeKind::Trigger, None) if item.event.extension(TTL_EXTENSION).is_some() => {
                let mut ev = (*item.event).clone();
                let ttl = ev.remove_extension(TTL_EXTENSION);
                (Arc::new(ev), ttl)
            }
            _ => (item.event, None),
        };
        let received = Received {
            event: &original,
            ttl: restore,
        };
        match edge.subscriber {
            None => self.reply(edge, (*sent).clone(), None, received, meta, items, records),
            Some(Target::Node(n)) => {
                let node = &self.plan.nodes[n as usize];
                if node.kind == NodeKind::Broker && reply_ttl_exhausted(&sent) {
                    // The Broker's ingress answers 400: a non-retryable failure of this edge.
                    let f = Failure::new(
                        400,
                        Vec::new(),
                        format!("rejected by {}: knativebrokerttl exhausted", node.name),
                    );
                    let dest = self.node_urls[n as usize].clone();
                    let via = self.vias[e as usize].clone();
                    self.dead_letter(&edge.policy, received, &f, &dest, via, meta, items, records);
                    return;
                }
                items.push(Item {
                    broker_ttl: None,
                    place: Place::Node(n),
                    event: sent,
                    meta,
                })
            }
            Some(Target::External(x)) => {
                let (answer, attempts) = self.call(
                    x as usize,
                    &sent,
                    &edge.policy,
                    Leg::Subscriber(edge.kind, e),
                    &mut meta.clock,
                    &self.vias[e as usize],
                );
                match answer {
                    Ok(reply) => {
                        // A reply its Broker will refuse (TTL exhausted) fails the delivery as a
                        // whole, as Knative's dispatcher sees the 400 of the reply POST.
                        if let (Some(r), Some(ReplyTo::Node(n))) = (&reply, &edge.reply) {
                            let node = &self.plan.nodes[*n as usize];
                            let exhausted = match &ttl {
                                Some(t) => ttl_exhausted(t),
                                None => reply_ttl_exhausted(r),
                            };
                            if node.kind == NodeKind::Broker && exhausted {
                                let f = Failure::new(
                                    400,
                                    Vec::new(),
                                    format!(
                                        "reply rejected by {}: knativebrokerttl exhausted",
                                        node.name
                                    ),
                                );
                                let via = self.vias[e as usize].clone();
                                let dest = self.node_urls[*n as usize].clone();
                                let ctx = (&edge.policy, received, dest.as_str());
                                self.failed(
                                    ctx, meta, x as usize, via, attempts, f, &sent, items, records,
                                );
                                return;
                            }
                        }
                        self.log(
                            &meta,
                            MARK_SUBSCRIBER,
                            x as usize,
                            &self.vias[e as usize],
                            Outcome::Delivered,
                            attempts,
                            None,
                            &sent,
                            records,
                        );
                        if let Some(mut reply) = reply {
                            // A reply carries on the request's pass-through headers
                            // (x-request-id, trace context) unless it brought its own.
                            if reply.passthrough.is_empty() {
                                reply.passthrough = sent.passthrough.clone();
                            }
                            self.reply(edge, reply, ttl, received, meta, items, records);
                        }
                    }
                    Err(f) => {
                        let via = self.vias[e as usize].clone();
                        let dest = self.plan.externals[x as usize].url.clone();
                        let ctx = (&edge.policy, received, dest.as_str());
                        self.failed(
                            ctx, meta, x as usize, via, attempts, f, &sent, items, records,
                        );
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn reply(
        &self,
        edge: &Edge,
        mut reply: Event,
        ttl: Option<ExtValue>,
        original: Received<'_>,
        mut meta: Meta,
        items: &mut Vec<Item>,
        records: &mut Vec<Record>,
    ) {
        meta.trail = meta.trail.push(MARK_REPLY);
        match &edge.reply {
            None => {}
            Some(ReplyTo::Node(n)) => {
                if let Some(ttl) = ttl {
                    reply.set_extension(TTL_EXTENSION, ttl);
                }
                let is_broker = self.plan.nodes[*n as usize].kind == NodeKind::Broker;
                if is_broker && reply_ttl_exhausted(&reply) {
                    let f = Failure::new(
                        400,
                        Vec::new(),
                        "reply rejected: knativebrokerttl exhausted".into(),
                    );
                    let dest = self.node_urls[*n as usize].clone();
                    let via = self.vias[edge.id as usize].clone();
                    self.dead_letter(&edge.policy, original, &f, &dest, via, meta, items, records);
                    return;
                }
                items.push(Item {
                    broker_ttl: None,
                    place: Place::Node(*n),
                    event: Arc::new(reply),
                    meta,
                });
            }
            Some(ReplyTo::External(x, via)) => {
                let x = *x as usize;
                let via: Arc<str> = Arc::from(via.as_str());
                let reply = Arc::new(reply);
                let (answer, attempts) =
                    self.call(x, &reply, &edge.policy, Leg::Forward, &mut meta.clock, &via);
                match answer {
                    Ok(_) => self.log(
                        &meta,
                        MARK_SUBSCRIBER,
                        x,
                        &via,
                        Outcome::Delivered,
                        attempts,
                        None,
                        &reply,
                        records,
                    ),
                    Err(f) => {
                        let dest = self.plan.externals[x].url.clone();
                        let ctx = (&edge.policy, original, dest.as_str());
                        self.failed(ctx, meta, x, via, attempts, f, &reply, items, records);
                    }
                }
            }
        }
    }
}

pub(crate) fn record(meta: &Meta, kind: RecordKind) -> Record {
    Record {
        epoch: meta.epoch,
        seq: meta.seq,
        trail: meta.trail,
        kind,
    }
}

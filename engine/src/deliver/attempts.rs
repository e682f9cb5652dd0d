//! The attempts of one call: up to `retry + 1` calls of an external subscriber in the edge's
//! content mode, the wait before each retry (backoff, or a longer honoured `Retry-After`,
//! knative-semantics.md §3.6) on the virtual clock — and for real on the pool thread of a
//! blocking subscriber in a live engine — and each attempt reported to the dispatch observer.

use super::{Deliverer, Leg};
use crate::answer::{classify, status_of, Answer, Failure};
use crate::clock::VirtualMs;
use crate::service::{CallContext, Reply};
use eventflow_planner::event::Event;
use eventflow_planner::plan::Policy;

impl Deliverer {
    /// Calls external `x` up to `attempts` times in the policy's content mode; the wait before
    /// each retry (backoff, or a longer honoured `Retry-After`) advances `clock`, and live
    /// engines wait it out for real on the pool thread of a blocking subscriber.
    pub(super) fn call(
        &self,
        x: usize,
        event: &Event,
        policy: &Policy,
        leg: Leg,
        clock: &mut VirtualMs,
        via: &str,
    ) -> (Result<Option<Event>, Failure>, u32) {
        // `Kn-Namespace`: the namespace of the Trigger/Subscription (`Kind/ns/name…`).
        let namespace = via.split('/').nth(1).unwrap_or("");
        let ctx = CallContext {
            timeout_ms: policy.delivery.timeout_ms,
            namespace,
            prefer_reply: matches!(leg, Leg::Subscriber(..)),
        };
        let format = policy.delivery.format;
        let observed = match leg {
            Leg::Subscriber(_, e) => self.observer.as_deref().map(|o| (o, e)),
            Leg::Forward => None,
        };
        let attempts = policy.delivery.attempts();
        let mut last = Failure::new(500, Vec::new(), "no attempt".into());
        let sub = self.subscribers[x].as_ref();
        for k in 0..attempts {
            if k > 0 {
                let wait = policy
                    .delivery
                    .retry_wait_ms(k, last.code, last.retry_after_ms);
                *clock = clock.saturating_add(i64::try_from(wait).unwrap_or(i64::MAX));
                if self.sleep_backoff && sub.is_some_and(|s| s.blocking()) {
                    // On a pool thread (never a timely worker): wait for real.
                    std::thread::sleep(std::time::Duration::from_millis(wait));
                }
            }
            let started = observed.map(|_| std::time::Instant::now());
            let reply = match sub {
                Some(s) => s.call_as(event, &ctx, format),
                None => Reply::None,
            };
            if let (Some((o, e)), Some(t)) = (observed, started) {
                o.dispatched(e, status_of(&reply), t.elapsed());
            }
            let answer = classify(reply, leg.kind());
            if self.sleep_backoff && !matches!(answer, Answer::Success(None)) {
                // Live: what follows (a reply entering a Broker, a retry, a dead letter)
                // happens now. (An accepted delivery without a reply is followed by nothing:
                // the clock is not read.)
                *clock = (*clock).max(crate::clock::wall_ms());
            }
            match answer {
                Answer::Success(r) => return (Ok(r), k + 1),
                Answer::Fatal(f) => return (Err(f), k + 1),
                Answer::Retry(f) => last = f,
            }
        }
        (Err(last), attempts)
    }
}

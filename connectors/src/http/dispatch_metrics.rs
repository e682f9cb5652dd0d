//! `event_dispatch_latencies`: Knative's dispatch histogram (broker filter and channel
//! dispatcher, knative-semantics.md §8), fed by the engine's
//! [`DispatchObserver`] hook — one observation per attempt to deliver to a subscriber, in ms.
//!
//! Labels, Knative's names: `namespace_name`, `broker_name` + `trigger_name` for a Trigger's
//! subscriber, `channel_name` + `subscription_name` for a Subscription's (Sequence steps and
//! Parallel branches with Knative's generated names: channel `<seq>-kn-sequence-<i>`,
//! subscription `<seq>-kn-sequence-<i>`; `<par>-kn-parallel` / `<par>-kn-parallel-filter-<i>`
//! for a branch filter, `<par>-kn-parallel-<i>` for a branch subscriber), `response_code`
//! and `response_code_class` (`2xx` …). Buckets: Knative's `Buckets125(1, 10000)` —
//! 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000 ms. Every label value comes
//! from the plan or is a status code, so the series are bounded by edges × codes.

use eventflow_engine::observe::DispatchObserver;
use eventflow_planner::plan::{EdgeId, EdgeKind, Plan};
use prometheus::{Histogram, HistogramOpts, HistogramVec};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// Knative's `metrics.Buckets125(1, 10000)`, in ms.
pub const BUCKETS_MS: [f64; 13] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
];

const LABELS: [&str; 7] = [
    "namespace_name",
    "broker_name",
    "trigger_name",
    "channel_name",
    "subscription_name",
    "response_code",
    "response_code_class",
];

fn dispatch_family() -> Result<HistogramVec, prometheus::Error> {
    HistogramVec::new(
        HistogramOpts::new(
            "event_dispatch_latencies",
            "The time spent dispatching an event to a subscriber, per attempt, in milliseconds",
        )
        .buckets(BUCKETS_MS.to_vec()),
        &LABELS,
    )
}

/// One edge's label values and the series seen so far, by status code.
struct EdgeSeries {
    names: [String; 5],
    by_code: RwLock<Vec<(u16, Histogram)>>,
}

/// The [`DispatchObserver`] recording `event_dispatch_latencies` for one plan. Register it with
/// [`Bindings::observe`](eventflow_engine::service::Bindings::observe) before the engine starts
/// and serve it with [`Metrics::register_dispatch`](super::Metrics::register_dispatch).
pub struct DispatchMetrics {
    family: HistogramVec,
    edges: Vec<EdgeSeries>,
}

impl DispatchMetrics {
    /// The family, with label values for every edge of `plan`.
    ///
    /// # Errors
    /// A [`prometheus::Error`] if the family cannot be made (a bug: its options are fixed).
    pub fn new(plan: &Plan) -> Result<Arc<DispatchMetrics>, prometheus::Error> {
        let family = dispatch_family()?;
        let edges = plan
            .edges
            .iter()
            .map(|e| {
                let node = &plan.nodes[e.from as usize];
                let own = node.name.rsplit('/').next().unwrap_or("").to_string();
                let names = match e.kind {
                    EdgeKind::Trigger => [
                        node.namespace.clone(),
                        own,
                        last(&e.via).to_string(),
                        String::new(),
                        String::new(),
                    ],
                    EdgeKind::Subscription => [
                        node.namespace.clone(),
                        String::new(),
                        String::new(),
                        own,
                        subscription_name(&e.via),
                    ],
                };
                EdgeSeries {
                    names,
                    by_code: RwLock::new(Vec::new()),
                }
            })
            .collect();
        Ok(Arc::new(DispatchMetrics { family, edges }))
    }

    /// The histogram family (for registering it in a registry).
    pub fn family(&self) -> &HistogramVec {
        &self.family
    }

    fn series(&self, edge: &EdgeSeries, code: u16) -> Histogram {
        {
            let seen = edge.by_code.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, h)) = seen.iter().find(|(c, _)| *c == code) {
                return h.clone();
            }
        }
        let mut seen = edge.by_code.write().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, h)) = seen.iter().find(|(c, _)| *c == code) {
            return h.clone();
        }
        let [ns, broker, trigger, channel, subscription] = &edge.names;
        let (code_text, class) = (code.to_string(), format!("{}xx", code / 100));
        let h = self.family.with_label_values(&[
            ns.as_str(),
            broker,
            trigger,
            channel,
            subscription,
            &code_text,
            &class,
        ]);
        seen.push((code, h.clone()));
        h
    }
}

impl DispatchObserver for DispatchMetrics {
    fn dispatched(&self, edge: EdgeId, code: u16, elapsed: Duration) {
        if let Some(e) = self.edges.get(edge as usize) {
            self.series(e, code).observe(elapsed.as_secs_f64() * 1000.0);
        }
    }
}

fn last(via: &str) -> &str {
    via.rsplit('/').next().unwrap_or(via)
}

/// Knative's Subscription name for a `via`: the Subscription's own, or the one its Sequence
/// or Parallel reconciler generates.
fn subscription_name(via: &str) -> String {
    let parts: Vec<&str> = via.split('/').collect();
    match parts.as_slice() {
        ["Sequence", _, name, "step", i] => format!("{name}-kn-sequence-{i}"),
        ["Parallel", _, name, "branch", i, "filter"] => format!("{name}-kn-parallel-filter-{i}"),
        ["Parallel", _, name, "branch", i, "subscriber"] => format!("{name}-kn-parallel-{i}"),
        [_, _, name] => (*name).to_string(),
        _ => via.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_subscription_names_follow_knative() {
        assert_eq!(subscription_name("Subscription/default/s"), "s");
        assert_eq!(
            subscription_name("Sequence/default/seq/step/2"),
            "seq-kn-sequence-2"
        );
        assert_eq!(
            subscription_name("Parallel/default/par/branch/0/filter"),
            "par-kn-parallel-filter-0"
        );
        assert_eq!(
            subscription_name("Parallel/default/par/branch/1/subscriber"),
            "par-kn-parallel-1"
        );
    }
}

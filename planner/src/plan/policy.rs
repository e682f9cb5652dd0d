//! Delivery policies while lowering: a Trigger's or Subscription's spec merged with its
//! Broker's or Channel's (knative-semantics.md §3.3, DESIGN.md §4), and equal specs shared.

use crate::delivery::DeliverySpec;
use crate::topology::Destination;
use std::sync::Arc;

/// Retry/backoff from `own` when present, else from `parent`; DLS field-wise.
pub(super) fn merge(
    own: Option<&DeliverySpec>,
    parent: Option<&DeliverySpec>,
) -> (DeliverySpec, Option<Destination>) {
    let dls = own
        .and_then(|d| d.dead_letter_sink.clone())
        .or_else(|| parent.and_then(|d| d.dead_letter_sink.clone()));
    let mut eff = own.or(parent).cloned().unwrap_or_default();
    eff.dead_letter_sink = None;
    (eff, dls)
}

/// The specs handed out so far: the default first, then the distinct ones, most recent last.
pub(super) struct Specs(Vec<Arc<DeliverySpec>>);

impl Default for Specs {
    fn default() -> Specs {
        Specs(vec![Arc::default()])
    }
}

impl Specs {
    /// `spec`, shared with an equal one handed out before (the default, or one of the last
    /// few distinct specs: plans repeat a handful of policies over many edges). Most edges
    /// have no delivery spec: ten thousand Triggers then hold one default, not ten thousand
    /// copies of a 170-byte struct.
    pub(super) fn shared(&mut self, spec: DeliverySpec) -> Arc<DeliverySpec> {
        const RECENT: usize = 8;
        let specs = &mut self.0;
        let hit = std::iter::once(0)
            .chain((1..specs.len()).rev().take(RECENT))
            .find(|&i| *specs[i] == spec);
        match hit {
            Some(i) => specs[i].clone(),
            None => {
                let arc = Arc::new(spec);
                specs.push(arc.clone());
                arc
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_specs_share_one_allocation() {
        let mut specs = Specs::default();
        let a = specs.shared(DeliverySpec::default());
        let retry = DeliverySpec {
            retry: Some(3),
            ..DeliverySpec::default()
        };
        let b = specs.shared(retry.clone());
        let c = specs.shared(retry);
        assert!(Arc::ptr_eq(&b, &c));
        assert!(Arc::ptr_eq(&a, &specs.shared(DeliverySpec::default())));
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(b.attempts(), 4);
    }
}

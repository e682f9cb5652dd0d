//! `Trigger` (eventing v1alpha1 `sourceAndType` and default broker, v1beta1, v1 `filters` and
//! `brokerRef`), with the effective-filter rule of knative-semantics.md §2.1.

use super::decode::{Cx, RefUse};
use super::delivery_spec::delivery_at;
use super::destination::{dest_at, kref, DestOpts};
use super::document::Res;
use super::filters::{filter_list, legacy_filter};
use crate::filter::Filter;
use crate::topology::{ObjectRef, RefKind, Trigger};

/// The annotation that asks for ordered delivery.
pub const ORDER_ANNOTATION: &str = "kafka.eventing.knative.dev/delivery.order";

/// Decodes a Trigger.
pub fn trigger(cx: &mut Cx, res: &Res<'_>) -> Option<Trigger> {
    let v1alpha1 = res.version == "v1alpha1";
    let Some(spec) = &res.spec else {
        cx.error(
            res.root.line,
            "missing required field `spec`",
            Some("a Trigger needs at least `spec.subscriber`".into()),
        );
        return None;
    };
    let known: &[&str] = match res.version.as_str() {
        "v1alpha1" => &["broker", "filter", "subscriber"],
        "v1beta1" => &["broker", "filter", "subscriber", "delivery"],
        _ => &[
            "broker",
            "brokerRef",
            "filter",
            "filters",
            "subscriber",
            "delivery",
        ],
    };
    cx.check_fields(
        spec,
        known,
        &[
            ("filters", "`filters` needs eventing.knative.dev/v1"),
            ("brokerRef", "`brokerRef` needs eventing.knative.dev/v1"),
        ],
    );

    let broker = broker_of(cx, res, spec);

    // Effective filter: non-empty `filters` wins, else `filter`, else none.
    let filters = spec
        .get("filters")
        .map(|n| (n, filter_list(cx, n, &spec.path_of("filters"))));
    let legacy = cx
        .map_at(spec, "filter")
        .map(|f| legacy_filter(cx, &f, v1alpha1));
    let filter = match (filters, legacy) {
        (Some((n, list)), _) if matches!(&n.value, super::yaml::Value::Seq(items) if !items.is_empty()) => {
            Filter::All(list)
        }
        (_, Some(f)) => f,
        (_, None) if spec.has("filter") => Filter::Attributes(Vec::new()),
        _ => Filter::None,
    };

    let subscriber = match dest_at(cx, spec, "subscriber", DestOpts::default()) {
        Some(d) => Some(d),
        None => {
            if spec.get("subscriber").is_none() {
                cx.missing(spec, "subscriber");
            }
            None
        }
    };
    let delivery = delivery_at(cx, spec, "delivery");
    let ordered = res.annotation(ORDER_ANNOTATION) == Some("ordered");
    Some(Trigger {
        meta: res.meta.clone(),
        broker: broker?,
        filter,
        subscriber: subscriber?,
        delivery,
        ordered,
    })
}

fn broker_of(cx: &mut Cx, res: &Res<'_>, spec: &super::decode::Map<'_>) -> Option<ObjectRef> {
    let name = cx.opt_str(spec, "broker");
    let by_ref = match cx.map_at(spec, "brokerRef") {
        Some(m) => {
            let r = kref(cx, &m, &[]);
            if let Some(r) = &r {
                if r.kind != RefKind::Broker {
                    cx.error(
                        m.line,
                        format!(
                            "`spec.brokerRef` must refer to a Broker, found {}",
                            r.kind.kind_name()
                        ),
                        None,
                    );
                    return None;
                }
            }
            r
        }
        None => None,
    };
    match (name, by_ref) {
        (Some(_), Some(r)) => {
            cx.error(
                spec.key_line("brokerRef"),
                "`spec.broker` and `spec.brokerRef` are mutually exclusive",
                Some("keep one of them".into()),
            );
            Some(r)
        }
        (None, Some(r)) => Some(r),
        (Some(name), None) => {
            let target = ObjectRef {
                kind: RefKind::Broker,
                namespace: cx.namespace.clone(),
                name,
            };
            push_ref(cx, &target, spec.key_line("broker"), None);
            Some(target)
        }
        (None, None) if spec.get("brokerRef").is_some() || spec.get("broker").is_some() => None,
        (None, None) if res.version != "v1" => {
            let target = ObjectRef {
                kind: RefKind::Broker,
                namespace: cx.namespace.clone(),
                name: "default".into(),
            };
            let note = format!(
                "`spec.broker` is not set: {} defaults it to `default`",
                res.version
            );
            push_ref(cx, &target, spec.line, Some(note));
            Some(target)
        }
        (None, None) => {
            cx.error(
                spec.line,
                "missing required field `spec.broker`",
                Some(
                    "eventing.knative.dev/v1 does not default the broker: add `broker: default`"
                        .into(),
                ),
            );
            None
        }
    }
}

fn push_ref(cx: &mut Cx, target: &ObjectRef, line: usize, note: Option<String>) {
    cx.refs.push(RefUse {
        target: target.clone(),
        origin: cx.origin(line),
        resource: cx.resource.clone(),
        field: "spec.broker".into(),
        note,
        informational: false,
    });
}

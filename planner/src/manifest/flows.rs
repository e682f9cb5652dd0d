//! `Sequence` and `Parallel` (flows.knative.dev v1alpha1/v1beta1/v1, messaging v1alpha1).

use super::decode::{Cx, Map};
use super::delivery_spec::delivery_at;
use super::destination::{dest_at, destination, DestOpts};
use super::document::Res;
use crate::topology::{Branch, ChannelTemplate, Parallel, Sequence, Step};

const SUBSCRIBER_IN_FILTER: &[(&str, &str)] = &[(
    "subscriber",
    "subscriber belongs beside filter in the branch, not inside it",
)];

/// Steps/branches carry `delivery` except in messaging.knative.dev/v1alpha1.
fn has_delivery(res: &Res<'_>) -> bool {
    res.group != "messaging.knative.dev"
}

fn channel_template(cx: &mut Cx, spec: &Map<'_>) -> ChannelTemplate {
    let mut ct = ChannelTemplate {
        kind: "InMemoryChannel".into(),
        delivery: None,
    };
    if let Some(m) = cx.map_at(spec, "channelTemplate") {
        cx.check_fields(&m, &["apiVersion", "kind", "spec"], &[]);
        let _ = cx.req_str(&m, "apiVersion");
        if let Some(k) = cx.req_str(&m, "kind") {
            ct.kind = k;
        }
        if let Some(inner) = cx.map_at(&m, "spec") {
            if ct.kind == "InMemoryChannel" || ct.kind == "Channel" {
                cx.check_fields(&inner, &["delivery"], &[]);
            }
            ct.delivery = delivery_at(cx, &inner, "delivery");
        }
    }
    ct
}

/// Decodes a Sequence.
pub fn sequence(cx: &mut Cx, res: &Res<'_>) -> Option<Sequence> {
    let Some(spec) = &res.spec else {
        cx.error(res.root.line, "missing required field `spec.steps`", None);
        return None;
    };
    cx.check_fields(spec, &["steps", "channelTemplate", "reply"], &[]);
    let channel_template = channel_template(cx, spec);
    let reply = dest_at(cx, spec, "reply", DestOpts::default());
    let mut steps = Vec::new();
    let mut ok = true;
    match spec.get("steps") {
        None => {
            cx.missing(spec, "steps");
            ok = false;
        }
        Some(n) => {
            let path = spec.path_of("steps");
            let items = cx.as_seq(n, &path)?;
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match step(cx, res, item, &p) {
                    Some(s) => steps.push(s),
                    None => ok = false,
                }
            }
            if steps.is_empty() && ok {
                cx.error(
                    spec.key_line("steps"),
                    "`spec.steps` needs at least one step",
                    None,
                );
                ok = false;
            }
        }
    }
    ok.then(|| Sequence {
        meta: res.meta.clone(),
        steps,
        channel_template,
        reply,
    })
}

fn step(cx: &mut Cx, res: &Res<'_>, item: &super::yaml::Node, p: &str) -> Option<Step> {
    // A step is a Destination plus `delivery`: split the delivery off before decoding.
    let m = cx.as_map(item, p, item.line)?;
    let delivery = if has_delivery(res) {
        delivery_at(cx, &m, "delivery")
    } else {
        None
    };
    let extra = if has_delivery(res) { "delivery" } else { "" };
    let stripped = strip_key(item, extra);
    let destination = destination(cx, &stripped, p, item.line, DestOpts::default())?;
    Some(Step {
        destination,
        delivery,
    })
}

/// A copy of a mapping node without `key` (so the Destination decoder does not see it).
fn strip_key(node: &super::yaml::Node, key: &str) -> super::yaml::Node {
    let mut n = node.clone();
    if let super::yaml::Value::Map(entries) = &mut n.value {
        entries.retain(|(k, _)| k.scalar().is_none_or(|s| s.text != key));
    }
    n
}

/// Decodes a Parallel.
pub fn parallel(cx: &mut Cx, res: &Res<'_>) -> Option<Parallel> {
    let Some(spec) = &res.spec else {
        cx.error(
            res.root.line,
            "missing required field `spec.branches`",
            None,
        );
        return None;
    };
    cx.check_fields(spec, &["branches", "channelTemplate", "reply"], &[]);
    let channel_template = channel_template(cx, spec);
    let reply = dest_at(cx, spec, "reply", DestOpts::default());
    let mut branches = Vec::new();
    let mut ok = true;
    match spec.get("branches") {
        None => {
            cx.missing(spec, "branches");
            ok = false;
        }
        Some(n) => {
            let path = spec.path_of("branches");
            let items = cx.as_seq(n, &path)?;
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match branch(cx, res, item, &p) {
                    Some(b) => branches.push(b),
                    None => ok = false,
                }
            }
            if branches.is_empty() && ok {
                cx.error(
                    spec.key_line("branches"),
                    "`spec.branches` needs at least one branch",
                    None,
                );
                ok = false;
            }
        }
    }
    ok.then(|| Parallel {
        meta: res.meta.clone(),
        branches,
        channel_template,
        reply,
    })
}

fn branch(cx: &mut Cx, res: &Res<'_>, item: &super::yaml::Node, p: &str) -> Option<Branch> {
    let m = cx.as_map(item, p, item.line)?;
    let known: &[&str] = if has_delivery(res) {
        &["filter", "subscriber", "reply", "delivery"]
    } else {
        &["filter", "subscriber", "reply"]
    };
    cx.check_fields(&m, known, &[]);
    let filter_opts = DestOpts {
        dns_name: false,
        special: SUBSCRIBER_IN_FILTER,
    };
    let filter = dest_at(cx, &m, "filter", filter_opts);
    let filter_ok = filter.is_some() || m.get("filter").is_none();
    let reply = dest_at(cx, &m, "reply", DestOpts::default());
    let delivery = if has_delivery(res) {
        delivery_at(cx, &m, "delivery")
    } else {
        None
    };
    let subscriber = match m.get("subscriber") {
        Some(_) => dest_at(cx, &m, "subscriber", DestOpts::default()),
        None => {
            let nested = m
                .get("filter")
                .and_then(|f| super::decode::Map::of(f, "", 0))
                .is_some_and(|f| f.has("subscriber"));
            let hint = if nested {
                "subscriber belongs beside filter in the branch, not inside it"
            } else {
                "every branch needs a `subscriber`"
            };
            cx.error(
                m.line,
                format!("missing required field `{p}.subscriber`"),
                Some(hint.into()),
            );
            None
        }
    };
    if !filter_ok {
        return None;
    }
    Some(Branch {
        filter,
        subscriber: subscriber?,
        reply,
        delivery,
    })
}

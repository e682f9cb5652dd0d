//! Channels (`InMemoryChannel`, generic `Channel`, other `*Channel` kinds, messaging
//! v1alpha1–v1) and Subscriptions (messaging v1alpha1–v1, legacy eventing v1alpha1).
//!
//! Hand-written `spec.subscribers` (or v1alpha1 `spec.subscribable.subscribers`) are normally
//! filled by the Subscription controller; eventflow turns each entry into an equivalent
//! Subscription named `<channel>-subscriber-<i>` and says so with a warning.

use super::decode::{join, Cx, Map};
use super::delivery_spec::{delivery, delivery_at};
use super::destination::{dest_at, kref, DestOpts};
use super::document::Res;
use crate::delivery::DeliverySpec;
use crate::topology::{Channel, Destination, Meta, ObjectRef, RefKind, Subscription};

/// Decodes a channel; returns it and the Subscriptions its hand-written subscribers stand for.
pub fn channel(cx: &mut Cx, res: &Res<'_>) -> Option<(Channel, Vec<Subscription>)> {
    let mut template_kind = None;
    let mut deliv = None;
    let mut subs = Vec::new();
    let generic = res.kind == "Channel";
    if let Some(spec) = &res.spec {
        let mut known = vec!["delivery", "subscribers"];
        if res.version == "v1alpha1" {
            known.push("subscribable");
        }
        if generic {
            known.push("channelTemplate");
        }
        match res.kind.as_str() {
            "InMemoryChannel" | "Channel" => cx.check_fields(spec, &known, &[]),
            "KafkaChannel" => {
                known.extend(["numPartitions", "replicationFactor", "retentionDuration"]);
                cx.check_fields(spec, &known, &[]);
            }
            // eventing-natss `messaging.knative.dev/v1alpha1` (stream and consumer settings
            // are accepted; eventflow derives its own, see `plan::durable`).
            "NatsJetStreamChannel" => {
                known.extend(["stream", "consumerConfigTemplate"]);
                cx.check_fields(spec, &known, &[]);
            }
            _ => {}
        }
        if let Some(ct) = cx.map_at(spec, "channelTemplate") {
            cx.check_fields(&ct, &["apiVersion", "kind", "spec"], &[]);
            let _ = cx.req_str(&ct, "apiVersion");
            template_kind = cx.req_str(&ct, "kind");
        }
        deliv = delivery_at(cx, spec, "delivery");
        if let Some(n) = spec.get("subscribers") {
            subs.extend(subscribers(cx, res, n, &spec.path_of("subscribers"), 0));
        }
        if let Some(sb) = cx.map_at(spec, "subscribable") {
            cx.check_fields(&sb, &["subscribers"], &[]);
            if let Some(n) = sb.get("subscribers") {
                let start = subs.len();
                subs.extend(subscribers(cx, res, n, &sb.path_of("subscribers"), start));
            }
        }
    }
    if generic && template_kind.is_none() {
        template_kind = Some("InMemoryChannel".into());
    }
    let ch = Channel {
        meta: res.meta.clone(),
        kind: res.kind.clone(),
        template_kind,
        delivery: deliv,
        ordered: res.annotation(super::trigger::ORDER_ANNOTATION) == Some("ordered"),
    };
    Some((ch, subs))
}

fn subscribers(
    cx: &mut Cx,
    res: &Res<'_>,
    node: &super::yaml::Node,
    path: &str,
    start: usize,
) -> Vec<Subscription> {
    let Some(items) = cx.as_seq(node, path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let known = [
        "uid",
        "generation",
        "subscriberUri",
        "subscriberURI",
        "replyUri",
        "replyURI",
        "delivery",
        "deadLetterSink",
        "subscriberCACerts",
        "replyCACerts",
        "subscriberAudience",
        "replyAudience",
        "name",
    ];
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(m) = cx.as_map(item, &p, item.line) else {
            continue;
        };
        cx.check_fields(&m, &known, &[]);
        let uri = |cx: &mut Cx, keys: [&str; 2]| {
            keys.iter().find_map(|k| cx.opt_str(&m, k)).map(|u| {
                if u.contains("://") {
                    u
                } else {
                    format!("http://{u}")
                }
            })
        };
        let subscriber = uri(cx, ["subscriberUri", "subscriberURI"]).map(Destination::Uri);
        let reply = uri(cx, ["replyUri", "replyURI"]).map(Destination::Uri);
        let mut deliv: Option<DeliverySpec> = m
            .get("delivery")
            .and_then(|n| delivery(cx, n, &m.path_of("delivery"), m.key_line("delivery"), true));
        if let Some(dls) = dest_at(cx, &m, "deadLetterSink", DestOpts::default()) {
            deliv
                .get_or_insert_with(DeliverySpec::default)
                .dead_letter_sink = Some(dls);
        }
        if subscriber.is_none() && reply.is_none() {
            cx.error(
                m.line,
                format!("`{p}` has neither `subscriberUri` nor `replyUri`"),
                None,
            );
            continue;
        }
        let name = format!("{}-subscriber-{}", res.meta.name, start + i);
        cx.warn(
            m.line,
            format!("`{p}` is normally filled by the Subscription controller; read as Subscription `{name}`"),
            Some("write a messaging.knative.dev/v1 Subscription instead".into()),
        );
        out.push(Subscription {
            meta: Meta {
                name,
                ..res.meta.clone()
            },
            channel: ObjectRef {
                kind: RefKind::Channel(res.kind.clone()),
                namespace: res.meta.namespace.clone(),
                name: res.meta.name.clone(),
            },
            subscriber,
            reply,
            delivery: deliv,
        });
    }
    out
}

/// Decodes a Subscription (messaging, or the legacy eventing v1alpha1 one when `legacy`).
pub fn subscription(cx: &mut Cx, res: &Res<'_>, legacy: bool) -> Option<Subscription> {
    let Some(spec) = &res.spec else {
        cx.error(
            res.root.line,
            "missing required field `spec`",
            Some("a Subscription needs `spec.channel` and `spec.subscriber`".into()),
        );
        return None;
    };
    let known: &[&str] = if legacy {
        &["channel", "subscriber", "reply"]
    } else {
        &["channel", "subscriber", "reply", "delivery"]
    };
    cx.check_fields(spec, known, &[]);
    let channel = match cx.map_at(spec, "channel") {
        Some(m) => channel_ref(cx, &m),
        None => {
            if spec.get("channel").is_none() {
                cx.missing(spec, "channel");
            }
            None
        }
    };
    let opts = DestOpts {
        dns_name: legacy,
        special: &[],
    };
    let subscriber = dest_at(cx, spec, "subscriber", opts);
    let reply = match cx.map_at(spec, "reply") {
        Some(r) if r.has("channel") => legacy_reply(cx, &r),
        Some(_) => dest_at(cx, spec, "reply", DestOpts::default()),
        None => None,
    };
    let deliv = delivery_at(cx, spec, "delivery");
    let pre_v1 = res.version != "v1";
    if spec.get("subscriber").is_none() {
        if !pre_v1 {
            cx.error(
                spec.line,
                "missing required field `spec.subscriber`",
                Some("messaging.knative.dev/v1 needs a subscriber; a reply-only Subscription is pre-v1".into()),
            );
            return None;
        }
        if spec.get("reply").is_none() {
            cx.error(
                spec.line,
                "a Subscription needs `spec.subscriber` or `spec.reply`",
                None,
            );
            return None;
        }
    } else if subscriber.is_none() {
        return None;
    }
    Some(Subscription {
        meta: res.meta.clone(),
        channel: channel?,
        subscriber,
        reply,
        delivery: deliv,
    })
}

/// `spec.channel`: an ObjectReference/KReference to a channel kind.
fn channel_ref(cx: &mut Cx, m: &Map<'_>) -> Option<ObjectRef> {
    let r = kref(cx, m, &["uid", "resourceVersion", "fieldPath"])?;
    if !matches!(r.kind, RefKind::Channel(_)) {
        cx.error(
            m.line,
            format!(
                "`spec.channel` must refer to a channel kind, found {}",
                r.kind.kind_name()
            ),
            Some("use InMemoryChannel, Channel or another messaging.knative.dev *Channel".into()),
        );
        return None;
    }
    Some(r)
}

/// The v0.9–v0.11 `reply: {channel: …}` (ReplyStrategy) and the eventing v1alpha1 one.
fn legacy_reply(cx: &mut Cx, r: &Map<'_>) -> Option<Destination> {
    cx.check_fields(r, &["channel"], &[]);
    let node = r.get("channel")?;
    let path = join(&r.path, "channel");
    let m = cx.as_map(node, &path, r.key_line("channel"))?;
    if m.has("ref") || m.has("uri") {
        return super::destination::destination(
            cx,
            node,
            &path,
            r.key_line("channel"),
            DestOpts::default(),
        );
    }
    let target = kref(cx, &m, &["uid", "resourceVersion", "fieldPath"])?;
    Some(Destination::Ref { target, path: None })
}

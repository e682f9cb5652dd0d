//! `Broker` (eventing v1alpha1 `channelTemplateSpec`, v1beta1, v1 + class annotation).

use super::decode::Cx;
use super::delivery_spec::delivery_at;
use super::document::Res;
use crate::topology::Broker;

/// The class annotation.
pub const CLASS_ANNOTATION: &str = "eventing.knative.dev/broker.class";
/// The default broker class.
pub const DEFAULT_CLASS: &str = "MTChannelBasedBroker";

/// Decodes a Broker.
pub fn broker(cx: &mut Cx, res: &Res<'_>) -> Option<Broker> {
    let mut channel_kind = None;
    let mut delivery = None;
    if let Some(spec) = &res.spec {
        let known: &[&str] = if res.version == "v1alpha1" {
            &["channelTemplateSpec", "config", "delivery"]
        } else {
            &["config", "delivery"]
        };
        cx.check_fields(
            spec,
            known,
            &[(
                "channelTemplateSpec",
                "`channelTemplateSpec` is eventing.knative.dev/v1alpha1 only; use `config`",
            )],
        );
        if let Some(config) = cx.map_at(spec, "config") {
            cx.check_fields(
                &config,
                &["apiVersion", "kind", "name", "namespace", "group"],
                &[],
            );
            let _ = (cx.req_str(&config, "kind"), cx.req_str(&config, "name"));
        }
        if let Some(ct) = cx.map_at(spec, "channelTemplateSpec") {
            cx.check_fields(&ct, &["apiVersion", "kind", "spec"], &[]);
            let _ = cx.req_str(&ct, "apiVersion");
            channel_kind = cx.req_str(&ct, "kind");
        }
        delivery = delivery_at(cx, spec, "delivery");
    }
    let class = match res.annotation(CLASS_ANNOTATION) {
        Some("") | None => DEFAULT_CLASS.to_string(),
        Some(c) => c.to_string(),
    };
    Some(Broker {
        meta: res.meta.clone(),
        class,
        channel_kind,
        delivery,
    })
}

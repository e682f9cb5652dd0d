//! One YAML document as a Kubernetes object: apiVersion/kind classification, metadata, and the
//! identity (`Kind/ns/name`) every diagnostic names.

use super::decode::{split_api_version, Cx, Map};
use crate::diagnostic::Origin;
use crate::topology::Meta;

/// The eventing kinds eventflow reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// eventing Broker.
    Broker,
    /// eventing Trigger.
    Trigger,
    /// eventing EventType.
    EventType,
    /// Any channel kind (messaging).
    Channel,
    /// messaging Subscription.
    Subscription,
    /// The eventing.knative.dev/v1alpha1 Subscription (≤ v0.8).
    LegacySubscription,
    /// Sequence (flows, or messaging v1alpha1).
    Sequence,
    /// Parallel (flows, or messaging v1alpha1).
    Parallel,
    /// PingSource.
    PingSource,
    /// CronJobSource.
    CronJobSource,
    /// ContainerSource.
    ContainerSource,
    /// ApiServerSource.
    ApiServerSource,
    /// SinkBinding.
    SinkBinding,
}

/// What to do with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Decode it.
    Known(Kind),
    /// A known eventing kind in an apiVersion eventflow does not know.
    BadVersion(&'static [&'static str]),
    /// An unknown kind in an eventing group.
    UnknownKnative(&'static str),
    /// Not an eventing resource: warn and skip (`bindable`: a `--service` hint applies).
    Ignored {
        /// The kind can be a subscriber bound with `--service`.
        bindable: bool,
    },
    /// A `v1 List`: decode its `items`.
    List,
}

const EVENTING_GROUPS: [&str; 6] = [
    "eventing.knative.dev",
    "messaging.knative.dev",
    "flows.knative.dev",
    "sources.knative.dev",
    "sources.eventing.knative.dev",
    "bindings.knative.dev",
];

const ALPHA_TO_V1: &[&str] = &["v1alpha1", "v1beta1", "v1"];
const SOURCES: &[&str] = &["v1alpha1", "v1alpha2", "v1beta1", "v1beta2", "v1"];

/// Classifies an apiVersion + kind.
pub fn classify(api_version: &str, kind: &str) -> Class {
    let (group, version) = split_api_version(api_version);
    let known = |k: Kind, versions: &'static [&'static str]| {
        if versions.contains(&version) {
            Class::Known(k)
        } else {
            Class::BadVersion(versions)
        }
    };
    match (group, kind) {
        ("eventing.knative.dev", "Broker") => known(Kind::Broker, ALPHA_TO_V1),
        ("eventing.knative.dev", "Trigger") => known(Kind::Trigger, ALPHA_TO_V1),
        ("eventing.knative.dev", "EventType") => known(
            Kind::EventType,
            &["v1alpha1", "v1beta1", "v1beta2", "v1beta3"],
        ),
        ("eventing.knative.dev", "Subscription") => known(Kind::LegacySubscription, &["v1alpha1"]),
        ("messaging.knative.dev", "Subscription") => known(Kind::Subscription, ALPHA_TO_V1),
        ("messaging.knative.dev", "InMemoryChannel" | "Channel") => {
            known(Kind::Channel, ALPHA_TO_V1)
        }
        ("messaging.knative.dev", "Sequence") => known(Kind::Sequence, &["v1alpha1"]),
        ("messaging.knative.dev", "Parallel") => known(Kind::Parallel, &["v1alpha1"]),
        ("messaging.knative.dev", k) if k.ends_with("Channel") => Class::Known(Kind::Channel),
        ("flows.knative.dev", "Sequence") => known(Kind::Sequence, ALPHA_TO_V1),
        ("flows.knative.dev", "Parallel") => known(Kind::Parallel, ALPHA_TO_V1),
        ("sources.knative.dev", "PingSource") => known(Kind::PingSource, SOURCES),
        ("sources.knative.dev", "ContainerSource") => known(Kind::ContainerSource, SOURCES),
        ("sources.knative.dev", "ApiServerSource") => known(Kind::ApiServerSource, SOURCES),
        ("sources.knative.dev", "SinkBinding") => known(Kind::SinkBinding, SOURCES),
        ("sources.eventing.knative.dev", "CronJobSource") => {
            known(Kind::CronJobSource, &["v1alpha1"])
        }
        ("sources.eventing.knative.dev", "ContainerSource") => {
            known(Kind::ContainerSource, &["v1alpha1"])
        }
        ("sources.eventing.knative.dev", "ApiServerSource") => {
            known(Kind::ApiServerSource, &["v1alpha1"])
        }
        ("", "List") => Class::List,
        (g, _) if EVENTING_GROUPS.contains(&g) => Class::UnknownKnative(kinds_of(g)),
        (g, _) if g.ends_with(".knative.dev") && !is_platform_group(g) => Class::UnknownKnative(
            "Broker, Trigger, Channel, Subscription, Sequence, Parallel, sources",
        ),
        (_, k) => Class::Ignored {
            bindable: matches!(
                k,
                "Service"
                    | "Deployment"
                    | "StatefulSet"
                    | "DaemonSet"
                    | "ReplicaSet"
                    | "Pod"
                    | "Job"
            ),
        },
    }
}

fn is_platform_group(g: &str) -> bool {
    g == "serving.knative.dev"
        || g == "operator.knative.dev"
        || g.ends_with(".internal.knative.dev")
}

fn kinds_of(group: &str) -> &'static str {
    match group {
        "eventing.knative.dev" => "Broker, Trigger, EventType",
        "messaging.knative.dev" => "InMemoryChannel, Channel, *Channel, Subscription",
        "flows.knative.dev" => "Sequence, Parallel",
        "sources.knative.dev" => "PingSource, ContainerSource, ApiServerSource, SinkBinding",
        "sources.eventing.knative.dev" => "CronJobSource, ContainerSource, ApiServerSource",
        _ => "no kinds",
    }
}

const METADATA: [&str; 16] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "clusterName",
];

/// True for a DNS-1123 subdomain (Kubernetes object names).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && !s.is_empty() && s.split('.').all(is_dns1123_label_loose)
}

fn is_dns1123_label_loose(l: &str) -> bool {
    let b = l.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Reads `metadata` of a document: namespace (default `default`), name, annotations.
/// Updates `cx.resource` and `cx.namespace`. Returns the Meta and the annotations.
pub fn metadata(
    cx: &mut Cx,
    root: &Map<'_>,
    kind: &str,
    origin: Origin,
) -> (Meta, Vec<(String, String, usize)>) {
    let md = cx.map_at(root, "metadata");
    let (mut name, mut namespace, mut annotations) = (None, None, Vec::new());
    if let Some(md) = &md {
        // Read before checking so diagnostics name the resource.
        name = md
            .get("name")
            .and_then(|n| n.scalar())
            .map(|s| s.text.clone());
        namespace = md
            .get("namespace")
            .and_then(|n| n.scalar())
            .map(|s| s.text.clone());
    }
    let ns = namespace.clone().unwrap_or_else(|| "default".into());
    cx.resource = format!("{kind}/{ns}/{}", name.as_deref().unwrap_or("<unnamed>"));
    cx.namespace = ns.clone();
    match &md {
        None => cx.missing(root, "metadata"),
        Some(md) => {
            cx.check_fields(md, &METADATA, &[]);
            match cx.opt_str(md, "name") {
                Some(n) if !is_dns1123_subdomain(&n) => cx.error(
                    md.key_line("name"),
                    format!("invalid `metadata.name` `{n}`"),
                    Some("names are lower-case letters, digits, `-` and `.`".into()),
                ),
                Some(_) => {}
                None if md.get("generateName").is_some() => cx.error(
                    md.key_line("generateName"),
                    "`metadata.generateName` is not supported",
                    Some("set `metadata.name`".into()),
                ),
                None => cx.missing(md, "name"),
            }
            if let Some(n) = cx.opt_str(md, "namespace") {
                if !is_dns1123_label_loose(&n) || n.len() > 63 {
                    cx.error(
                        md.key_line("namespace"),
                        format!("invalid `metadata.namespace` `{n}`"),
                        None,
                    );
                }
            }
            let _ = cx.string_map(md, "labels");
            annotations = cx.string_map(md, "annotations").unwrap_or_default();
        }
    }
    let meta = Meta {
        namespace: ns,
        name: name.unwrap_or_default(),
        origin,
    };
    (meta, annotations)
}

/// A decoded document header, handed to the per-kind decoders.
#[derive(Debug)]
pub struct Res<'n> {
    /// The document root.
    pub root: Map<'n>,
    /// `spec` (None when absent or null).
    pub spec: Option<Map<'n>>,
    /// Identity.
    pub meta: Meta,
    /// `metadata.annotations` (key, value, line).
    pub annotations: Vec<(String, String, usize)>,
    /// The version part of apiVersion (`v1`, `v1alpha1`).
    pub version: String,
    /// The group part of apiVersion.
    pub group: String,
    /// The kind as written.
    pub kind: String,
}

impl Res<'_> {
    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v.as_str())
    }
}

//! Destinations and references: `ref`, `uri`, `ref` + relative `uri`, the legacy inline
//! `{apiVersion, kind, name, namespace}` form and the v0.5 `SubscriberSpec` `dnsName`.

use super::decode::{split_api_version, Cx, Map, RefUse};
use super::yaml::Node;
use crate::topology::{Destination, ObjectRef, RefKind};

/// Options for one destination field.
#[derive(Debug, Clone, Copy, Default)]
pub struct DestOpts<'a> {
    /// Accept `dnsName` (legacy eventing v1alpha1 Subscription subscriber).
    pub dns_name: bool,
    /// Custom hints for unknown keys (`(key, hint)`).
    pub special: &'a [(&'a str, &'a str)],
}

const INLINE: [&str; 4] = ["apiVersion", "kind", "name", "namespace"];

/// Maps a referenced kind (and its apiVersion group) to what it is for routing.
pub fn ref_kind(api_version: &str, kind: &str) -> RefKind {
    let (group, _) = split_api_version(api_version);
    match kind {
        "Broker" => RefKind::Broker,
        "Sequence" => RefKind::Sequence,
        "Parallel" => RefKind::Parallel,
        "InMemoryChannel" | "Channel" | "KafkaChannel" | "NatsJetStreamChannel" => {
            RefKind::Channel(kind.to_string())
        }
        k if k.ends_with("Channel") && group.starts_with("messaging.") => {
            RefKind::Channel(k.to_string())
        }
        k => RefKind::External(k.to_string()),
    }
}

/// True when `uri` is absolute with a host (`scheme://host…`).
pub fn is_absolute(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    scheme_ok && !host.is_empty()
}

/// Decodes a KReference (or legacy ObjectReference) mapping; records internal references.
/// `known_extra` are further keys allowed in the same mapping (used by the inline form).
pub fn kref(cx: &mut Cx, m: &Map<'_>, known_extra: &[&str]) -> Option<ObjectRef> {
    let mut known = vec![
        "apiVersion",
        "kind",
        "name",
        "namespace",
        "group",
        "address",
    ];
    known.extend_from_slice(known_extra);
    cx.check_fields(m, &known, &[]);
    let kind = cx.req_str(m, "kind");
    let name = cx.req_str(m, "name");
    let api_version = cx.opt_str(m, "apiVersion");
    let group = cx.opt_str(m, "group");
    if api_version.is_none() && group.is_none() && m.get("apiVersion").is_none() {
        cx.missing(m, "apiVersion");
    }
    let namespace = cx
        .opt_str(m, "namespace")
        .unwrap_or_else(|| cx.namespace.clone());
    let (kind, name) = (kind?, name?);
    let api = api_version.or(group).unwrap_or_default();
    let target = ObjectRef {
        kind: ref_kind(&api, &kind),
        namespace,
        name,
    };
    if !matches!(target.kind, RefKind::External(_)) {
        cx.refs.push(RefUse {
            target: target.clone(),
            origin: cx.origin(m.line),
            resource: cx.resource.clone(),
            field: m.path.clone(),
            note: None,
            informational: false,
        });
    }
    Some(target)
}

/// Decodes a Destination at `node` (field path `path`, introduced on line `line`).
pub fn destination(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    line: usize,
    opts: DestOpts<'_>,
) -> Option<Destination> {
    let m = cx.as_map(node, path, line)?;
    let inline = INLINE.iter().any(|k| m.has(k));
    let mut known = vec!["ref", "uri", "CACerts", "audience"];
    if opts.dns_name {
        known.push("dnsName");
    }
    if !inline {
        cx.check_fields(&m, &known, opts.special);
    }
    let uri = cx.opt_str(&m, "uri");
    let dns = if opts.dns_name {
        cx.opt_str(&m, "dnsName")
    } else {
        None
    };
    let uri = uri.or_else(|| dns.map(|d| format!("http://{d}")));
    let target = if inline {
        if m.has("ref") {
            cx.error(
                m.key_line("ref"),
                format!("`{path}` has both `ref` and the inline apiVersion/kind/name form"),
                Some("keep only `ref:`".into()),
            );
        }
        if !cx.legacy && !m.has("ref") {
            cx.warn(
                m.line,
                format!("`{path}` uses the deprecated inline reference form"),
                Some("nest apiVersion, kind and name under `ref:`".into()),
            );
        }
        let extra = known.clone();
        Some(kref(cx, &m, &extra)?)
    } else if let Some(r) = m.get("ref") {
        let rm = cx.as_map(r, &m.path_of("ref"), m.key_line("ref"))?;
        Some(kref(cx, &rm, &[])?)
    } else {
        None
    };
    match (target, uri) {
        (None, None) => {
            cx.error(
                m.line,
                format!("`{path}` has neither `ref` nor `uri`"),
                Some("set `ref: {apiVersion, kind, name}` or an absolute `uri`".into()),
            );
            None
        }
        (Some(t), Some(u)) if is_absolute(&u) => {
            cx.error(
                m.key_line("uri"),
                format!("`{path}.uri` must be relative when `ref` is set, found `{u}`"),
                Some("use a path such as `/insert`, or drop `ref`".into()),
            );
            Some(Destination::Ref {
                target: t,
                path: None,
            })
        }
        (Some(target), path_uri) => Some(Destination::Ref {
            target,
            path: path_uri,
        }),
        (None, Some(u)) => {
            if !is_absolute(&u) {
                cx.error(
                    m.key_line("uri"),
                    format!("`{path}.uri` must be an absolute URL with a host, found `{u}`"),
                    Some("write e.g. `http://my-service.default.svc.cluster.local/path`".into()),
                );
                return None;
            }
            Some(Destination::Uri(u))
        }
    }
}

/// Decodes the Destination under `key` of `m`, if present.
pub fn dest_at(cx: &mut Cx, m: &Map<'_>, key: &str, opts: DestOpts<'_>) -> Option<Destination> {
    let node = m.get(key)?;
    destination(cx, node, &m.path_of(key), m.key_line(key), opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_uris() {
        assert_eq!(
            ref_kind("eventing.knative.dev/v1", "Broker"),
            RefKind::Broker
        );
        assert_eq!(
            ref_kind("messaging.knative.dev/v1beta1", "FooChannel"),
            RefKind::Channel("FooChannel".into())
        );
        assert_eq!(
            ref_kind("v1", "Service"),
            RefKind::External("Service".into())
        );
        assert!(is_absolute("http://a.b/c"));
        assert!(!is_absolute("/insert"));
        assert!(!is_absolute("mysub.default.svc.cluster.local"));
    }
}

//! `EventType` (eventing v1alpha1 `broker`; v1beta1/v1beta2 `reference`; v1beta3 `attributes`).
//! Informational: an unresolved reference is a warning, never an error.

use super::decode::{Cx, RefUse};
use super::destination::kref;
use super::document::Res;
use crate::topology::{EventType, ObjectRef, RefKind};

/// Decodes an EventType.
pub fn event_type(cx: &mut Cx, res: &Res<'_>) -> Option<EventType> {
    let mut et = EventType {
        meta: res.meta.clone(),
        ty: None,
        source: None,
        schema: None,
        reference: None,
        description: None,
    };
    let Some(spec) = &res.spec else {
        cx.error(res.root.line, "missing required field `spec`", None);
        return None;
    };
    let known: &[&str] = match res.version.as_str() {
        "v1alpha1" => &["type", "source", "schema", "broker", "description"],
        "v1beta3" => &["reference", "description", "attributes"],
        _ => &[
            "type",
            "source",
            "schema",
            "schemaData",
            "broker",
            "reference",
            "description",
        ],
    };
    cx.check_fields(spec, known, &[]);
    et.description = cx.opt_str(spec, "description");
    let first_informational = cx.refs.len();
    if res.version == "v1beta3" {
        attributes(cx, spec, &mut et);
    } else {
        et.ty = if res.version == "v1alpha1" {
            cx.req_str(spec, "type")
        } else {
            cx.opt_str(spec, "type")
        };
        et.source = cx.opt_str(spec, "source");
        et.schema = cx.opt_str(spec, "schema");
        let broker = cx
            .opt_str(spec, "broker")
            .or_else(|| (res.version == "v1alpha1").then(|| "default".into()));
        if let Some(name) = broker {
            let target = ObjectRef {
                kind: RefKind::Broker,
                namespace: cx.namespace.clone(),
                name,
            };
            cx.refs.push(RefUse {
                target: target.clone(),
                origin: cx.origin(spec.key_line("broker")),
                resource: cx.resource.clone(),
                field: "spec.broker".into(),
                note: None,
                informational: true,
            });
            et.reference = Some(target);
        }
    }
    if let Some(m) = cx.map_at(spec, "reference") {
        et.reference = kref(cx, &m, &[]);
    }
    for r in &mut cx.refs[first_informational..] {
        r.informational = true;
    }
    Some(et)
}

fn attributes(cx: &mut Cx, spec: &super::decode::Map<'_>, et: &mut EventType) {
    let Some(n) = spec.get("attributes") else {
        cx.missing(spec, "attributes");
        return;
    };
    let path = spec.path_of("attributes");
    let mut names = Vec::new();
    for (i, item) in cx.as_seq(n, &path).unwrap_or_default().iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(m) = cx.as_map(item, &p, item.line) else {
            continue;
        };
        cx.check_fields(&m, &["name", "required", "value"], &[]);
        let Some(name) = cx.req_str(&m, "name") else {
            continue;
        };
        if let Some(r) = m.get("required") {
            let _ = cx.boolean(r, &m.path_of("required"));
        }
        let value = cx.opt_str(&m, "value");
        match name.as_str() {
            "type" => et.ty = value,
            "source" => et.source = value,
            "dataschema" => et.schema = value,
            _ => {}
        }
        names.push(name);
    }
    for required in ["type", "source", "specversion", "id"] {
        if !names.iter().any(|n| n == required) {
            cx.error(
                spec.key_line("attributes"),
                format!("`spec.attributes` needs an entry for `{required}`"),
                None,
            );
        }
    }
}

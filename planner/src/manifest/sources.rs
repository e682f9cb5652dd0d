//! Sources: PingSource (v1alpha1 `data`, v1alpha2/v1beta1 `jsonData`, v1beta2/v1 `data`,
//! `dataBase64`, `contentType`, `timezone`), CronJobSource, ContainerSource (legacy
//! `image`/`args`/`env` and `template.spec.containers[0]`), ApiServerSource, SinkBinding.

use super::decode::{Cx, Map};
use super::destination::{dest_at, DestOpts};
use super::document::{Kind, Res};
use crate::topology::{Source, SourceKind};
use base64::Engine;

const DESCRIPTORS: [&str; 7] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Checks a cron schedule (5 fields, optional leading seconds, or a descriptor).
fn check_schedule(cx: &mut Cx, m: &Map<'_>, schedule: &str) {
    let line = m.key_line("schedule");
    let body = match schedule
        .trim()
        .strip_prefix("CRON_TZ=")
        .or_else(|| schedule.trim().strip_prefix("TZ="))
    {
        Some(rest) => rest.split_once(' ').map_or("", |(_, s)| s),
        None => schedule.trim(),
    };
    if body.starts_with('@') {
        if !DESCRIPTORS.contains(&body) {
            let hint = if body.starts_with("@every") {
                "`@every` is not accepted by PingSource"
            } else {
                "use @hourly, @daily, @weekly, @monthly or @yearly"
            };
            cx.error(
                line,
                format!("invalid `spec.schedule` `{schedule}`"),
                Some(hint.into()),
            );
        }
        return;
    }
    let fields: Vec<&str> = body.split_whitespace().collect();
    let chars_ok = fields.iter().all(|f| {
        f.chars()
            .all(|c| c.is_ascii_alphanumeric() || "*/,-?".contains(c))
    });
    if !(5..=6).contains(&fields.len()) || !chars_ok {
        cx.error(
            line,
            format!(
                "invalid `spec.schedule` `{schedule}`: expected 5 cron fields (or 6 with seconds)"
            ),
            Some("e.g. `*/2 * * * *`".into()),
        );
    }
}

fn ce_overrides(cx: &mut Cx, spec: &Map<'_>) -> Vec<(String, String)> {
    let Some(m) = cx.map_at(spec, "ceOverrides") else {
        return Vec::new();
    };
    cx.check_fields(&m, &["extensions"], &[]);
    let ext = cx.string_map(&m, "extensions").unwrap_or_default();
    for (k, _, line) in &ext {
        if k.is_empty()
            || !k
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            cx.error(
                *line,
                format!("invalid extension name `{k}` in `spec.ceOverrides.extensions`"),
                Some("CloudEvents attribute names are lower-case letters and digits".into()),
            );
        }
    }
    ext.into_iter().map(|(k, v, _)| (k, v)).collect()
}

/// Decodes a source of kind `kind`.
pub fn source(cx: &mut Cx, res: &Res<'_>, kind: Kind) -> Option<Source> {
    let Some(spec) = &res.spec else {
        cx.error(res.root.line, "missing required field `spec`", None);
        return None;
    };
    let legacy_group = res.group == "sources.eventing.knative.dev";
    let v = res.version.as_str();
    let mut known: Vec<&str> = vec!["sink"];
    if !legacy_group {
        known.push("ceOverrides");
    }
    let source_kind = match kind {
        Kind::PingSource => {
            known.extend(match v {
                "v1alpha1" => &["schedule", "data", "serviceAccountName", "resources"][..],
                "v1alpha2" => &["schedule", "jsonData"][..],
                "v1beta1" => &["schedule", "timezone", "jsonData"][..],
                _ => &["schedule", "timezone", "contentType", "data", "dataBase64"][..],
            });
            cx.check_fields(
                spec,
                &known,
                &[(
                    "jsonData",
                    "`jsonData` is PingSource v1alpha2/v1beta1; use `data` and `contentType`",
                )],
            );
            ping(cx, spec)
        }
        Kind::CronJobSource => {
            known.extend(["schedule", "data", "serviceAccountName", "resources"]);
            cx.check_fields(spec, &known, &[]);
            let schedule = cx.req_str(spec, "schedule");
            if let Some(s) = &schedule {
                check_schedule(cx, spec, s);
            }
            SourceKind::CronJob {
                schedule: schedule.unwrap_or_default(),
                data: cx.opt_str(spec, "data"),
            }
        }
        Kind::ContainerSource => {
            if legacy_group {
                known.extend(["image", "args", "env", "serviceAccountName", "template"]);
            } else {
                known.push("template");
            }
            cx.check_fields(spec, &known, &[]);
            container(cx, spec)
        }
        Kind::ApiServerSource => {
            known.extend([
                "resources",
                "owner",
                "mode",
                "serviceAccountName",
                "namespaceSelector",
                "filters",
                "ownerAndReference",
            ]);
            cx.check_fields(spec, &known, &[]);
            SourceKind::ApiServer
        }
        _ => {
            known.push("subject");
            cx.check_fields(spec, &known, &[]);
            if spec.get("subject").is_none() {
                cx.missing(spec, "subject");
            }
            SourceKind::SinkBinding
        }
    };
    let sink = dest_at(cx, spec, "sink", DestOpts::default());
    if spec.get("sink").is_none() {
        cx.missing(spec, "sink");
    }
    let ce_overrides = ce_overrides(cx, spec);
    Some(Source {
        meta: res.meta.clone(),
        kind_name: res.kind.clone(),
        kind: source_kind,
        sink,
        ce_overrides,
    })
}

fn ping(cx: &mut Cx, spec: &Map<'_>) -> SourceKind {
    let schedule = cx
        .opt_str(spec, "schedule")
        .unwrap_or_else(|| "* * * * *".into());
    check_schedule(cx, spec, &schedule);
    let timezone = cx.opt_str(spec, "timezone");
    let mut content_type = cx.opt_str(spec, "contentType");
    let mut data = cx.opt_str(spec, "data");
    let data_base64 = cx.opt_str(spec, "dataBase64");
    if let Some(j) = cx.opt_str(spec, "jsonData") {
        // v1alpha2/v1beta1: a JSON object is sent as is, anything else as {"body": "<text>"}.
        let is_object = matches!(
            serde_json::from_str::<serde_json::Value>(&j),
            Ok(serde_json::Value::Object(_))
        );
        data = Some(if is_object {
            j
        } else {
            serde_json::json!({ "body": j }).to_string()
        });
        content_type = Some("application/json".into());
    }
    if data.is_some() && data_base64.is_some() {
        cx.error(
            spec.key_line("dataBase64"),
            "`spec.data` and `spec.dataBase64` are mutually exclusive",
            Some("keep one of them".into()),
        );
    }
    let mut decoded = None;
    if let Some(b) = &data_base64 {
        match base64::engine::general_purpose::STANDARD.decode(b.trim()) {
            Ok(bytes) => decoded = Some(bytes),
            Err(e) => cx.error(
                spec.key_line("dataBase64"),
                format!("`spec.dataBase64` is not valid base64: {e}"),
                None,
            ),
        }
    }
    if content_type.as_deref().is_some_and(|c| {
        c.split(';')
            .next()
            .is_some_and(|m| m.trim() == "application/json")
    }) {
        let bytes = data.as_ref().map(|d| d.as_bytes().to_vec()).or(decoded);
        if let Some(bytes) = bytes {
            if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                let key = if data.is_some() { "data" } else { "dataBase64" };
                cx.error(
                    spec.key_line(key),
                    format!(
                        "`spec.{key}` is not valid JSON but contentType is application/json: {e}"
                    ),
                    None,
                );
            }
        }
    }
    SourceKind::Ping {
        schedule,
        timezone,
        content_type,
        data,
        data_base64,
    }
}

fn container(cx: &mut Cx, spec: &Map<'_>) -> SourceKind {
    let mut image = cx.opt_str(spec, "image");
    let mut args = string_list(cx, spec, "args");
    let mut env = env_list(cx, spec);
    if let Some(t) = cx.map_at(spec, "template") {
        let c0 = cx
            .map_at(&t, "spec")
            .and_then(|ps| ps.get("containers").map(|n| (n, ps.path_of("containers"))))
            .and_then(|(n, p)| {
                cx.as_seq(n, &p)
                    .and_then(|s| s.first())
                    .map(|c| (c, format!("{p}[0]")))
            });
        match c0 {
            Some((c, p)) => {
                if let Some(cm) = cx.as_map(c, &p, c.line) {
                    image = image.or_else(|| cx.opt_str(&cm, "image"));
                    args.extend(string_list(cx, &cm, "args"));
                    env.extend(env_list(cx, &cm));
                }
            }
            None => cx.error(
                t.line,
                "missing required field `spec.template.spec.containers`",
                None,
            ),
        }
    } else if image.is_none() {
        cx.missing(spec, "template");
    }
    SourceKind::Container { image, args, env }
}

fn string_list(cx: &mut Cx, m: &Map<'_>, key: &str) -> Vec<String> {
    let Some(n) = m.get(key) else {
        return Vec::new();
    };
    let path = m.path_of(key);
    let items = cx.as_seq(n, &path).unwrap_or_default();
    items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| cx.string(it, &format!("{path}[{i}]")))
        .collect()
}

fn env_list(cx: &mut Cx, m: &Map<'_>) -> Vec<(String, String)> {
    let Some(n) = m.get("env") else {
        return Vec::new();
    };
    let path = m.path_of("env");
    let mut out = Vec::new();
    for (i, it) in cx.as_seq(n, &path).unwrap_or_default().iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Some(e) = cx.as_map(it, &p, it.line) {
            cx.check_fields(&e, &["name", "value", "valueFrom"], &[]);
            if let Some(name) = cx.req_str(&e, "name") {
                out.push((name, cx.opt_str(&e, "value").unwrap_or_default()));
            }
        }
    }
    out
}

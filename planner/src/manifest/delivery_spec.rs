//! `delivery` (DeliverySpec, duck v1alpha1/v1beta1/v1): retry, backoff, timeout, dead letters.

use super::decode::{Cx, Map};
use super::destination::{dest_at, DestOpts};
use super::yaml::Node;
use crate::delivery::{parse_duration_ms, BackoffPolicy, DeliveryFormat, DeliverySpec};
use crate::topology::Destination;

const FIELDS: [&str; 8] = [
    "deadLetterSink",
    "retry",
    "backoffPolicy",
    "backoffDelay",
    "timeout",
    "retryAfterMax",
    "format",
    "BackoffDelay",
];

/// Decodes the DeliverySpec under `key` of `m`, if present.
pub fn delivery_at(cx: &mut Cx, m: &Map<'_>, key: &str) -> Option<DeliverySpec> {
    let node = m.get(key)?;
    delivery(cx, node, &m.path_of(key), m.key_line(key), false)
}

/// Decodes a DeliverySpec. `design_era` also accepts `deadLetterSinkURI` (a field name of the
/// delivery design documents, seen in hand-written channel subscribers) with a warning.
pub fn delivery(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    line: usize,
    design_era: bool,
) -> Option<DeliverySpec> {
    let m = cx.as_map(node, path, line)?;
    let mut known = FIELDS.to_vec();
    if design_era {
        known.push("deadLetterSinkURI");
    }
    cx.check_fields(&m, &known, &[]);
    let mut spec = DeliverySpec {
        dead_letter_sink: dest_at(cx, &m, "deadLetterSink", DestOpts::default()),
        ..DeliverySpec::default()
    };
    if design_era {
        if let Some(uri) = cx.opt_str(&m, "deadLetterSinkURI") {
            let uri = if uri.contains("://") {
                uri
            } else {
                format!("http://{uri}")
            };
            cx.warn(
                m.key_line("deadLetterSinkURI"),
                format!(
                    "`{}` is a design-era field; read as `deadLetterSink.uri: {uri}`",
                    m.path_of("deadLetterSinkURI")
                ),
                Some("write `deadLetterSink: {uri: …}`".into()),
            );
            spec.dead_letter_sink.get_or_insert(Destination::Uri(uri));
        }
    }
    if let Some(n) = m.get("retry") {
        match cx.int(n, &m.path_of("retry")) {
            Some(r) if r < 0 => cx.error(
                n.line,
                format!("`{}` must be ≥ 0, found {r}", m.path_of("retry")),
                Some("`retry` counts retries after the first attempt; 0 means one attempt".into()),
            ),
            Some(r) => match u32::try_from(r).ok().filter(|r| i32::try_from(*r).is_ok()) {
                Some(r) => spec.retry = Some(r),
                None => cx.error(
                    n.line,
                    format!("`{}` is too large: {r}", m.path_of("retry")),
                    None,
                ),
            },
            None => {}
        }
    }
    if let Some(p) = cx.opt_str(&m, "backoffPolicy") {
        spec.backoff_policy = match p.as_str() {
            "linear" => Some(BackoffPolicy::Linear),
            "exponential" => Some(BackoffPolicy::Exponential),
            other => {
                cx.error(
                    m.key_line("backoffPolicy"),
                    format!("invalid `{}`: `{other}`", m.path_of("backoffPolicy")),
                    Some("use `linear` or `exponential`".into()),
                );
                None
            }
        };
    }
    let delay_key = if m.has("backoffDelay") {
        "backoffDelay"
    } else {
        "BackoffDelay"
    };
    if m.has("backoffDelay") && m.has("BackoffDelay") {
        cx.error(
            m.key_line("BackoffDelay"),
            format!(
                "both `{0}.backoffDelay` and `{0}.BackoffDelay` are set",
                m.path
            ),
            Some("keep `backoffDelay`".into()),
        );
    }
    spec.backoff_delay_ms = duration(cx, &m, delay_key, false);
    spec.timeout_ms = duration(cx, &m, "timeout", true);
    spec.retry_after_max_ms = duration(cx, &m, "retryAfterMax", false);
    if let Some(f) = cx.opt_str(&m, "format") {
        spec.format = match f.as_str() {
            "json" => Some(DeliveryFormat::Json),
            "binary" => Some(DeliveryFormat::Binary),
            other => {
                cx.error(
                    m.key_line("format"),
                    format!("invalid `{}`: `{other}`", m.path_of("format")),
                    Some("use `json` or `binary`".into()),
                );
                None
            }
        };
    }
    Some(spec)
}

/// An ISO-8601 duration field in ms; Go-style (`3s`) is accepted with a warning.
fn duration(cx: &mut Cx, m: &Map<'_>, key: &str, positive: bool) -> Option<u64> {
    let text = cx.opt_str(m, key)?;
    let line = m.key_line(key);
    let path = m.path_of(key);
    match parse_duration_ms(&text) {
        Ok(ms) => {
            let t = text.trim();
            if !(t.starts_with('P') || t.starts_with('p')) {
                cx.warn(
                    line,
                    format!("`{path}: {text}` is not an ISO-8601 duration; read as {ms} ms"),
                    Some(format!("write `PT{}S`", format_secs(ms))),
                );
            }
            if positive && ms == 0 {
                cx.error(line, format!("`{path}` must be greater than zero"), None);
                return None;
            }
            Some(ms)
        }
        Err(e) => {
            cx.error(
                line,
                format!("invalid `{path}`: {e}"),
                Some("write e.g. `PT0.2S` or `PT5S`".into()),
            );
            None
        }
    }
}

fn format_secs(ms: u64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

//! The writer: one JSON object per event, members in a fixed order, no white space.

use crate::event::{Data, Event, ExtValue, SpecVersion};
use std::fmt::Write as _;

/// Appends `event` in CloudEvents JSON format (JSON format §2–3) to `out`: one line, no
/// trailing newline, no white space between tokens.
///
/// Member order is fixed: `specversion`, `id`, `source`, `type`, `datacontenttype`,
/// `dataschema` (written as `schemaurl` for 0.3), `subject`, `time`, `datacontentencoding`,
/// the extensions in name order, then `data` (its raw JSON text) or `data_base64`. Unset
/// optional attributes are left out. Strings are escaped as JSON requires (`"`, `\` and control
/// characters; everything else is written as UTF-8).
///
/// The raw `data` text is written verbatim, except that CR and LF bytes (only ever insignificant
/// white space in valid JSON) become spaces, so an event read from pretty-printed input still
/// makes one line. Events that violate the model's invariants are written as they are:
/// a 1.0 event's `datacontentencoding` comes back as an extension, and a 0.3 event with
/// [`Data::Base64`] is written as `"data": "<base64>"` with `datacontentencoding: "base64"`
/// (the 0.3 form), which reads back as [`Data::Json`].
pub fn write_event(event: &Event, out: &mut String) {
    out.reserve(estimate(event));
    out.push_str("{\"specversion\":\"");
    out.push_str(event.specversion.as_str());
    out.push('"');
    member(out, "id", &event.id);
    member(out, "source", &event.source);
    member(out, "type", &event.ty);
    optional(out, "datacontenttype", event.datacontenttype.as_deref());
    let schema = match event.specversion {
        SpecVersion::V10 => "dataschema",
        SpecVersion::V03 => "schemaurl",
    };
    optional(out, schema, event.dataschema.as_deref());
    optional(out, "subject", event.subject.as_deref());
    optional(out, "time", event.time.as_deref());
    let encoding = match (&event.datacontentencoding, event.specversion, &event.data) {
        (Some(e), _, _) => Some(&**e),
        (None, SpecVersion::V03, Some(Data::Base64(_))) => Some("base64"),
        (None, _, _) => None,
    };
    optional(out, "datacontentencoding", encoding);
    for (name, value) in &event.extensions {
        key(out, name);
        match value {
            ExtValue::String(s) => push_json_string(out, s),
            ExtValue::Integer(i) => {
                let _ = write!(out, "{i}");
            }
            ExtValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
    match (&event.data, event.specversion) {
        (None, _) => {}
        (Some(Data::Json(raw)), _) => {
            key(out, "data");
            push_raw_json(out, raw);
        }
        (Some(Data::Base64(b)), SpecVersion::V10) => member(out, "data_base64", b),
        (Some(Data::Base64(b)), SpecVersion::V03) => member(out, "data", b),
    }
    out.push('}');
}

/// A capacity guess: the strings plus quoting and member names.
fn estimate(event: &Event) -> usize {
    let opt = |v: &Option<std::sync::Arc<str>>| v.as_deref().map_or(0, |s| s.len() + 24);
    let data = match &event.data {
        Some(Data::Json(s) | Data::Base64(s)) => s.len() + 16,
        None => 0,
    };
    let ext: usize = event
        .extensions
        .iter()
        .map(|(n, v)| n.len() + 8 + ext_len(v))
        .sum();
    64 + event.id.len()
        + event.source.len()
        + event.ty.len()
        + opt(&event.datacontenttype)
        + opt(&event.dataschema)
        + opt(&event.subject)
        + opt(&event.time)
        + opt(&event.datacontentencoding)
        + ext
        + data
}

fn ext_len(v: &ExtValue) -> usize {
    match v {
        ExtValue::String(s) => s.len() + 2,
        ExtValue::Integer(_) => 11,
        ExtValue::Boolean(_) => 5,
    }
}

/// `,"name":`: names are `[a-z0-9]+` (or `data_base64`) in a valid event and are written as they
/// are; any other name is escaped.
fn key(out: &mut String, name: &str) {
    out.push(',');
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        out.push('"');
        out.push_str(name);
        out.push('"');
    } else {
        push_json_string(out, name);
    }
    out.push(':');
}

fn member(out: &mut String, name: &str, value: &str) {
    key(out, name);
    push_json_string(out, value);
}

fn optional(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        member(out, name, v);
    }
}

/// Raw JSON text with CR/LF (insignificant white space in valid JSON) turned into spaces.
fn push_raw_json(out: &mut String, raw: &str) {
    if raw.bytes().any(|b| b == b'\n' || b == b'\r') {
        out.extend(
            raw.chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
        );
    } else {
        out.push_str(raw);
    }
}

/// `s` as a JSON string literal (RFC 8259 §7): `"`, `\` and U+0000–U+001F escaped.
pub(super) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `b` is ASCII, so `i` and `i + 1` are char boundaries.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

//! CloudEvents HTTP protocol binding, receiving side (knative-semantics.md §3.1, §6.2): content
//! mode detection, binary mode (`ce-*` headers), structured mode and batched mode.
//!
//! Validation is the JSON format's ([`parse_event`]): binary-mode attributes are gathered
//! into a JSON object of strings and go through the same checks, so both modes accept and
//! reject the same attribute values. CloudEvents 0.3 and 1.0 are accepted as they are (never
//! upgraded); other `specversion`s are rejected.

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use eventflow_planner::event::json::parse_event;
use eventflow_planner::event::{Data, Event, SpecVersion};
use serde_json::value::RawValue;
use std::sync::Arc;

/// Structured mode media type.
pub const STRUCTURED: &str = "application/cloudevents+json";
/// Batched mode media type.
pub const BATCH: &str = "application/cloudevents-batch+json";

/// How the request carried its event(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Attributes in `ce-*` headers, data in the body.
    Binary,
    /// One JSON-format event in the body.
    Structured,
    /// A JSON array of JSON-format events in the body.
    Batch,
}

impl Mode {
    /// `binary`, `structured` or `batch` (log and metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Binary => "binary",
            Mode::Structured => "structured",
            Mode::Batch => "batch",
        }
    }
}

/// Why a request (as a whole) carries no acceptable CloudEvent: a one-line reason for the 400 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The event(s) a request carried: one per element for a batch, each accepted or rejected on
/// its own (a malformed element is its reason).
pub type Decoded = (Mode, Vec<Result<Event, String>>);

/// The media type of `Content-Type`, lower-cased, parameters stripped.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let mt = raw.split(';').next().unwrap_or("").trim();
    Some(mt.to_ascii_lowercase())
}

/// Detects the content mode (§3.1: structured and batch by media type, else binary when a
/// `ce-specversion` header is present) and decodes the body.
///
/// # Errors
/// [`Malformed`] when the request is no CloudEvent at all, the body is not UTF-8 where JSON is
/// expected, a batch is not a JSON array, or the (single) event is invalid.
pub fn decode(headers: &HeaderMap, body: &[u8]) -> Result<Decoded, Malformed> {
    match media_type(headers).as_deref() {
        Some(STRUCTURED) => {
            let text = utf8(body)?;
            let event = parse_event(text).map_err(|e| Malformed(format!("malformed event: {e}")))?;
            Ok((Mode::Structured, vec![Ok(event)]))
        }
        Some(BATCH) => {
            let text = utf8(body)?;
            let items: Vec<&RawValue> = serde_json::from_str(text)
                .map_err(|e| Malformed(format!("malformed batch: not a JSON array of events: {e}")))?;
            let events = items
                .into_iter()
                .map(|raw| parse_event(raw.get()).map_err(|e| e.to_string()))
                .collect();
            Ok((Mode::Batch, events))
        }
        _ if headers.contains_key("ce-specversion") => {
            let event = binary(headers, body).map_err(Malformed)?;
            Ok((Mode::Binary, vec![Ok(event)]))
        }
        _ => Err(Malformed(
            "not a CloudEvent: no ce-specversion header and Content-Type is not application/cloudevents+json"
                .into(),
        )),
    }
}

fn utf8(body: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(body).map_err(|_| Malformed("body is not UTF-8".into()))
}

/// Binary mode: every `ce-<name>` header is an attribute (values unquoted and percent-decoded),
/// `Content-Type` is `datacontenttype`, the body is the data.
fn binary(headers: &HeaderMap, body: &[u8]) -> Result<Event, String> {
    let mut attrs = serde_json::Map::new();
    for name in headers.keys() {
        let Some(attr) = name.as_str().strip_prefix("ce-") else {
            continue;
        };
        if attr == "data" || attr == "data_base64" {
            return Err(format!("malformed event: invalid attribute name {attr:?}"));
        }
        let mut values = headers.get_all(name).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(format!("malformed event: duplicate attribute {attr:?}"));
        };
        let value = header_value(value.as_bytes())
            .map_err(|why| format!("malformed event: header {name}: {why}"))?;
        attrs.insert(attr.to_string(), serde_json::Value::String(value));
    }
    if let Some(ct) = headers.get(CONTENT_TYPE) {
        let ct = header_value(ct.as_bytes()).map_err(|why| format!("Content-Type: {why}"))?;
        attrs.insert("datacontenttype".into(), serde_json::Value::String(ct));
    }
    let text = serde_json::Value::Object(attrs).to_string();
    let mut event = parse_event(&text).map_err(|e| format!("malformed event: {e}"))?;
    if !body.is_empty() {
        event.data = Some(data(&event, body)?);
    }
    Ok(event)
}

/// The body as [`Data`]: raw JSON text when the content type is JSON and the body parses as
/// JSON, the body itself for 0.3 `datacontentencoding: base64`, else base64 of the bytes.
fn data(event: &Event, body: &[u8]) -> Result<Data, String> {
    let base64_encoded = event.specversion == SpecVersion::V03
        && event
            .datacontentencoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("base64"));
    if base64_encoded {
        let text = std::str::from_utf8(body)
            .ok()
            .map(str::trim)
            .filter(|t| BASE64_STANDARD.decode(t.as_bytes()).is_ok())
            .ok_or("malformed event: data is not valid base64 (datacontentencoding: base64)")?;
        return Ok(Data::Base64(Arc::from(text)));
    }
    if event.datacontenttype.as_deref().is_some_and(is_json) {
        if let Some(raw) = std::str::from_utf8(body)
            .ok()
            .and_then(|t| serde_json::from_str::<&RawValue>(t).ok())
        {
            return Ok(Data::Json(Arc::from(raw.get())));
        }
    }
    Ok(Data::Base64(Arc::from(BASE64_STANDARD.encode(body))))
}

/// `*/json` or `*/*+json`, parameters ignored, case-insensitive (JSON format §3.1).
pub fn is_json(content_type: &str) -> bool {
    let mt = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mt.split_once('/') {
        Some((_, sub)) => sub == "json" || sub.ends_with("+json"),
        None => false,
    }
}

/// A binary-mode header value: an RFC 7230 quoted-string is unquoted first, then one round of
/// percent-decoding; the result must be UTF-8.
pub fn header_value(raw: &[u8]) -> Result<String, &'static str> {
    let unquoted: Vec<u8>;
    let bytes = if raw.len() >= 2 && raw[0] == b'"' && raw[raw.len() - 1] == b'"' {
        let mut out = Vec::with_capacity(raw.len());
        let mut it = raw[1..raw.len() - 1].iter();
        while let Some(&b) = it.next() {
            if b == b'\\' {
                out.push(*it.next().ok_or("unterminated escape in quoted string")?);
            } else {
                out.push(b);
            }
        }
        unquoted = out;
        &unquoted[..]
    } else {
        raw
    };
    let decoded: Vec<u8> = percent_encoding::percent_decode(bytes).collect();
    String::from_utf8(decoded).map_err(|_| "not UTF-8 after percent-decoding")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn binary_json_body_is_raw_json() {
        let h = headers(&[
            ("ce-specversion", "1.0"),
            ("ce-id", "1"),
            ("ce-source", "/s"),
            ("ce-type", "t"),
            ("ce-myext", "a%20b"),
            ("content-type", "application/json; charset=utf-8"),
        ]);
        let (mode, events) = decode(&h, br#" {"a": 1} "#).unwrap();
        assert_eq!(mode, Mode::Binary);
        let e = events[0].as_ref().unwrap();
        assert_eq!(e.data, Some(Data::Json(r#"{"a": 1}"#.into())));
        assert_eq!(
            e.datacontenttype.as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(e.extension("myext").unwrap().to_string(), "a b");
    }

    #[test]
    fn binary_text_body_is_base64_and_03_stays_03() {
        let h = headers(&[
            ("ce-specversion", "0.3"),
            ("ce-id", "1"),
            ("ce-source", "/s"),
            ("ce-type", "t"),
            ("content-type", "text/plain"),
        ]);
        let (_, events) = decode(&h, b"hi").unwrap();
        let e = events[0].as_ref().unwrap();
        assert_eq!(e.specversion, SpecVersion::V03);
        assert_eq!(e.data, Some(Data::Base64("aGk=".into())));
    }

    #[test]
    fn rejections() {
        let no_id = headers(&[
            ("ce-specversion", "1.0"),
            ("ce-source", "/s"),
            ("ce-type", "t"),
        ]);
        assert!(decode(&no_id, b"").unwrap_err().0.contains("\"id\""));
        let v19 = headers(&[
            ("ce-specversion", "19.0"),
            ("ce-id", "1"),
            ("ce-source", "/s"),
            ("ce-type", "t"),
        ]);
        assert!(decode(&v19, b"").unwrap_err().0.contains("19.0"));
        assert!(decode(&HeaderMap::new(), b"{}").is_err());
        let structured = headers(&[("content-type", "application/cloudevents+json")]);
        assert!(decode(&structured, b"{")
            .unwrap_err()
            .0
            .contains("invalid JSON"));
    }

    #[test]
    fn batch_elements_stand_alone() {
        let h = headers(&[("content-type", BATCH)]);
        let body =
            br#"[{"specversion":"1.0","id":"1","source":"/s","type":"t"},{"specversion":"1.0"}]"#;
        let (mode, events) = decode(&h, body).unwrap();
        assert_eq!(mode, Mode::Batch);
        assert!(events[0].is_ok() && events[1].is_err());
    }

    #[test]
    fn quoted_and_percent_encoded_values() {
        assert_eq!(header_value(br#""a \"b\"""#).unwrap(), r#"a "b""#);
        assert_eq!(header_value(b"caf%C3%A9").unwrap(), "café");
        assert!(header_value(b"%FF").is_err());
    }
}

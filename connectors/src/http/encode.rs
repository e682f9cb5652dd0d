//! CloudEvents HTTP protocol binding, sending side (knative-semantics.md §6.2, CloudEvents HTTP
//! binding §3): an event as the headers and body of a delivery request, in binary mode
//! (Knative's default) or structured mode (`delivery.format: json`).

use base64::Engine as _;
use eventflow_planner::event::json::write_event;
use eventflow_planner::event::{Data, Event, SpecVersion};

use super::decode::STRUCTURED;

/// An encoded event: headers (name, value) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Request headers, names lower-case (`ce-*` and `content-type`).
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
}

/// Binary mode: every attribute but `datacontenttype` in a percent-encoded `ce-<name>` header,
/// `Content-Type` = `datacontenttype` (`application/json` for JSON data without one, as the
/// JSON format implies), body = the data bytes.
pub fn binary(event: &Event) -> Encoded {
    let mut headers = Vec::with_capacity(6 + event.extensions.len());
    let mut push = |name: &str, value: &str| {
        headers.push((name.to_string(), header_value(value)));
    };
    push("ce-specversion", event.specversion.as_str());
    push("ce-id", &event.id);
    push("ce-source", &event.source);
    push("ce-type", &event.ty);
    let schema = if event.specversion == SpecVersion::V03 {
        "ce-schemaurl"
    } else {
        "ce-dataschema"
    };
    for (name, value) in [
        ("ce-subject", &event.subject),
        ("ce-time", &event.time),
        (schema, &event.dataschema),
    ] {
        if let Some(v) = value {
            push(name, v);
        }
    }
    for (name, value) in &event.extensions {
        push(&format!("ce-{name}"), &value.to_string());
    }
    let content_type = match (&event.datacontenttype, &event.data) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(Data::Json(_))) => Some("application/json".to_string()),
        (None, _) => None,
    };
    if let Some(t) = content_type {
        headers.push(("content-type".to_string(), t));
    }
    Encoded {
        headers,
        body: body_of(event),
    }
}

/// Structured mode: `Content-Type: application/cloudevents+json`, the event in JSON format as
/// the body (attributes and data exactly as the delivery log writes them).
pub fn structured(event: &Event) -> Encoded {
    let mut text = String::new();
    write_event(event, &mut text);
    Encoded {
        headers: vec![("content-type".to_string(), STRUCTURED.to_string())],
        body: text.into_bytes(),
    }
}

/// Percent-encodes a `ce-*` header value (space, `"`, `%`, controls and non-ASCII), per the
/// CloudEvents HTTP binding §3.1.3.2.
pub fn header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b == b' ' || b == b'"' || b == b'%' || !(0x21..0x7f).contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

fn is_json_type(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(t) => {
            let media = t
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            media == "application/json" || media.ends_with("/json") || media.ends_with("+json")
        }
    }
}

/// The binary-mode body of `event`: JSON data as is under a JSON content type, a JSON string
/// unescaped otherwise, base64 data decoded.
pub fn body_of(event: &Event) -> Vec<u8> {
    let base64_text = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .unwrap_or_default()
    };
    match &event.data {
        None => Vec::new(),
        Some(Data::Base64(b64)) => base64_text(b64),
        Some(Data::Json(raw)) => {
            let encoded = event.specversion == SpecVersion::V03
                && event.datacontentencoding.as_deref() == Some("base64");
            if encoded || !is_json_type(event.datacontenttype.as_deref()) {
                match serde_json::from_str::<String>(raw) {
                    Ok(s) if encoded => base64_text(&s),
                    Ok(s) => s.into_bytes(),
                    Err(_) => raw.as_bytes().to_vec(),
                }
            } else {
                raw.as_bytes().to_vec()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventflow_planner::event::ExtValue;

    #[test]
    fn header_values_are_percent_encoded() {
        assert_eq!(header_value("a b\"c%é"), "a%20b%22c%25%C3%A9");
        assert_eq!(header_value("com.github.push"), "com.github.push");
    }

    #[test]
    fn bodies_follow_the_content_type() {
        let mut e = Event::new("1", "/s", "t");
        e.data = Some(Data::Json("{\"a\":1}".into()));
        assert_eq!(body_of(&e), b"{\"a\":1}");
        e.datacontenttype = Some("text/plain".into());
        e.data = Some(Data::Json("\"hello\\n\"".into()));
        assert_eq!(body_of(&e), b"hello\n");
        e.data = Some(Data::Base64("aGk=".into()));
        assert_eq!(body_of(&e), b"hi");
    }

    #[test]
    fn binary_and_structured_carry_the_same_event() {
        let mut e = Event::new("1", "/s", "t");
        e.subject = Some("a b".into());
        e.set_extension("n", ExtValue::Integer(5));
        e.data = Some(Data::Json("{\"a\":1}".into()));
        let b = binary(&e);
        let h = |n: &str| {
            b.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(h("ce-subject"), Some("a%20b"));
        assert_eq!(h("ce-n"), Some("5"));
        assert_eq!(h("content-type"), Some("application/json"));
        assert_eq!(b.body, b"{\"a\":1}");
        let s = structured(&e);
        assert_eq!(
            s.headers,
            [("content-type".to_string(), STRUCTURED.to_string())]
        );
        assert_eq!(
            String::from_utf8(s.body).unwrap(),
            r#"{"specversion":"1.0","id":"1","source":"/s","type":"t","subject":"a b","n":5,"data":{"a":1}}"#
        );
    }
}

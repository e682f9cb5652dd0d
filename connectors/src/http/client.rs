//! HTTP subscribers: Knative's delivery request (binary content mode, `Prefer: reply`,
//! `Kn-Namespace`) and reading a reply from the response (binary or structured), as
//! knative-semantics.md §3.3–3.5 describe. Blocking (ureq); the engine runs these calls on its
//! delivery pool, never on a timely worker.

use super::decode::decode;
use base64::Engine as _;
use eventflow_engine::service::{CallContext, Reply, Subscriber};
use eventflow_planner::event::{Data, Event, SpecVersion};
use std::time::Duration;

/// Largest response body read, in bytes.
const MAX_RESPONSE: u64 = 4 << 20;

/// A subscriber at an HTTP URL (`http://` only: no TLS in this build).
pub struct HttpSubscriber {
    url: String,
    agent: ureq::Agent,
}

impl HttpSubscriber {
    /// A subscriber posting to `url`.
    pub fn new(url: &str) -> HttpSubscriber {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        HttpSubscriber {
            url: url.to_string(),
            agent,
        }
    }
}

/// Percent-encodes a `ce-*` header value (space, `"`, `%`, controls and non-ASCII), per the
/// CloudEvents HTTP binding §3.1.3.2.
fn header_value(value: &str) -> String {
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
fn body_of(event: &Event) -> Vec<u8> {
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

impl Subscriber for HttpSubscriber {
    fn call(&self, event: &Event) -> Reply {
        let ctx = CallContext {
            timeout_ms: None,
            namespace: "",
            prefer_reply: true,
        };
        self.call_with(event, &ctx)
    }

    fn call_with(&self, event: &Event, ctx: &CallContext<'_>) -> Reply {
        let (timeout_ms, namespace) = (ctx.timeout_ms, ctx.namespace);
        let mut req = self
            .agent
            .post(&self.url)
            .header("ce-specversion", event.specversion.as_str())
            .header("ce-id", header_value(&event.id))
            .header("ce-source", header_value(&event.source))
            .header("ce-type", header_value(&event.ty));
        if ctx.prefer_reply {
            req = req.header("Prefer", "reply");
        }
        if !namespace.is_empty() {
            req = req.header("Kn-Namespace", namespace);
        }
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
                req = req.header(name, header_value(v));
            }
        }
        for (name, value) in &event.extensions {
            req = req.header(format!("ce-{name}"), header_value(&value.to_string()));
        }
        let content_type = match (&event.datacontenttype, &event.data) {
            (Some(t), _) => Some(t.to_string()),
            (None, Some(Data::Json(_))) => Some("application/json".to_string()),
            (None, _) => None,
        };
        if let Some(t) = content_type {
            req = req.header("Content-Type", t);
        }
        if let Some(ms) = timeout_ms {
            req = req
                .config()
                .timeout_global(Some(Duration::from_millis(ms)))
                .build();
        }
        match req.send(&body_of(event)[..]) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_RESPONSE)
                    .read_to_vec()
                    .unwrap_or_default();
                if !(200..300).contains(&status) || status == 202 {
                    return if status == 202 {
                        Reply::None
                    } else {
                        Reply::Status(status, body)
                    };
                }
                let carries_event = resp.headers().contains_key("ce-specversion")
                    || resp
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|t| {
                            t.to_ascii_lowercase()
                                .starts_with("application/cloudevents+json")
                        });
                if carries_event {
                    if let Ok((_, mut events)) = decode(resp.headers(), &body) {
                        if let Some(Ok(event)) = events.pop() {
                            return Reply::Event(event);
                        }
                    }
                }
                if body.is_empty() {
                    Reply::None
                } else {
                    Reply::Status(status, body)
                }
            }
            // Transport errors and time-outs: retryable, reported as 500 (Knative's dispatcher).
            Err(e) => Reply::Status(500, format!("dispatch error: {e}").into_bytes()),
        }
    }

    fn blocking(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

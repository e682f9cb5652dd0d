//! HTTP subscribers: Knative's delivery request and reading a reply from the response
//! (knative-semantics.md §3.3–3.6, §6.2). Blocking (ureq); the engine runs these calls on its
//! delivery pool, never on a timely worker.
//!
//! Request: binary mode, or structured mode when the edge's `delivery.format` is `json`
//! ([`super::encode`]); `Prefer: reply` to subscribers only (not to reply targets and dead-letter
//! sinks); `Kn-Namespace`; the event's pass-through headers (`x-request-id`, trace context,
//! [`super::headers`]); the per-attempt `timeout`. Redirects are not followed (3xx fails, as
//! the spec says). Response: 2xx with a CloudEvent (binary or structured) is a reply, carrying
//! the response's own pass-through headers; 202 is never a reply; `Retry-After` travels with a
//! failure for the engine's retry wait; transport errors and time-outs answer 500 with
//! `dispatch error: …` as the body (Knative's dispatcher).

use super::decode::{decode, STRUCTURED};
use super::encode::{binary, structured};
use super::headers::{now_ms, passthrough, retry_after_ms};
use eventflow_engine::pool::PER_SUBSCRIBER;
use eventflow_engine::service::{CallContext, Reply, Subscriber};
use eventflow_planner::delivery::DeliveryFormat;
use eventflow_planner::event::Event;
use std::time::Duration;

/// Largest response body read, in bytes.
const MAX_RESPONSE: u64 = 4 << 20;

/// Idle keep-alive connections kept per subscriber: enough for every delivery thread of a few
/// lanes ([`PER_SUBSCRIBER`] each), so a busy subscriber is not called over a fresh connection
/// per event (ureq keeps 3 per host by default).
const IDLE_CONNECTIONS: usize = 4 * PER_SUBSCRIBER;

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
            .max_idle_connections(IDLE_CONNECTIONS)
            .max_idle_connections_per_host(IDLE_CONNECTIONS)
            .build()
            .new_agent();
        HttpSubscriber {
            url: url.to_string(),
            agent,
        }
    }

    /// The URL called.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Reads the subscriber's answer (knative-semantics.md §3.4–3.5).
fn answer(mut resp: ureq::http::Response<ureq::Body>) -> Reply {
    let status = resp.status().as_u16();
    let read = resp
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE)
        .read_to_vec();
    let success = (200..300).contains(&status);
    let body = match read {
        Ok(b) => b,
        // Knative: a 2xx whose body cannot be read is a 500; a failure keeps its status.
        Err(e) if success => {
            return Reply::Status(
                500,
                format!("cannot read the response body: {e}").into_bytes(),
            )
        }
        Err(e) => format!("status {status}; cannot read the response body: {e}").into_bytes(),
    };
    if !success {
        return match retry_after_ms(resp.headers(), now_ms()) {
            Some(ms) => Reply::StatusRetryAfter(status, body, ms),
            None => Reply::Status(status, body),
        };
    }
    if status == 202 {
        return Reply::None;
    }
    let headers = resp.headers();
    let carries_event = headers.contains_key("ce-specversion")
        || headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.to_ascii_lowercase().starts_with(STRUCTURED));
    if carries_event {
        return match decode(headers, &body) {
            Ok((_, mut events)) => match events.pop() {
                Some(Ok(mut event)) => {
                    event.passthrough = passthrough(headers);
                    Reply::Event(event)
                }
                Some(Err(why)) => malformed(status, body, &why),
                None => malformed(status, body, "no event"),
            },
            Err(why) => malformed(status, body, &why.0),
        };
    }
    if body.is_empty() {
        Reply::None
    } else {
        Reply::Status(status, body)
    }
}

/// A 2xx announcing a CloudEvent that does not parse: a failure for a Trigger (502, as
/// Knative's broker filter answers), a success without reply for a Subscription.
fn malformed(status: u16, body: Vec<u8>, why: &str) -> Reply {
    if body.is_empty() {
        Reply::Status(status, format!("malformed reply event: {why}").into_bytes())
    } else {
        Reply::Status(status, body)
    }
}

impl Subscriber for HttpSubscriber {
    fn call(&self, event: &Event) -> Reply {
        let ctx = CallContext {
            timeout_ms: None,
            namespace: "",
            prefer_reply: true,
        };
        self.call_as(event, &ctx, None)
    }

    fn call_with(&self, event: &Event, ctx: &CallContext<'_>) -> Reply {
        self.call_as(event, ctx, None)
    }

    fn call_as(
        &self,
        event: &Event,
        ctx: &CallContext<'_>,
        format: Option<DeliveryFormat>,
    ) -> Reply {
        let encoded = match format {
            Some(DeliveryFormat::Json) => structured(event),
            Some(DeliveryFormat::Binary) | None => binary(event),
        };
        let mut req = self.agent.post(&self.url);
        for (name, value) in &encoded.headers {
            req = req.header(name, value);
        }
        if ctx.prefer_reply {
            req = req.header("Prefer", "reply");
        }
        if !ctx.namespace.is_empty() {
            req = req.header("Kn-Namespace", ctx.namespace);
        }
        for (name, value) in event.passthrough.iter() {
            req = req.header(name, value);
        }
        if let Some(ms) = ctx.timeout_ms {
            req = req
                .config()
                .timeout_global(Some(Duration::from_millis(ms)))
                .build();
        }
        match req.send(&encoded.body[..]) {
            Ok(resp) => answer(resp),
            // Transport errors and time-outs: retryable, reported as 500 (Knative's dispatcher).
            Err(e) => Reply::Status(500, format!("dispatch error: {e}").into_bytes()),
        }
    }

    fn blocking(&self) -> bool {
        true
    }
}

//! The request handlers: ingress (POST / OPTIONS / 405), health, readiness, metrics.

use super::decode::{decode, Mode};
use super::metrics::{IngressLabels, Reason};
use super::routes::{AppState, Family, Route};
use axum::body::{to_bytes, Body};
use axum::extract::{Path, State};
use axum::http::header::{HeaderName, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use eventflow_engine::live::SendError;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn text(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

const ALLOWED: &str = "POST, OPTIONS";

/// OPTIONS (Knative's abuse-protection probe) and 405 for everything but POST.
fn not_post(method: &Method, state: &AppState, labels: IngressLabels<'_>) -> Response {
    if method == Method::OPTIONS {
        let mut r = StatusCode::OK.into_response();
        let h = r.headers_mut();
        h.insert(ALLOW, HeaderValue::from_static(ALLOWED));
        h.insert(
            HeaderName::from_static("webhook-allowed-origin"),
            HeaderValue::from_static("*"),
        );
        h.insert(
            HeaderName::from_static("webhook-allowed-rate"),
            HeaderValue::from_static("*"),
        );
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        return r;
    }
    state.metrics.reject(labels, Reason::Method, 1);
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} not allowed: use POST\n"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(ALLOWED));
    r
}

/// `POST /<namespace>/<broker>`. Check order as Knative's broker ingress: method, CE parse and
/// validation, broker lookup (a malformed event to an unknown broker is a 400).
pub async fn broker(
    State(state): State<Arc<AppState>>,
    Path((ns, name)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingress(
        &state,
        Family::Broker,
        &ns,
        &name,
        &method,
        &headers,
        body,
        false,
    )
    .await
}

/// `POST /channels/<namespace>/<name>`. Check order as Knative's channel receiver: method,
/// channel lookup (404 before the body is read), CE parse and validation.
pub async fn channel(
    State(state): State<Arc<AppState>>,
    Path((ns, name)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingress(
        &state,
        Family::Channel,
        &ns,
        &name,
        &method,
        &headers,
        body,
        true,
    )
    .await
}

/// `POST /sequences/<namespace>/<name>` (channel check order).
pub async fn sequence(
    State(state): State<Arc<AppState>>,
    Path((ns, name)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingress(
        &state,
        Family::Sequence,
        &ns,
        &name,
        &method,
        &headers,
        body,
        true,
    )
    .await
}

/// `POST /parallels/<namespace>/<name>` (channel check order).
pub async fn parallel(
    State(state): State<Arc<AppState>>,
    Path((ns, name)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingress(
        &state,
        Family::Parallel,
        &ns,
        &name,
        &method,
        &headers,
        body,
        true,
    )
    .await
}

fn unknown(state: &AppState, family: Family, ns: &str, name: &str) -> Response {
    state
        .metrics
        .reject([family.as_str(), "", ""], Reason::UnknownIngress, 1);
    tracing::debug!(
        kind = family.as_str(),
        namespace = ns,
        name,
        "unknown ingress"
    );
    text(
        StatusCode::NOT_FOUND,
        format!("no {} {ns}/{name}\n", family.as_str()),
    )
}

#[allow(clippy::too_many_arguments)]
async fn ingress(
    state: &AppState,
    family: Family,
    ns: &str,
    name: &str,
    method: &Method,
    headers: &HeaderMap,
    body: Body,
    lookup_first: bool,
) -> Response {
    let key = (family, ns.to_string(), name.to_string());
    let route = state.routes.get(&key);
    let labels = match route {
        Some(r) => [family.as_str(), r.namespace.as_str(), r.name.as_str()],
        None => [family.as_str(), "", ""],
    };
    if method != Method::POST {
        return not_post(method, state, labels);
    }
    if lookup_first && route.is_none() {
        return unknown(state, family, ns, name);
    }
    let too_large = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > state.max_body as u64);
    let bytes = match too_large {
        true => Err(true),
        false => to_bytes(body, state.max_body).await.map_err(|e| {
            let inner = e.into_inner();
            inner.is::<http_body_util::LengthLimitError>()
        }),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(true) => {
            state.metrics.reject(labels, Reason::TooLarge, 1);
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body larger than {} bytes\n", state.max_body),
            );
        }
        Err(false) => {
            // The client went away or sent a broken chunked body.
            state.metrics.reject(labels, Reason::Malformed, 1);
            return text(StatusCode::BAD_REQUEST, "cannot read the body\n".into());
        }
    };
    let (mode, events) = match decode(headers, &bytes) {
        Ok(d) => d,
        Err(why) => {
            state.metrics.reject(labels, Reason::Malformed, 1);
            tracing::debug!(ingress = %key.0.as_str(), namespace = ns, name, reason = %why, "rejected");
            return text(StatusCode::BAD_REQUEST, format!("{why}\n"));
        }
    };
    let Some(route) = route else {
        return unknown(state, family, ns, name);
    };
    // x-request-id and trace context go on to the deliveries the events cause.
    let events = with_passthrough(events, headers);
    match &state.store {
        Some(store) if store.is_durable(route.node) => {
            let store = store.clone();
            let node = route.node;
            let mut outcomes = Vec::with_capacity(events.len());
            for event in events {
                outcomes.push(match event {
                    Err(why) => Err((Reason::Malformed, why)),
                    Ok(event) => store
                        .store(node, event)
                        .await
                        .map_err(|e| (Reason::StoreUnavailable, format!("not stored: {e}"))),
                });
            }
            respond(state, route, labels, mode, outcomes)
        }
        _ => submit(state, route, labels, mode, events),
    }
}

/// Attaches the request's pass-through headers ([`super::headers::passthrough`]) to its events.
fn with_passthrough(
    events: Vec<Result<eventflow_planner::event::Event, String>>,
    headers: &HeaderMap,
) -> Vec<Result<eventflow_planner::event::Event, String>> {
    let passthrough = super::headers::passthrough(headers);
    if passthrough.is_empty() {
        return events;
    }
    let attach = |mut e: eventflow_planner::event::Event| {
        e.passthrough = passthrough.clone();
        e
    };
    events.into_iter().map(|e| e.map(attach)).collect()
}

/// Queues each event on its own; answers as [`respond`] does.
fn submit(
    state: &AppState,
    route: &Route,
    labels: IngressLabels<'_>,
    mode: Mode,
    events: Vec<Result<eventflow_planner::event::Event, String>>,
) -> Response {
    let outcomes = events
        .into_iter()
        .map(|event| match event {
            Err(why) => Err((Reason::Malformed, why)),
            Ok(event) => match state.sender.try_send(route.node, event) {
                Ok(()) => Ok(()),
                Err(SendError::Full) => Err((Reason::QueueFull, "queue full".to_string())),
                Err(SendError::Stopped) => Err((Reason::Stopped, "engine stopped".to_string())),
            },
        })
        .collect();
    respond(state, route, labels, mode, outcomes)
}

/// Counts each event's outcome; answers 202 when all were accepted, else the most severe
/// refusal: 503 (engine stopped, or not stored) over 429 (queue full) over 400 (malformed),
/// with a one-line body naming the refused batch indexes.
fn respond(
    state: &AppState,
    route: &Route,
    labels: IngressLabels<'_>,
    mode: Mode,
    outcomes: Vec<Result<(), (Reason, String)>>,
) -> Response {
    let total = outcomes.len();
    let mut refused: Vec<(usize, Reason, String)> = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(()) => route.accepted.inc(),
            Err((reason, why)) => {
                state.metrics.reject(labels, reason, 1);
                refused.push((i, reason, why));
            }
        }
    }
    let worst = [
        Reason::Stopped,
        Reason::StoreUnavailable,
        Reason::QueueFull,
        Reason::Malformed,
    ]
    .into_iter()
    .find(|r| refused.iter().any(|(_, x, _)| x == r));
    let Some(worst) = worst else {
        tracing::trace!(ingress = %route.resource, mode = mode.as_str(), events = total, "accepted");
        return StatusCode::ACCEPTED.into_response();
    };
    tracing::debug!(ingress = %route.resource, mode = mode.as_str(), refused = refused.len(), events = total, reason = worst.as_str(), "refused");
    let status = StatusCode::from_u16(worst.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut body = String::new();
    if mode == Mode::Batch {
        let _ = write!(body, "refused {} of {total} events:", refused.len());
        for (i, _, why) in &refused {
            let _ = write!(body, " [{i}] {why};");
        }
        body.pop();
    } else if let Some((_, reason, why)) = refused.first() {
        body.push_str(match reason {
            Reason::Malformed | Reason::StoreUnavailable => why,
            Reason::QueueFull => "queue full: the engine is behind, retry later",
            _ => "the engine has stopped",
        });
    }
    body.push('\n');
    let mut r = text(status, body);
    if worst == Reason::QueueFull {
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// `GET /registry`: the event registry as JSON (404 when the registry is off).
pub async fn registry(State(state): State<Arc<AppState>>) -> Response {
    match &state.registry {
        Some(view) => {
            let body = (view.0)();
            (StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response()
        }
        None => text(
            StatusCode::NOT_FOUND,
            "the event registry is off (run with --registry)\n".into(),
        ),
    }
}

/// `GET /healthz`: the process serves.
pub async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".into())
}

/// `GET /readyz`: 200 while the engine runs (its workers started: in a cluster, every process
/// connected), the server is not draining and the durable store
/// (if any) is connected, else 503.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let store_ready = state.store.as_ref().is_none_or(|s| s.ready());
    if state.sender.is_ready() && !state.draining.load(Ordering::Acquire) && store_ready {
        text(StatusCode::OK, "ready\n".into())
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into())
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut body = state
        .metrics
        .render(state.sender.queued(), state.sender.capacity());
    if let Some(store) = &state.store {
        body.push_str(&store.metrics());
    }
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Anything else: 404.
pub async fn fallback(method: Method) -> Response {
    let _ = method;
    text(
        StatusCode::NOT_FOUND,
        "no such path: ingresses are /<namespace>/<broker>, /channels/<namespace>/<name>, /sequences/<namespace>/<name>, /parallels/<namespace>/<name>\n".into(),
    )
}

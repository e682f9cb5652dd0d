//! Delivery headers that are not CloudEvent attributes: the ones passed through from a request
//! to the deliveries it causes, and `Retry-After` on a subscriber's answer.
//!
//! * Pass-through (knative-semantics.md §3.3, §8.9; Knative's `utils.PassThroughHeaders` plus
//!   the W3C trace context its tracing propagates): `x-request-id`, `traceparent`,
//!   `tracestate`, and names starting with `x-b3-`, `x-ot-` or `knative-`. At most
//!   [`MAX_PASSTHROUGH`] headers per request, values that are visible ASCII only.
//! * `Retry-After` (RFC 9110 §10.2.3, Knative's `parseRetryAfterDuration`): delta-seconds or
//!   an HTTP-date (IMF-fixdate, RFC 850 or asctime form), as a wait from now.

use axum::http::HeaderMap;
use chrono::{NaiveDateTime, Utc};
use eventflow_planner::event::Passthrough;

/// Most pass-through headers kept from one request.
pub const MAX_PASSTHROUGH: usize = 16;

/// Exact names passed through.
const NAMES: [&str; 3] = ["x-request-id", "traceparent", "tracestate"];
/// Name prefixes passed through.
const PREFIXES: [&str; 3] = ["x-b3-", "x-ot-", "knative-"];

/// True for a header Knative passes from a request to the deliveries it causes.
pub fn passes_through(name: &str) -> bool {
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The pass-through headers of `headers` (names lower-case, as `http` keeps them), in order;
/// [`Passthrough::NONE`] (no allocation) when there are none.
pub fn passthrough(headers: &HeaderMap) -> Passthrough {
    let mut pairs = Vec::new();
    for (name, value) in headers {
        if pairs.len() == MAX_PASSTHROUGH {
            break;
        }
        if !passes_through(name.as_str()) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            pairs.push((Box::from(name.as_str()), Box::from(v)));
        }
    }
    Passthrough::new(pairs)
}

/// The wait `Retry-After` asks for, in ms from `now_ms` (ms since the Unix epoch): delta-seconds,
/// or an HTTP-date (a date in the past waits 0). `None` without the header or when it does not
/// parse (Knative then waits its backoff only).
pub fn retry_after_ms(headers: &HeaderMap, now_ms: i64) -> Option<u64> {
    let text = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(secs.saturating_mul(1000));
    }
    let at = http_date_ms(text)?;
    Some(u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0))
}

/// Now, in ms since the Unix epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, obsolete RFC 850 and asctime forms; always
/// GMT) as ms since the Unix epoch.
fn http_date_ms(text: &str) -> Option<i64> {
    const FORMATS: [&str; 3] = [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ];
    FORMATS.iter().find_map(|f| {
        NaiveDateTime::parse_from_str(text, f)
            .ok()
            .map(|t| t.and_utc().timestamp_millis())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_tracing_and_request_ids_pass_through() {
        let h = map(&[
            ("x-request-id", "r-1"),
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
            ("tracestate", "congo=t61rcWkgMzE"),
            ("x-b3-traceid", "abc"),
            ("ce-id", "1"),
            ("content-type", "application/json"),
            ("authorization", "Bearer secret"),
        ]);
        let p = passthrough(&h);
        let names: Vec<&str> = p.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["x-request-id", "traceparent", "tracestate", "x-b3-traceid"]
        );
        assert_eq!(p.get("x-request-id"), Some("r-1"));
        assert!(passthrough(&map(&[("ce-id", "1")])).is_empty());
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        let now = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
        let at = |v: &'static str| retry_after_ms(&map(&[("retry-after", v)]), now);
        assert_eq!(at("120"), Some(120_000));
        assert_eq!(at("Sun, 06 Nov 1994 08:49:40 GMT"), Some(3_000));
        assert_eq!(at("Sunday, 06-Nov-94 08:49:47 GMT"), Some(10_000));
        assert_eq!(at("Sun Nov  6 08:49:38 1994"), Some(1_000));
        assert_eq!(at("Sun, 06 Nov 1994 08:00:00 GMT"), Some(0));
        assert_eq!(at("soon"), None);
        assert_eq!(retry_after_ms(&HeaderMap::new(), now), None);
    }
}

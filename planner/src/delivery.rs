//! DeliverySpec: retries, backoff and dead-letter sink (Knative `duck/v1` DeliverySpec).
//!
//! Durations are milliseconds. Semantics (DESIGN.md §4): attempts = `retry` + 1; backoff only
//! when both `backoffPolicy` and `backoffDelay` are set; the k-th retry (k = 1, 2, …) waits
//! `delay × k` (linear) or `delay × 2^k` (exponential); with `retryAfterMax` set, a 429 or 503
//! answer's `Retry-After` (capped by it) is waited instead when it is longer
//! ([`DeliverySpec::retry_wait_ms`], knative-semantics.md §3.6).

use crate::topology::Destination;

/// `backoffPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackoffPolicy {
    /// `linear`: k-th retry waits `delay × k`.
    Linear,
    /// `exponential`: k-th retry waits `delay × 2^k`.
    Exponential,
}

/// `format`: force the HTTP content mode on delivery. It applies to every request of the
/// delivery (subscriber, reply target, dead-letter sink), as Knative's dispatcher forces the
/// mode for the whole send; absent = binary, Knative's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryFormat {
    /// Structured mode (`application/cloudevents+json`).
    Json,
    /// Binary mode (`ce-*` headers).
    Binary,
}

/// Knative `DeliverySpec`, normalised from every apiVersion (durations in ms).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DeliverySpec {
    /// `deadLetterSink`.
    pub dead_letter_sink: Option<Destination>,
    /// `retry`: retries after the first attempt (absent = 0).
    pub retry: Option<u32>,
    /// `backoffPolicy`.
    pub backoff_policy: Option<BackoffPolicy>,
    /// `backoffDelay` in ms (ISO-8601 duration in the manifest).
    pub backoff_delay_ms: Option<u64>,
    /// `timeout` per attempt in ms.
    pub timeout_ms: Option<u64>,
    /// `retryAfterMax` in ms.
    pub retry_after_max_ms: Option<u64>,
    /// `format`.
    pub format: Option<DeliveryFormat>,
}

impl DeliverySpec {
    /// Number of attempts: `retry + 1`.
    pub fn attempts(&self) -> u32 {
        self.retry.unwrap_or(0).saturating_add(1)
    }

    /// Virtual wait in ms before retry `k` (1-based); 0 unless both policy and delay are set.
    pub fn backoff_ms(&self, k: u32) -> u64 {
        match (self.backoff_policy, self.backoff_delay_ms) {
            (Some(BackoffPolicy::Linear), Some(d)) => d.saturating_mul(u64::from(k)),
            (Some(BackoffPolicy::Exponential), Some(d)) => {
                d.saturating_mul(1u64.checked_shl(k.min(62)).unwrap_or(u64::MAX))
            }
            _ => 0,
        }
    }

    /// Wait in ms before retry `k` (1-based) after a failed attempt answered with HTTP status
    /// `code` and, if it had one, a `Retry-After` of `retry_after_ms`.
    ///
    /// Knative's `generateBackoffFn` (knative/eventing `pkg/kncloudevents/retries.go`): the
    /// `Retry-After` of a **429 or 503** counts only when `retryAfterMax` is set; it is capped
    /// by `retryAfterMax` (`PT0S` turns it off) and waited when it is longer than the backoff:
    /// `max(backoff_ms(k), min(retry_after, retryAfterMax))`. Other codes, or no
    /// `retryAfterMax`: [`DeliverySpec::backoff_ms`].
    pub fn retry_wait_ms(&self, k: u32, code: u16, retry_after_ms: Option<u64>) -> u64 {
        let backoff = self.backoff_ms(k);
        match (self.retry_after_max_ms, retry_after_ms) {
            (Some(max), Some(after)) if matches!(code, 429 | 503) => backoff.max(after.min(max)),
            _ => backoff,
        }
    }
}

/// Parses an ISO-8601 duration (`PT0.2S`, `PT1M30S`, `P1DT2H`) into ms; also accepts the Go
/// style (`3s`, `200ms`, `1m30s`) that design-era Knative samples used.
///
/// # Errors
/// A message naming what could not be read.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('P').or_else(|| t.strip_prefix('p')) {
        return parse_iso(rest).ok_or_else(|| {
            format!("`{text}` is not an ISO-8601 duration (expected e.g. PT0.2S, PT1M, P1DT2H)")
        });
    }
    parse_go(t).ok_or_else(|| {
        format!("`{text}` is not an ISO-8601 duration (expected e.g. PT0.2S, PT1M, P1DT2H)")
    })
}

fn parse_iso(rest: &str) -> Option<u64> {
    let mut ms: f64 = 0.0;
    let mut in_time = false;
    let mut num = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c {
            'T' | 't' if !in_time && num.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => num.push(if c == ',' { '.' } else { c }),
            _ => {
                let v: f64 = num.parse().ok()?;
                num.clear();
                let unit = match (in_time, c.to_ascii_uppercase()) {
                    (false, 'Y') => 365.0 * 86_400_000.0,
                    (false, 'M') => 30.0 * 86_400_000.0,
                    (false, 'W') => 7.0 * 86_400_000.0,
                    (false, 'D') => 86_400_000.0,
                    (true, 'H') => 3_600_000.0,
                    (true, 'M') => 60_000.0,
                    (true, 'S') => 1_000.0,
                    _ => return None,
                };
                ms += v * unit;
                any = true;
            }
        }
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(ms.round() as u64)
}

fn parse_go(t: &str) -> Option<u64> {
    let mut ms: f64 = 0.0;
    let mut rest = t;
    let mut any = false;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let v: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let (unit, len) = if rest.starts_with("ms") {
            (1.0, 2)
        } else if rest.starts_with('h') {
            (3_600_000.0, 1)
        } else if rest.starts_with('m') {
            (60_000.0, 1)
        } else if rest.starts_with('s') {
            (1_000.0, 1)
        } else {
            return None;
        };
        ms += v * unit;
        rest = &rest[len..];
        any = true;
    }
    any.then_some(ms.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(parse_duration_ms("PT0.2S"), Ok(200));
        assert_eq!(parse_duration_ms("PT1S"), Ok(1000));
        assert_eq!(parse_duration_ms("PT1M30S"), Ok(90_000));
        assert_eq!(parse_duration_ms("P1DT2H"), Ok(93_600_000));
        assert_eq!(parse_duration_ms("3s"), Ok(3000));
        assert_eq!(parse_duration_ms("200ms"), Ok(200));
        assert!(parse_duration_ms("PT").is_err());
        assert!(parse_duration_ms("soon").is_err());
        assert!(parse_duration_ms("PT1X").is_err());
    }

    #[test]
    fn backoff_formulas() {
        let mut d = DeliverySpec {
            retry: Some(3),
            backoff_policy: Some(BackoffPolicy::Exponential),
            backoff_delay_ms: Some(200),
            ..Default::default()
        };
        assert_eq!(d.attempts(), 4);
        assert_eq!(
            [d.backoff_ms(1), d.backoff_ms(2), d.backoff_ms(3)],
            [400, 800, 1600]
        );
        d.backoff_policy = Some(BackoffPolicy::Linear);
        assert_eq!([d.backoff_ms(1), d.backoff_ms(2)], [200, 400]);
        d.backoff_policy = None;
        assert_eq!(d.backoff_ms(1), 0);
    }

    #[test]
    fn retry_after_counts_for_429_and_503_with_retry_after_max_only() {
        let mut d = DeliverySpec {
            retry: Some(3),
            backoff_policy: Some(BackoffPolicy::Linear),
            backoff_delay_ms: Some(500),
            ..Default::default()
        };
        // Without retryAfterMax the header is ignored (Knative's opt-in).
        assert_eq!(d.retry_wait_ms(1, 429, Some(5_000)), 500);
        d.retry_after_max_ms = Some(2_000);
        // Capped by retryAfterMax, and only when longer than the backoff.
        assert_eq!(d.retry_wait_ms(1, 429, Some(5_000)), 2_000);
        assert_eq!(d.retry_wait_ms(1, 503, Some(1_000)), 1_000);
        assert_eq!(d.retry_wait_ms(3, 503, Some(1_000)), 1_500);
        // Other codes, or no header: the backoff.
        assert_eq!(d.retry_wait_ms(1, 500, Some(1_000)), 500);
        assert_eq!(d.retry_wait_ms(1, 429, None), 500);
        // PT0S turns it off.
        d.retry_after_max_ms = Some(0);
        assert_eq!(d.retry_wait_ms(1, 429, Some(5_000)), 500);
    }
}

//! The replay's virtual clock: milliseconds since the Unix epoch, advanced by backoff instead
//! of sleeping, so every time the engine stamps is a function of the input.

use chrono::{DateTime, SecondsFormat};

/// Virtual time in ms since 1970-01-01T00:00:00Z.
pub type VirtualMs = i64;

/// Parses an RFC 3339 timestamp to virtual ms (`None` if it does not parse).
pub fn parse_rfc3339_ms(text: &str) -> Option<VirtualMs> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Formats virtual ms as RFC 3339 UTC with millisecond precision (`2019-05-15T20:50:45.123Z`).
pub fn format_rfc3339(ms: VirtualMs) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// The wall clock, in ms since the Unix epoch (live engines: arrival times, reply times).
pub fn wall_ms() -> VirtualMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| {
            VirtualMs::try_from(d.as_millis()).unwrap_or(VirtualMs::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ms = parse_rfc3339_ms("2019-05-15T20:50:45.1+02:00").unwrap();
        assert_eq!(format_rfc3339(ms), "2019-05-15T18:50:45.100Z");
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
    }
}

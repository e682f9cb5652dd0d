//! CloudEvents JSON format (CloudEvents 1.0 JSON event format §3; 0.3 JSON format) for [`Event`]:
//! a lean reader that validates as it parses, and a writer with a fixed attribute order.
//!
//! (Implemented by the event-codec work; see the crate README.)

use super::Event;

/// Why one JSON line is not an acceptable CloudEvent. `Display` gives a one-line reason such as
/// `missing required attribute "type"` or `invalid attribute name "Bad-Name"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventError(pub String);

/// Parses one structured-mode CloudEvent (JSON format) and validates it.
///
/// # Errors
/// [`EventError`] for anything that is not a valid CloudEvent 0.3 or 1.0.
pub fn parse_event(_text: &str) -> Result<Event, EventError> {
    Err(EventError("not implemented".into()))
}

/// Writes `event` in JSON format to `out` (one line, no trailing newline).
pub fn write_event(_event: &Event, _out: &mut String) {}

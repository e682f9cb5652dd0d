//! CloudEvents JSON format for [`Event`](super::Event): a lean reader that validates as it parses,
//! and a writer with a fixed member order.
//!
//! Sources: CloudEvents 1.0.2 JSON event format §2–3 (attribute types, `data` / `data_base64`),
//! core spec §3 (naming, required attributes, type system); CloudEvents 0.3 JSON format
//! (`schemaurl`, `datacontentencoding: base64`). See knative-semantics.md §3.1 and §6.
//!
//! * [`parse_event`] reads one structured-mode event (one JSON object) and returns an [`Event`]
//!   or an [`EventError`] whose `Display` is a short one-line reason naming the attribute.
//! * [`parse_event_with_time`] also returns the `time` in ms since the Unix epoch, computed
//!   by the validation anyway ([`rfc3339_ms`]: the common RFC 3339 shape by hand, the rest by
//!   chrono), so the engine reads each timestamp once.
//! * [`write_event`] appends one JSON line (no newline) to a `String`;
//!   `parse_event(&written) == Ok(event)` for every event `parse_event` returned from
//!   single-line input.
//!
//! [`Event`]: super::Event

mod read;
mod syntax;
#[cfg(test)]
mod tests;
mod time;
mod write;

pub use read::{parse_event, parse_event_with_time};
pub use time::rfc3339_ms;
pub use write::write_event;

/// Why one JSON text is not an acceptable CloudEvent.
///
/// `Display` gives a one-line, lower-case reason that names the attribute, e.g.
/// `missing required attribute "type"` or `invalid attribute name "GitHub-Event"`. Values quoted
/// in a message are escaped (Rust `Debug` form) and clipped to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The text is not JSON (truncated, syntax error, trailing characters); carries serde_json's
    /// message with line and column.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// Valid JSON, but not an object (an array, a string, …). Batches are not events.
    #[error("not an object")]
    NotAnObject,
    /// A member appears twice (JSON allows it; CloudEvents core §3: each attribute at most once).
    #[error("duplicate attribute {0:?}")]
    Duplicate(String),
    /// `specversion`, `id`, `source` or `type` is absent or `null`.
    #[error("missing required attribute \"{0}\"")]
    Missing(&'static str),
    /// A required attribute, or `subject`, `dataschema`/`schemaurl` or `datacontentencoding`, is
    /// empty (required attributes: empty after trimming white space, as the Go SDK checks).
    #[error("empty attribute \"{0}\"")]
    Empty(&'static str),
    /// A context attribute (or `data_base64`) holds a number, boolean, object or array.
    #[error("{0} must be a string")]
    NotAString(&'static str),
    /// `specversion` is neither `"1.0"` nor `"0.3"`.
    #[error("unknown specversion {0:?}")]
    UnknownSpecVersion(String),
    /// A member name that is not `[a-z0-9]+` (core spec §3.1.1: no upper case, `-` or `_`).
    #[error("invalid attribute name {0:?}")]
    InvalidName(String),
    /// CloudEvents 1.0 `dataschema` is not an absolute URI (core spec §3.1.2).
    #[error("relative dataschema {0:?} (must be an absolute URI)")]
    RelativeDataSchema(String),
    /// `time` is not an RFC 3339 timestamp.
    #[error("bad time {0:?} (not RFC 3339)")]
    BadTime(String),
    /// `datacontenttype` is not an RFC 2045 media type (`type/subtype[; name=value]*`).
    #[error("bad datacontenttype {0:?}")]
    BadContentType(String),
    /// An integer extension outside the CloudEvents Integer range (signed 32 bit).
    #[error("integer extension {0:?} out of range (signed 32 bit)")]
    ExtensionOutOfRange(String),
    /// An extension value that is not a string, an integer or a boolean; the second field says
    /// what it is (`a decimal number`, `an object`, `an array`).
    #[error("extension {0:?} must be a string, integer or boolean, not {1}")]
    BadExtensionValue(String, &'static str),
    /// `data_base64` (1.0) or base64-encoded `data` (0.3) does not decode (RFC 4648 §4, padded).
    #[error("{0} is not valid base64")]
    BadBase64(&'static str),
    /// Both `data` and `data_base64` are present (JSON format §3.1: mutually exclusive).
    #[error("data and data_base64 both present")]
    DataAndDataBase64,
    /// CloudEvents 0.3 with `datacontentencoding: base64` but `data` is not a JSON string.
    #[error("data must be a base64 string when datacontentencoding is base64")]
    Base64DataNotString,
}

/// Clips a value quoted in an error message to 64 characters.
fn clip(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        None => s.to_owned(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

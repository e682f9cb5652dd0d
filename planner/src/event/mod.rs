//! The CloudEvents model the whole pipeline works on.
//!
//! An [`Event`] holds the context attributes of a CloudEvent (spec versions 0.3 and 1.0,
//! never upgraded), its extensions sorted by name, and its data kept as the raw JSON text it
//! arrived in, so that a delivery log writes the payload back byte for byte. Every string is an
//! `Arc<str>`: cloning an event for fan-out, or adding an extension to it, never copies the payload.
//!
//! Source: CloudEvents 1.0.2 core spec §3 (attributes, type system) and JSON format §3 (data);
//! CloudEvents 0.3 for `schemaurl` / `datacontentencoding`.

pub mod json;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// `specversion`: the two CloudEvents versions eventflow accepts (others are rejected at ingress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SpecVersion {
    /// CloudEvents 0.3 (`schemaurl`, `datacontentencoding`).
    V03,
    /// CloudEvents 1.0 (`dataschema`, `data_base64`).
    V10,
}

impl SpecVersion {
    /// The attribute's canonical string: `"0.3"` or `"1.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V03 => "0.3",
            SpecVersion::V10 => "1.0",
        }
    }
}

/// The value of an extension attribute, typed as the event carried it.
///
/// In JSON format an integer extension arrives as a number and a boolean as `true`/`false`;
/// in HTTP binary mode everything is a string. Filters compare the canonical string form
/// ([`fmt::Display`]); CESQL sees the typed value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExtValue {
    /// A String, URI, URI-reference, Timestamp or Binary (base64) value.
    String(Arc<str>),
    /// A CloudEvents Integer (signed 32 bit).
    Integer(i32),
    /// A CloudEvents Boolean.
    Boolean(bool),
}

impl fmt::Display for ExtValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtValue::String(s) => f.write_str(s),
            ExtValue::Integer(i) => write!(f, "{i}"),
            ExtValue::Boolean(b) => write!(f, "{b}"),
        }
    }
}

/// The event's payload, kept as the text it arrived in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Data {
    /// The raw JSON text of the `data` member (an object, array, string, number, … or `null`).
    Json(Arc<str>),
    /// The base64 text of the CloudEvents 1.0 `data_base64` member (already checked to decode).
    Base64(Arc<str>),
}

/// Transport metadata that travels with an event without being part of it: the HTTP headers
/// a delivery passes through from the request that brought the event in (Knative forwards
/// `x-request-id` and tracing headers such as W3C `traceparent`/`tracestate` to the
/// deliveries an event causes, knative-semantics.md §3.3, §8.9). `(name, value)` pairs, names
/// lower-case; which headers qualify is the HTTP connector's choice.
///
/// Not part of the CloudEvent: equality and hashing ignore it and the JSON form never shows
/// it. Empty (the default, and always in replay) it is a null pointer: no allocation per event.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Passthrough(Option<Arc<Vec<Header>>>);

/// One pass-through header: (name, value).
pub type Header = (Box<str>, Box<str>);

impl Passthrough {
    /// No headers.
    pub const NONE: Passthrough = Passthrough(None);

    /// The given `(name, value)` pairs (none: [`Passthrough::NONE`]).
    pub fn new(pairs: Vec<Header>) -> Passthrough {
        if pairs.is_empty() {
            Passthrough::NONE
        } else {
            Passthrough(Some(Arc::new(pairs)))
        }
    }

    /// True when there is nothing to pass through.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The `(name, value)` pairs, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .flat_map(|v| v.iter().map(|(n, v)| (&**n, &**v)))
    }

    /// The value of header `name` (lower-case), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

impl PartialEq for Passthrough {
    fn eq(&self, _: &Passthrough) -> bool {
        true
    }
}

impl Eq for Passthrough {}

impl std::hash::Hash for Passthrough {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// A CloudEvent: context attributes, extensions and data.
///
/// Required attributes (`id`, `source`, `type`) are non-empty; optional ones are `None` when
/// unset (JSON `null` also means unset). `extensions` is sorted by name and names are unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    /// `specversion`.
    pub specversion: SpecVersion,
    /// `id` (required, non-empty).
    pub id: Arc<str>,
    /// `source` (required URI-reference, non-empty).
    pub source: Arc<str>,
    /// `type` (required, non-empty).
    pub ty: Arc<str>,
    /// `datacontenttype` (RFC 2046 media type).
    pub datacontenttype: Option<Arc<str>>,
    /// `dataschema` (1.0, absolute URI) or `schemaurl` (0.3, URI-reference).
    pub dataschema: Option<Arc<str>>,
    /// `subject`.
    pub subject: Option<Arc<str>>,
    /// `time`, as the RFC 3339 text it arrived in (checked to parse).
    pub time: Option<Arc<str>>,
    /// `datacontentencoding` (0.3 only; `base64` means `data` is a base64 string).
    pub datacontentencoding: Option<Arc<str>>,
    /// Extension attributes sorted by name, names unique and `[a-z0-9]+`.
    pub extensions: Vec<(Arc<str>, ExtValue)>,
    /// `data` / `data_base64`, if the event has any.
    pub data: Option<Data>,
    /// HTTP headers passed through to deliveries (not part of the event; see [`Passthrough`]).
    pub passthrough: Passthrough,
}

/// A typed attribute value as CESQL sees it (CESQL v1 §3: String, Integer, Boolean).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrValue<'a> {
    /// A String (also URI, URI-reference, Timestamp and Binary attributes).
    Str(&'a str),
    /// An Integer.
    Int(i32),
    /// A Boolean.
    Bool(bool),
}

/// Read access to a CloudEvent's context attributes by name, the way CESQL addresses them.
///
/// Returns `None` for an attribute the event does not have (unset optional attributes and
/// absent extensions); `specversion`, `id`, `source` and `type` are always present.
pub trait Attributes {
    /// The value of attribute `name` (lower-case), or `None` when absent.
    fn attribute(&self, name: &str) -> Option<AttrValue<'_>>;
}

fn opt(v: &Option<Arc<str>>) -> Option<AttrValue<'_>> {
    v.as_deref().map(AttrValue::Str)
}

impl Attributes for Event {
    fn attribute(&self, name: &str) -> Option<AttrValue<'_>> {
        match name {
            "specversion" => Some(AttrValue::Str(self.specversion.as_str())),
            "id" => Some(AttrValue::Str(&self.id)),
            "source" => Some(AttrValue::Str(&self.source)),
            "type" => Some(AttrValue::Str(&self.ty)),
            "datacontenttype" => opt(&self.datacontenttype),
            "dataschema" if self.specversion == SpecVersion::V10 => opt(&self.dataschema),
            "schemaurl" if self.specversion == SpecVersion::V03 => opt(&self.dataschema),
            "subject" => opt(&self.subject),
            "time" => opt(&self.time),
            "datacontentencoding" if self.specversion == SpecVersion::V03 => {
                opt(&self.datacontentencoding)
            }
            _ => self.extension(name).map(|v| match v {
                ExtValue::String(s) => AttrValue::Str(s),
                ExtValue::Integer(i) => AttrValue::Int(*i),
                ExtValue::Boolean(b) => AttrValue::Bool(*b),
            }),
        }
    }
}

impl Event {
    /// A minimal CloudEvents 1.0 event with the three required attributes.
    pub fn new(id: &str, source: &str, ty: &str) -> Event {
        Event {
            specversion: SpecVersion::V10,
            id: id.into(),
            source: source.into(),
            ty: ty.into(),
            datacontenttype: None,
            dataschema: None,
            subject: None,
            time: None,
            datacontentencoding: None,
            extensions: Vec::new(),
            data: None,
            passthrough: Passthrough::NONE,
        }
    }

    /// The extension `name`, if present (binary search; `extensions` is sorted).
    pub fn extension(&self, name: &str) -> Option<&ExtValue> {
        self.extensions
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|i| &self.extensions[i].1)
    }

    /// Sets (or replaces) extension `name`, keeping `extensions` sorted.
    pub fn set_extension(&mut self, name: &str, value: ExtValue) {
        match self.extensions.binary_search_by(|(n, _)| (**n).cmp(name)) {
            Ok(i) => self.extensions[i].1 = value,
            Err(i) => self.extensions.insert(i, (name.into(), value)),
        }
    }

    /// Like [`Event::set_extension`], with a shared name (no allocation for a new name).
    pub fn set_extension_shared(&mut self, name: &Arc<str>, value: ExtValue) {
        match self
            .extensions
            .binary_search_by(|(n, _)| (**n).cmp(&**name))
        {
            Ok(i) => self.extensions[i].1 = value,
            Err(i) => self.extensions.insert(i, (name.clone(), value)),
        }
    }

    /// Removes extension `name` and returns its value, if it was present.
    pub fn remove_extension(&mut self, name: &str) -> Option<ExtValue> {
        match self.extensions.binary_search_by(|(n, _)| (**n).cmp(name)) {
            Ok(i) => Some(self.extensions.remove(i).1),
            Err(_) => None,
        }
    }
}

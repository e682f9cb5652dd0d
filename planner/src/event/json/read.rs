//! The reader: a serde_json `Visitor` that borrows every unescaped string from the input and
//! keeps `data` as a `&RawValue`, then one validation pass that builds the owned [`Event`].

use super::syntax::{is_absolute_uri, is_attribute_name, is_media_type};
use super::time::rfc3339_ms;
use super::{clip, EventError};
use crate::event::{Data, Event, ExtValue, SpecVersion};
use base64::prelude::{Engine as _, BASE64_STANDARD};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Parses one structured-mode CloudEvent (JSON format, specversion 1.0 or 0.3) and validates it.
///
/// Shape: one JSON object (surrounding white space allowed). Attributes map as in JSON format
/// §2.2–2.3: context attributes and extensions are top-level members, `null` means unset,
/// integer and boolean extensions keep their type; `data` is kept as its raw JSON text
/// ([`Data::Json`]), 1.0 `data_base64` as its base64 text ([`Data::Base64`]); `"data": null`
/// is `Some(Data::Json("null"))`, distinct from no `data` member. 0.3 `schemaurl` is stored in
/// `dataschema`; in 1.0 `schemaurl` and `datacontentencoding` are ordinary extensions, and in
/// 0.3 so is `dataschema`.
///
/// # Errors
/// [`EventError`] when the text is not JSON or not an object, a member appears twice,
/// `specversion` is not `1.0`/`0.3`, `id`/`source`/`type` are missing, not strings or blank,
/// a name is not `[a-z0-9]+`, `time` is not RFC 3339, `datacontenttype` is not a media type,
/// 1.0 `dataschema` is not an absolute URI, `subject` is empty, an extension is a decimal,
/// object or array or an integer outside `i32`, or base64 data does not decode.
pub fn parse_event(text: &str) -> Result<Event, EventError> {
    parse_event_with_time(text).map(|(event, _)| event)
}

/// [`parse_event`], also returning the event's `time` in milliseconds since the Unix epoch
/// (`None` when the event has no `time`): the value validation computes anyway, so that the
/// engine does not parse the timestamp a second time.
///
/// # Errors
/// As [`parse_event`].
pub fn parse_event_with_time(text: &str) -> Result<(Event, Option<i64>), EventError> {
    let first = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .as_bytes()
        .first();
    if first != Some(&b'{') {
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => EventError::NotAnObject,
            Err(e) => EventError::InvalidJson(e.to_string()),
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let raw = de
        .deserialize_map(RawVisitor)
        .and_then(|raw| de.end().map(|()| raw))
        .map_err(|e| EventError::InvalidJson(e.to_string()))?;
    build(raw)
}

/// A string that borrows from the input unless it had escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The value of any member but `data`, as far as validation needs to know it.
enum Value<'a> {
    Null,
    Str(Cow<'a, str>),
    Bool(bool),
    Int(i128),
    Float,
    Object,
    Array,
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value<'de>, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value<'de>, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value<'de>, E> {
        Ok(Value::Float)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Value::Object)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Array)
    }
}

/// The members of one event object, before validation. Version-dependent members
/// (`dataschema`, `schemaurl`, `datacontentencoding`, `data_base64`) get slots of their own
/// because `specversion` may come last.
#[derive(Default)]
struct Raw<'a> {
    specversion: Option<Value<'a>>,
    id: Option<Value<'a>>,
    source: Option<Value<'a>>,
    ty: Option<Value<'a>>,
    datacontenttype: Option<Value<'a>>,
    dataschema: Option<Value<'a>>,
    schemaurl: Option<Value<'a>>,
    subject: Option<Value<'a>>,
    time: Option<Value<'a>>,
    datacontentencoding: Option<Value<'a>>,
    data_base64: Option<Value<'a>>,
    data: Option<&'a RawValue>,
    others: Vec<(Cow<'a, str>, Value<'a>)>,
    duplicate: Option<Cow<'a, str>>,
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudEvent object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut raw = Raw::default();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            let slot = match &*key {
                "specversion" => &mut raw.specversion,
                "id" => &mut raw.id,
                "source" => &mut raw.source,
                "type" => &mut raw.ty,
                "datacontenttype" => &mut raw.datacontenttype,
                "dataschema" => &mut raw.dataschema,
                "schemaurl" => &mut raw.schemaurl,
                "subject" => &mut raw.subject,
                "time" => &mut raw.time,
                "datacontentencoding" => &mut raw.datacontentencoding,
                "data_base64" => &mut raw.data_base64,
                "data" => {
                    let value: &'de RawValue = map.next_value()?;
                    if raw.data.replace(value).is_some() && raw.duplicate.is_none() {
                        raw.duplicate = Some(key);
                    }
                    continue;
                }
                _ => {
                    let value = map.next_value::<Value<'de>>()?;
                    raw.others.push((key, value));
                    continue;
                }
            };
            let seen = slot.replace(map.next_value::<Value<'de>>()?).is_some();
            if seen && raw.duplicate.is_none() {
                raw.duplicate = Some(key);
            }
        }
        Ok(raw)
    }
}

/// Validates the members and builds the owned event.
fn build(mut raw: Raw<'_>) -> Result<(Event, Option<i64>), EventError> {
    if let Some(name) = &raw.duplicate {
        return Err(EventError::Duplicate(clip(name)));
    }
    let specversion = match &raw.specversion {
        None | Some(Value::Null) => return Err(EventError::Missing("specversion")),
        Some(Value::Str(s)) => match &**s {
            "1.0" => SpecVersion::V10,
            "0.3" => SpecVersion::V03,
            other => return Err(EventError::UnknownSpecVersion(clip(other))),
        },
        Some(_) => return Err(EventError::NotAString("specversion")),
    };
    let id = required(raw.id.take(), "id")?;
    let source = required(raw.source.take(), "source")?;
    let ty = required(raw.ty.take(), "type")?;

    let datacontenttype = string(raw.datacontenttype.take(), "datacontenttype")?;
    if let Some(ct) = &datacontenttype {
        if !is_media_type(ct) {
            return Err(EventError::BadContentType(clip(ct)));
        }
    }
    // Version-dependent members: the other version's names are ordinary extensions.
    let (schema, schema_name, as_extensions) = match specversion {
        SpecVersion::V10 => (
            raw.dataschema.take(),
            "dataschema",
            [
                ("schemaurl", raw.schemaurl.take()),
                ("datacontentencoding", raw.datacontentencoding.take()),
            ],
        ),
        SpecVersion::V03 => (
            raw.schemaurl.take(),
            "schemaurl",
            [
                ("dataschema", raw.dataschema.take()),
                ("data_base64", raw.data_base64.take()),
            ],
        ),
    };
    for (name, value) in as_extensions {
        if let Some(value) = value {
            raw.others.push((Cow::Borrowed(name), value));
        }
    }
    let dataschema = non_empty(string(schema, schema_name)?, schema_name)?;
    if let (Some(s), SpecVersion::V10) = (&dataschema, specversion) {
        if !is_absolute_uri(s) {
            return Err(EventError::RelativeDataSchema(clip(s)));
        }
    }
    let subject = non_empty(string(raw.subject.take(), "subject")?, "subject")?;
    let time = string(raw.time.take(), "time")?;
    let time_ms = match &time {
        Some(t) => match rfc3339_ms(t) {
            Some(ms) => Some(ms),
            None => return Err(EventError::BadTime(clip(t))),
        },
        None => None,
    };
    let datacontentencoding = match specversion {
        SpecVersion::V03 => non_empty(
            string(raw.datacontentencoding.take(), "datacontentencoding")?,
            "datacontentencoding",
        )?,
        SpecVersion::V10 => None,
    };

    let extensions = extensions(raw.others)?;
    let data = match specversion {
        SpecVersion::V10 => data_v10(raw.data, raw.data_base64)?,
        SpecVersion::V03 => {
            let base64 = datacontentencoding
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case("base64"));
            data_v03(raw.data, base64)?
        }
    };
    let event = Event {
        specversion,
        id,
        source,
        ty,
        datacontenttype: datacontenttype.map(arc),
        dataschema: dataschema.map(arc),
        subject: subject.map(arc),
        time: time.map(arc),
        datacontentencoding: datacontentencoding.map(arc),
        extensions,
        data,
        passthrough: crate::event::Passthrough::NONE,
    };
    Ok((event, time_ms))
}

fn arc(s: Cow<'_, str>) -> Arc<str> {
    Arc::from(&*s)
}

/// An optional string attribute: absent and `null` are unset.
fn string<'a>(
    v: Option<Value<'a>>,
    name: &'static str,
) -> Result<Option<Cow<'a, str>>, EventError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(EventError::NotAString(name)),
    }
}

/// An optional attribute that must be non-empty when present.
fn non_empty<'a>(
    v: Option<Cow<'a, str>>,
    name: &'static str,
) -> Result<Option<Cow<'a, str>>, EventError> {
    match v {
        Some(s) if s.is_empty() => Err(EventError::Empty(name)),
        v => Ok(v),
    }
}

/// A required string attribute, non-empty after trimming white space.
fn required(v: Option<Value<'_>>, name: &'static str) -> Result<Arc<str>, EventError> {
    match string(v, name)? {
        None => Err(EventError::Missing(name)),
        Some(s) if s.trim().is_empty() => Err(EventError::Empty(name)),
        Some(s) => Ok(arc(s)),
    }
}

/// Extension attributes (core spec §3.1.1 naming, §3.2 type system), sorted by name.
fn extensions(
    mut others: Vec<(Cow<'_, str>, Value<'_>)>,
) -> Result<Vec<(Arc<str>, ExtValue)>, EventError> {
    others.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = others.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(EventError::Duplicate(clip(&w[0].0)));
    }
    let mut out = Vec::with_capacity(others.len());
    for (name, value) in others {
        if !is_attribute_name(&name) {
            return Err(EventError::InvalidName(clip(&name)));
        }
        let value = match value {
            Value::Null => continue,
            Value::Str(s) => ExtValue::String(arc(s)),
            Value::Bool(b) => ExtValue::Boolean(b),
            Value::Int(i) => match i32::try_from(i) {
                Ok(i) => ExtValue::Integer(i),
                Err(_) => return Err(EventError::ExtensionOutOfRange(clip(&name))),
            },
            Value::Float => {
                return Err(EventError::BadExtensionValue(
                    clip(&name),
                    "a decimal number",
                ))
            }
            Value::Object => return Err(EventError::BadExtensionValue(clip(&name), "an object")),
            Value::Array => return Err(EventError::BadExtensionValue(clip(&name), "an array")),
        };
        out.push((arc(name), value));
    }
    Ok(out)
}

/// CloudEvents 1.0 data: `data` (raw JSON) or `data_base64` (checked to decode), not both.
fn data_v10(
    data: Option<&RawValue>,
    data_base64: Option<Value<'_>>,
) -> Result<Option<Data>, EventError> {
    let base64 = string(data_base64, "data_base64")?;
    match (data, base64) {
        (Some(_), Some(_)) => Err(EventError::DataAndDataBase64),
        (Some(raw), None) => Ok(Some(Data::Json(Arc::from(raw.get())))),
        (None, Some(b)) => {
            if BASE64_STANDARD.decode(b.as_bytes()).is_err() {
                return Err(EventError::BadBase64("data_base64"));
            }
            Ok(Some(Data::Base64(arc(b))))
        }
        (None, None) => Ok(None),
    }
}

/// CloudEvents 0.3 data: raw JSON; with `datacontentencoding: base64` a string that decodes.
fn data_v03(data: Option<&RawValue>, base64: bool) -> Result<Option<Data>, EventError> {
    let Some(raw) = data else { return Ok(None) };
    let text = raw.get();
    if base64 && text != "null" {
        let Ok(Str(s)) = serde_json::from_str::<Str<'_>>(text) else {
            return Err(EventError::Base64DataNotString);
        };
        if BASE64_STANDARD.decode(s.as_bytes()).is_err() {
            return Err(EventError::BadBase64("data"));
        }
    }
    Ok(Some(Data::Json(Arc::from(text))))
}

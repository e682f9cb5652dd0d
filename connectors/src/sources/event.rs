//! The CloudEvent a PingSource or CronJobSource sends on each tick, shaped as Knative's
//! adapters shape it (knative-semantics.md §1.6).
//!
//! - PingSource (v1, v1beta2; v1alpha1–v1beta1 after the loader's `jsonData` conversion):
//!   specversion 1.0, type `dev.knative.sources.ping`, source
//!   `/apis/v1/namespaces/<ns>/pingsources/<name>`, `datacontenttype` = `contentType` when set.
//!   The payload is `data` or the decoded `dataBase64`: kept as raw JSON when the content type
//!   is JSON (`*/json`, `*/*+json`) and the bytes are JSON, else as base64 bytes — exactly what
//!   eventflow's HTTP ingress makes of the binary-mode request Knative's adapter sends.
//! - CronJobSource: specversion 0.3, type `dev.knative.cronjob.event`, source
//!   `/apis/v1/namespaces/<ns>/cronjobsources/<name>`, content type `application/json`, data
//!   = `data` when it is a JSON object, else `{"body": "<data>"}`.
//!
//! Both carry `time` = the fire time and every `ceOverrides` extension. The id is a fresh
//! UUID (v4) live, or a UUID v5 of source + fire time in replay so reruns are byte-identical.

use base64::prelude::{Engine as _, BASE64_STANDARD};
use chrono::{DateTime, SecondsFormat, Utc};
use eventflow_planner::event::{Data, Event, ExtValue, SpecVersion};
use eventflow_planner::topology::{Source, SourceKind};
use serde_json::value::RawValue;
use std::sync::Arc;

/// PingSource's event type.
pub const PING_TYPE: &str = "dev.knative.sources.ping";
/// CronJobSource's event type.
pub const CRONJOB_TYPE: &str = "dev.knative.cronjob.event";

/// How an event's `id` is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventId {
    /// A fresh random UUID, as Knative's adapter (live).
    Random,
    /// A UUID v5 of the event's source and fire time: the same inputs give the same id (replay).
    Derived,
}

/// Why a source's event cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `dataBase64` does not decode.
    #[error("`spec.dataBase64` is not valid base64: {0}")]
    Base64(String),
}

/// Everything of a source's event but `id` and `time`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTemplate {
    specversion: SpecVersion,
    ty: Arc<str>,
    source: Arc<str>,
    datacontenttype: Option<Arc<str>>,
    data: Option<Data>,
    extensions: Vec<(Arc<str>, ExtValue)>,
}

impl EventTemplate {
    /// The template of a PingSource or CronJobSource; `Ok(None)` for other kinds.
    ///
    /// # Errors
    /// [`TemplateError`] when `dataBase64` does not decode (the loader reports it too).
    pub fn from_source(source: &Source) -> Result<Option<EventTemplate>, TemplateError> {
        let (ns, name) = (&source.meta.namespace, &source.meta.name);
        let mut template = match &source.kind {
            SourceKind::Ping {
                content_type,
                data,
                data_base64,
                ..
            } => {
                let bytes = match (data, data_base64) {
                    (Some(d), _) => Some(d.as_bytes().to_vec()),
                    (None, Some(b)) => Some(
                        BASE64_STANDARD
                            .decode(b.trim())
                            .map_err(|e| TemplateError::Base64(e.to_string()))?,
                    ),
                    (None, None) => None,
                };
                let json = content_type.as_deref().is_some_and(is_json);
                EventTemplate {
                    specversion: SpecVersion::V10,
                    ty: PING_TYPE.into(),
                    source: format!("/apis/v1/namespaces/{ns}/pingsources/{name}").into(),
                    datacontenttype: content_type
                        .as_deref()
                        .filter(|c| !c.is_empty())
                        .map(Arc::from),
                    data: bytes.map(|b| payload(b, json)),
                    extensions: Vec::new(),
                }
            }
            SourceKind::CronJob { data, .. } => {
                let text = data.as_deref().unwrap_or("");
                let object = matches!(
                    serde_json::from_str::<serde_json::Value>(text),
                    Ok(serde_json::Value::Object(_))
                );
                let json = if object {
                    text.to_string()
                } else {
                    serde_json::json!({ "body": text }).to_string()
                };
                EventTemplate {
                    specversion: SpecVersion::V03,
                    ty: CRONJOB_TYPE.into(),
                    source: format!("/apis/v1/namespaces/{ns}/cronjobsources/{name}").into(),
                    datacontenttype: Some("application/json".into()),
                    data: Some(payload(json.into_bytes(), true)),
                    extensions: Vec::new(),
                }
            }
            _ => return Ok(None),
        };
        let mut probe = Event::new("x", "x", "x");
        for (k, v) in &source.ce_overrides {
            // The loader rejects names that are not `[a-z0-9]+`; skip them defensively.
            if !k.is_empty()
                && k.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                probe.set_extension(k, ExtValue::String(v.as_str().into()));
            }
        }
        template.extensions = probe.extensions;
        Ok(Some(template))
    }

    /// The event's `source` attribute.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The event fired at `at`.
    pub fn event(&self, at: DateTime<Utc>, id: EventId) -> Event {
        let time = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let id = match id {
            EventId::Random => uuid::Uuid::new_v4(),
            EventId::Derived => {
                let name = format!("{}#{time}", self.source);
                uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
            }
        };
        let mut event = Event::new(&id.to_string(), &self.source, &self.ty);
        event.specversion = self.specversion;
        event.time = Some(time.into());
        event.datacontenttype = self.datacontenttype.clone();
        event.data = self.data.clone();
        event.extensions = self.extensions.clone();
        event
    }
}

/// Raw JSON when `json` and the bytes are a JSON text (newlines, which can only be whitespace
/// between tokens, become spaces so a JSON Lines log stays one line per record), else base64.
fn payload(bytes: Vec<u8>, json: bool) -> Data {
    if json {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(raw) = serde_json::from_str::<Box<RawValue>>(text) {
                return Data::Json(raw.get().replace(['\n', '\r'], " ").into());
            }
        }
    }
    Data::Base64(BASE64_STANDARD.encode(bytes).into())
}

/// `*/json` or `*/*+json`, parameters ignored, case-insensitive (JSON format §3.1).
fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    let media = media.to_ascii_lowercase();
    media.ends_with("/json") || media.ends_with("+json")
}

#[cfg(test)]
mod tests;

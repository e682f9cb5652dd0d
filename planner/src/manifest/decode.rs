//! Typed access to the YAML tree for one resource: fields by name, unknown-field and
//! duplicate-field checks with did-you-mean hints, Kubernetes-style scalar typing, and the
//! diagnostics (with the offending field's line) that all of it produces.

use super::yaml::{Node, Typed, Value};
use crate::diagnostic::{Diagnostic, Origin, Severity};
use crate::topology::ObjectRef;
use std::path::PathBuf;
use std::sync::Arc;

pub use super::suggest::did_you_mean;

/// A reference to an internal node (Broker, Channel, Sequence, Parallel) to check once every
/// resource is known.
#[derive(Debug, Clone)]
pub struct RefUse {
    /// What it points at.
    pub target: ObjectRef,
    /// Where it was written.
    pub origin: Origin,
    /// The referring resource, `Kind/ns/name`.
    pub resource: String,
    /// The field path (`spec.subscriber.ref`).
    pub field: String,
    /// Extra explanation for the hint (e.g. "spec.broker was defaulted").
    pub note: Option<String>,
    /// Informational references (EventType) only warn when unresolved.
    pub informational: bool,
}

/// The decoding context of one resource: where it is, what it is called, what was found wrong.
#[derive(Debug)]
pub struct Cx {
    /// The file.
    pub file: Arc<PathBuf>,
    /// `Kind/namespace/name`.
    pub resource: String,
    /// The resource's namespace (the default for references).
    pub namespace: String,
    /// The resource's apiVersion is pre-v1 (v1alpha1/v1beta1…): legacy shapes are normal.
    pub legacy: bool,
    /// Problems found.
    pub diags: Vec<Diagnostic>,
    /// References to check.
    pub refs: Vec<RefUse>,
}

/// A mapping node seen through its field path.
#[derive(Debug, Clone)]
pub struct Map<'n> {
    /// Field path of the mapping (`""` for a document root).
    pub path: String,
    /// The line to blame for a missing field: the line of the key that introduced the mapping.
    pub line: usize,
    entries: &'n [(Node, Node)],
}

/// Joins a field path and a key.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'n> Map<'n> {
    /// A view of a mapping node (None when it is not a mapping).
    pub fn of(node: &'n Node, path: &str, line: usize) -> Option<Map<'n>> {
        match &node.value {
            Value::Map(entries) => Some(Map {
                path: path.to_string(),
                line,
                entries,
            }),
            _ => None,
        }
    }

    /// The value of `key`; None when absent or null.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|(_, v)| v).filter(|v| !v.is_null())
    }

    /// The key node and value of `key`, null values included.
    pub fn entry(&self, key: &str) -> Option<(&'n Node, &'n Node)> {
        self.entries
            .iter()
            .find(|(k, _)| k.scalar().is_some_and(|s| s.text == key))
            .map(|(k, v)| (k, v))
    }

    /// True when `key` is written (even with a null value).
    pub fn has(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    /// The line of `key`, or the mapping's line when absent.
    pub fn key_line(&self, key: &str) -> usize {
        self.entry(key).map_or(self.line, |(k, _)| k.line)
    }

    /// The field path of `key`.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The keys as written, with their lines.
    pub fn keys(&self) -> impl Iterator<Item = (&'n str, usize)> + 'n {
        self.entries
            .iter()
            .filter_map(|(k, _)| k.scalar().map(|s| (s.text.as_str(), k.line)))
    }

    /// The entries.
    pub fn entries(&self) -> &'n [(Node, Node)] {
        self.entries
    }
}

impl Cx {
    fn push(&mut self, severity: Severity, line: usize, message: String, hint: Option<String>) {
        self.diags.push(Diagnostic {
            origin: Origin {
                file: self.file.as_ref().clone(),
                line,
            },
            severity,
            resource: (!self.resource.is_empty()).then(|| self.resource.clone()),
            message,
            hint,
        });
    }

    /// Reports an error.
    pub fn error(&mut self, line: usize, message: impl Into<String>, hint: Option<String>) {
        self.push(Severity::Error, line, message.into(), hint);
    }

    /// Reports a warning.
    pub fn warn(&mut self, line: usize, message: impl Into<String>, hint: Option<String>) {
        self.push(Severity::Warning, line, message.into(), hint);
    }

    /// The origin of `line` in this resource's file.
    pub fn origin(&self, line: usize) -> Origin {
        Origin {
            file: self.file.as_ref().clone(),
            line,
        }
    }

    /// Reports unknown and duplicate fields of `m`. `special` gives a custom hint for a key.
    pub fn check_fields(&mut self, m: &Map<'_>, known: &[&str], special: &[(&str, &str)]) {
        let mut seen: Vec<&str> = Vec::with_capacity(m.entries.len());
        for (k, _) in m.entries {
            let Some(s) = k.scalar() else {
                self.error(
                    k.line,
                    format!("field names in `{}` must be strings", m.path),
                    None,
                );
                continue;
            };
            let key = s.text.as_str();
            if seen.contains(&key) {
                self.error(
                    k.line,
                    format!("duplicate field `{}`", m.path_of(key)),
                    None,
                );
                continue;
            }
            seen.push(key);
            if known.contains(&key) {
                continue;
            }
            let hint = if let Some((_, h)) = special.iter().find(|(name, _)| *name == key) {
                Some((*h).to_string())
            } else {
                did_you_mean(key, known.iter().copied()).map(|c| format!("did you mean `{c}`?"))
            };
            let hint = hint.or_else(|| Some(format!("known fields: {}", known.join(", "))));
            self.error(k.line, format!("unknown field `{}`", m.path_of(key)), hint);
        }
    }

    /// The mapping under `key` of `m` (wrong-type error if it is not a mapping).
    pub fn map_at<'n>(&mut self, m: &Map<'n>, key: &str) -> Option<Map<'n>> {
        let node = m.get(key)?;
        self.as_map(node, &m.path_of(key), m.key_line(key))
    }

    /// `node` as a mapping (wrong-type error otherwise; None for null).
    pub fn as_map<'n>(&mut self, node: &'n Node, path: &str, line: usize) -> Option<Map<'n>> {
        if node.is_null() {
            return None;
        }
        let m = Map::of(node, path, line);
        if m.is_none() {
            self.wrong_type(node, path, "an object", None);
        }
        m
    }

    /// `node` as a list (wrong-type error otherwise; None for null).
    pub fn as_seq<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ if node.is_null() => None,
            _ => {
                self.wrong_type(
                    node,
                    path,
                    "a list",
                    Some("write it as a YAML list (`- item`)".into()),
                );
                None
            }
        }
    }

    /// Reports a wrong type.
    pub fn wrong_type(&mut self, node: &Node, path: &str, expected: &str, hint: Option<String>) {
        let msg = format!(
            "wrong type for `{path}`: expected {expected}, found {}",
            node.describe()
        );
        self.error(node.line, msg, hint);
    }

    /// `node` as a string (quoted or plain text that does not resolve to another type).
    pub fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match node.scalar() {
            Some(s) => match s.typed() {
                Typed::Str => Some(s.text.clone()),
                Typed::Null => None,
                _ => {
                    let hint = format!("quote it: `\"{}\"`", s.text);
                    self.wrong_type(node, path, "a string", Some(hint));
                    None
                }
            },
            None => {
                self.wrong_type(node, path, "a string", None);
                None
            }
        }
    }

    /// `node` as an integer.
    pub fn int(&mut self, node: &Node, path: &str) -> Option<i64> {
        match node.scalar().map(|s| (s, s.typed())) {
            Some((_, Typed::Int(v))) => Some(v),
            Some((_, Typed::Null)) => None,
            Some((s, Typed::Str)) if s.text.trim().parse::<i64>().is_ok() => {
                self.wrong_type(
                    node,
                    path,
                    "an integer",
                    Some(format!("remove the quotes: `{}`", s.text.trim())),
                );
                None
            }
            _ => {
                self.wrong_type(node, path, "an integer", None);
                None
            }
        }
    }

    /// `node` as a boolean.
    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node.scalar().map(|s| s.typed()) {
            Some(Typed::Bool(b)) => Some(b),
            Some(Typed::Null) => None,
            _ => {
                self.wrong_type(
                    node,
                    path,
                    "a boolean",
                    Some("write `true` or `false`".into()),
                );
                None
            }
        }
    }

    /// Optional string field.
    pub fn opt_str(&mut self, m: &Map<'_>, key: &str) -> Option<String> {
        let node = m.get(key)?;
        self.string(node, &m.path_of(key))
    }

    /// Required string field (missing or empty: error at the mapping's line).
    pub fn req_str(&mut self, m: &Map<'_>, key: &str) -> Option<String> {
        match m.get(key) {
            Some(node) => {
                let v = self.string(node, &m.path_of(key))?;
                if v.is_empty() {
                    self.error(
                        node.line,
                        format!("`{}` must not be empty", m.path_of(key)),
                        None,
                    );
                    return None;
                }
                Some(v)
            }
            None => {
                self.missing(m, key);
                None
            }
        }
    }

    /// Reports a missing required field.
    pub fn missing(&mut self, m: &Map<'_>, key: &str) {
        let path = m.path_of(key);
        let hint = match key {
            "subscriber" | "sink" | "reply" | "deadLetterSink" => {
                format!("add `{key}:` with a `ref:` (apiVersion, kind, name) or a `uri:`")
            }
            "broker" => "add `broker: NAME` (or `brokerRef:` to a Broker)".to_string(),
            "channel" => "add `channel:` with apiVersion, kind and name of the channel".to_string(),
            "name" => "every resource and reference needs a `name`".to_string(),
            _ => format!("add `{path}`; see the resource's Knative API reference"),
        };
        self.error(
            m.line,
            format!("missing required field `{path}`"),
            Some(hint),
        );
    }

    /// A `map[string]string` field, in document order, with value lines.
    pub fn string_map(&mut self, m: &Map<'_>, key: &str) -> Option<Vec<(String, String, usize)>> {
        let node = m.get(key)?;
        let path = m.path_of(key);
        let inner = self.as_map(node, &path, m.key_line(key))?;
        let mut out = Vec::new();
        for (k, v) in inner.entries() {
            let Some(ks) = k.scalar() else {
                self.wrong_type(k, &path, "string keys", None);
                continue;
            };
            if out
                .iter()
                .any(|(n, _, _): &(String, String, usize)| *n == ks.text)
            {
                self.error(
                    k.line,
                    format!("duplicate field `{}`", join(&path, &ks.text)),
                    None,
                );
                continue;
            }
            let value = if v.is_null() {
                Some(String::new())
            } else {
                self.string(v, &join(&path, &ks.text))
            };
            if let Some(value) = value {
                out.push((ks.text.clone(), value, k.line));
            }
        }
        Some(out)
    }
}

/// A Kubernetes apiVersion split into group and version (`v1` → `("", "v1")`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// True for pre-v1 versions (`v1alpha1`, `v1beta2`, …).
pub fn is_pre_v1(version: &str) -> bool {
    version.contains("alpha") || version.contains("beta")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert_eq!(
            split_api_version("flows.knative.dev/v1"),
            ("flows.knative.dev", "v1")
        );
        assert!(is_pre_v1("v1beta3") && !is_pre_v1("v1"));
    }
}

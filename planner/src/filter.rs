//! Trigger filters with Knative's tri-state semantics (knative-semantics.md §2).
//!
//! `Filter` is what a Trigger's `filter.attributes` / `sourceAndType` / `filters` compile to.
//! Evaluation returns [`TriState`]: only `Fail` blocks delivery.
//!
//! `attributes`, `exact`, `prefix` and `suffix` read attributes through
//! [`lookup_attribute`], a port of Knative's `LookupAttribute` (knative-semantics.md §2.2):
//! unlike CESQL, `subject`, `dataschema`, `datacontenttype`, `time`, … are always "present".
//! Values compare by their CloudEvents canonical string (an Integer extension `5` equals the
//! filter value `"5"`), without allocating. `all` / `any` follow the current Knative RI
//! (`subscriptionsapi/all_filter.go`, `any_filter.go`): the result of the last evaluated child.

use crate::cesql::Expr;
use crate::event::{Event, ExtValue};
use std::sync::Arc;

mod trace;
pub use trace::{FilterTrace, PairTrace, TraceNode};

/// The result of a filter (Knative `eventfilter.FilterResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriState {
    /// The event matches.
    Pass,
    /// The event does not match: not delivered.
    Fail,
    /// The filter does not constrain (empty `all`/`any`, `cesql: ""`, `not: {}`): delivered.
    NoFilter,
}

impl TriState {
    /// True unless `Fail`.
    pub fn delivers(self) -> bool {
        self != TriState::Fail
    }
}

/// A compiled filter tree. Attribute names are lower-case `[a-z][a-z0-9]*`.
#[derive(Debug, Clone)]
pub enum Filter {
    /// No filter at all: `NoFilter`.
    None,
    /// Legacy `filter.attributes` (and `sourceAndType`): every key must exist; value `""` means
    /// present and non-empty; otherwise the canonical string must be equal. Empty map: `NoFilter`.
    Attributes(Vec<(String, String)>),
    /// `exact`: every key exists and its string form equals the value.
    Exact(Vec<(String, String)>),
    /// `prefix`: every key exists and its string form starts with the value.
    Prefix(Vec<(String, String)>),
    /// `suffix`: every key exists and its string form ends with the value.
    Suffix(Vec<(String, String)>),
    /// `all`: Fail on the first Fail, else the last child's result; empty = `NoFilter`.
    All(Vec<Filter>),
    /// `any`: Pass on the first Pass, else the last child's result; empty = `NoFilter`.
    Any(Vec<Filter>),
    /// `not`: Pass↔Fail, `NoFilter` stays.
    Not(Box<Filter>),
    /// `cesql`: true = Pass; false, non-boolean or any error = Fail. The text is kept for display.
    Cesql(Arc<Expr>, String),
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

impl Filter {
    /// Evaluates the filter on `event` (knative-semantics.md §2.3, §2.4).
    ///
    /// * `None` → `NoFilter`.
    /// * `Attributes`: empty → `NoFilter`; a key [`lookup_attribute`] does not find → `Fail`;
    ///   value `""` requires a non-empty attribute; otherwise canonical string equality.
    /// * `Exact` / `Prefix` / `Suffix`: every key ANDed, a missing key → `Fail`. An empty map,
    ///   or any empty name or value, → `NoFilter` (Knative's materialiser silently drops such
    ///   an element; the manifest loader normally rejects it at plan time).
    /// * `All`: `Fail` on the first `Fail`, else the last child's result; empty → `NoFilter`.
    /// * `Any`: `Pass` on the first `Pass`, else the last child's result; empty → `NoFilter`.
    /// * `Not`: `Pass` ↔ `Fail`, `NoFilter` stays.
    /// * `Cesql`: [`Expr::matches`] → `Pass`, otherwise (false, non-Boolean, any error) `Fail`.
    pub fn evaluate(&self, event: &Event) -> TriState {
        match self {
            Filter::None => TriState::NoFilter,
            Filter::Attributes(pairs) => legacy_attributes(pairs, event),
            Filter::Exact(pairs) => dialect(pairs, event, exact_test),
            Filter::Prefix(pairs) => dialect(pairs, event, prefix_test),
            Filter::Suffix(pairs) => dialect(pairs, event, suffix_test),
            Filter::All(children) => all_of(children.iter().map(|c| c.evaluate(event))),
            Filter::Any(children) => any_of(children.iter().map(|c| c.evaluate(event))),
            Filter::Not(inner) => not_of(inner.evaluate(event)),
            Filter::Cesql(expr, _) => cesql_result(expr, event),
        }
    }
}

/// `all`: `Fail` on the first `Fail` (the rest is not evaluated), else the last result;
/// nothing → `NoFilter`. Shared by [`Filter::evaluate`] and [`Filter::explain`].
pub(crate) fn all_of(results: impl Iterator<Item = TriState>) -> TriState {
    let mut last = TriState::NoFilter;
    for r in results {
        last = r;
        if last == TriState::Fail {
            return TriState::Fail;
        }
    }
    last
}

/// `any`: `Pass` on the first `Pass` (the rest is not evaluated), else the last result;
/// nothing → `NoFilter`.
pub(crate) fn any_of(results: impl Iterator<Item = TriState>) -> TriState {
    let mut last = TriState::NoFilter;
    for r in results {
        last = r;
        if last == TriState::Pass {
            return TriState::Pass;
        }
    }
    last
}

/// `not`: `Pass` ↔ `Fail`, `NoFilter` stays.
pub(crate) fn not_of(r: TriState) -> TriState {
    match r {
        TriState::Pass => TriState::Fail,
        TriState::Fail => TriState::Pass,
        TriState::NoFilter => TriState::NoFilter,
    }
}

/// Legacy `filter.attributes` (knative-semantics.md §2.3).
fn legacy_attributes(pairs: &[(String, String)], event: &Event) -> TriState {
    if pairs.is_empty() {
        return TriState::NoFilter;
    }
    if pairs
        .iter()
        .all(|(name, want)| legacy_pair(event, name, want))
    {
        TriState::Pass
    } else {
        TriState::Fail
    }
}

/// One key of a legacy `filter.attributes`: present, and `""` → non-empty, else equal.
pub(crate) fn legacy_pair(event: &Event, name: &str, want: &str) -> bool {
    let Some(have) = lookup_attribute(event, name) else {
        return false;
    };
    have.with_str(|h| {
        if want.is_empty() {
            !h.is_empty()
        } else {
            h == want
        }
    })
}

/// The `exact` / `prefix` / `suffix` value test.
pub(crate) type DialectTest = fn(&str, &str) -> bool;

/// `exact`: equal.
pub(crate) fn exact_test(have: &str, want: &str) -> bool {
    have == want
}

/// `prefix`: starts with.
pub(crate) fn prefix_test(have: &str, want: &str) -> bool {
    have.starts_with(want)
}

/// `suffix`: ends with.
pub(crate) fn suffix_test(have: &str, want: &str) -> bool {
    have.ends_with(want)
}

/// An `exact`/`prefix`/`suffix` map that Knative's materialiser drops (→ `NoFilter`).
pub(crate) fn dialect_ignored(pairs: &[(String, String)]) -> bool {
    pairs.is_empty() || pairs.iter().any(|(k, v)| k.is_empty() || v.is_empty())
}

/// `exact` / `prefix` / `suffix` (knative-semantics.md §2.4).
fn dialect(pairs: &[(String, String)], event: &Event, test: DialectTest) -> TriState {
    if dialect_ignored(pairs) {
        return TriState::NoFilter;
    }
    if pairs
        .iter()
        .all(|(name, want)| dialect_pair(event, name, want, test))
    {
        TriState::Pass
    } else {
        TriState::Fail
    }
}

/// One key of an `exact`/`prefix`/`suffix` map: present and `test(value, want)`.
pub(crate) fn dialect_pair(event: &Event, name: &str, want: &str, test: DialectTest) -> bool {
    lookup_attribute(event, name).is_some_and(|have| have.with_str(|h| test(h, want)))
}

/// `cesql`: [`Expr::matches`] → `Pass`, otherwise `Fail`.
pub(crate) fn cesql_result(expr: &Expr, event: &Event) -> TriState {
    if expr.matches(event) {
        TriState::Pass
    } else {
        TriState::Fail
    }
}

/// `time` of an event without one, as Go's zero `time.Time` renders in RFC 3339.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// An attribute value as Knative's `LookupAttribute` returns it (knative-semantics.md §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookedUp<'a> {
    /// A string (context attributes, String extensions), borrowed from the event.
    Str(&'a str),
    /// `datamediatype` when it had to be lower-cased.
    Owned(String),
    /// An Integer extension.
    Int(i32),
    /// A Boolean extension.
    Bool(bool),
}

impl LookedUp<'_> {
    /// Calls `f` with the CloudEvents canonical string form (`5`, `true`), without allocating.
    pub fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            LookedUp::Str(s) => f(s),
            LookedUp::Owned(s) => f(s),
            LookedUp::Int(i) => {
                let mut buf = [0u8; 11];
                f(crate::cesql::format_int(*i, &mut buf))
            }
            LookedUp::Bool(b) => f(if *b { "true" } else { "false" }),
        }
    }
}

/// Knative's `LookupAttribute` (knative-semantics.md §2.2): `specversion`, `type`, `source`,
/// `id` always; `subject`, `dataschema` (alias `schemaurl`), `datacontenttype`,
/// `datacontentencoding` always present (`""` when unset); `datamediatype` = the media type of
/// `datacontenttype` without parameters, lower-cased; `time` always present (the event's own
/// text, or [`ZERO_TIME`]); anything else is an extension, `None` when the event lacks it.
pub fn lookup_attribute<'a>(event: &'a Event, name: &str) -> Option<LookedUp<'a>> {
    let text = |v: &'a Option<Arc<str>>| LookedUp::Str(v.as_deref().unwrap_or(""));
    Some(match name {
        "specversion" => LookedUp::Str(event.specversion.as_str()),
        "type" => LookedUp::Str(&event.ty),
        "source" => LookedUp::Str(&event.source),
        "id" => LookedUp::Str(&event.id),
        "subject" => text(&event.subject),
        "dataschema" | "schemaurl" => text(&event.dataschema),
        "datacontenttype" => text(&event.datacontenttype),
        "datacontentencoding" => text(&event.datacontentencoding),
        "time" => LookedUp::Str(event.time.as_deref().unwrap_or(ZERO_TIME)),
        "datamediatype" => {
            let ct = event.datacontenttype.as_deref().unwrap_or("");
            let mt = ct.split(';').next().unwrap_or("").trim();
            if mt.bytes().any(|b| b.is_ascii_uppercase()) {
                LookedUp::Owned(mt.to_ascii_lowercase())
            } else {
                LookedUp::Str(mt)
            }
        }
        _ => match event.extension(name)? {
            ExtValue::String(s) => LookedUp::Str(s),
            ExtValue::Integer(i) => LookedUp::Int(*i),
            ExtValue::Boolean(b) => LookedUp::Bool(*b),
        },
    })
}

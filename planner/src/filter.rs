//! Trigger filters with Knative's tri-state semantics (knative-semantics.md §2).
//!
//! `Filter` is what a Trigger's `filter.attributes` / `sourceAndType` / `filters` compile to.
//! Evaluation returns [`TriState`]: only `Fail` blocks delivery.

use crate::cesql::Expr;
use crate::event::Event;
use std::sync::Arc;

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
    /// Evaluates the filter on `event`.
    pub fn evaluate(&self, _event: &Event) -> TriState {
        TriState::NoFilter
    }
}

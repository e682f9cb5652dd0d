//! [`Filter::explain`]: the filter tree with each node's result, for `eventflow explain`.
//!
//! Built on the very functions [`Filter::evaluate`] uses (the leaf tests, the `all`/`any`/`not`
//! combinators with their short-circuits, CESQL's `matches`), so a trace's root result is
//! always `evaluate`'s result; children an `all`/`any` did not evaluate are marked so.

use super::{
    all_of, any_of, cesql_result, dialect, dialect_ignored, dialect_pair, exact_test,
    legacy_attributes, legacy_pair, lookup_attribute, not_of, prefix_test, suffix_test,
    DialectTest, Filter, TriState,
};
use crate::event::Event;
use std::fmt::Write;

/// What a traced node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceNode {
    /// No filter (`NoFilter`).
    None,
    /// A map of attribute tests: `dialect` is `attributes` (legacy `filter`), `exact`,
    /// `prefix` or `suffix`.
    Pairs {
        /// Which dialect.
        dialect: &'static str,
        /// One entry per key, in manifest order.
        pairs: Vec<PairTrace>,
        /// An `exact`/`prefix`/`suffix` map with an empty name or value, or no keys: Knative
        /// drops the element (`NoFilter`).
        ignored: bool,
    },
    /// `all` (a Trigger's `filters` list is one `all`).
    All,
    /// `any`.
    Any,
    /// `not`.
    Not,
    /// `cesql`, with the value and errors of a complete evaluation (CESQL v1 §4).
    Cesql {
        /// The expression as written.
        expression: String,
        /// The resulting value (`true`, `false`, `42`, `'text'`); `None` if not evaluated.
        value: Option<String>,
        /// Every error raised (`missingAttribute error: …`); any error fails the filter.
        errors: Vec<String>,
    },
}

/// One key of an attribute map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairTrace {
    /// Attribute name.
    pub name: String,
    /// The filter value (legacy `""`: present and non-empty).
    pub want: String,
    /// The event's value as a canonical string; `None` when it has no such attribute (or the
    /// node was not evaluated).
    pub have: Option<String>,
    /// Whether this key matched; `None` when not evaluated or the map is ignored.
    pub ok: Option<bool>,
}

/// A filter node with its result and its children (for `all`, `any`, `not`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterTrace {
    /// What the node is.
    pub node: TraceNode,
    /// Its result; `None` when an enclosing `all`/`any` stopped before it (short-circuit).
    pub result: Option<TriState>,
    /// Sub-filters, in manifest order.
    pub children: Vec<FilterTrace>,
}

impl Filter {
    /// Evaluates the filter like [`Filter::evaluate`] and returns the whole tree with each
    /// node's tri-state result, the event values each attribute test saw, and the value and
    /// errors of CESQL expressions. `explain(e).result == Some(evaluate(e))` always.
    pub fn explain(&self, event: &Event) -> FilterTrace {
        let leaf = |node, r| FilterTrace {
            node,
            result: Some(r),
            children: Vec::new(),
        };
        match self {
            Filter::None => leaf(TraceNode::None, TriState::NoFilter),
            Filter::Attributes(p) => {
                let pairs = traced_pairs(p, event, |n, w| legacy_pair(event, n, w));
                let node = TraceNode::Pairs {
                    dialect: "attributes",
                    pairs,
                    ignored: false,
                };
                leaf(node, legacy_attributes(p, event))
            }
            Filter::Exact(p) => dialect_trace("exact", p, event, exact_test),
            Filter::Prefix(p) => dialect_trace("prefix", p, event, prefix_test),
            Filter::Suffix(p) => dialect_trace("suffix", p, event, suffix_test),
            Filter::All(children) => combined(TraceNode::All, children, event, |it| all_of(it)),
            Filter::Any(children) => combined(TraceNode::Any, children, event, |it| any_of(it)),
            Filter::Not(inner) => {
                let t = inner.explain(event);
                let r = not_of(t.result.unwrap_or(TriState::NoFilter));
                FilterTrace {
                    node: TraceNode::Not,
                    result: Some(r),
                    children: vec![t],
                }
            }
            Filter::Cesql(expr, text) => {
                let (value, errors) = expr.evaluate(event);
                let node = TraceNode::Cesql {
                    expression: text.clone(),
                    value: Some(value.to_string()),
                    errors: errors.iter().map(ToString::to_string).collect(),
                };
                leaf(node, cesql_result(expr, event))
            }
        }
    }

    /// The tree without evaluating anything (every result `None`).
    pub fn outline(&self) -> FilterTrace {
        let untested = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(name, want)| PairTrace {
                    name: name.clone(),
                    want: want.clone(),
                    have: None,
                    ok: None,
                })
                .collect()
        };
        let (node, children) = match self {
            Filter::None => (TraceNode::None, Vec::new()),
            Filter::Attributes(p) => (pairs_node("attributes", untested(p), false), Vec::new()),
            Filter::Exact(p) => (pairs_node("exact", untested(p), dialect_ignored(p)), vec![]),
            Filter::Prefix(p) => (
                pairs_node("prefix", untested(p), dialect_ignored(p)),
                vec![],
            ),
            Filter::Suffix(p) => (
                pairs_node("suffix", untested(p), dialect_ignored(p)),
                vec![],
            ),
            Filter::All(c) => (TraceNode::All, c.iter().map(Filter::outline).collect()),
            Filter::Any(c) => (TraceNode::Any, c.iter().map(Filter::outline).collect()),
            Filter::Not(inner) => (TraceNode::Not, vec![inner.outline()]),
            Filter::Cesql(_, text) => {
                let node = TraceNode::Cesql {
                    expression: text.clone(),
                    value: None,
                    errors: Vec::new(),
                };
                (node, Vec::new())
            }
        };
        FilterTrace {
            node,
            result: None,
            children,
        }
    }
}

fn pairs_node(dialect: &'static str, pairs: Vec<PairTrace>, ignored: bool) -> TraceNode {
    TraceNode::Pairs {
        dialect,
        pairs,
        ignored,
    }
}

/// Every key with the event's value and its own test (all keys shown, even after a failing
/// one; the node's result comes from the evaluating function itself).
fn traced_pairs(
    pairs: &[(String, String)],
    event: &Event,
    test: impl Fn(&str, &str) -> bool,
) -> Vec<PairTrace> {
    pairs
        .iter()
        .map(|(name, want)| PairTrace {
            name: name.clone(),
            want: want.clone(),
            have: lookup_attribute(event, name).map(|v| v.with_str(str::to_string)),
            ok: Some(test(name, want)),
        })
        .collect()
}

fn dialect_trace(
    name: &'static str,
    pairs: &[(String, String)],
    event: &Event,
    test: DialectTest,
) -> FilterTrace {
    let ignored = dialect_ignored(pairs);
    let mut traced = traced_pairs(pairs, event, |n, w| dialect_pair(event, n, w, test));
    if ignored {
        traced.iter_mut().for_each(|p| p.ok = None);
    }
    FilterTrace {
        node: pairs_node(name, traced, ignored),
        result: Some(dialect(pairs, event, test)),
        children: Vec::new(),
    }
}

/// `all` / `any` through the shared combinator, fed lazily: the children it does not pull
/// (its short-circuit) stay unevaluated, exactly as in [`Filter::evaluate`].
fn combined(
    node: TraceNode,
    children: &[Filter],
    event: &Event,
    combine: impl FnOnce(&mut dyn Iterator<Item = TriState>) -> TriState,
) -> FilterTrace {
    let mut traces: Vec<FilterTrace> = Vec::with_capacity(children.len());
    let result = combine(&mut children.iter().map(|c| {
        let t = c.explain(event);
        let r = t.result.unwrap_or(TriState::NoFilter);
        traces.push(t);
        r
    }));
    traces.extend(children[traces.len()..].iter().map(Filter::outline));
    FilterTrace {
        node,
        result: Some(result),
        children: traces,
    }
}

impl FilterTrace {
    /// Renders the tree, one node per line, indented two spaces per level, with `→ pass`,
    /// `→ fail`, `→ no filter` or `→ not evaluated`; attribute keys and CESQL details on
    /// indented lines below their node.
    pub fn render(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        let result = match self.result {
            Some(TriState::Pass) => "pass",
            Some(TriState::Fail) => "fail",
            Some(TriState::NoFilter) => "no filter",
            None => "not evaluated",
        };
        let _ = match &self.node {
            TraceNode::None => writeln!(out, "{pad}no filter → {result}"),
            TraceNode::Pairs {
                dialect, ignored, ..
            } => {
                let note = if *ignored {
                    " (empty map, name or value: Knative ignores the element)"
                } else {
                    ""
                };
                writeln!(out, "{pad}{dialect}{note} → {result}")
            }
            TraceNode::All => writeln!(out, "{pad}all → {result}"),
            TraceNode::Any => writeln!(out, "{pad}any → {result}"),
            TraceNode::Not => writeln!(out, "{pad}not → {result}"),
            TraceNode::Cesql { expression, .. } => {
                writeln!(out, "{pad}cesql {expression:?} → {result}")
            }
        };
        match &self.node {
            TraceNode::Pairs { dialect, pairs, .. } => {
                for p in pairs {
                    render_pair(dialect, p, indent + 2, out);
                }
            }
            TraceNode::Cesql {
                value: Some(v),
                errors,
                ..
            } => {
                let _ = writeln!(out, "{pad}  value {v}");
                for e in errors {
                    let _ = writeln!(out, "{pad}  error {e}");
                }
            }
            _ => {}
        }
        for c in &self.children {
            c.render(indent + 2, out);
        }
    }
}

fn render_pair(dialect: &str, p: &PairTrace, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let want = match dialect {
        "attributes" if p.want.is_empty() => "present and non-empty".to_string(),
        "attributes" | "exact" => format!("= {:?}", p.want),
        "prefix" => format!("starts with {:?}", p.want),
        _ => format!("ends with {:?}", p.want),
    };
    let have = match (&p.have, p.ok) {
        (_, None) => String::new(),
        (Some(h), _) => format!(" (event: {h:?})"),
        (None, _) => " (event: no such attribute)".to_string(),
    };
    let ok = match p.ok {
        Some(true) => " ✓",
        Some(false) => " ✗",
        None => "",
    };
    let _ = writeln!(out, "{pad}{} {want}{have}{ok}", p.name);
}

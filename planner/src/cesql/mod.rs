//! CloudEvents SQL v1 (CESQL): lexer, parser, typed evaluation with casts, functions, LIKE,
//! IN, EXISTS and error values. Source: cloudevents/spec `cesql/spec.md` v1.0.0; the TCK in
//! `tests/data/cesql-tck/` passes 100 % (`planner/tests/cesql_tck.rs`).
//!
//! ```
//! use eventflow_planner::cesql::{Expr, Value};
//! use eventflow_planner::event::Event;
//!
//! let expr = Expr::parse("type LIKE 'com.example.%' AND EXISTS subject").unwrap();
//! let mut event = Event::new("1", "/src", "com.example.created");
//! assert!(!expr.matches(&event)); // no subject
//! event.subject = Some("s".into());
//! assert!(expr.matches(&event));
//! assert_eq!(expr.evaluate(&event), (Value::Boolean(true), vec![]));
//! ```
//!
//! # Decisions (see also DESIGN.md §4)
//!
//! * **`AND`, `OR` and `XOR` share one precedence level and associate left to right**, as the
//!   spec text says: `FALSE AND FALSE OR TRUE` is `(FALSE AND FALSE) OR TRUE` = `true`.
//!   sdk-go (and therefore Knative) follows the ANTLR grammar's `<assoc=right>` and yields
//!   `false` for that expression; write parentheses when mixing them.
//! * Unary `NOT` / `-` bind tighter than every binary operator: `NOT a = b` is `(NOT a) = b`.
//! * Strings are sequences of Unicode characters: `LIKE`'s `_`, `LENGTH`, `LEFT`, `RIGHT` and
//!   `SUBSTRING` count characters, not bytes (sdk-go counts bytes).
//! * Keywords and function names are case-insensitive; identifiers are lower-cased.
//! * A sign written directly before digits is part of the integer literal (so
//!   `-2147483648` is valid), but `4 -1` is accepted as a subtraction (sdk-go: parse error).
//! * Implicit Integer → Boolean casts fail with a CastError; only `BOOL(x)` converts integers
//!   (our copy of the TCK expects `NOT 10` = `true` + CastError; see `value.rs`).
//! * Integer overflow in `+ - * /` and unary `-` yields `0` plus a MathError (unspecified by
//!   the spec); `ABS(-2147483648)` yields `2147483647` plus a MathError (spec).
//! * As a filter ([`Expr::matches`]) any error fails, and so does a non-Boolean result.

mod ast;
mod eval;
mod functions;
mod lexer;
mod like;
mod parser;
mod value;

pub use value::{Type, Value};

/// Formats `i` in base 10 into `buf` without allocating; returns the text (used by filters
/// to compare Integer extensions by their canonical string).
pub fn format_int(i: i32, buf: &mut [u8; 11]) -> &str {
    value::int_to_str(i, buf)
}

use crate::event::Attributes;
use std::fmt;

/// A parsed CESQL expression. Cheap to evaluate many times; share it behind an `Arc`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    root: ast::Node,
}

/// A CESQL expression that does not parse (CESQL v1 §4, error kind `parse`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct ParseError {
    /// 0-based character offset.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

/// The kind of a CESQL error (CESQL v1 §4; the names the TCK uses in its `error` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `parse`: the expression does not compile (only from [`Expr::parse`], as [`ParseError`]).
    Parse,
    /// `math`: division or modulo by zero, integer overflow.
    Math,
    /// `cast`: an implicit or explicit cast failed (e.g. `INT('abc')`).
    Cast,
    /// `missingAttribute`: the expression reads an attribute the event does not have.
    MissingAttribute,
    /// `missingFunction`: no function with that name and arity.
    MissingFunction,
    /// `functionEvaluation`: a function rejected its arguments (e.g. `LEFT('a', -1)`).
    FunctionEvaluation,
    /// `generic`: anything else (not raised by this implementation today).
    Generic,
}

impl ErrorKind {
    /// The TCK / spec name: `parse`, `math`, `cast`, `missingAttribute`, `missingFunction`,
    /// `functionEvaluation`, `generic`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Parse => "parse",
            ErrorKind::Math => "math",
            ErrorKind::Cast => "cast",
            ErrorKind::MissingAttribute => "missingAttribute",
            ErrorKind::MissingFunction => "missingFunction",
            ErrorKind::FunctionEvaluation => "functionEvaluation",
            ErrorKind::Generic => "generic",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error raised while evaluating an expression; evaluation still produces a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} error: {message}")]
pub struct EvalError {
    /// Which kind of error.
    pub kind: ErrorKind,
    /// Human-readable details.
    pub message: String,
}

impl Expr {
    /// Parses a CESQL expression.
    ///
    /// # Errors
    /// [`ParseError`] with the position and what was expected: bad tokens, unbalanced
    /// parentheses, a non-literal `LIKE` pattern, an integer literal outside int32, an empty
    /// `IN` set or an empty expression.
    pub fn parse(text: &str) -> Result<Expr, ParseError> {
        parser::parse(text).map(|root| Expr { root })
    }

    /// Evaluates the expression in *complete* mode (CESQL v1 §4): the result value plus every
    /// error raised on the way. On error, the value is the zero value the failing operator
    /// produced (see the module docs); a missing attribute at the top level yields `false`.
    pub fn evaluate<A: Attributes + ?Sized>(&self, attrs: &A) -> (Value, Vec<EvalError>) {
        let mut errors = Vec::new();
        let mut sink = eval::Sink::collect(&mut errors);
        let v = eval::eval(&self.root, attrs, &mut sink).into_value();
        (v, errors)
    }

    /// Filter semantics (CESQL v1 §1.2, Knative): `true` only if the result is Boolean `true`
    /// and no error was raised. Builds no error messages.
    pub fn matches<A: Attributes + ?Sized>(&self, attrs: &A) -> bool {
        let mut sink = eval::Sink::count_only();
        let v = eval::eval(&self.root, attrs, &mut sink);
        sink.count() == 0 && v == value::Val::Bool(true)
    }

    /// The static type of the whole expression, or `None` when it depends on the event (a bare
    /// attribute reference such as `myext`). A filter expression whose type is
    /// `Some(Integer)` or `Some(String)` can never pass and may be rejected at plan time.
    pub fn result_type(&self) -> Option<Type> {
        self.root.static_type()
    }

    /// True unless the static type is known and not Boolean (a bare attribute may be Boolean).
    pub fn may_be_boolean(&self) -> bool {
        matches!(self.result_type(), None | Some(Type::Boolean))
    }

    /// Upper-case names of called functions that do not exist with the given arity (each
    /// such call evaluates to `false` plus a MissingFunctionError); useful as a plan-time lint.
    pub fn unknown_functions(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.root.visit_missing_functions(&mut |n| out.push(n));
        out
    }
}

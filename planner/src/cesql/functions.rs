//! Built-in functions (CESQL v1 §3.5): dispatch by case-insensitive name **and** arity,
//! resolved once at parse time. String functions count Unicode characters, not bytes.

use super::eval::Sink;
use super::value::{into_str, to_bool, to_int, BoolCast, Type, Val};
use super::ErrorKind;
use std::borrow::Cow;

/// A resolved function call target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Func {
    /// `LENGTH(s)`: number of characters.
    Length,
    /// `CONCAT(s...)`, 0+ arguments.
    Concat,
    /// `CONCAT_WS(sep, s...)`, 1+ arguments.
    ConcatWs,
    /// `LOWER(s)`.
    Lower,
    /// `UPPER(s)`.
    Upper,
    /// `TRIM(s)`: strips leading/trailing Unicode whitespace.
    Trim,
    /// `LEFT(s, n)`.
    Left,
    /// `RIGHT(s, n)`.
    Right,
    /// `SUBSTRING(s, pos)` / `SUBSTRING(s, pos, len)`.
    Substring,
    /// `ABS(n)`.
    Abs,
    /// `INT(x)`: explicit cast.
    Int,
    /// `BOOL(x)`: explicit cast.
    Bool,
    /// `STRING(x)`: explicit cast.
    String,
    /// No function with this (upper-cased) name and arity: evaluates to `false` plus a
    /// MissingFunctionError.
    Missing(Box<str>),
}

impl Func {
    /// Resolves `name` (any case) called with `arity` arguments.
    pub(crate) fn resolve(name: &str, arity: usize) -> Func {
        let upper = name.to_ascii_uppercase();
        match (upper.as_str(), arity) {
            ("LENGTH", 1) => Func::Length,
            ("CONCAT", _) => Func::Concat,
            ("CONCAT_WS", n) if n >= 1 => Func::ConcatWs,
            ("LOWER", 1) => Func::Lower,
            ("UPPER", 1) => Func::Upper,
            ("TRIM", 1) => Func::Trim,
            ("LEFT", 2) => Func::Left,
            ("RIGHT", 2) => Func::Right,
            ("SUBSTRING", 2 | 3) => Func::Substring,
            ("ABS", 1) => Func::Abs,
            ("INT", 1) => Func::Int,
            ("BOOL", 1) => Func::Bool,
            ("STRING", 1) => Func::String,
            _ => Func::Missing(upper.into_boxed_str()),
        }
    }

    /// The upper-case name.
    pub(crate) fn name(&self) -> &str {
        match self {
            Func::Length => "LENGTH",
            Func::Concat => "CONCAT",
            Func::ConcatWs => "CONCAT_WS",
            Func::Lower => "LOWER",
            Func::Upper => "UPPER",
            Func::Trim => "TRIM",
            Func::Left => "LEFT",
            Func::Right => "RIGHT",
            Func::Substring => "SUBSTRING",
            Func::Abs => "ABS",
            Func::Int => "INT",
            Func::Bool => "BOOL",
            Func::String => "STRING",
            Func::Missing(n) => n,
        }
    }

    /// The declared return type (a missing function yields Boolean `false`).
    pub(crate) fn return_type(&self) -> Type {
        match self {
            Func::Length | Func::Abs | Func::Int => Type::Integer,
            Func::Bool | Func::Missing(_) => Type::Boolean,
            _ => Type::String,
        }
    }

    /// Applies the function to already evaluated arguments (arity was checked by
    /// [`Func::resolve`]); arguments are cast to the parameter types, a failed cast uses the
    /// zero value and raises a CastError.
    pub(crate) fn call<'a>(&self, args: &mut [Val<'a>], sink: &mut Sink<'_>) -> Val<'a> {
        match self {
            Func::Length => Val::Int(saturate(str_arg(args, 0).chars().count())),
            Func::Concat => {
                let mut out = String::new();
                for a in args.iter_mut() {
                    out.push_str(&into_str(take(a)));
                }
                Val::Str(Cow::Owned(out))
            }
            Func::ConcatWs => {
                let sep = str_arg(args, 0);
                let mut out = String::new();
                for (k, a) in args.iter_mut().skip(1).enumerate() {
                    if k > 0 {
                        out.push_str(&sep);
                    }
                    out.push_str(&into_str(take(a)));
                }
                Val::Str(Cow::Owned(out))
            }
            Func::Lower => Val::Str(Cow::Owned(str_arg(args, 0).to_lowercase())),
            Func::Upper => Val::Str(Cow::Owned(str_arg(args, 0).to_uppercase())),
            Func::Trim => Val::Str(match str_arg(args, 0) {
                Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
                Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
            }),
            Func::Left | Func::Right => {
                let n = int_arg(args, 1, sink);
                let s = str_arg(args, 0);
                if n < 0 {
                    sink.raise(ErrorKind::FunctionEvaluation, || {
                        format!("{}: length must not be negative, got {n}", self.name())
                    });
                    return Val::Str(s);
                }
                let len = s.chars().count();
                let n = usize::try_from(n).unwrap_or(usize::MAX).min(len);
                let range = if *self == Func::Left {
                    0..n
                } else {
                    len - n..len
                };
                Val::Str(char_slice(s, range))
            }
            Func::Substring => substring(args, sink),
            Func::Abs => {
                let n = int_arg(args, 0, sink);
                match n.checked_abs() {
                    Some(a) => Val::Int(a),
                    None => {
                        sink.raise(ErrorKind::Math, || format!("ABS({n}) overflows"));
                        Val::Int(i32::MAX)
                    }
                }
            }
            Func::Int => Val::Int(int_arg(args, 0, sink)),
            Func::Bool => Val::Bool(
                args.first()
                    .is_some_and(|a| to_bool(a, BoolCast::Explicit, sink)),
            ),
            Func::String => Val::Str(str_arg(args, 0)),
            Func::Missing(name) => {
                sink.raise(ErrorKind::MissingFunction, || {
                    format!("no function {name} with {} argument(s)", args.len())
                });
                Val::Bool(false)
            }
        }
    }
}

/// `SUBSTRING(s, pos[, len])`: 1-based `pos`, negative counts from the end, `0` gives `""`.
/// `pos` beyond either end or a negative `len` gives `""` plus a FunctionEvaluationError.
fn substring<'a>(args: &mut [Val<'a>], sink: &mut Sink<'_>) -> Val<'a> {
    let pos = int_arg(args, 1, sink);
    let max = if args.len() > 2 {
        Some(int_arg(args, 2, sink))
    } else {
        None
    };
    let s = str_arg(args, 0);
    let len = i64::try_from(s.chars().count()).unwrap_or(i64::MAX);
    let p = i64::from(pos);
    if p > len || p < -len {
        sink.raise(ErrorKind::FunctionEvaluation, || {
            format!("SUBSTRING: position {pos} is out of range for a string of {len} characters")
        });
        return Val::zero(Type::String);
    }
    if let Some(m) = max.filter(|m| *m < 0) {
        sink.raise(ErrorKind::FunctionEvaluation, || {
            format!("SUBSTRING: length must not be negative, got {m}")
        });
        return Val::zero(Type::String);
    }
    if p == 0 {
        return Val::zero(Type::String);
    }
    let start = if p > 0 { p - 1 } else { len + p };
    let end = match max {
        Some(m) => (start + i64::from(m)).min(len),
        None => len,
    };
    let to_usize = |x: i64| usize::try_from(x).unwrap_or(0);
    Val::Str(char_slice(s, to_usize(start)..to_usize(end)))
}

fn take<'a>(v: &mut Val<'a>) -> Val<'a> {
    std::mem::replace(v, Val::Bool(false))
}

fn str_arg<'a>(args: &mut [Val<'a>], i: usize) -> Cow<'a, str> {
    args.get_mut(i)
        .map_or(Cow::Borrowed(""), |a| into_str(take(a)))
}

fn int_arg(args: &[Val<'_>], i: usize, sink: &mut Sink<'_>) -> i32 {
    args.get(i).map_or(0, |a| to_int(a, sink))
}

fn saturate(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The characters `range` (character indices, clamped) of `s`, borrowing when `s` does.
fn char_slice(s: Cow<'_, str>, range: std::ops::Range<usize>) -> Cow<'_, str> {
    let byte = |ci: usize| s.char_indices().nth(ci).map_or(s.len(), |(b, _)| b);
    let (a, b) = (byte(range.start), byte(range.end.max(range.start)));
    match s {
        Cow::Borrowed(x) => Cow::Borrowed(&x[a..b]),
        Cow::Owned(x) => Cow::Owned(x[a..b].to_string()),
    }
}

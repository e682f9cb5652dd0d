//! CESQL evaluation (CESQL v1 §3.2–3.5, §4).
//!
//! Error rule (checked against the TCK): every node is total. An error raised *inside a
//! child* makes the node return the zero value of its own return type without computing
//! (`true AND (1 != 1/0)` is `false`; `missing / 0` is `0` with only a MissingAttributeError).
//! A cast error raised by the node itself uses the zero value of the cast's target type and
//! computation continues (`NOT 10` is `NOT false` = `true`, with a CastError). `AND` / `OR`
//! short-circuit. A missing attribute raises MissingAttributeError and, as the type is
//! unknown, yields Boolean `false`.

use super::ast::{ArithOp, CmpOp, LogicOp, Node};
use super::functions::Func;
use super::value::{cast_to, equal_as_right, into_str, to_bool, to_int, BoolCast, Val};
use super::{ErrorKind, EvalError};
use crate::event::{AttrValue, Attributes};
use std::borrow::Cow;

/// Where errors go: a list (complete evaluation) or just a count (fail fast, no messages
/// are built).
pub(crate) struct Sink<'v> {
    out: Option<&'v mut Vec<EvalError>>,
    count: usize,
}

impl<'v> Sink<'v> {
    /// Collects every error into `out`.
    pub(crate) fn collect(out: &'v mut Vec<EvalError>) -> Sink<'v> {
        Sink {
            out: Some(out),
            count: 0,
        }
    }

    /// Only counts errors.
    pub(crate) fn count_only() -> Sink<'static> {
        Sink {
            out: None,
            count: 0,
        }
    }

    /// Records an error; `message` is only called when errors are collected.
    pub(crate) fn raise(&mut self, kind: ErrorKind, message: impl FnOnce() -> String) {
        self.count += 1;
        if let Some(out) = self.out.as_mut() {
            out.push(EvalError {
                kind,
                message: message(),
            });
        }
    }

    /// Number of errors raised so far.
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// Evaluates `node`; `None` when the evaluation raised an error (the caller then returns
/// its own zero value).
fn child<'a, A: Attributes + ?Sized>(
    node: &'a Node,
    attrs: &'a A,
    sink: &mut Sink<'_>,
) -> Option<Val<'a>> {
    let before = sink.count;
    let v = eval(node, attrs, sink);
    (sink.count == before).then_some(v)
}

/// Evaluates `node` against `attrs`.
pub(crate) fn eval<'a, A: Attributes + ?Sized>(
    node: &'a Node,
    attrs: &'a A,
    sink: &mut Sink<'_>,
) -> Val<'a> {
    match node {
        Node::Lit(l) => l.val(),
        Node::Attr(name) => match attrs.attribute(name) {
            Some(AttrValue::Str(s)) => Val::Str(Cow::Borrowed(s)),
            Some(AttrValue::Int(i)) => Val::Int(i),
            Some(AttrValue::Bool(b)) => Val::Bool(b),
            None => {
                sink.raise(ErrorKind::MissingAttribute, || {
                    format!("attribute '{name}' is not set on the event")
                });
                Val::Bool(false)
            }
        },
        Node::Exists(name) => Val::Bool(attrs.attribute(name).is_some()),
        Node::Not(x) => match child(x, attrs, sink) {
            Some(v) => Val::Bool(!to_bool(&v, BoolCast::Implicit, sink)),
            None => Val::Bool(false),
        },
        Node::Neg(x) => match child(x, attrs, sink) {
            Some(v) => {
                let i = to_int(&v, sink);
                Val::Int(checked(i.checked_neg(), sink, || {
                    format!("-({i}) overflows")
                }))
            }
            None => Val::Int(0),
        },
        Node::Logic(op, l, r) => Val::Bool(logic(*op, l, r, attrs, sink)),
        Node::Cmp(op, l, r) => {
            let (Some(lv), Some(rv)) = (child(l, attrs, sink), child(r, attrs, sink)) else {
                return Val::Bool(false);
            };
            Val::Bool(match op {
                CmpOp::Eq => equal_as_right(&lv, &rv, sink),
                CmpOp::Ne => !equal_as_right(&lv, &rv, sink),
                _ => {
                    let (a, b) = (to_int(&lv, sink), to_int(&rv, sink));
                    match op {
                        CmpOp::Lt => a < b,
                        CmpOp::Le => a <= b,
                        CmpOp::Gt => a > b,
                        _ => a >= b,
                    }
                }
            })
        }
        Node::Arith(op, l, r) => {
            let (Some(lv), Some(rv)) = (child(l, attrs, sink), child(r, attrs, sink)) else {
                return Val::Int(0);
            };
            let (a, b) = (to_int(&lv, sink), to_int(&rv, sink));
            Val::Int(arith(*op, a, b, sink))
        }
        Node::Like {
            operand,
            pattern,
            negated,
        } => match child(operand, attrs, sink) {
            Some(v) => Val::Bool(pattern.matches(&into_str(v)) != *negated),
            None => Val::Bool(false),
        },
        Node::In {
            operand,
            set,
            negated,
        } => {
            let Some(lv) = child(operand, attrs, sink) else {
                return Val::Bool(false);
            };
            let target = lv.ty();
            for e in set {
                let Some(ev) = child(e, attrs, sink) else {
                    return Val::Bool(false);
                };
                let ev = cast_to(ev, target, sink);
                if lv == ev {
                    return Val::Bool(!*negated);
                }
            }
            Val::Bool(*negated)
        }
        Node::Call { func, args } => call(func, args, attrs, sink),
    }
}

fn logic<'a, A: Attributes + ?Sized>(
    op: LogicOp,
    l: &'a Node,
    r: &'a Node,
    attrs: &'a A,
    sink: &mut Sink<'_>,
) -> bool {
    let Some(lv) = child(l, attrs, sink) else {
        return false;
    };
    let a = to_bool(&lv, BoolCast::Implicit, sink);
    match op {
        LogicOp::And if !a => return false,
        LogicOp::Or if a => return true,
        _ => {}
    }
    let Some(rv) = child(r, attrs, sink) else {
        return false;
    };
    let b = to_bool(&rv, BoolCast::Implicit, sink);
    match op {
        LogicOp::Xor => a ^ b,
        // AND with a = true, OR with a = false: the right side decides.
        _ => b,
    }
}

fn arith(op: ArithOp, a: i32, b: i32, sink: &mut Sink<'_>) -> i32 {
    if matches!(op, ArithOp::Div | ArithOp::Mod) && b == 0 {
        sink.raise(ErrorKind::Math, || {
            format!("division by zero ({a} {op:?} 0)")
        });
        return 0;
    }
    let r = match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div => a.checked_div(b),
        ArithOp::Mod => a.checked_rem(b),
    };
    checked(r, sink, || format!("integer overflow in {a} {op:?} {b}"))
}

/// Integer overflow (not specified by CESQL v1): `0` plus a MathError.
fn checked(r: Option<i32>, sink: &mut Sink<'_>, msg: impl FnOnce() -> String) -> i32 {
    r.unwrap_or_else(|| {
        sink.raise(ErrorKind::Math, msg);
        0
    })
}

fn call<'a, A: Attributes + ?Sized>(
    func: &Func,
    args: &'a [Node],
    attrs: &'a A,
    sink: &mut Sink<'_>,
) -> Val<'a> {
    if let Func::Missing(name) = func {
        // Arguments are not evaluated for a function that does not exist.
        sink.raise(ErrorKind::MissingFunction, || {
            format!("no function {name} taking {} argument(s)", args.len())
        });
        return Val::Bool(false);
    }
    let zero = || Val::zero(func.return_type());
    if args.len() <= 3 {
        // Common case: no heap allocation for the argument list.
        let mut buf = [Val::Bool(false), Val::Bool(false), Val::Bool(false)];
        for (slot, a) in buf.iter_mut().zip(args) {
            match child(a, attrs, sink) {
                Some(v) => *slot = v,
                None => return zero(),
            }
        }
        func.call(&mut buf[..args.len()], sink)
    } else {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            match child(a, attrs, sink) {
                Some(v) => vals.push(v),
                None => return zero(),
            }
        }
        func.call(&mut vals, sink)
    }
}

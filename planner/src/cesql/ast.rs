//! The CESQL expression tree produced by the parser and walked by the evaluator.

use super::functions::Func;
use super::like::LikePattern;
use super::value::{Type, Val};
use std::borrow::Cow;

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lit {
    Str(Box<str>),
    Int(i32),
    Bool(bool),
}

impl Lit {
    pub(crate) fn val(&self) -> Val<'_> {
        match self {
            Lit::Str(s) => Val::Str(Cow::Borrowed(s)),
            Lit::Int(i) => Val::Int(*i),
            Lit::Bool(b) => Val::Bool(*b),
        }
    }
}

/// `AND`, `OR`, `XOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogicOp {
    And,
    Or,
    Xor,
}

/// `=`, `!=`/`<>`, `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// `+ - * / %`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// The expression tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Lit(Lit),
    /// An attribute reference, name lower-cased.
    Attr(Box<str>),
    /// `EXISTS ident`, name lower-cased.
    Exists(Box<str>),
    Not(Box<Node>),
    Neg(Box<Node>),
    Logic(LogicOp, Box<Node>, Box<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    Arith(ArithOp, Box<Node>, Box<Node>),
    Like {
        operand: Box<Node>,
        pattern: LikePattern,
        negated: bool,
    },
    In {
        operand: Box<Node>,
        set: Vec<Node>,
        negated: bool,
    },
    Call {
        func: Func,
        args: Vec<Node>,
    },
}

impl Node {
    /// The static type, when known without an event (attributes are dynamically typed).
    pub(crate) fn static_type(&self) -> Option<Type> {
        match self {
            Node::Lit(Lit::Str(_)) => Some(Type::String),
            Node::Lit(Lit::Int(_)) | Node::Neg(_) | Node::Arith(..) => Some(Type::Integer),
            Node::Lit(Lit::Bool(_))
            | Node::Exists(_)
            | Node::Not(_)
            | Node::Logic(..)
            | Node::Cmp(..)
            | Node::Like { .. }
            | Node::In { .. } => Some(Type::Boolean),
            Node::Attr(_) => None,
            Node::Call { func, .. } => Some(func.return_type()),
        }
    }

    /// Calls `f` on every unresolved function name in the tree.
    pub(crate) fn visit_missing_functions<'a>(&'a self, f: &mut dyn FnMut(&'a str)) {
        match self {
            Node::Lit(_) | Node::Attr(_) | Node::Exists(_) => {}
            Node::Not(x) | Node::Neg(x) => x.visit_missing_functions(f),
            Node::Logic(_, l, r) | Node::Cmp(_, l, r) | Node::Arith(_, l, r) => {
                l.visit_missing_functions(f);
                r.visit_missing_functions(f);
            }
            Node::Like { operand, .. } => operand.visit_missing_functions(f),
            Node::In { operand, set, .. } => {
                operand.visit_missing_functions(f);
                set.iter().for_each(|n| n.visit_missing_functions(f));
            }
            Node::Call { func, args } => {
                if let Func::Missing(name) = func {
                    f(name);
                }
                args.iter().for_each(|n| n.visit_missing_functions(f));
            }
        }
    }
}

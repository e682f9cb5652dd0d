//! CESQL parser (CESQL v1 §3.6 precedence; grammar `CESQLParser.g4`), a Pratt parser.
//!
//! Binding power, loosest first: `AND`/`OR`/`XOR` (one level, **left to right**) <
//! comparisons < `+ -` < `* / %` < `[NOT] IN` < `[NOT] LIKE` < unary `NOT`/`-` < atoms,
//! function calls, `EXISTS ident` and parenthesised expressions. Unary operators bind tighter
//! than every binary operator, so `NOT a = b` is `(NOT a) = b`.

use super::ast::{ArithOp, CmpOp, Lit, LogicOp, Node};
use super::functions::Func;
use super::lexer::{tokenize, Tok, Token};
use super::like::LikePattern;
use super::ParseError;

const BP_LOGIC: u8 = 1;
const BP_CMP: u8 = 2;
const BP_ADD: u8 = 3;
const BP_MUL: u8 = 4;
const BP_IN: u8 = 5;
const BP_LIKE: u8 = 6;

/// Parses a whole expression.
pub(crate) fn parse(text: &str) -> Result<Node, ParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, at: 0 };
    let node = p.expr(0)?;
    match p.peek() {
        Tok::Eof => Ok(node),
        _ => Err(p.unexpected("an operator or the end of the expression")),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

fn keyword(t: &Tok) -> Option<String> {
    match t {
        Tok::Word(w) => Some(w.to_ascii_uppercase()),
        _ => None,
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> &Tok {
        self.tokens
            .get(self.at + k)
            .or(self.tokens.last())
            .map_or(&Tok::Eof, |t| &t.tok)
    }

    fn token(&self) -> Option<&Token> {
        self.tokens.get(self.at).or(self.tokens.last())
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        let (position, found) = match self.token() {
            Some(Token {
                tok: Tok::Eof,
                start,
                ..
            }) => (*start, "the end of the expression".to_string()),
            Some(t) => (t.start, format!("{:?}", t.tok)),
            None => (0, "nothing".to_string()),
        };
        ParseError {
            position,
            message: format!("expected {expected}, found {found}"),
        }
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), ParseError> {
        if self.peek() == t {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn expr(&mut self, min_bp: u8) -> Result<Node, ParseError> {
        let mut lhs = self.unary()?;
        loop {
            let kw = keyword(self.peek());
            let (bp, negated) = match (self.peek(), kw.as_deref()) {
                (_, Some("AND" | "OR" | "XOR")) => (BP_LOGIC, false),
                (Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge, _) => (BP_CMP, false),
                (Tok::Plus | Tok::Minus, _) => (BP_ADD, false),
                (Tok::Star | Tok::Slash | Tok::Percent, _) => (BP_MUL, false),
                (_, Some("IN")) => (BP_IN, false),
                (_, Some("LIKE")) => (BP_LIKE, false),
                (_, Some("NOT")) => match keyword(self.peek_at(1)).as_deref() {
                    Some("IN") => (BP_IN, true),
                    Some("LIKE") => (BP_LIKE, true),
                    _ => return Err(self.unexpected("LIKE or IN after NOT")),
                },
                _ => break,
            };
            if bp < min_bp {
                break;
            }
            let op = self.bump();
            if negated {
                self.bump();
            }
            lhs = match bp {
                BP_IN => self.in_set(lhs, negated)?,
                BP_LIKE => self.like(lhs, negated)?,
                _ => {
                    // Left-associative: the right side only takes tighter operators.
                    let rhs = Box::new(self.expr(bp + 1)?);
                    binary(&op, kw.as_deref(), Box::new(lhs), rhs)
                }
            };
        }
        Ok(lhs)
    }

    fn like(&mut self, operand: Node, negated: bool) -> Result<Node, ParseError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.bump();
                Ok(Node::Like {
                    operand: Box::new(operand),
                    pattern: LikePattern::compile(&s),
                    negated,
                })
            }
            _ => Err(self.unexpected("a string literal as LIKE pattern")),
        }
    }

    fn in_set(&mut self, operand: Node, negated: bool) -> Result<Node, ParseError> {
        self.expect(&Tok::LParen, "'(' after IN")?;
        let mut set = vec![self.expr(0)?];
        while *self.peek() == Tok::Comma {
            self.bump();
            set.push(self.expr(0)?);
        }
        self.expect(&Tok::RParen, "',' or ')' in the IN set")?;
        Ok(Node::In {
            operand: Box::new(operand),
            set,
            negated,
        })
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        if keyword(self.peek()).as_deref() == Some("NOT") {
            self.bump();
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        let sign = match self.peek() {
            Tok::Minus => -1i64,
            Tok::Plus => 1,
            _ => return self.primary(),
        };
        // A sign written directly before digits belongs to the literal (grammar
        // INTEGER_LITERAL), which is how `-2147483648` fits an int32.
        let adjacent = match (self.tokens.get(self.at), self.tokens.get(self.at + 1)) {
            (Some(a), Some(b)) => a.end == b.start && matches!(b.tok, Tok::Int(_)),
            _ => false,
        };
        if adjacent {
            self.bump();
            return self.int_literal(sign);
        }
        if sign > 0 {
            return Err(self.unexpected("an expression"));
        }
        self.bump();
        Ok(Node::Neg(Box::new(self.unary()?)))
    }

    fn int_literal(&mut self, sign: i64) -> Result<Node, ParseError> {
        let err = self.unexpected("an integer literal that fits 32 bits");
        match self.bump() {
            Tok::Int(Some(n)) => i32::try_from(sign * i64::from(n))
                .map(|v| Node::Lit(Lit::Int(v)))
                .map_err(|_| err),
            _ => Err(err),
        }
    }

    fn primary(&mut self) -> Result<Node, ParseError> {
        match self.peek().clone() {
            Tok::Int(_) => self.int_literal(1),
            Tok::Str(s) => {
                self.bump();
                Ok(Node::Lit(Lit::Str(s.into_boxed_str())))
            }
            Tok::LParen => {
                self.bump();
                let e = self.expr(0)?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::Word(w) => {
                let upper = w.to_ascii_uppercase();
                match upper.as_str() {
                    "TRUE" | "FALSE" => {
                        self.bump();
                        Ok(Node::Lit(Lit::Bool(upper == "TRUE")))
                    }
                    "EXISTS" => {
                        self.bump();
                        match self.peek().clone() {
                            Tok::Word(id) if is_identifier(&id) => {
                                self.bump();
                                Ok(Node::Exists(id.to_ascii_lowercase().into_boxed_str()))
                            }
                            _ => Err(self.unexpected("an attribute name after EXISTS")),
                        }
                    }
                    "AND" | "OR" | "XOR" | "NOT" | "LIKE" | "IN" => {
                        Err(self.unexpected("an expression"))
                    }
                    _ if *self.peek_at(1) == Tok::LParen => self.call(&w),
                    _ if is_identifier(&w) => {
                        self.bump();
                        Ok(Node::Attr(w.to_ascii_lowercase().into_boxed_str()))
                    }
                    _ => Err(self.unexpected("an attribute name ([a-z0-9]+)")),
                }
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn call(&mut self, name: &str) -> Result<Node, ParseError> {
        if !name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
            || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            return Err(self.unexpected("a function name (letters and '_')"));
        }
        self.bump(); // name
        self.bump(); // (
        let mut args = Vec::new();
        if *self.peek() != Tok::RParen {
            args.push(self.expr(0)?);
            while *self.peek() == Tok::Comma {
                self.bump();
                args.push(self.expr(0)?);
            }
        }
        self.expect(&Tok::RParen, "',' or ')' in the argument list")?;
        Ok(Node::Call {
            func: Func::resolve(name, args.len()),
            args,
        })
    }
}

fn is_identifier(w: &str) -> bool {
    w.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn binary(op: &Tok, kw: Option<&str>, l: Box<Node>, r: Box<Node>) -> Node {
    match (op, kw) {
        (_, Some("AND")) => Node::Logic(LogicOp::And, l, r),
        (_, Some("OR")) => Node::Logic(LogicOp::Or, l, r),
        (_, Some("XOR")) => Node::Logic(LogicOp::Xor, l, r),
        (Tok::Eq, _) => Node::Cmp(CmpOp::Eq, l, r),
        (Tok::Ne, _) => Node::Cmp(CmpOp::Ne, l, r),
        (Tok::Lt, _) => Node::Cmp(CmpOp::Lt, l, r),
        (Tok::Le, _) => Node::Cmp(CmpOp::Le, l, r),
        (Tok::Gt, _) => Node::Cmp(CmpOp::Gt, l, r),
        (Tok::Ge, _) => Node::Cmp(CmpOp::Ge, l, r),
        (Tok::Plus, _) => Node::Arith(ArithOp::Add, l, r),
        (Tok::Minus, _) => Node::Arith(ArithOp::Sub, l, r),
        (Tok::Star, _) => Node::Arith(ArithOp::Mul, l, r),
        (Tok::Slash, _) => Node::Arith(ArithOp::Div, l, r),
        // Only `%` remains (see the binding-power table in `Parser::expr`).
        _ => Node::Arith(ArithOp::Mod, l, r),
    }
}

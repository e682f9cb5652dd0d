//! CESQL lexer (CESQL v1 §2, grammar `CESQLLexer.g4`).
//!
//! Produces tokens with 0-based *character* positions. Words (`[A-Za-z0-9_]+`) are classified
//! by the parser (keywords, function names, identifiers are all case-insensitive); a word made
//! only of digits is an integer literal. The sign of a literal is handled by the parser, so
//! `4 -1` is a subtraction here (sdk-go lexes `-1` as one literal and rejects it).

use super::ParseError;

/// A token kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Unsigned digits; `None` when larger than `u32::MAX` (reported by the parser).
    Int(Option<u32>),
    /// A string literal, quotes removed and `\'` / `\"` unescaped.
    Str(String),
    /// A run of `[A-Za-z0-9_]` that is not all digits, as written.
    Word(String),
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

/// A token and where it starts and ends (character offsets, end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Splits `text` into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => single(&mut i, Tok::LParen),
            ')' => single(&mut i, Tok::RParen),
            ',' => single(&mut i, Tok::Comma),
            '+' => single(&mut i, Tok::Plus),
            '-' => single(&mut i, Tok::Minus),
            '*' => single(&mut i, Tok::Star),
            '/' => single(&mut i, Tok::Slash),
            '%' => single(&mut i, Tok::Percent),
            '=' => single(&mut i, Tok::Eq),
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Ne
            }
            '<' => match chars.get(i + 1) {
                Some('=') => {
                    i += 2;
                    Tok::Le
                }
                Some('>') => {
                    i += 2;
                    Tok::Ne
                }
                _ => single(&mut i, Tok::Lt),
            },
            '>' => match chars.get(i + 1) {
                Some('=') => {
                    i += 2;
                    Tok::Ge
                }
                _ => single(&mut i, Tok::Gt),
            },
            '\'' | '"' => Tok::Str(string_literal(&chars, &mut i)?),
            c if c.is_ascii_alphanumeric() || c == '_' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if word.bytes().all(|b| b.is_ascii_digit()) {
                    Tok::Int(word.parse::<u32>().ok())
                } else {
                    Tok::Word(word)
                }
            }
            other => {
                return Err(ParseError {
                    position: i,
                    message: format!("unexpected character '{other}'"),
                })
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token {
        tok: Tok::Eof,
        start: chars.len(),
        end: chars.len(),
    });
    Ok(out)
}

fn single(i: &mut usize, t: Tok) -> Tok {
    *i += 1;
    t
}

/// Reads a quoted literal starting at `chars[*i]` (the quote). A backslash protects the next
/// character; only `\<quote>` becomes the bare quote, any other `\x` is kept as both
/// characters (sdk-go behaviour: `'ab\c'` is `ab\c`, which LIKE needs for `\%` / `\_`). A
/// doubled quote (`''`) is tolerated as in the grammar and, like sdk-go, kept as two quotes.
fn string_literal(chars: &[char], i: &mut usize) -> Result<String, ParseError> {
    let start = *i;
    let quote = chars[start];
    let mut out = String::new();
    let mut j = start + 1;
    loop {
        match chars.get(j) {
            None => {
                return Err(ParseError {
                    position: start,
                    message: "unterminated string literal".to_string(),
                })
            }
            Some('\\') => match chars.get(j + 1) {
                Some(&n) if n == quote => {
                    out.push(n);
                    j += 2;
                }
                Some(&n) => {
                    out.push('\\');
                    out.push(n);
                    j += 2;
                }
                None => {
                    return Err(ParseError {
                        position: start,
                        message: "unterminated string literal".to_string(),
                    })
                }
            },
            Some(&c) if c == quote => {
                if chars.get(j + 1) == Some(&quote) {
                    out.push(quote);
                    out.push(quote);
                    j += 2;
                } else {
                    j += 1;
                    break;
                }
            }
            Some(&c) => {
                out.push(c);
                j += 1;
            }
        }
    }
    *i = j;
    Ok(out)
}

//! `LIKE` patterns (CESQL v1 §3.4.x): `%` any run of characters, `_` exactly one character,
//! `\%` / `\_` a literal `%` / `_`; any other character (including a lone backslash) matches
//! itself, case-sensitively. Matching is anchored and works on Unicode characters, not bytes.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// `%`.
    AnyRun,
    /// `_`.
    One,
    /// A literal character.
    Lit(char),
}

/// A compiled `LIKE` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LikePattern {
    pieces: Vec<Piece>,
}

impl LikePattern {
    /// Compiles the pattern text (already unquoted by the lexer).
    pub(crate) fn compile(pattern: &str) -> LikePattern {
        let mut pieces = Vec::with_capacity(pattern.len());
        let mut it = pattern.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '\\' => match it.peek() {
                    Some(&n @ ('%' | '_')) => {
                        it.next();
                        pieces.push(Piece::Lit(n));
                    }
                    _ => pieces.push(Piece::Lit('\\')),
                },
                '%' => {
                    // Consecutive `%` are equivalent to one.
                    if pieces.last() != Some(&Piece::AnyRun) {
                        pieces.push(Piece::AnyRun);
                    }
                }
                '_' => pieces.push(Piece::One),
                c => pieces.push(Piece::Lit(c)),
            }
        }
        LikePattern { pieces }
    }

    /// Whether `text` matches the whole pattern (greedy wildcard matching with one
    /// backtracking point; O(len(text) × len(pattern)) worst case, no allocation).
    pub(crate) fn matches(&self, text: &str) -> bool {
        let p = &self.pieces;
        let (mut pi, mut ti) = (0usize, 0usize);
        // (pattern index after the last `%`, text index it is currently matched up to)
        let mut star: Option<(usize, usize)> = None;
        while ti < text.len() {
            let c = match text[ti..].chars().next() {
                Some(c) => c,
                None => break,
            };
            match p.get(pi) {
                Some(Piece::AnyRun) => {
                    pi += 1;
                    star = Some((pi, ti));
                    continue;
                }
                Some(Piece::One) => {
                    pi += 1;
                    ti += c.len_utf8();
                    continue;
                }
                Some(Piece::Lit(l)) if *l == c => {
                    pi += 1;
                    ti += c.len_utf8();
                    continue;
                }
                _ => {}
            }
            match star {
                Some((sp, st)) => {
                    let skipped = text[st..].chars().next().map_or(1, char::len_utf8);
                    star = Some((sp, st + skipped));
                    pi = sp;
                    ti = st + skipped;
                }
                None => return false,
            }
        }
        p[pi.min(p.len())..].iter().all(|x| *x == Piece::AnyRun)
    }
}

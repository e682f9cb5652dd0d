//! A small YAML tree with 1-based line numbers, built from the `saphyr-parser` event API.
//!
//! Every node keeps the line it starts on, scalars keep their text and whether they were quoted
//! (so `retry: "3"` and `retry: 3` can be typed the way Kubernetes types them), aliases are
//! expanded with a bound on the number of nodes they create (a "billion laughs" document fails
//! fast), and merge keys (`<<`) are applied as go-yaml (and so kubectl) applies them.

pub use super::scalar::{Scalar, Style, Typed};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// At most this many nodes may be created by alias expansion in one file.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// A node's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order (duplicate keys kept; the decoder reports them).
    Map(Vec<(Node, Node)>),
}

/// A YAML node and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// 1-based line.
    pub line: usize,
    /// Content.
    pub value: Value,
}

impl Node {
    /// The scalar, if this is one.
    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// True for a null scalar (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s) if s.typed() == Typed::Null)
    }

    /// A short description of the node's type, for "wrong type" messages.
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Map(_) => "an object".into(),
            Value::Seq(_) => "a list".into(),
            Value::Scalar(s) => match s.typed() {
                Typed::Null => "null".into(),
                Typed::Bool(_) => format!("a boolean (`{}`)", s.text),
                Typed::Int(_) => format!("an integer (`{}`)", s.text),
                Typed::Float => format!("a number (`{}`)", s.text),
                Typed::Str => format!("a string (`{}`)", clip(&s.text)),
            },
        }
    }

    fn count(&self) -> usize {
        match &self.value {
            Value::Scalar(_) => 1,
            Value::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Value::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
        }
    }
}

fn clip(s: &str) -> String {
    let first = s.lines().next().unwrap_or("");
    if first.chars().count() > 40 || first.len() < s.len() {
        format!("{}…", first.chars().take(40).collect::<String>())
    } else {
        first.to_string()
    }
}

/// A YAML problem: the 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// The documents of a YAML stream (empty documents skipped) and the error that stopped parsing
/// if any: the documents before it are still returned.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Stream {
    /// Complete, non-empty documents.
    pub documents: Vec<Node>,
    /// The syntax error or alias bomb that ended parsing.
    pub error: Option<YamlError>,
}

enum Frame {
    Seq {
        line: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    expanded: usize,
    root: Option<Node>,
}

impl Builder {
    fn complete(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            let size = node.count();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        self.attach(node);
    }

    fn attach(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }

    fn alias(&mut self, id: usize, line: usize) -> Result<(), YamlError> {
        let Some((node, size)) = self.anchors.get(&id) else {
            return Err(YamlError {
                line,
                message: "invalid YAML: alias to an unknown anchor".into(),
                hint: None,
            });
        };
        self.expanded = self.expanded.saturating_add(*size);
        if self.expanded > MAX_ALIAS_NODES {
            return Err(YamlError {
                line,
                message: format!(
                    "YAML aliases expand to more than {MAX_ALIAS_NODES} nodes (a \"billion laughs\" document?)"
                ),
                hint: Some("write the repeated parts out, or use fewer nested aliases".into()),
            });
        }
        let node = node.clone();
        self.attach(node);
        Ok(())
    }
}

/// Applies merge keys (`<<: *base`, `<<: [*a, *b]`): entries already present win.
fn merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let is_merge =
        |k: &Node| matches!(k.scalar(), Some(s) if s.style == Style::Plain && s.text == "<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return entries;
    }
    let mut own = Vec::new();
    let mut merged = Vec::new();
    for (k, v) in entries {
        if !is_merge(&k) {
            own.push((k, v));
            continue;
        }
        let sources = match v.value {
            Value::Map(m) => vec![m],
            Value::Seq(items) => items
                .into_iter()
                .filter_map(|n| match n.value {
                    Value::Map(m) => Some(m),
                    _ => None,
                })
                .collect(),
            Value::Scalar(_) => Vec::new(),
        };
        merged.extend(sources.into_iter().flatten());
    }
    let key_text = |k: &Node| k.scalar().map(|s| s.text.clone());
    for (k, v) in merged {
        let present = own
            .iter()
            .any(|(o, _)| key_text(o).is_some() && key_text(o) == key_text(&k));
        if !present {
            own.push((k, v));
        }
    }
    own
}

fn tag_suffix(tag: Option<&saphyr_parser::Tag>) -> Option<String> {
    tag.filter(|t| t.is_yaml_core_schema() || t.handle == "!!")
        .map(|t| t.suffix.clone())
}

/// Parses a YAML stream into documents.
#[cfg(test)]
pub fn parse_stream(text: &str) -> Stream {
    let mut documents = Vec::new();
    let error = for_each_document(text, |d| documents.push(d));
    Stream { documents, error }
}

/// Parses a YAML stream, handing each complete non-empty document to `on_document` as soon as
/// it ends (so memory stays bounded by one document). Returns the error that stopped parsing.
pub fn for_each_document(text: &str, mut on_document: impl FnMut(Node)) -> Option<YamlError> {
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        expanded: 0,
        root: None,
    };
    let parser = Parser::new_from_str(text);
    for item in parser {
        let (event, span): (Event, Span) = match item {
            Ok(pair) => pair,
            Err(e) => {
                return Some(YamlError {
                    line: e.marker().line().max(1),
                    message: format!(
                        "invalid YAML: {} (column {})",
                        e.info(),
                        e.marker().col() + 1
                    ),
                    hint: None,
                });
            }
        };
        let line = span.start.line().max(1);
        let step = match event {
            Event::DocumentStart(_) => {
                b.root = None;
                b.anchors.clear();
                Ok(())
            }
            Event::DocumentEnd => {
                if let Some(root) = b.root.take() {
                    if !root.is_null() {
                        on_document(root);
                    }
                }
                Ok(())
            }
            Event::Alias(id) => b.alias(id, line),
            Event::Scalar(text, style, anchor, tag) => {
                let style = if style == ScalarStyle::Plain {
                    Style::Plain
                } else {
                    Style::Quoted
                };
                let tag = tag_suffix(tag.as_deref());
                let node = Node {
                    line,
                    value: Value::Scalar(Scalar {
                        text: text.into_owned(),
                        style,
                        tag,
                    }),
                };
                b.complete(node, anchor);
                Ok(())
            }
            Event::SequenceStart(anchor, _) => {
                b.stack.push(Frame::Seq {
                    line,
                    anchor,
                    items: Vec::new(),
                });
                Ok(())
            }
            Event::MappingStart(anchor, _) => {
                b.stack.push(Frame::Map {
                    line,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                match b.stack.pop() {
                    Some(Frame::Seq {
                        line,
                        anchor,
                        items,
                    }) => b.complete(
                        Node {
                            line,
                            value: Value::Seq(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        line,
                        anchor,
                        entries,
                        ..
                    }) => {
                        let entries = merge_keys(entries);
                        b.complete(
                            Node {
                                line,
                                value: Value::Map(entries),
                            },
                            anchor,
                        )
                    }
                    None => {}
                }
                Ok(())
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => Ok(()),
        };
        if let Err(e) = step {
            return Some(e);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_and_lines() {
        let s = parse_stream("a: 3\nb: \"3\"\nc: yes\nd:\ne: 1.5\nf: x\n---\n---\ng: [1, *x]\n");
        assert_eq!(s.documents.len(), 1);
        let Value::Map(m) = &s.documents[0].value else {
            panic!()
        };
        let t: Vec<Typed> = m
            .iter()
            .map(|(_, v)| v.scalar().map(Scalar::typed).unwrap())
            .collect();
        assert_eq!(
            t,
            [
                Typed::Int(3),
                Typed::Str,
                Typed::Bool(true),
                Typed::Null,
                Typed::Float,
                Typed::Str
            ]
        );
        assert_eq!(m[4].0.line, 5);
        assert!(s.error.is_some());
    }

    #[test]
    fn merge_and_alias() {
        let s = parse_stream("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n");
        let Value::Map(m) = &s.documents[0].value else {
            panic!()
        };
        let Value::Map(u) = &m[1].1.value else {
            panic!()
        };
        let keys: Vec<_> = u
            .iter()
            .map(|(k, v)| {
                (
                    k.scalar().unwrap().text.clone(),
                    v.scalar().unwrap().text.clone(),
                )
            })
            .collect();
        assert_eq!(keys, [("y".into(), "3".into()), ("x".into(), "1".into())]);
    }
}

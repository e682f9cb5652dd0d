//! Trigger filters: legacy `filter.attributes`, v1alpha1 `filter.sourceAndType`, and the
//! SubscriptionsAPI `filters` (exact/prefix/suffix/all/any/not/cesql), with their checks.

use super::decode::{join, Cx, Map};
use super::yaml::Node;
use crate::cesql::Expr;
use crate::filter::Filter;
use std::sync::Arc;

const DIALECTS: [&str; 7] = ["exact", "prefix", "suffix", "all", "any", "not", "cesql"];

/// True for a valid filter attribute name: `^[a-z][a-z0-9]*$`.
pub fn is_attribute_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_lowercase())
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn check_name(cx: &mut Cx, path: &str, name: &str, line: usize) {
    if !is_attribute_name(name) {
        let hint = if name.is_empty() {
            "name the CloudEvents attribute to match".to_string()
        } else {
            let lower: String = name
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            format!("attribute names match `^[a-z][a-z0-9]*$` (e.g. `{lower}`)")
        };
        cx.error(
            line,
            format!("invalid attribute name `{name}` in `{path}`"),
            Some(hint),
        );
    }
}

/// The legacy `filter` object (`attributes`, and `sourceAndType` for v1alpha1).
pub fn legacy_filter(cx: &mut Cx, f: &Map<'_>, v1alpha1: bool) -> Filter {
    let known: &[&str] = if v1alpha1 {
        &["attributes", "sourceAndType"]
    } else {
        &["attributes"]
    };
    cx.check_fields(
        f,
        known,
        &[(
            "sourceAndType",
            "`sourceAndType` is eventing.knative.dev/v1alpha1 only; use `attributes: {type: …, source: …}`",
        )],
    );
    if v1alpha1 && f.get("sourceAndType").is_some() {
        if f.get("attributes").is_some() {
            cx.error(
                f.key_line("attributes"),
                format!(
                    "`{0}.sourceAndType` and `{0}.attributes` are mutually exclusive",
                    f.path
                ),
                Some("keep `attributes`".into()),
            );
        }
        let mut out = Vec::new();
        if let Some(st) = cx.map_at(f, "sourceAndType") {
            cx.check_fields(&st, &["type", "source"], &[]);
            for key in ["type", "source"] {
                if let Some(v) = cx.opt_str(&st, key).filter(|v| !v.is_empty()) {
                    out.push((key.to_string(), v));
                }
            }
        }
        return Filter::Attributes(out);
    }
    let attrs = cx.string_map(f, "attributes").unwrap_or_default();
    let path = f.path_of("attributes");
    for (k, _, line) in &attrs {
        check_name(cx, &path, k, *line);
    }
    Filter::Attributes(attrs.into_iter().map(|(k, v, _)| (k, v)).collect())
}

/// Decodes a `filters` list (top level or `all`/`any`): elements that do not constrain
/// (`{}`, `all: []`, `any: []`, `cesql: ""`) are dropped.
pub fn filter_list(cx: &mut Cx, node: &Node, path: &str) -> Vec<Filter> {
    let Some(items) = cx.as_seq(node, path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match element(cx, item, &p, item.line) {
            Filter::None => {}
            f => out.push(f),
        }
    }
    out
}

/// Decodes one SubscriptionsAPI filter element.
fn element(cx: &mut Cx, node: &Node, path: &str, line: usize) -> Filter {
    let Some(m) = cx.as_map(node, path, line) else {
        return Filter::None;
    };
    cx.check_fields(&m, &DIALECTS, &[]);
    let used: Vec<(&str, usize)> = m.keys().filter(|(k, _)| DIALECTS.contains(k)).collect();
    if used.len() > 1 {
        let names: Vec<String> = used.iter().map(|(k, _)| format!("`{k}`")).collect();
        cx.error(
            used[1].1,
            format!(
                "several dialects in one filter element `{path}`: {}",
                names.join(", ")
            ),
            Some("put each dialect in its own list element (elements are ANDed)".into()),
        );
        return Filter::None;
    }
    let Some((dialect, key_line)) = used.first().copied() else {
        return Filter::None;
    };
    let Some(value) = m.get(dialect) else {
        return if dialect == "not" {
            Filter::Not(Box::new(Filter::None))
        } else {
            Filter::None
        };
    };
    let vpath = join(path, dialect);
    match dialect {
        "exact" | "prefix" | "suffix" => {
            let pairs = cx.string_map(&m, dialect).unwrap_or_default();
            for (k, v, l) in &pairs {
                check_name(cx, &vpath, k, *l);
                if v.is_empty() {
                    cx.error(
                        *l,
                        format!("empty value for `{k}` in `{vpath}`"),
                        Some("an empty value would silently disable this filter; write the value to match".into()),
                    );
                }
            }
            let pairs: Vec<(String, String)> = pairs.into_iter().map(|(k, v, _)| (k, v)).collect();
            match (dialect, pairs.is_empty()) {
                (_, true) => Filter::None,
                ("exact", _) => Filter::Exact(pairs),
                ("prefix", _) => Filter::Prefix(pairs),
                _ => Filter::Suffix(pairs),
            }
        }
        "all" | "any" => {
            let list = filter_list(cx, value, &vpath);
            match (dialect, list.is_empty()) {
                (_, true) => Filter::None,
                ("all", _) => Filter::All(list),
                _ => Filter::Any(list),
            }
        }
        "not" => Filter::Not(Box::new(element(cx, value, &vpath, key_line))),
        _ => {
            let Some(text) = cx.string(value, &vpath) else {
                return Filter::None;
            };
            cesql(cx, &text, &vpath, value.line)
        }
    }
}

fn cesql(cx: &mut Cx, text: &str, path: &str, line: usize) -> Filter {
    if text.trim().is_empty() {
        return Filter::None;
    }
    match Expr::parse(text) {
        Ok(expr) => {
            if !expr.may_be_boolean() {
                let ty = expr
                    .result_type()
                    .map_or_else(String::new, |t| format!(" {t}"));
                cx.error(
                    line,
                    format!("CESQL expression in `{path}` is of type{ty}, not Boolean: it can never pass"),
                    Some("compare it with something, e.g. `type = 'com.example'`".into()),
                );
                return Filter::None;
            }
            let unknown = expr.unknown_functions();
            if !unknown.is_empty() {
                cx.warn(
                    line,
                    format!(
                        "unknown CESQL function(s) in `{path}`: {}",
                        unknown.join(", ")
                    ),
                    Some("such a call always fails, so the filter never passes".into()),
                );
            }
            Filter::Cesql(Arc::new(expr), text.to_string())
        }
        Err(e) => {
            cx.error(
                line,
                format!("CESQL syntax error in `{path}`: {e}"),
                Some(format!("the expression was: {text}")),
            );
            Filter::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names() {
        assert!(is_attribute_name("type"));
        assert!(is_attribute_name("myext2"));
        assert!(!is_attribute_name("Type"));
        assert!(!is_attribute_name("my-ext"));
        assert!(!is_attribute_name("2x"));
        assert!(!is_attribute_name(""));
    }
}

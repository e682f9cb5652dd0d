//! `Filter::explain` agrees with `Filter::evaluate` on every filter tree up to depth 3 built
//! from a set of leaves (all tri-state outcomes, CESQL errors, ignored dialect maps), and marks
//! exactly the children an `all`/`any` short-circuits past as not evaluated.

use eventflow_planner::cesql::Expr;
use eventflow_planner::event::{Event, ExtValue};
use eventflow_planner::filter::{Filter, FilterTrace, TraceNode, TriState};
use std::sync::Arc;

fn pairs(k: &str, v: &str) -> Vec<(String, String)> {
    vec![(k.to_string(), v.to_string())]
}

fn cesql(text: &str) -> Filter {
    Filter::Cesql(Arc::new(Expr::parse(text).unwrap()), text.to_string())
}

fn leaves() -> Vec<Filter> {
    vec![
        Filter::None,
        Filter::Attributes(pairs("type", "t.a")),
        Filter::Attributes(pairs("subject", "")),
        Filter::Exact(pairs("type", "t.b")),
        Filter::Exact(pairs("n", "5")),
        Filter::Exact(pairs("type", "")),
        Filter::Prefix(pairs("source", "/s")),
        Filter::Suffix(pairs("missing", "x")),
        cesql("type = 't.a'"),
        cesql("missing = 'x'"),
        cesql("EXISTS missing AND missing = 'x'"),
    ]
}

fn trees() -> Vec<Filter> {
    let leaves = leaves();
    let mut out = leaves.clone();
    let small: Vec<Filter> = leaves.iter().step_by(3).cloned().collect();
    for a in &leaves {
        out.push(Filter::Not(Box::new(a.clone())));
        for b in &small {
            out.push(Filter::All(vec![a.clone(), b.clone()]));
            out.push(Filter::Any(vec![a.clone(), b.clone()]));
            out.push(Filter::Any(vec![
                Filter::Not(Box::new(a.clone())),
                Filter::All(vec![b.clone(), a.clone()]),
            ]));
        }
    }
    out.push(Filter::All(vec![]));
    out.push(Filter::Any(vec![]));
    out
}

fn events() -> Vec<Event> {
    let mut a = Event::new("1", "/s/1", "t.a");
    a.subject = Some("sub".into());
    a.set_extension("n", ExtValue::Integer(5));
    let b = Event::new("2", "/other", "t.b");
    vec![a, b]
}

/// Every evaluated node's result must follow from its children with the same rules.
fn check(t: &FilterTrace) {
    let r = |c: &FilterTrace| c.result;
    match &t.node {
        TraceNode::All => {
            let stop = t.children.iter().position(|c| r(c) == Some(TriState::Fail));
            for (i, c) in t.children.iter().enumerate() {
                assert_eq!(r(c).is_some(), stop.is_none_or(|s| i <= s), "{t:?}");
            }
        }
        TraceNode::Any => {
            let stop = t.children.iter().position(|c| r(c) == Some(TriState::Pass));
            for (i, c) in t.children.iter().enumerate() {
                assert_eq!(r(c).is_some(), stop.is_none_or(|s| i <= s), "{t:?}");
            }
        }
        _ => {}
    }
    for c in &t.children {
        if c.result.is_some() {
            check(c);
        }
    }
}

#[test]
fn explain_matches_evaluate() {
    let mut n = 0;
    for f in trees() {
        for e in events() {
            let t = f.explain(&e);
            assert_eq!(t.result, Some(f.evaluate(&e)), "{f:?} on {e:?}");
            check(&t);
            n += 1;
        }
    }
    assert!(n > 300);
}

#[test]
fn cesql_errors_and_pairs_are_reported() {
    let e = Event::new("1", "/s", "t.a");
    let t = cesql("missing = 'x' OR type = 't.a'").explain(&e);
    assert_eq!(t.result, Some(TriState::Fail));
    match &t.node {
        TraceNode::Cesql { errors, .. } => {
            assert_eq!(errors.len(), 1);
            assert!(errors[0].starts_with("missingAttribute"), "{errors:?}");
        }
        other => panic!("{other:?}"),
    }
    let t = Filter::Exact(vec![
        ("type".into(), "t.a".into()),
        ("source".into(), "/x".into()),
    ])
    .explain(&e);
    let TraceNode::Pairs { pairs, ignored, .. } = &t.node else {
        panic!("{t:?}")
    };
    assert!(!ignored);
    assert_eq!(pairs[0].ok, Some(true));
    assert_eq!(pairs[1].ok, Some(false));
    assert_eq!(pairs[1].have.as_deref(), Some("/s"));
    let mut text = String::new();
    t.render(0, &mut text);
    assert_eq!(
        text,
        "exact → fail\n  type = \"t.a\" (event: \"t.a\") ✓\n  source = \"/x\" (event: \"/s\") ✗\n"
    );
}

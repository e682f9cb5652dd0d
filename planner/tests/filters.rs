//! Knative Trigger filter semantics (knative-semantics.md §2.2–2.4 and §9 items 1–3).

use eventflow_planner::cesql::Expr;
use eventflow_planner::event::{Event, ExtValue, SpecVersion};
use eventflow_planner::filter::{lookup_attribute, Filter, TriState};
use std::sync::Arc;

use TriState::{Fail, NoFilter, Pass};

fn event() -> Event {
    Event::new("id-1", "/my/source", "com.example.created")
}

fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn attrs(kv: &[(&str, &str)]) -> Filter {
    Filter::Attributes(pairs(kv))
}
fn exact(kv: &[(&str, &str)]) -> Filter {
    Filter::Exact(pairs(kv))
}
fn prefix(kv: &[(&str, &str)]) -> Filter {
    Filter::Prefix(pairs(kv))
}
fn suffix(kv: &[(&str, &str)]) -> Filter {
    Filter::Suffix(pairs(kv))
}
fn cesql(text: &str) -> Filter {
    Filter::Cesql(Arc::new(Expr::parse(text).unwrap()), text.to_string())
}
fn pass() -> Filter {
    exact(&[("type", "com.example.created")])
}
fn fail() -> Filter {
    exact(&[("type", "nope")])
}
fn nofilter() -> Filter {
    Filter::Not(Box::new(Filter::None)) // `not: {}`
}

// ---- TriState basics -------------------------------------------------------------------

#[test]
fn only_fail_blocks_delivery() {
    assert!(Pass.delivers());
    assert!(NoFilter.delivers());
    assert!(!Fail.delivers());
    assert_eq!(Filter::None.evaluate(&event()), NoFilter);
}

// ---- Legacy `filter.attributes` (§2.3, §9 item 2) ----------------------------------------

#[test]
fn legacy_empty_map_matches_everything() {
    assert_eq!(attrs(&[]).evaluate(&event()), NoFilter);
}

#[test]
fn legacy_exact_match_all_keys_anded() {
    let e = event();
    assert_eq!(
        attrs(&[("type", "com.example.created"), ("source", "/my/source")]).evaluate(&e),
        Pass
    );
    assert_eq!(
        attrs(&[("type", "com.example.created"), ("source", "/other")]).evaluate(&e),
        Fail
    );
    // Case-sensitive.
    assert_eq!(attrs(&[("type", "COM.example.created")]).evaluate(&e), Fail);
}

#[test]
fn legacy_empty_value_means_present_and_non_empty() {
    let mut e = event();
    // Unset subject is "present" with value "" → fails (pre-2021 Knative let it pass).
    assert_eq!(attrs(&[("subject", "")]).evaluate(&e), Fail);
    e.subject = Some("s".into());
    assert_eq!(attrs(&[("subject", "")]).evaluate(&e), Pass);
    // Missing extension fails, present extension passes.
    assert_eq!(attrs(&[("myext", "")]).evaluate(&e), Fail);
    e.set_extension("myext", ExtValue::String("v".into()));
    assert_eq!(attrs(&[("myext", "")]).evaluate(&e), Pass);
    // An extension present with an empty string value fails too.
    e.set_extension("emptyext", ExtValue::String("".into()));
    assert_eq!(attrs(&[("emptyext", "")]).evaluate(&e), Fail);
}

#[test]
fn legacy_knativearrivaltime_empty_matches_every_ingested_event() {
    let mut e = event();
    e.set_extension(
        "knativearrivaltime",
        ExtValue::String("2024-01-01T00:00:00Z".into()),
    );
    assert_eq!(attrs(&[("knativearrivaltime", "")]).evaluate(&e), Pass);
}

#[test]
fn legacy_missing_extension_fails() {
    assert_eq!(attrs(&[("myext", "x")]).evaluate(&event()), Fail);
}

#[test]
fn extensions_compare_by_canonical_string() {
    let mut e = event();
    e.set_extension("count", ExtValue::Integer(5));
    e.set_extension("neg", ExtValue::Integer(-2147483648));
    e.set_extension("flag", ExtValue::Boolean(true));
    for f in [attrs as fn(&[(&str, &str)]) -> Filter, exact] {
        assert_eq!(f(&[("count", "5")]).evaluate(&e), Pass);
        assert_eq!(f(&[("count", "05")]).evaluate(&e), Fail);
        assert_eq!(f(&[("neg", "-2147483648")]).evaluate(&e), Pass);
        assert_eq!(f(&[("flag", "true")]).evaluate(&e), Pass);
        assert_eq!(f(&[("flag", "True")]).evaluate(&e), Fail);
    }
    assert_eq!(prefix(&[("neg", "-21")]).evaluate(&e), Pass);
    assert_eq!(suffix(&[("flag", "ue")]).evaluate(&e), Pass);
}

// ---- Attribute lookup table (§2.2) ----------------------------------------------------------

#[test]
fn lookup_optional_context_attributes_are_always_present() {
    let e = event();
    for name in [
        "subject",
        "dataschema",
        "schemaurl",
        "datacontenttype",
        "datamediatype",
        "datacontentencoding",
    ] {
        let v = lookup_attribute(&e, name).unwrap_or_else(|| panic!("{name} present"));
        assert!(v.with_str(str::is_empty), "{name} is empty when unset");
    }
    assert!(lookup_attribute(&e, "nosuchext").is_none());
    // `exact` on an unset subject compares against "" and fails.
    assert_eq!(exact(&[("subject", "x")]).evaluate(&e), Fail);
    assert_eq!(prefix(&[("subject", "x")]).evaluate(&e), Fail);
}

#[test]
fn lookup_time_unset_renders_as_go_zero_time() {
    let mut e = event();
    assert_eq!(
        exact(&[("time", "0001-01-01T00:00:00Z")]).evaluate(&e),
        Pass
    );
    e.time = Some("2018-04-26T14:48:09+02:00".into());
    assert_eq!(
        exact(&[("time", "2018-04-26T14:48:09+02:00")]).evaluate(&e),
        Pass
    );
    assert_eq!(prefix(&[("time", "2018-04-26")]).evaluate(&e), Pass);
}

#[test]
fn lookup_schemaurl_alias_and_datamediatype() {
    let mut e = event();
    e.dataschema = Some("http://example.com/schema".into());
    e.datacontenttype = Some("Application/JSON; charset=utf-8".into());
    assert_eq!(
        exact(&[("schemaurl", "http://example.com/schema")]).evaluate(&e),
        Pass
    );
    assert_eq!(
        exact(&[("dataschema", "http://example.com/schema")]).evaluate(&e),
        Pass
    );
    assert_eq!(
        exact(&[("datamediatype", "application/json")]).evaluate(&e),
        Pass
    );
    assert_eq!(
        exact(&[("datacontenttype", "Application/JSON; charset=utf-8")]).evaluate(&e),
        Pass
    );
}

#[test]
fn lookup_v03_datacontentencoding_and_specversion() {
    let mut e = event();
    e.specversion = SpecVersion::V03;
    e.datacontentencoding = Some("base64".into());
    assert_eq!(
        exact(&[("datacontentencoding", "base64"), ("specversion", "0.3")]).evaluate(&e),
        Pass
    );
}

// ---- exact / prefix / suffix (§2.4) ------------------------------------------------------

#[test]
fn dialect_multiple_keys_are_anded() {
    let e = event();
    assert_eq!(
        exact(&[("type", "com.example.created"), ("source", "/my/source")]).evaluate(&e),
        Pass
    );
    assert_eq!(
        exact(&[("type", "com.example.created"), ("source", "/x")]).evaluate(&e),
        Fail
    );
    assert_eq!(
        prefix(&[("type", "com.example."), ("source", "/my")]).evaluate(&e),
        Pass
    );
    assert_eq!(
        prefix(&[("type", "com.example."), ("source", "/your")]).evaluate(&e),
        Fail
    );
    assert_eq!(
        suffix(&[("type", ".created"), ("id", "-1")]).evaluate(&e),
        Pass
    );
    assert_eq!(
        suffix(&[("type", ".created"), ("id", "-2")]).evaluate(&e),
        Fail
    );
}

#[test]
fn dialect_missing_key_fails() {
    let e = event();
    assert_eq!(exact(&[("myext", "x")]).evaluate(&e), Fail);
    assert_eq!(prefix(&[("myext", "x")]).evaluate(&e), Fail);
    assert_eq!(suffix(&[("myext", "x")]).evaluate(&e), Fail);
}

#[test]
fn dialect_empty_name_or_value_does_not_constrain() {
    // Knative's materialiser drops such an element silently ⇒ it delivers (§9 item 3).
    let e = event();
    assert_eq!(exact(&[("type", "")]).evaluate(&e), NoFilter);
    assert_eq!(prefix(&[("", "x")]).evaluate(&e), NoFilter);
    assert_eq!(
        suffix(&[("type", "nope"), ("source", "")]).evaluate(&e),
        NoFilter
    );
    assert_eq!(exact(&[]).evaluate(&e), NoFilter);
}

// ---- all / any / not (§2.4, §9 item 3) ------------------------------------------------------

#[test]
fn all_semantics() {
    let e = event();
    assert_eq!(Filter::All(vec![]).evaluate(&e), NoFilter);
    assert_eq!(Filter::All(vec![pass(), pass()]).evaluate(&e), Pass);
    assert_eq!(
        Filter::All(vec![pass(), fail(), nofilter()]).evaluate(&e),
        Fail
    );
    // Ends in a NoFilter child after passes: NoFilter (delivers).
    assert_eq!(Filter::All(vec![pass(), nofilter()]).evaluate(&e), NoFilter);
    assert_eq!(Filter::All(vec![nofilter(), pass()]).evaluate(&e), Pass);
}

#[test]
fn any_semantics() {
    let e = event();
    assert_eq!(Filter::Any(vec![]).evaluate(&e), NoFilter);
    assert_eq!(Filter::Any(vec![fail(), pass()]).evaluate(&e), Pass);
    assert_eq!(Filter::Any(vec![fail(), fail()]).evaluate(&e), Fail);
    // `any: [A, not: {}]` with A failing: last child wins ⇒ NoFilter ⇒ delivers.
    let f = Filter::Any(vec![fail(), nofilter()]);
    assert_eq!(f.evaluate(&e), NoFilter);
    assert!(f.evaluate(&e).delivers());
    assert_eq!(Filter::Any(vec![nofilter(), fail()]).evaluate(&e), Fail);
}

#[test]
fn not_semantics() {
    let e = event();
    assert_eq!(Filter::Not(Box::new(pass())).evaluate(&e), Fail);
    assert_eq!(Filter::Not(Box::new(fail())).evaluate(&e), Pass);
    // `not: {}` delivers everything; NoFilter stays neutral under `not`.
    assert_eq!(nofilter().evaluate(&e), NoFilter);
    assert_eq!(Filter::Not(Box::new(nofilter())).evaluate(&e), NoFilter);
    assert_eq!(
        Filter::Not(Box::new(Filter::Any(vec![]))).evaluate(&e),
        NoFilter
    );
    // A boolean model (NoFilter = true) would get this one wrong.
    assert_eq!(
        Filter::Not(Box::new(Filter::All(vec![pass(), nofilter()]))).evaluate(&e),
        NoFilter
    );
}

#[test]
fn nested_trees() {
    let e = event();
    let f = Filter::All(vec![
        Filter::Any(vec![fail(), prefix(&[("source", "/my")])]),
        Filter::Not(Box::new(suffix(&[("type", ".deleted")]))),
        cesql("EXISTS id"),
    ]);
    assert_eq!(f.evaluate(&e), Pass);
}

// ---- cesql (§2.4, §2.5, §9 item 3) ----------------------------------------------------------

#[test]
fn cesql_true_passes_false_fails() {
    let e = event();
    assert_eq!(cesql("type = 'com.example.created'").evaluate(&e), Pass);
    assert_eq!(cesql("type = 'other'").evaluate(&e), Fail);
}

#[test]
fn cesql_error_fails_even_if_value_would_be_true() {
    let e = event();
    // Missing attribute not guarded: the error fails the filter.
    assert_eq!(cesql("missing = 'y'").evaluate(&e), Fail);
    assert_eq!(cesql("NOT (missing = 'y')").evaluate(&e), Fail);
    // `NOT 10` evaluates to true *with* a cast error ⇒ Fail.
    assert_eq!(cesql("NOT 10").evaluate(&e), Fail);
    assert_eq!(cesql("LENGTH(LEFT('abc', -1)) = 3").evaluate(&e), Fail);
}

#[test]
fn cesql_short_circuit_and_exists_guard_avoid_errors() {
    let mut e = event();
    assert_eq!(
        cesql("type = 'com.example.created' OR missing = 'y'").evaluate(&e),
        Pass
    );
    assert_eq!(cesql("EXISTS myext AND myext = 'x'").evaluate(&e), Fail);
    e.set_extension("myext", ExtValue::String("x".into()));
    assert_eq!(cesql("EXISTS myext AND myext = 'x'").evaluate(&e), Pass);
}

#[test]
fn cesql_non_boolean_result_fails() {
    let mut e = event();
    assert_eq!(cesql("1 + 1").evaluate(&e), Fail);
    assert_eq!(cesql("'true'").evaluate(&e), Fail);
    e.set_extension("flag", ExtValue::Boolean(true));
    assert_eq!(cesql("flag").evaluate(&e), Pass);
    e.set_extension("flag", ExtValue::String("true".into()));
    assert_eq!(
        cesql("flag").evaluate(&e),
        Fail,
        "a String result is not Boolean true"
    );
}

#[test]
fn cesql_sees_unset_optional_attributes_as_missing_unlike_dialects() {
    let e = event();
    // The dialects treat unset subject as "" (present); CESQL raises MissingAttribute.
    assert_eq!(cesql("subject = ''").evaluate(&e), Fail);
    assert_eq!(cesql("EXISTS subject").evaluate(&e), Fail);
    assert_eq!(prefix(&[("subject", "a")]).evaluate(&e), Fail);
}

// ---- §9 item 1: `filters` replaces `filter`; `filters: []` does not -------------------------

/// The selection rule of knative-semantics.md §2.1 as the manifest loader applies it; the
/// loader owns the real code, this pins the intended outcome at the `Filter` level.
fn select(filters: Vec<Filter>, legacy: Option<Filter>) -> Filter {
    if !filters.is_empty() {
        Filter::All(filters)
    } else {
        legacy.unwrap_or(Filter::None)
    }
}

#[test]
fn non_empty_filters_replace_filter_empty_filters_do_not() {
    let e = event();
    let legacy = attrs(&[("type", "other")]);
    // `filters` non-empty: the failing legacy filter is ignored.
    assert_eq!(
        select(vec![pass()], Some(legacy.clone())).evaluate(&e),
        Pass
    );
    // `filters: []`: falls through to the legacy filter.
    assert_eq!(select(vec![], Some(legacy)).evaluate(&e), Fail);
    assert_eq!(select(vec![], None).evaluate(&e), NoFilter);
}

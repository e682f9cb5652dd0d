//! Runs every case of the CloudEvents SQL v1 TCK (`tests/data/cesql-tck/*.yaml`, 275 cases)
//! in complete evaluation mode, checking the result value and the error kind.

use eventflow_planner::cesql::{ErrorKind, Expr, Value};
use eventflow_planner::event::{Event, ExtValue};
use serde_yaml_ng::Value as Yaml;
use std::path::Path;

const TCK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/cesql-tck");

/// sdk-go's "full" test event (cesql-notes §9), used when a case has no `event`.
fn full_event() -> Event {
    let mut e = Event::new(
        "full-event",
        "http://example.com/source",
        "com.example.FullEvent",
    );
    e.time = Some("2020-03-21T12:34:56.78Z".into());
    e.dataschema = Some("http://example.com/schema".into());
    e.subject = Some("topic".into());
    e.datacontenttype = Some("text/json".into());
    e.set_extension("exbool", ExtValue::Boolean(true));
    e.set_extension("exint", ExtValue::Integer(42));
    e.set_extension("exstring", ExtValue::String("exstring".into()));
    e.set_extension("exbinary", ExtValue::String("AAECAw==".into()));
    e.set_extension(
        "exurl",
        ExtValue::String("http://example.com/source".into()),
    );
    e.set_extension("extime", ExtValue::String("2020-03-21T12:34:56.78Z".into()));
    e
}

fn yaml_text(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        other => panic!("unexpected attribute value {other:?}"),
    }
}

/// Sets attribute `name` as the YAML typed it (ints and bools stay typed for extensions).
fn set_attr(e: &mut Event, name: &str, v: &Yaml) {
    let text = || -> std::sync::Arc<str> { yaml_text(v).into() };
    match name {
        "specversion" => assert_eq!(yaml_text(v), "1.0", "only 1.0 events in the TCK"),
        "id" => e.id = text(),
        "source" => e.source = text(),
        "type" => e.ty = text(),
        "subject" => e.subject = Some(text()),
        "time" => e.time = Some(text()),
        "dataschema" => e.dataschema = Some(text()),
        "datacontenttype" => e.datacontenttype = Some(text()),
        _ => {
            let ext = match v {
                Yaml::Bool(b) => ExtValue::Boolean(*b),
                Yaml::Number(n) => ExtValue::Integer(
                    i32::try_from(n.as_i64().expect("integer extension")).expect("int32"),
                ),
                _ => ExtValue::String(text()),
            };
            e.set_extension(name, ext);
        }
    }
}

fn build_event(case: &Yaml) -> Event {
    let mut e = match case.get("event") {
        Some(Yaml::Mapping(m)) => {
            let get = |k: &str| yaml_text(m.get(k).unwrap_or_else(|| panic!("event.{k}")));
            let mut e = Event::new(&get("id"), &get("source"), &get("type"));
            for (k, v) in m {
                set_attr(&mut e, k.as_str().expect("attribute name"), v);
            }
            e
        }
        _ => full_event(),
    };
    if let Some(Yaml::Mapping(m)) = case.get("eventOverrides") {
        for (k, v) in m {
            set_attr(&mut e, k.as_str().expect("attribute name"), v);
        }
    }
    e
}

fn expected_value(v: &Yaml) -> Value {
    match v {
        Yaml::Bool(b) => Value::Boolean(*b),
        Yaml::Number(n) => Value::Integer(i32::try_from(n.as_i64().expect("int")).expect("i32")),
        Yaml::String(s) => Value::String(s.clone()),
        other => panic!("unexpected result {other:?}"),
    }
}

/// Runs one case; `Err` describes a mismatch. `raw` is the expression as written in the file
/// (YAML types plain scalars such as `TRUE`, `0` or `-10`; the test must see the exact text).
fn run_case(case: &Yaml, raw: &str) -> Result<(), String> {
    let expression = case["expression"].as_str().unwrap_or(raw);
    let want_error = case.get("error").and_then(Yaml::as_str);
    let parsed = Expr::parse(expression);
    if want_error == Some("parse") {
        return match parsed {
            Err(_) => Ok(()),
            Ok(e) => Err(format!("expected a parse error, got {e:?}")),
        };
    }
    let expr = parsed.map_err(|e| format!("unexpected parse error: {e}"))?;
    let event = build_event(case);
    let (value, errors) = expr.evaluate(&event);
    if let Some(want) = case.get("result") {
        let want = expected_value(want);
        if value != want {
            return Err(format!(
                "value {value:?}, expected {want:?} (errors {errors:?})"
            ));
        }
    }
    match want_error {
        None if errors.is_empty() => Ok(()),
        None => Err(format!("unexpected errors {errors:?}")),
        Some(kind) => match errors.first() {
            Some(e) if e.kind.as_str() == kind => Ok(()),
            _ => Err(format!("expected a {kind} error, got {errors:?}")),
        },
    }
}

#[test]
fn cesql_tck_passes_completely() {
    let mut files: Vec<_> = std::fs::read_dir(Path::new(TCK_DIR))
        .expect("TCK directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 18, "TCK files");
    let (mut total, mut with_error) = (0, 0);
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read TCK file");
        let doc: Yaml = serde_yaml_ng::from_str(&text).expect("TCK YAML");
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        // Raw `expression:` texts in file order, one per case.
        let raws: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("expression:"))
            .map(str::trim)
            .collect();
        let cases = doc["tests"].as_sequence().expect("tests");
        assert_eq!(
            raws.len(),
            cases.len(),
            "{name}: one expression line per case"
        );
        for (case, raw) in cases.iter().zip(&raws) {
            total += 1;
            if case.get("error").is_some() {
                with_error += 1;
            }
            if let Err(why) = run_case(case, raw) {
                let cname = case["name"].as_str().unwrap_or("?");
                let expr = case["expression"].as_str().unwrap_or(raw);
                failures.push(format!("{name} / {cname}: `{expr}`: {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} TCK cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!((total, with_error), (275, 35), "TCK case count");
}

#[test]
fn error_kind_names_match_the_tck() {
    let kinds = [
        (ErrorKind::Parse, "parse"),
        (ErrorKind::Math, "math"),
        (ErrorKind::Cast, "cast"),
        (ErrorKind::MissingAttribute, "missingAttribute"),
        (ErrorKind::MissingFunction, "missingFunction"),
        (ErrorKind::FunctionEvaluation, "functionEvaluation"),
        (ErrorKind::Generic, "generic"),
    ];
    for (k, s) in kinds {
        assert_eq!(k.as_str(), s);
        assert_eq!(k.to_string(), s);
    }
}

// ---- Beyond the TCK: decisions of this implementation (cesql module docs) -----------------

fn eval(text: &str) -> (Value, Vec<ErrorKind>) {
    eval_on(text, &full_event())
}

fn eval_on(text: &str, e: &Event) -> (Value, Vec<ErrorKind>) {
    let (v, errs) = Expr::parse(text).unwrap().evaluate(e);
    (v, errs.into_iter().map(|e| e.kind).collect())
}

#[test]
fn and_or_xor_share_one_level_left_to_right() {
    // sdk-go (right-associative) gives false here.
    assert_eq!(
        eval("FALSE AND FALSE OR TRUE"),
        (Value::Boolean(true), vec![])
    );
    assert_eq!(
        eval("TRUE OR TRUE AND FALSE"),
        (Value::Boolean(false), vec![])
    );
    assert_eq!(
        eval("TRUE XOR TRUE OR TRUE"),
        (Value::Boolean(true), vec![])
    );
}

#[test]
fn unary_binds_tighter_than_binary() {
    // (NOT 'a') would be a cast error; `NOT a = b` is `(NOT a) = b`.
    assert_eq!(eval("NOT FALSE = FALSE"), (Value::Boolean(false), vec![]));
    assert_eq!(eval("NOT (FALSE = FALSE)"), (Value::Boolean(false), vec![]));
    assert_eq!(eval("NOT TRUE = FALSE"), (Value::Boolean(true), vec![]));
    assert_eq!(eval("-2 * 3"), (Value::Integer(-6), vec![]));
    // IN binds tighter than `+`: 1 + (2 IN (3)) = 1 + false = 1.
    assert_eq!(eval("1 + 2 IN (3)"), (Value::Integer(1), vec![]));
    assert_eq!(eval("2 * 3 + 4 = 10"), (Value::Boolean(true), vec![]));
    assert_eq!(eval("10 - 4 - 3"), (Value::Integer(3), vec![]));
}

#[test]
fn like_counts_characters_not_bytes() {
    assert_eq!(eval("'héllo' LIKE 'h_llo'"), (Value::Boolean(true), vec![]));
    assert_eq!(eval("'日本語' LIKE '___'"), (Value::Boolean(true), vec![]));
    assert_eq!(eval("'日本語' LIKE '__'"), (Value::Boolean(false), vec![]));
    assert_eq!(eval("'日本語' LIKE '%語'"), (Value::Boolean(true), vec![]));
    assert_eq!(eval("'' LIKE '%'"), (Value::Boolean(true), vec![]));
    assert_eq!(eval("'abc' LIKE ''"), (Value::Boolean(false), vec![]));
    assert_eq!(eval("'aXbXc' LIKE '%X%X%'"), (Value::Boolean(true), vec![]));
}

#[test]
fn string_functions_count_characters() {
    assert_eq!(eval("LENGTH('日本語')"), (Value::Integer(3), vec![]));
    assert_eq!(
        eval("LEFT('日本語', 2)"),
        (Value::String("日本".into()), vec![])
    );
    assert_eq!(
        eval("RIGHT('日本語', 1)"),
        (Value::String("語".into()), vec![])
    );
    assert_eq!(
        eval("SUBSTRING('héllo', 2, 3)"),
        (Value::String("éll".into()), vec![])
    );
    assert_eq!(
        eval("SUBSTRING('héllo', -2)"),
        (Value::String("lo".into()), vec![])
    );
    assert_eq!(
        eval("UPPER('straße')"),
        (Value::String("STRASSE".into()), vec![])
    );
    assert_eq!(
        eval("TRIM('\u{2003} x \u{0}')"),
        (Value::String("x \u{0}".into()), vec![])
    );
    assert_eq!(
        eval("SUBSTRING('abc', 1, -1)"),
        (
            Value::String(String::new()),
            vec![ErrorKind::FunctionEvaluation]
        )
    );
    assert_eq!(
        eval("concat_ws('-', 1, TRUE, 'x')"),
        (Value::String("1-true-x".into()), vec![])
    );
}

#[test]
fn integer_literals_and_overflow() {
    assert_eq!(eval("-2147483648"), (Value::Integer(i32::MIN), vec![]));
    assert_eq!(eval("2147483647"), (Value::Integer(i32::MAX), vec![]));
    assert!(Expr::parse("2147483648").is_err());
    assert!(Expr::parse("-2147483649").is_err());
    assert_eq!(eval("4 -1"), (Value::Integer(3), vec![]));
    assert_eq!(
        eval("2147483647 + 1"),
        (Value::Integer(0), vec![ErrorKind::Math])
    );
    assert_eq!(
        eval("-2147483648 / -1"),
        (Value::Integer(0), vec![ErrorKind::Math])
    );
    assert_eq!(eval("-7 / 2"), (Value::Integer(-3), vec![]));
    assert_eq!(eval("-7 % 2"), (Value::Integer(-1), vec![]));
}

#[test]
fn implicit_int_to_bool_is_a_cast_error_but_bool_function_converts() {
    assert_eq!(
        eval("NOT 10"),
        (Value::Boolean(true), vec![ErrorKind::Cast])
    );
    assert_eq!(eval("NOT BOOL(10)"), (Value::Boolean(false), vec![]));
    assert_eq!(
        eval("1 AND TRUE"),
        (Value::Boolean(false), vec![ErrorKind::Cast])
    );
    assert_eq!(
        eval("'abc' = 1"),
        (Value::Boolean(false), vec![ErrorKind::Cast])
    );
    assert_eq!(eval("1 = '1'"), (Value::Boolean(true), vec![]));
    assert_eq!(eval("exint = '42'"), (Value::Boolean(true), vec![]));
    assert_eq!(eval("exint + 1"), (Value::Integer(43), vec![]));
    assert_eq!(eval("exbool AND TRUE"), (Value::Boolean(true), vec![]));
}

#[test]
fn errors_inside_children_zero_the_parent() {
    assert_eq!(
        eval("NOT (1 / 0 = 0)"),
        (Value::Boolean(false), vec![ErrorKind::Math])
    );
    assert_eq!(
        eval("missing NOT IN ('a')"),
        (Value::Boolean(false), vec![ErrorKind::MissingAttribute])
    );
    assert_eq!(
        eval("missing NOT LIKE 'a'"),
        (Value::Boolean(false), vec![ErrorKind::MissingAttribute])
    );
    assert_eq!(
        eval("LENGTH(missing)"),
        (Value::Integer(0), vec![ErrorKind::MissingAttribute])
    );
    assert_eq!(
        eval("UPPER(missing)"),
        (
            Value::String(String::new()),
            vec![ErrorKind::MissingAttribute]
        )
    );
    assert_eq!(
        eval("FOO(1, 2)"),
        (Value::Boolean(false), vec![ErrorKind::MissingFunction])
    );
    assert_eq!(
        eval("LENGTH('a', 'b')"),
        (Value::Boolean(false), vec![ErrorKind::MissingFunction])
    );
}

#[test]
fn case_insensitive_keywords_functions_and_identifiers() {
    assert_eq!(
        eval("exists ID and Type lIkE 'com.%'"),
        (Value::Boolean(true), vec![])
    );
    assert_eq!(eval("length(SOURCE) > 0"), (Value::Boolean(true), vec![]));
    assert_eq!(eval("'a' not in ('b')"), (Value::Boolean(true), vec![]));
}

#[test]
fn string_literal_escapes() {
    assert_eq!(eval(r"'it\'s'"), (Value::String("it's".into()), vec![]));
    assert_eq!(
        eval(r#""say \"hi\"""#),
        (Value::String("say \"hi\"".into()), vec![])
    );
    assert_eq!(eval(r"'a\nb'"), (Value::String(r"a\nb".into()), vec![]));
    assert_eq!(eval(r"'a\\'"), (Value::String(r"a\\".into()), vec![]));
    assert_eq!(eval(r"'50%' LIKE '50\%'"), (Value::Boolean(true), vec![]));
    // The backslash stays in a string literal, so the left side is `50\%` here.
    assert_eq!(eval(r"'50\%' LIKE '50\%'"), (Value::Boolean(false), vec![]));
}

#[test]
fn parse_errors_have_positions() {
    for (text, pos) in [
        ("", 0),
        ("(1 + 2", 6),
        ("x LIKE y", 7),
        ("1 +", 3),
        ("a IN ()", 6),
        ("'unterminated", 0),
        ("a # b", 2),
        ("EXISTS 1", 7),
        ("a NOT b", 2),
        ("my_ext = 1", 0),
        ("1 2", 2),
    ] {
        let err = Expr::parse(text).expect_err(text);
        assert_eq!(err.position, pos, "{text}: {err}");
    }
}

#[test]
fn static_result_type() {
    use eventflow_planner::cesql::Type;
    let ty = |t: &str| Expr::parse(t).unwrap().result_type();
    assert_eq!(ty("1 + 1"), Some(Type::Integer));
    assert_eq!(ty("'x'"), Some(Type::String));
    assert_eq!(ty("CONCAT('a')"), Some(Type::String));
    assert_eq!(ty("a = b"), Some(Type::Boolean));
    assert_eq!(ty("EXISTS a"), Some(Type::Boolean));
    assert_eq!(ty("myext"), None);
    assert!(Expr::parse("myext").unwrap().may_be_boolean());
    assert!(!Expr::parse("LENGTH(x)").unwrap().may_be_boolean());
    assert_eq!(
        Expr::parse("foo(1) OR bar()").unwrap().unknown_functions(),
        vec!["FOO", "BAR"]
    );
}

#[test]
fn matches_is_fail_fast_filter_semantics() {
    let e = full_event();
    let m = |t: &str| Expr::parse(t).unwrap().matches(&e);
    assert!(m("exint = 42"));
    assert!(!m("exint"));
    assert!(!m("NOT 10"));
    assert!(!m("missing = 1 OR TRUE"));
    assert!(m("TRUE OR missing = 1"));
    // Works through `&dyn Attributes` too.
    let dynamic: &dyn eventflow_planner::event::Attributes = &e;
    assert!(Expr::parse("id = 'full-event'").unwrap().matches(dynamic));
}

//! Conformance tests for the CloudEvents JSON format reader and writer (`event::json`).
//!
//! Inputs: the sdk-java JSON fixtures and the cloudevents/conformance YAML event descriptions in
//! `tests/data/cloudevents/` (see its SOURCES.md), and the GitHub example logs in
//! `examples/github/`. Every input is also read with the cloudevents-sdk crate (0.9); where it
//! accepts, our attributes, extensions and data must agree with it.
//!
//! Where we are deliberately stricter than the SDK (it accepts, we reject), the input is listed in
//! [`STRICTER_THAN_SDK`] with the reason; the test fails if that list is not exact.

use base64::prelude::{Engine as _, BASE64_STANDARD};
use cloudevents::event::ExtensionValue;
use cloudevents::AttributesReader;
use eventflow_planner::event::json::{parse_event, write_event, EventError};
use eventflow_planner::event::{Data, Event, ExtValue, SpecVersion};
use saphyr_parser::{Event as Y, Parser};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Inputs the cloudevents-sdk accepts and we reject, each with the CloudEvents rule the SDK skips.
const STRICTER_THAN_SDK: &[(&str, &str)] = &[
    // CE core §3.1.1: names MUST be [a-z0-9]+; the SDK keeps any JSON member as an extension.
    (
        "sdk-java-json/v03/json_data_with_ext_invalid.json",
        "name a_invalid_name has '_'",
    ),
    (
        "sdk-java-json/v03/json_data_with_ext_upper_case.json",
        "names aString... are upper case",
    ),
    (
        "sdk-java-json/v1/json_data_with_ext_invalid.json",
        "name a_invalid_name has '_'",
    ),
    (
        "sdk-java-json/v1/json_data_with_ext_upper_case.json",
        "names aString... are upper case",
    ),
    (
        "events-with-errors.jsonl:4",
        "name GitHub-Event has upper case and '-'",
    ),
    // CE core §3.3: Integer is signed 32 bit; the SDK stores extensions as i64.
    (
        "sdk-java-json/v03/fail_numeric_long.json",
        "4247483647 exceeds i32",
    ),
    (
        "sdk-java-json/v1/fail_numeric_long.json",
        "4247483647 exceeds i32",
    ),
    ("events-with-errors.jsonl:37", "1099511627776 exceeds i32"),
    // CE core §3.1.1: type MUST be non-empty (the Go SDK's Validate checks; the Rust SDK doesn't).
    ("events-with-errors.jsonl:32", "type is empty"),
];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/cloudevents")
}

fn github(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/github")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sdk-java fixtures as (name relative to the data folder, text), sorted by name.
fn java_fixtures() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for version in ["v03", "v1"] {
        let dir = data_dir().join("sdk-java-json").join(version);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = format!(
                    "sdk-java-json/{version}/{}",
                    path.file_name().unwrap().to_string_lossy()
                );
                out.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    assert_eq!(out.len(), 31, "sdk-java fixtures (14 v03, 17 v1)");
    out
}

/// A YAML node: only what the conformance event descriptions use.
#[derive(Debug)]
enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
    Seq,
}

fn node<'a>(first: Y<'a>, events: &mut impl Iterator<Item = Y<'a>>) -> Node {
    match first {
        Y::Scalar(s, ..) => Node::Scalar(s.into_owned()),
        Y::MappingStart(..) => {
            let mut entries = Vec::new();
            loop {
                match events.next().unwrap() {
                    Y::MappingEnd => return Node::Map(entries),
                    Y::Scalar(k, ..) => {
                        let v = events.next().unwrap();
                        entries.push((k.into_owned(), node(v, events)));
                    }
                    other => panic!("unexpected key {other:?}"),
                }
            }
        }
        Y::SequenceStart(..) => {
            while !matches!(events.next().unwrap(), Y::SequenceEnd) {}
            Node::Seq
        }
        other => panic!("unexpected YAML event {other:?}"),
    }
}

/// The events a conformance YAML file describes, as structured-mode JSON: context attributes and
/// extensions as JSON strings; `Data` as JSON when the content type is JSON (or absent), else as a
/// JSON string (JSON format §3.1). `Mode` and `TransportExtensions` don't matter here.
fn yaml_events(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(data_dir().join("conformance/yaml").join(file)).unwrap();
    let mut events = Parser::new_from_str(&text).map(|r| r.unwrap().0);
    let mut out = Vec::new();
    while let Some(ev) = events.next() {
        if !matches!(ev, Y::MappingStart(..)) {
            continue;
        }
        let Node::Map(doc) = node(ev, &mut events) else {
            unreachable!()
        };
        let mut members = Vec::new();
        let mut json_data = true;
        for (k, v) in &doc {
            match (k.as_str(), v) {
                ("ContextAttributes", Node::Map(attrs)) => {
                    for (name, value) in attrs {
                        match value {
                            Node::Scalar(s) => {
                                if name == "datacontenttype" {
                                    let essence = s.split(';').next().unwrap().trim();
                                    json_data =
                                        essence.ends_with("/json") || essence.ends_with("+json");
                                }
                                members.push(format!("{}:{}", q(name), q(s)));
                            }
                            Node::Map(exts) => {
                                assert_eq!(name, "Extensions");
                                for (n, e) in exts {
                                    let Node::Scalar(e) = e else { panic!("{n}") };
                                    members.push(format!("{}:{}", q(n), q(e)));
                                }
                            }
                            Node::Seq => panic!("{name}"),
                        }
                    }
                }
                ("Data", Node::Scalar(d)) => {
                    let data = if json_data { d.trim().to_owned() } else { q(d) };
                    members.push(format!("\"data\":{data}"));
                }
                _ => {}
            }
        }
        out.push((
            format!("conformance/yaml/{file}#{}", out.len()),
            format!("{{{}}}", members.join(",")),
        ));
    }
    out
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Compares our event with the SDK's: specversion, attributes, extensions, data.
fn assert_agrees(name: &str, ours: &Event, sdk: &cloudevents::Event) {
    let v = match ours.specversion {
        SpecVersion::V03 => "0.3",
        SpecVersion::V10 => "1.0",
    };
    assert_eq!(sdk.specversion().as_str(), v, "{name}: specversion");
    assert_eq!(sdk.id(), &*ours.id, "{name}: id");
    assert_eq!(sdk.source().as_str(), &*ours.source, "{name}: source");
    assert_eq!(sdk.ty(), &*ours.ty, "{name}: type");
    assert_eq!(
        sdk.datacontenttype(),
        ours.datacontenttype.as_deref(),
        "{name}: datacontenttype"
    );
    assert_eq!(
        sdk.dataschema().map(|u| u.as_str()),
        ours.dataschema.as_deref(),
        "{name}: dataschema"
    );
    assert_eq!(sdk.subject(), ours.subject.as_deref(), "{name}: subject");
    let time = ours
        .time
        .as_deref()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc());
    assert_eq!(sdk.time().copied(), time, "{name}: time");

    let mut theirs: Vec<(String, ExtValue)> = sdk
        .iter_extensions()
        .map(|(n, v)| {
            let v = match v {
                ExtensionValue::String(s) => ExtValue::String(s.as_str().into()),
                ExtensionValue::Boolean(b) => ExtValue::Boolean(*b),
                ExtensionValue::Integer(i) => ExtValue::Integer(i32::try_from(*i).unwrap()),
            };
            (n.to_owned(), v)
        })
        .collect();
    theirs.sort_by(|a, b| a.0.cmp(&b.0));
    let mine: Vec<(String, ExtValue)> = ours
        .extensions
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    assert_eq!(mine, theirs, "{name}: extensions");

    // Our payload as bytes when it is base64 (1.0 data_base64, 0.3 datacontentencoding: base64).
    let base64 = ours
        .datacontentencoding
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case("base64"));
    let bytes = match &ours.data {
        Some(Data::Base64(b)) => Some(BASE64_STANDARD.decode(&**b).unwrap()),
        Some(Data::Json(raw)) if base64 => Some(
            BASE64_STANDARD
                .decode(serde_json::from_str::<String>(raw).unwrap())
                .unwrap(),
        ),
        _ => None,
    };
    match (&ours.data, sdk.data(), bytes) {
        (None, None, _) => {}
        (Some(_), Some(cloudevents::Data::Binary(b)), Some(bytes)) => {
            assert_eq!(b, &bytes, "{name}")
        }
        (Some(_), Some(cloudevents::Data::Json(v)), Some(bytes)) => {
            assert_eq!(
                v,
                &serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
                "{name}"
            )
        }
        (Some(Data::Json(raw)), Some(cloudevents::Data::Json(v)), None) => {
            assert_eq!(
                v,
                &serde_json::from_str::<serde_json::Value>(raw).unwrap(),
                "{name}: data"
            )
        }
        (Some(Data::Json(raw)), Some(cloudevents::Data::String(s)), None) => {
            assert_eq!(
                s,
                &serde_json::from_str::<String>(raw).unwrap(),
                "{name}: data"
            )
        }
        (o, t, _) => panic!("{name}: data {o:?} vs SDK {t:?}"),
    }
}

/// Parses with both readers; checks agreement, the round trip, and returns our result plus
/// whether the SDK accepted.
fn check(name: &str, text: &str) -> (Result<Event, EventError>, bool) {
    let ours = parse_event(text);
    let sdk = serde_json::from_str::<cloudevents::Event>(text);
    if let (Ok(e), Ok(s)) = (&ours, &sdk) {
        assert_agrees(name, e, s);
    }
    if let Ok(e) = &ours {
        let mut line = String::new();
        write_event(e, &mut line);
        assert!(!line.contains('\n'), "{name}: {line}");
        assert_eq!(
            parse_event(&line).as_ref(),
            Ok(e),
            "{name}: round trip of {line}"
        );
    }
    (ours, sdk.is_ok())
}

/// Runs `check` over every input and checks the "stricter than the SDK" list against reality.
#[test]
fn every_input_agrees_with_the_sdk_or_is_listed() {
    let mut inputs = java_fixtures();
    for file in [
        "v1.yaml",
        "v03.yaml",
        "v1.0/v1_minimum.yaml",
        "v0.3/v03_minimum.yaml",
    ] {
        inputs.extend(yaml_events(file));
    }
    for (i, line) in github("events.jsonl").lines().enumerate() {
        inputs.push((format!("events.jsonl:{}", i + 1), line.to_owned()));
    }
    for (i, line) in github("events-with-errors.jsonl").lines().enumerate() {
        inputs.push((
            format!("events-with-errors.jsonl:{}", i + 1),
            line.to_owned(),
        ));
    }
    let mut stricter = BTreeSet::new();
    for (name, text) in &inputs {
        match check(name, text) {
            (Ok(_), false) => panic!("{name}: we accept what the SDK rejects"),
            (Err(_), true) => {
                stricter.insert(name.as_str());
            }
            _ => {}
        }
    }
    let listed: BTreeSet<&str> = STRICTER_THAN_SDK.iter().map(|(n, _)| *n).collect();
    assert_eq!(stricter, listed);
}

#[test]
fn java_fixtures_pass_or_fail_as_named() {
    for (name, text) in java_fixtures() {
        let file = name.rsplit('/').next().unwrap();
        let must_fail =
            file.starts_with("fail_") || file.contains("_invalid") || file.contains("upper_case");
        match (parse_event(&text), must_fail) {
            (Ok(_), false) => {}
            (Err(e), true) => {
                let reason = e.to_string();
                let want = if file.contains("numeric_decimal") {
                    "decimal"
                } else if file.contains("numeric_long") {
                    "out of range"
                } else {
                    "invalid attribute name"
                };
                assert!(reason.contains(want), "{name}: {reason}");
            }
            (r, _) => panic!("{name}: {r:?}"),
        }
    }
}

/// The expectations sdk-java's JsonFormatTest states for these files (SOURCES.md).
#[test]
fn java_fixtures_decode_to_the_documented_events() {
    let load = |name: &str| {
        let path = data_dir().join("sdk-java-json").join(name);
        parse_event(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    for v in ["v03", "v1"] {
        let min = load(&format!("{v}/min.json"));
        assert_eq!(
            (&*min.id, &*min.ty, &*min.source),
            ("1", "mock.test", "http://localhost/source")
        );
        assert_eq!(load(&format!("{v}/min_subject_null.json")), min);
        let ext = load(&format!("{v}/json_data_with_ext.json"));
        assert_eq!(
            ext.extension("astring"),
            Some(&ExtValue::String("aaa".into()))
        );
        assert_eq!(ext.extension("aboolean"), Some(&ExtValue::Boolean(true)));
        assert_eq!(ext.extension("anumber"), Some(&ExtValue::Integer(10)));
        assert_eq!(ext.data, Some(Data::Json("{}".into())));
        assert_eq!(
            load(&format!("{v}/text_data.json")).data,
            Some(Data::Json("\"Hello World Lorena!\"".into()))
        );
    }
    let b64 = load("v1/base64_json_data_with_ext.json");
    assert_eq!(b64.data, Some(Data::Base64("e30=".into())));
    assert_eq!(
        b64.extensions,
        load("v1/json_data_with_ext.json").extensions
    );
    let b64 = load("v03/base64_json_data.json");
    assert_eq!(b64.datacontentencoding.as_deref(), Some("base64"));
    assert_eq!(b64.dataschema.as_deref(), Some("http://localhost/schema"));
    assert_eq!(
        load("v1/json_data_with_fractional_time.json")
            .time
            .as_deref(),
        Some("2018-04-26T14:48:09.1234Z")
    );
    assert_eq!(
        load("v1/binary_attr.json").extension("binary"),
        Some(&ExtValue::String("4P8ARKo=".into()))
    );
    let num = load("v1/numeric_ext.json");
    assert_eq!(num.extension("integer"), Some(&ExtValue::Integer(42)));
    for (n, s) in [("decimal", "42.42"), ("float", "4.2"), ("long", "4200")] {
        assert_eq!(num.extension(n), Some(&ExtValue::String(s.into())));
    }
}

#[test]
fn conformance_yaml_events_parse() {
    let events = yaml_events("v1.0/v1_minimum.yaml");
    assert_eq!(events.len(), 6);
    for (name, text) in &events {
        let e = parse_event(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(e.specversion, SpecVersion::V10);
    }
    let json = parse_event(&events[3].1).unwrap();
    assert_eq!(
        json.data,
        Some(Data::Json(r#"{"msg":"Hello, 🌎!"}"#.into()))
    );
    let text = parse_event(&events[1].1).unwrap();
    assert_eq!(text.data, Some(Data::Json(r#""Hello, 🌎!\n""#.into())));
    let v03 = yaml_events("v03.yaml");
    let e = parse_event(&v03[0].1).unwrap();
    assert_eq!(e.specversion, SpecVersion::V03);
    assert_eq!(
        e.extension("comexampleextension2"),
        Some(&ExtValue::String("{\"othervalue\": 5}\n".into()))
    );
    assert_eq!(yaml_events("v1.yaml").len(), 2);
    assert_eq!(yaml_events("v0.3/v03_minimum.yaml").len(), 6);
}

/// Every line of the GitHub example log parses and survives write → parse unchanged; lines without
/// insignificant white space are even written back byte for byte.
#[test]
fn github_log_round_trips() {
    let log = github("events.jsonl");
    let mut count = 0;
    for (i, line) in log.lines().enumerate() {
        let e = parse_event(line).unwrap_or_else(|err| panic!("line {}: {err}", i + 1));
        let mut out = String::new();
        write_event(&e, &mut out);
        assert_eq!(parse_event(&out).as_ref(), Ok(&e), "line {}", i + 1);
        count += 1;
    }
    assert_eq!(count, 273);
}

#[test]
fn github_log_with_errors_fails_exactly_where_expected() {
    let expect: serde_json::Value =
        serde_json::from_str(&github("events-with-errors.expect.json")).unwrap();
    let bad: Vec<(usize, String)> = expect["bad_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap() as usize,
                b["why"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let lines: Vec<String> = github("events-with-errors.jsonl")
        .lines()
        .map(str::to_owned)
        .collect();
    let mut good = 0;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        match (parse_event(line), bad.iter().find(|(l, _)| *l == n)) {
            (Ok(_), None) => good += 1,
            (Err(e), Some((_, why))) => {
                let reason = e.to_string();
                let keys: &[&str] = match why.as_str() {
                    "invalid attribute name" => &["invalid attribute name", "GitHub-Event"],
                    "not an object" => &["not an object"],
                    "missing type" => &["missing", "type"],
                    "relative dataschema" => &["relative dataschema"],
                    "empty type" => &["empty", "type"],
                    "bad time" => &["bad time"],
                    "truncated json" => &["invalid JSON", "EOF"],
                    "integer extension out of range" => &["out of range", "bigext"],
                    "numeric id" => &["id must be a string"],
                    "unknown specversion" => &["unknown specversion", "19.0"],
                    other => panic!("line {n}: unexpected why {other:?}"),
                };
                for key in keys {
                    assert!(reason.contains(key), "line {n} ({why}): {reason}");
                }
                assert!(!reason.contains('\n'));
            }
            (r, _) => panic!("line {n}: {r:?}"),
        }
    }
    assert_eq!(good, expect["good_events"].as_u64().unwrap() as usize);
    assert_eq!(bad.len(), 10);
}

/// A micro measurement, not a test: parse and write throughput over the GitHub log, next to the
/// SDK's deserializer. Run with
/// `cargo test --release -p eventflow-planner --test cloudevents_json -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    // The GitHub log (10.6 kB a line, mostly `data`) and a 330-byte event like timely-notes §5's.
    let small = r#"{"specversion":"1.0","id":"6f1ac0b4-3e2a-4c8e-9d3b-2f1e0a9b7c55","source":"https://example.com/orders","type":"com.example.order.created","subject":"order-42","time":"2024-05-01T12:00:00.123Z","datacontenttype":"application/json","partitionkey":"customer-7","data":{"order":42,"note":"line one\nline \"two\"","total":12.5}}"#;
    for (log, rounds) in [
        (github("events.jsonl"), 200),
        (format!("{small}\n").repeat(1000), 2000),
    ] {
        measure(&log, rounds);
    }
}

fn measure(log: &str, rounds: usize) {
    use std::time::Instant;
    let lines: Vec<&str> = log.lines().collect();
    println!(
        "{} lines of {} bytes on average:",
        lines.len(),
        log.len() / lines.len()
    );
    let bytes = (log.len() * rounds) as f64;
    let events = (lines.len() * rounds) as f64;
    let report = |what: &str, start: Instant| {
        let s = start.elapsed().as_secs_f64();
        println!(
            "{what:>12}: {:7.0} MB/s {:9.0} events/s",
            bytes / s / 1e6,
            events / s
        );
    };
    let start = Instant::now();
    for _ in 0..rounds {
        for line in &lines {
            std::hint::black_box(parse_event(line).unwrap());
        }
    }
    report("parse_event", start);
    let parsed: Vec<Event> = lines.iter().map(|l| parse_event(l).unwrap()).collect();
    let start = Instant::now();
    let mut out = String::new();
    for _ in 0..rounds {
        for e in &parsed {
            out.clear();
            write_event(e, &mut out);
            std::hint::black_box(&out);
        }
    }
    report("write_event", start);
    let start = Instant::now();
    for _ in 0..rounds {
        for line in &lines {
            std::hint::black_box(serde_json::from_str::<cloudevents::Event>(line).unwrap());
        }
    }
    report("sdk parse", start);
}

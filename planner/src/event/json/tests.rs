//! Unit tests for the tricky corners of the JSON reader and writer.

use super::syntax::{is_attribute_name, is_media_type};
use super::{parse_event, write_event, EventError};
use crate::event::{Data, Event, ExtValue, SpecVersion};

const MIN: &str = r#""specversion":"1.0","id":"1","source":"/s","type":"t""#;

fn ok(members: &str) -> Event {
    let text = format!("{{{MIN}{members}}}");
    match parse_event(&text) {
        Ok(e) => e,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn err(members: &str) -> String {
    let text = format!("{{{MIN}{members}}}");
    match parse_event(&text) {
        Ok(e) => panic!("{text} parsed: {e:?}"),
        Err(e) => e.to_string(),
    }
}

fn written(e: &Event) -> String {
    let mut out = String::new();
    write_event(e, &mut out);
    out
}

fn round_trip(e: &Event) {
    let text = written(e);
    assert!(!text.contains('\n'), "{text}");
    assert_eq!(parse_event(&text).as_ref(), Ok(e), "{text}");
}

#[test]
fn minimal() {
    let e = ok("");
    assert_eq!(e, Event::new("1", "/s", "t"));
    assert_eq!(written(&e), format!("{{{MIN}}}"));
    round_trip(&e);
}

#[test]
fn escaped_strings_are_unescaped_and_rewritten() {
    let e = ok(r#","subject":"a\"b\\c\/d\n\t\u0001\u00e9\ud83c\udf0e","xname":"q\"""#);
    assert_eq!(e.subject.as_deref(), Some("a\"b\\c/d\n\t\u{1}é🌎"));
    assert_eq!(e.extension("xname"), Some(&ExtValue::String("q\"".into())));
    let text = written(&e);
    assert!(
        text.contains(r#""subject":"a\"b\\c/d\n\t\u0001é🌎""#),
        "{text}"
    );
    round_trip(&e);
}

#[test]
fn escaped_member_names_count_as_their_text() {
    let e = parse_event(r#"{"specversion":"1.0","\u0069d":"1","source":"/s","type":"t"}"#).unwrap();
    assert_eq!(&*e.id, "1");
    let dup = r#"{"specversion":"1.0","id":"1","\u0069d":"2","source":"/s","type":"t"}"#;
    assert_eq!(parse_event(dup), Err(EventError::Duplicate("id".into())));
}

#[test]
fn unicode_values_are_kept() {
    let e = ok(r#","subject":"Grüße 🌎","data":"Hello, 🌎!""#);
    assert_eq!(e.subject.as_deref(), Some("Grüße 🌎"));
    assert_eq!(e.data, Some(Data::Json(r#""Hello, 🌎!""#.into())));
    round_trip(&e);
}

#[test]
fn nested_data_is_kept_verbatim() {
    let data = r#"{ "a" : [1, 2.50, {"b": "\u00e9\n"}], "c": null }"#;
    let e = ok(&format!(",\"data\": {data} "));
    assert_eq!(e.data, Some(Data::Json(data.into())));
    assert!(written(&e).ends_with(&format!(",\"data\":{data}}}")));
    round_trip(&e);
}

#[test]
fn multi_line_data_is_written_on_one_line() {
    let e = parse_event("{\r\n  \"specversion\": \"1.0\", \"id\": \"1\", \"source\": \"/s\",\n  \"type\": \"t\", \"data\": {\n    \"a\": \"x\\ny\"\n  }\n}\n").unwrap();
    assert_eq!(
        e.data,
        Some(Data::Json("{\n    \"a\": \"x\\ny\"\n  }".into()))
    );
    let text = written(&e);
    assert!(text.ends_with(r#""data":{     "a": "x\ny"   }}"#), "{text}");
}

#[test]
fn null_attributes_are_unset() {
    let e =
        ok(r#","subject":null,"time":null,"datacontenttype":null,"dataschema":null,"ext":null"#);
    assert_eq!(e, Event::new("1", "/s", "t"));
    assert_eq!(err(r#","id":null"#), r#"duplicate attribute "id""#);
    let text = r#"{"specversion":"1.0","id":null,"source":"/s","type":"t"}"#;
    assert_eq!(parse_event(text), Err(EventError::Missing("id")));
    let text = r#"{"specversion":null,"id":"1","source":"/s","type":"t"}"#;
    assert_eq!(parse_event(text), Err(EventError::Missing("specversion")));
}

#[test]
fn data_null_differs_from_no_data() {
    assert_eq!(ok(r#","data":null"#).data, Some(Data::Json("null".into())));
    assert_eq!(ok("").data, None);
    assert_eq!(ok(r#","data_base64":null"#).data, None);
    assert_eq!(
        ok(r#","data":1,"data_base64":null"#).data,
        Some(Data::Json("1".into()))
    );
    round_trip(&ok(r#","data":null"#));
}

#[test]
fn numeric_and_boolean_extensions() {
    let e = ok(r#","zint":-2147483648,"bool":false,"max":2147483647,"str":"42""#);
    let names: Vec<&str> = e.extensions.iter().map(|(n, _)| &**n).collect();
    assert_eq!(names, ["bool", "max", "str", "zint"]);
    assert_eq!(e.extension("zint"), Some(&ExtValue::Integer(i32::MIN)));
    assert_eq!(e.extension("max"), Some(&ExtValue::Integer(i32::MAX)));
    assert_eq!(e.extension("bool"), Some(&ExtValue::Boolean(false)));
    assert_eq!(e.extension("str"), Some(&ExtValue::String("42".into())));
    assert_eq!(
        written(&e),
        format!(r#"{{{MIN},"bool":false,"max":2147483647,"str":"42","zint":-2147483648}}"#)
    );
    round_trip(&e);
    assert!(err(r#","big":2147483648"#).contains("out of range"));
    assert!(err(r#","big":-2147483649"#).contains("out of range"));
    assert!(err(r#","big":18446744073709551616"#).contains("decimal"));
    assert!(err(r#","dec":42.0"#).contains("decimal"));
    assert!(err(r#","dec":1e3"#).contains("decimal"));
    assert!(err(r#","obj":{"a":1}"#).contains("an object"));
    assert!(err(r#","arr":[1]"#).contains("an array"));
}

#[test]
fn attribute_errors_name_the_attribute() {
    let cases = [
        (r#","subject":"""#, r#"empty attribute "subject""#),
        (r#","subject":5"#, "subject must be a string"),
        (
            r#","time":"2018-04-26 14:48""#,
            "bad time \"2018-04-26 14:48\" (not RFC 3339)",
        ),
        (
            r#","datacontenttype":"json""#,
            "bad datacontenttype \"json\"",
        ),
        (
            r#","dataschema":"/schema""#,
            "relative dataschema \"/schema\" (must be an absolute URI)",
        ),
        (r#","dataschema":"""#, r#"empty attribute "dataschema""#),
        (r#","Ext":1"#, r#"invalid attribute name "Ext""#),
        (r#","a-b":1"#, r#"invalid attribute name "a-b""#),
        (r#","a_b":1"#, r#"invalid attribute name "a_b""#),
        (r#","":1"#, r#"invalid attribute name """#),
        (r#","e":1,"e":2"#, r#"duplicate attribute "e""#),
        (r#","data":1,"data":2"#, r#"duplicate attribute "data""#),
        (
            r#","data":1,"data_base64":"AA==""#,
            "data and data_base64 both present",
        ),
        (r#","data_base64":"A""#, "data_base64 is not valid base64"),
        (r#","data_base64":1"#, "data_base64 must be a string"),
    ];
    for (members, want) in cases {
        assert_eq!(err(members), want, "{members}");
    }
}

#[test]
fn required_attributes() {
    let e = |t: &str| parse_event(t).map_err(|e| e.to_string());
    assert_eq!(
        e(r#"{"specversion":"1.0","id":"1","source":"/s"}"#),
        Err(r#"missing required attribute "type""#.into())
    );
    assert_eq!(
        e(r#"{"specversion":"1.0","id":" ","source":"/s","type":"t"}"#),
        Err(r#"empty attribute "id""#.into())
    );
    assert_eq!(
        e(r#"{"specversion":"1.0","id":1,"source":"/s","type":"t"}"#),
        Err("id must be a string".into())
    );
    assert_eq!(
        e(r#"{"specversion":1.0,"id":"1","source":"/s","type":"t"}"#),
        Err("specversion must be a string".into())
    );
    assert_eq!(
        e(r#"{"specversion":"1.1","id":"1","source":"/s","type":"t"}"#),
        Err(r#"unknown specversion "1.1""#.into())
    );
    assert_eq!(
        e(r#"{"id":"1","source":"/s","type":"t"}"#),
        Err(r#"missing required attribute "specversion""#.into())
    );
}

#[test]
fn json_errors() {
    assert_eq!(parse_event("[1]"), Err(EventError::NotAnObject));
    assert_eq!(parse_event(r#" "x" "#), Err(EventError::NotAnObject));
    for bad in [
        "",
        "{",
        r#"{"specversion":"1.0","id":"1""#,
        "{} x",
        "nope",
        "{\"a\":tru}",
    ] {
        let msg = parse_event(bad).unwrap_err().to_string();
        assert!(msg.starts_with("invalid JSON: "), "{bad}: {msg}");
        assert!(!msg.contains('\n'));
    }
}

#[test]
fn version_dependent_members() {
    let v03 = r#"{"specversion":"0.3","id":"1","source":"/s","type":"t","schemaurl":"schema.json","dataschema":"x","datacontentencoding":"base64","data":"e30="}"#;
    let e = parse_event(v03).unwrap();
    assert_eq!(e.specversion, SpecVersion::V03);
    assert_eq!(e.dataschema.as_deref(), Some("schema.json"));
    assert_eq!(e.datacontentencoding.as_deref(), Some("base64"));
    assert_eq!(
        e.extension("dataschema"),
        Some(&ExtValue::String("x".into()))
    );
    assert_eq!(e.data, Some(Data::Json(r#""e30=""#.into())));
    assert_eq!(
        written(&e),
        r#"{"specversion":"0.3","id":"1","source":"/s","type":"t","schemaurl":"schema.json","datacontentencoding":"base64","dataschema":"x","data":"e30="}"#
    );
    round_trip(&e);
    let bad = v03.replace("\"e30=\"", "\"e30\"");
    assert_eq!(parse_event(&bad), Err(EventError::BadBase64("data")));
    let bad = v03.replace("\"e30=\"", "{}");
    assert_eq!(parse_event(&bad), Err(EventError::Base64DataNotString));
    let bad = v03.replace("\"dataschema\":\"x\"", "\"data_base64\":\"AA==\"");
    assert_eq!(
        parse_event(&bad),
        Err(EventError::InvalidName("data_base64".into()))
    );
    let e = ok(r#","schemaurl":"rel","datacontentencoding":"base64""#);
    assert_eq!(e.dataschema, None);
    assert_eq!(e.datacontentencoding, None);
    assert_eq!(e.extensions.len(), 2);
}

#[test]
fn base64_data_is_written_as_data_base64() {
    let e = ok(r#","datacontenttype":"application/octet-stream","data_base64":"4P8ARKo=""#);
    assert_eq!(e.data, Some(Data::Base64("4P8ARKo=".into())));
    assert!(written(&e).ends_with(r#","data_base64":"4P8ARKo="}"#));
    round_trip(&e);
    let mut v03 = e.clone();
    v03.specversion = SpecVersion::V03;
    let text = written(&v03);
    assert!(
        text.ends_with(r#""datacontentencoding":"base64","data":"4P8ARKo="}"#),
        "{text}"
    );
    assert_eq!(
        parse_event(&text).unwrap().data,
        Some(Data::Json(r#""4P8ARKo=""#.into()))
    );
}

#[test]
fn writer_escapes_every_control_character() {
    let mut e = Event::new("\u{0}\u{1f}\u{7f}\u{8}\u{c}", "/s", "t");
    e.set_extension("x", ExtValue::String("\u{2028}".into()));
    let text = written(&e);
    // U+0000–U+001F are escaped (short forms where JSON has them); DEL and U+2028 are not.
    assert!(
        text.contains("\"id\":\"\\u0000\\u001f\u{7f}\\b\\f\""),
        "{text}"
    );
    assert!(text.contains("\"x\":\"\u{2028}\""), "{text}");
    assert_eq!(parse_event(&text), Ok(e));
}

#[test]
fn data_that_does_not_match_its_content_type_is_kept() {
    // The SDK rejects non-string data with a non-JSON content type; we keep the raw JSON.
    let e = ok(r#","datacontenttype":"text/plain","data":{"a":1}"#);
    assert_eq!(e.data, Some(Data::Json(r#"{"a":1}"#.into())));
    let e = ok(r#","datacontenttype":"text/plain","data":null"#);
    assert_eq!(e.data, Some(Data::Json("null".into())));
}

#[test]
fn media_types() {
    for good in [
        "application/json",
        "text/plain; charset=us-ascii",
        "application/json;charset=utf-8",
        "application/cloudevents+json",
        "text/plain; charset=\"utf-8\"; format=flowed",
        "text/plain;",
        "multipart/form-data; boundary=\"a;b\"",
    ] {
        assert!(is_media_type(good), "{good}");
    }
    for bad in [
        "",
        "json",
        "/json",
        "text/",
        "text/plain; charset",
        "text/plain; charset=\"x",
        "a b/c",
        "text/plain x",
    ] {
        assert!(!is_media_type(bad), "{bad}");
    }
}

#[test]
fn attribute_names() {
    assert!(is_attribute_name("a1"));
    assert!(is_attribute_name("1a"));
    for bad in ["", "A", "a-b", "a_b", "é", "a b"] {
        assert!(!is_attribute_name(bad), "{bad}");
    }
}

#[test]
fn times() {
    for good in [
        "2018-04-26T14:48:09+02:00",
        "2018-04-26T14:48:09.1234Z",
        "1985-04-12T23:20:50.52Z",
    ] {
        assert_eq!(
            ok(&format!(",\"time\":\"{good}\"")).time.as_deref(),
            Some(good)
        );
    }
    for bad in ["2018-04-26", "2018-04-26T14:48:09", "yesterday at noon", ""] {
        assert!(
            err(&format!(",\"time\":\"{bad}\"")).starts_with("bad time"),
            "{bad}"
        );
    }
}

#[test]
fn long_values_are_clipped_in_messages() {
    let long = "x".repeat(500);
    let msg = err(&format!(",\"time\":\"{long}\""));
    assert!(msg.len() < 100, "{msg}");
    assert!(msg.contains('…'));
}

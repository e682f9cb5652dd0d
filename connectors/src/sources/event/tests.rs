use super::*;
use eventflow_planner::event::json::write_event;
use eventflow_planner::manifest::load_str;

/// Loads one source manifest (with a Service sink) and returns the event fired at 00:01.
fn fired(yaml: &str, id: EventId) -> Event {
    let loaded = load_str("test.yaml", yaml);
    assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
    let source = &loaded.topology.sources[0];
    let template = EventTemplate::from_source(source).unwrap().unwrap();
    let at = DateTime::parse_from_rfc3339("2024-01-01T00:01:00Z")
        .unwrap()
        .with_timezone(&Utc);
    template.event(at, id)
}

fn json(event: &Event) -> serde_json::Value {
    let mut s = String::new();
    write_event(event, &mut s);
    serde_json::from_str(&s).unwrap()
}

const SINK: &str = "  sink: {ref: {apiVersion: v1, kind: Service, name: display}}\n";

fn ping(version: &str, spec: &str) -> String {
    format!(
        "apiVersion: sources.knative.dev/{version}\nkind: PingSource\nmetadata: {{name: p, namespace: ns}}\nspec:\n  schedule: '* * * * *'\n{spec}{SINK}"
    )
}

#[test]
fn ping_with_text_data() {
    let e = fired(
        &ping("v1", "  contentType: text/plain\n  data: hello\n"),
        EventId::Derived,
    );
    let v = json(&e);
    assert_eq!(v["specversion"], "1.0");
    assert_eq!(v["type"], "dev.knative.sources.ping");
    assert_eq!(v["source"], "/apis/v1/namespaces/ns/pingsources/p");
    assert_eq!(v["time"], "2024-01-01T00:01:00Z");
    assert_eq!(v["datacontenttype"], "text/plain");
    assert_eq!(e.data, Some(Data::Base64("aGVsbG8=".into())));
    // Derived ids are stable; random ones are fresh UUIDs.
    let again = fired(
        &ping("v1", "  contentType: text/plain\n  data: hello\n"),
        EventId::Derived,
    );
    assert_eq!(e.id, again.id);
    let r1 = fired(&ping("v1", "  data: hello\n"), EventId::Random);
    let r2 = fired(&ping("v1", "  data: hello\n"), EventId::Random);
    assert_ne!(r1.id, r2.id);
    assert!(uuid::Uuid::parse_str(&r1.id).is_ok());
    assert_eq!(r1.datacontenttype, None);
}

#[test]
fn ping_with_json_data() {
    let e = fired(
        &ping(
            "v1",
            "  contentType: application/json\n  data: '{\"message\": \"Hello world!\"}'\n",
        ),
        EventId::Derived,
    );
    assert_eq!(
        e.data,
        Some(Data::Json(r#"{"message": "Hello world!"}"#.into()))
    );
    assert_eq!(json(&e)["data"]["message"], "Hello world!");
    assert_eq!(e.datacontenttype.as_deref(), Some("application/json"));
}

#[test]
fn ping_with_data_base64() {
    // Knative's conformance: TestPingSourceWithCloudEventData.
    let e = fired(
        &ping(
            "v1",
            "  contentType: text/plain\n  dataBase64: aGVsbG8sIHdvcmxkIQ==\n",
        ),
        EventId::Derived,
    );
    assert_eq!(e.data, Some(Data::Base64("aGVsbG8sIHdvcmxkIQ==".into())));
    assert_eq!(json(&e)["data_base64"], "aGVsbG8sIHdvcmxkIQ==");
    // JSON bytes under a JSON content type are sent as JSON.
    let e = fired(
        &ping(
            "v1beta2",
            "  contentType: application/json\n  dataBase64: eyJhIjogMX0=\n",
        ),
        EventId::Derived,
    );
    assert_eq!(e.data, Some(Data::Json(r#"{"a": 1}"#.into())));
}

#[test]
fn ping_json_data_object_and_wrapped() {
    let e = fired(
        &ping("v1alpha2", "  jsonData: '{\"a\": 1}'\n"),
        EventId::Derived,
    );
    assert_eq!(e.data, Some(Data::Json(r#"{"a": 1}"#.into())));
    assert_eq!(e.datacontenttype.as_deref(), Some("application/json"));
    let e = fired(&ping("v1beta1", "  jsonData: hi there\n"), EventId::Derived);
    assert_eq!(e.data, Some(Data::Json(r#"{"body":"hi there"}"#.into())));
    assert_eq!(e.datacontenttype.as_deref(), Some("application/json"));
    let e = fired(
        &ping("v1alpha2", "  jsonData: '[1, 2]'\n"),
        EventId::Derived,
    );
    assert_eq!(e.data, Some(Data::Json(r#"{"body":"[1, 2]"}"#.into())));
}

#[test]
fn cronjob_shape_is_0_3() {
    let yaml = |data: &str| {
        format!(
            "apiVersion: sources.eventing.knative.dev/v1alpha1\nkind: CronJobSource\nmetadata: {{name: c}}\nspec:\n  schedule: '*/1 * * * *'\n{data}  sink: {{apiVersion: serving.knative.dev/v1, kind: Service, name: display}}\n"
        )
    };
    let e = fired(
        &yaml("  data: '{\"message\": \"Hello world!\"}'\n"),
        EventId::Derived,
    );
    let v = json(&e);
    assert_eq!(v["specversion"], "0.3");
    assert_eq!(v["type"], "dev.knative.cronjob.event");
    assert_eq!(v["source"], "/apis/v1/namespaces/default/cronjobsources/c");
    assert_eq!(v["datacontenttype"], "application/json");
    assert_eq!(v["data"]["message"], "Hello world!");
    assert_eq!(v["time"], "2024-01-01T00:01:00Z");
    let e = fired(&yaml("  data: plain text\n"), EventId::Derived);
    assert_eq!(e.data, Some(Data::Json(r#"{"body":"plain text"}"#.into())));
    let e = fired(&yaml(""), EventId::Derived);
    assert_eq!(e.data, Some(Data::Json(r#"{"body":""}"#.into())));
}

#[test]
fn ce_overrides_on_every_event() {
    let e = fired(
        &ping(
            "v1",
            "  data: x\n  ceOverrides:\n    extensions: {team: blue, env: prod}\n",
        ),
        EventId::Random,
    );
    let names: Vec<&str> = e.extensions.iter().map(|(n, _)| &**n).collect();
    assert_eq!(names, ["env", "team"]);
    assert_eq!(e.extension("team"), Some(&ExtValue::String("blue".into())));
    let v = json(&e);
    assert_eq!(v["env"], "prod");
}

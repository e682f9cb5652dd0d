//! Manifest loader tests: the 28 collected Knative manifests, the GitHub example topology,
//! golden diagnostics for the bad manifests, alias bombs and a 10,000-Trigger load.
//!
//! `UPDATE_GOLDEN=1 cargo test -p eventflow-planner --test manifests` rewrites the goldens.

use eventflow_planner::delivery::{BackoffPolicy, DeliverySpec};
use eventflow_planner::diagnostic::{Diagnostics, Severity};
use eventflow_planner::filter::Filter;
use eventflow_planner::manifest::{load, load_paths, load_str, Loaded};
use eventflow_planner::topology::{Destination, ObjectRef, RefKind, SourceKind, Topology};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest(name: &str) -> PathBuf {
    let dir = root().join("tests/data/knative-manifests");
    let found = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(name));
    found.unwrap_or_else(|| panic!("no manifest {name}"))
}

/// Loads one collected manifest, returning the topology whatever the diagnostics.
fn load_manifest(name: &str) -> Loaded {
    load(&[manifest(name)])
}

/// Diagnostics with paths relative to the repository root (stable across machines).
fn relative(mut d: Diagnostics) -> Diagnostics {
    let r = root();
    let prefix = format!("{}/", r.display());
    for x in &mut d.0 {
        if let Ok(p) = x.origin.file.strip_prefix(&r) {
            x.origin.file = p.to_path_buf();
        }
        if let Some(h) = &mut x.hint {
            *h = h.replace(&prefix, "");
        }
    }
    d
}

fn errors(l: &Loaded) -> Vec<String> {
    let d = relative(l.diagnostics.clone());
    d.0.iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect()
}

fn service(name: &str, ns: &str) -> Destination {
    Destination::Ref {
        target: ObjectRef {
            kind: RefKind::External("Service".into()),
            namespace: ns.into(),
            name: name.into(),
        },
        path: None,
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn trigger<'t>(t: &'t Topology, name: &str) -> &'t eventflow_planner::topology::Trigger {
    t.triggers
        .iter()
        .find(|x| x.meta.name == name)
        .unwrap_or_else(|| panic!("no trigger {name}"))
}

fn check_golden(golden: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(golden, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(golden).unwrap_or_else(|_| {
        panic!(
            "missing golden {} (run with UPDATE_GOLDEN=1)",
            golden.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "golden {} differs (UPDATE_GOLDEN=1 rewrites it)",
        golden.display()
    );
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    v.sort();
    v
}

#[test]
fn golden_bad_manifests() {
    let files = yaml_files(&root().join("tests/data/bad-manifests"));
    assert!(files.len() >= 10);
    for f in files {
        let rel = f.strip_prefix(root()).unwrap().to_path_buf();
        let l = load(&[&f]);
        assert!(
            l.diagnostics.has_errors() || rel.ends_with("non-eventing.yaml"),
            "{} has no errors",
            rel.display()
        );
        let text = format!("{}\n", relative(l.diagnostics));
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        check_golden(
            &root()
                .join("tests/golden/diagnostics")
                .join(format!("{stem}.txt")),
            &text,
        );
    }
}

#[test]
fn golden_collected_manifests() {
    for f in yaml_files(&root().join("tests/data/knative-manifests")) {
        let text = format!("{}\n", relative(load(&[&f]).diagnostics));
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        check_golden(
            &root()
                .join("tests/golden/diagnostics/knative-manifests")
                .join(format!("{stem}.txt")),
            &text,
        );
    }
}

/// Every collected manifest loads without errors. References to Brokers/Channels a snippet
/// does not define (they come from elsewhere in the original tutorials) are warnings: like
/// Kubernetes, the resource is accepted and left not Ready; an undefined Broker `default` is
/// implicit (Knative's broker injection).
#[test]
fn all_28_manifests_load() {
    let files = yaml_files(&root().join("tests/data/knative-manifests"));
    assert_eq!(files.len(), 28);
    let not_ready = ["01", "05", "20", "26", "28"];
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let l = load(&[f]);
        let errs = errors(&l);
        assert!(errs.is_empty(), "{name}: unexpected errors {errs:?}");
        let unresolved = l
            .diagnostics
            .0
            .iter()
            .any(|d| d.message.starts_with("unresolved reference"));
        assert_eq!(
            unresolved,
            not_ready.contains(&&name[..2]),
            "{name}: {:?}",
            l.diagnostics.0
        );
        let t = &l.topology;
        let total = t.brokers.len()
            + t.triggers.len()
            + t.channels.len()
            + t.subscriptions.len()
            + t.sequences.len()
            + t.parallels.len()
            + t.sources.len()
            + t.event_types.len();
        assert!(total > 0, "{name}: empty topology");
        if errs.is_empty() {
            assert!(load_paths(&[f]).is_ok(), "{name}");
        }
    }
    // With the Broker the snippets assume, 21 loads without errors.
    assert!(load_paths(&[manifest("18"), manifest("21")]).is_ok());
}

#[test]
fn manifest_01_source_and_type_and_default_broker() {
    let l = load_manifest("01");
    let t = &l.topology;
    assert_eq!(t.brokers.len(), 2);
    assert_eq!(t.brokers[1].channel_kind.as_deref(), Some("KafkaChannel"));
    assert_eq!(t.brokers[0].class, "MTChannelBasedBroker");
    let d = trigger(t, "knative-service-default-broker");
    assert_eq!(
        d.broker,
        ObjectRef {
            kind: RefKind::Broker,
            namespace: "default".into(),
            name: "default".into()
        }
    );
    assert_eq!(d.filter, Filter::None);
    assert_eq!(d.subscriber, service("message-dumper", "default"));
    assert_eq!(
        trigger(t, "knative-service-my-other-broker").broker.name,
        "my-other-broker"
    );
    assert_eq!(
        trigger(t, "filtering-type").filter,
        Filter::Attributes(pairs(&[("type", "dev.knative.foo")]))
    );
    assert_eq!(
        trigger(t, "filtering-source").filter,
        Filter::Attributes(pairs(&[("source", "dev.knative.bar")]))
    );
    assert_eq!(
        trigger(t, "filtering-type-and-source").filter,
        Filter::Attributes(pairs(&[
            ("type", "dev.knative.foo"),
            ("source", "dev.knative.bar")
        ]))
    );
    assert!(errors(&l).is_empty());
    let warnings: Vec<String> = l.diagnostics.0.iter().map(|d| d.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(":50: warning: Trigger/default/knative-service-my-other-broker: unresolved reference `spec.broker`"));
}

#[test]
fn manifest_07_v1alpha1_parallel_with_inline_reply() {
    let l = load_manifest("07");
    assert!(l.diagnostics.0.is_empty(), "{}", l.diagnostics);
    let p = &l.topology.parallels[0];
    assert_eq!(p.meta.name, "odd-even-parallel");
    assert_eq!(p.channel_template.kind, "InMemoryChannel");
    assert_eq!(p.branches.len(), 2);
    assert_eq!(
        p.branches[0].filter,
        Some(service("even-filter", "default"))
    );
    assert_eq!(
        p.branches[0].subscriber,
        service("even-transformer", "default")
    );
    assert_eq!(
        p.branches[1].subscriber,
        service("odd-transformer", "default")
    );
    assert_eq!(p.reply, Some(service("event-display", "default")));
    let src = &l.topology.sources[0];
    assert!(matches!(&src.kind, SourceKind::CronJob { schedule, .. } if schedule == "*/1 * * * *"));
    assert!(
        matches!(&src.sink, Some(Destination::Ref { target, .. }) if target.kind == RefKind::Parallel)
    );
}

#[test]
fn manifest_11_channel_delivery_and_static_subscribers() {
    let l = load_manifest("11");
    assert!(!l.diagnostics.has_errors());
    let t = &l.topology;
    let d = t.channels[0].delivery.as_ref().unwrap();
    assert_eq!(
        (d.retry, d.backoff_policy, d.backoff_delay_ms),
        (Some(5), Some(BackoffPolicy::Exponential), Some(3000))
    );
    assert_eq!(d.dead_letter_sink, Some(service("handle-error", "default")));
    assert_eq!(t.subscriptions.len(), 2);
    let s = &t.subscriptions[1];
    assert_eq!(s.meta.name, "imc-one-per-subscriber-subscriber-0");
    assert_eq!(
        s.subscriber,
        Some(Destination::Uri(
            "http://mysub.default.svc.cluster.local".into()
        ))
    );
    let dls = s.delivery.as_ref().unwrap().dead_letter_sink.clone();
    assert_eq!(
        dls,
        Some(Destination::Uri(
            "http://mydls.default.svc.cluster.local".into()
        ))
    );
    assert_eq!(l.diagnostics.0.len(), 5, "{}", l.diagnostics);
}

#[test]
fn manifests_19_20_28_delivery_in_ms() {
    let l = load_manifest("19");
    assert!(l.diagnostics.0.is_empty(), "{}", l.diagnostics);
    let t = &l.topology;
    assert_eq!(t.channels[0].kind, "Channel");
    assert_eq!(
        t.channels[0].template_kind.as_deref(),
        Some("InMemoryChannel")
    );
    let s = &t.subscriptions[0];
    assert_eq!(s.channel.kind, RefKind::Channel("Channel".into()));
    assert_eq!(s.subscriber, Some(service("subscriber-service", "default")));
    let reply_target = ObjectRef {
        kind: RefKind::Channel("InMemoryChannel".into()),
        namespace: "default".into(),
        name: "reply-channel".into(),
    };
    assert_eq!(
        s.reply,
        Some(Destination::Ref {
            target: reply_target,
            path: None
        })
    );
    assert_eq!(
        s.delivery.as_ref().unwrap().dead_letter_sink,
        Some(service("dls-service", "default"))
    );

    let t = load_manifest("20").topology;
    let d = t.subscriptions[0].delivery.clone().unwrap();
    let expected = DeliverySpec {
        dead_letter_sink: Some(service("example-dls", "example-namespace")),
        retry: Some(3),
        backoff_policy: Some(BackoffPolicy::Linear),
        backoff_delay_ms: Some(2000),
        timeout_ms: Some(5000),
        ..DeliverySpec::default()
    };
    assert_eq!(d, expected);
    let d = load_manifest("28").topology.subscriptions[0]
        .delivery
        .clone()
        .unwrap();
    assert_eq!(
        (d.retry_after_max_ms, d.backoff_delay_ms),
        (Some(120_000), Some(2000))
    );
    let b = load_manifest("18").topology.brokers[0].clone();
    let d = b.delivery.unwrap();
    assert_eq!((d.retry, d.backoff_delay_ms), (Some(5), Some(1000)));
    let dls_target = ObjectRef {
        kind: RefKind::External("Service".into()),
        namespace: "example-namespace".into(),
        name: "example-service".into(),
    };
    assert_eq!(
        d.dead_letter_sink,
        Some(Destination::Ref {
            target: dls_target,
            path: Some("example-uri".into())
        })
    );
}

#[test]
fn manifest_21_filters_and_precedence() {
    let t = load_manifest("21").topology;
    assert_eq!(
        trigger(&t, "my-service-trigger").filter,
        Filter::All(vec![
            Filter::Exact(pairs(&[("type", "dev.knative.foo.bar")])),
            Filter::Suffix(pairs(&[("myextension", "-value")])),
        ])
    );
    let any = Filter::All(vec![Filter::Any(vec![
        Filter::Exact(pairs(&[("type", "com.github.push")])),
        Filter::Exact(pairs(&[("subject", "https://github.com/cloudevents/spec")])),
    ])]);
    assert_eq!(trigger(&t, "any-trigger").filter, any);
    assert!(
        matches!(&trigger(&t, "all-trigger").filter, Filter::All(v) if matches!(&v[..], [Filter::All(c)] if c.len() == 2))
    );
    assert_eq!(
        trigger(&t, "not-trigger").filter,
        Filter::All(vec![Filter::Not(Box::new(Filter::Exact(pairs(&[(
            "type",
            "com.github.push"
        )]))))])
    );
    assert!(
        matches!(&trigger(&t, "cesql-trigger").filter, Filter::All(v) if matches!(&v[..], [Filter::Cesql(_, s)] if s.starts_with("source LIKE")))
    );
    // Non-empty `filters` wins over `filter`.
    assert_eq!(
        trigger(&t, "precedence-trigger").filter,
        Filter::All(vec![Filter::Exact(pairs(&[("type", "dev.knative.a")]))])
    );
}

#[test]
fn manifest_26_broker_ref_namespace() {
    let l = load_manifest("26");
    let tr = &l.topology.triggers[0];
    assert_eq!(tr.meta.namespace, "source-namespace");
    assert_eq!(
        tr.broker,
        ObjectRef {
            kind: RefKind::Broker,
            namespace: "target-namespace".into(),
            name: "target-broker".into()
        }
    );
    // The subscriber's namespace defaults to the Trigger's.
    assert_eq!(tr.subscriber, service("my-service", "source-namespace"));
}

#[test]
fn other_collected_manifests() {
    // 09: legacy eventing v1alpha1 Subscription to an IMC, in a namespace.
    let t = load_manifest("09").topology;
    assert_eq!(
        t.subscriptions[0].channel,
        ObjectRef {
            kind: RefKind::Channel("InMemoryChannel".into()),
            namespace: "knative-debug".into(),
            name: "chan".into()
        }
    );
    assert_eq!(
        t.subscriptions[0].subscriber,
        Some(service("svc", "knative-debug"))
    );
    assert!(matches!(t.sources[0].kind, SourceKind::ApiServer));
    // 12: PingSource v1alpha2 jsonData, reply to a second channel.
    let t = load_manifest("12").topology;
    assert!(
        matches!(&t.sources[0].kind, SourceKind::Ping { data: Some(d), content_type: Some(c), .. }
        if d == r#"{"message": "Hello world from ping!"}"# && c == "application/json")
    );
    assert_eq!(t.subscriptions.len(), 3);
    assert!(t.subscriptions[1].reply.is_some());
    // 13: v1beta1 Triggers without spec.broker default to `default`.
    let t = load_manifest("13").topology;
    assert!(t.triggers.iter().all(|x| x.broker.name == "default"));
    // 23: data / dataBase64 / ceOverrides.
    let t = load_manifest("23").topology;
    assert!(
        matches!(&t.sources[1].kind, SourceKind::Ping { data_base64: Some(b), .. } if b == "aGVsbG8sIHdvcmxkIQ==")
    );
    assert_eq!(
        t.sources[2].ce_overrides,
        pairs(&[
            ("extra", "this is an extra attribute"),
            ("additional", "42")
        ])
    );
    // 08 and 24: ContainerSource legacy and v1.
    let t = load_manifest("08").topology;
    assert!(
        matches!(&t.sources[0].kind, SourceKind::Container { image: Some(i), args, env }
        if i == "knative.dev/eventing-contrib/cmd/heartbeats" && args == &["--period=1"] && env.len() == 2)
    );
    let t = load_manifest("24").topology;
    assert!(matches!(
        &t.sources[0].kind,
        SourceKind::Container { image: Some(_), .. }
    ));
    // 27: Service ref + relative uri; Sequence replying into the Broker.
    let t = load_manifest("27").topology;
    assert!(
        matches!(&trigger(&t, "db-insert-trigger").subscriber, Destination::Ref { path: Some(p), .. } if p == "/insert")
    );
    assert!(
        matches!(&t.sequences[0].reply, Some(Destination::Ref { target, .. }) if target.kind == RefKind::Broker)
    );
    // 25: EventType v1beta2 reference.
    let t = load_manifest("25").topology;
    assert_eq!(
        t.event_types[0].reference.as_ref().map(|r| r.kind.clone()),
        Some(RefKind::Broker)
    );
    // 06: Sequence replying to another Sequence.
    let t = load_manifest("06").topology;
    assert!(
        matches!(&t.sequences[0].reply, Some(Destination::Ref { target, .. }) if target.kind == RefKind::Sequence && target.name == "second-sequence")
    );
}

#[test]
fn github_topology() {
    let (t, warnings) = load_paths(&[root().join("examples/github/topology.yaml")]).unwrap();
    assert!(warnings.0.is_empty(), "{warnings}");
    assert_eq!(t.brokers.len(), 1);
    // The brief says 6; the file has 7 Triggers (audit included).
    assert_eq!(t.triggers.len(), 7);
    assert_eq!((t.channels.len(), t.subscriptions.len()), (1, 2));
    assert_eq!((t.sequences.len(), t.sequences[0].steps.len()), (1, 2));
    assert_eq!((t.parallels.len(), t.parallels[0].branches.len()), (1, 2));
    let b = &t.brokers[0];
    let d = b.delivery.as_ref().unwrap();
    assert_eq!(
        (d.retry, d.backoff_policy, d.backoff_delay_ms),
        (Some(3), Some(BackoffPolicy::Exponential), Some(200))
    );
    assert_eq!(d.dead_letter_sink, Some(service("dead-letters", "default")));
    assert_eq!(
        trigger(&t, "ci-on-push").filter,
        Filter::Attributes(pairs(&[("type", "com.github.push")]))
    );
    let any = |v: &[(&str, &str, bool)]| {
        Filter::All(vec![Filter::Any(
            v.iter()
                .map(|(k, val, exact)| {
                    if *exact {
                        Filter::Exact(pairs(&[(k, val)]))
                    } else {
                        Filter::Prefix(pairs(&[(k, val)]))
                    }
                })
                .collect(),
        )])
    };
    assert_eq!(
        trigger(&t, "pr-pipeline").filter,
        any(&[
            ("type", "com.github.pull_request.opened", true),
            ("type", "com.github.pull_request.synchronize", true),
            ("type", "com.github.pull_request.reopened", true)
        ])
    );
    assert_eq!(
        trigger(&t, "triage").filter,
        any(&[
            ("type", "com.github.issues.", false),
            ("type", "com.github.discussion.", false)
        ])
    );
    assert!(
        matches!(&trigger(&t, "security").filter, Filter::All(v) if matches!(&v[..], [Filter::Cesql(_, _)]))
    );
    assert_eq!(
        trigger(&t, "release-notes").filter,
        Filter::All(vec![
            Filter::Prefix(pairs(&[("type", "com.github.release.")])),
            Filter::Suffix(pairs(&[("type", ".published")]))
        ])
    );
    assert_eq!(
        trigger(&t, "audit").filter,
        Filter::Attributes(pairs(&[("subject", "")]))
    );
    assert_eq!(
        trigger(&t, "audit").subscriber,
        Destination::Uri("http://127.0.0.1:9/audit".into())
    );
    assert!(
        matches!(&trigger(&t, "archive-hello-world").subscriber, Destination::Ref { target, .. } if target.kind == RefKind::Channel("InMemoryChannel".into()))
    );
    assert!(t.parallels[0].branches[1].filter.is_none());
    assert_eq!(
        t.sequences[0].reply,
        Some(service("pr-commenter", "default"))
    );
}

#[test]
fn folder_loading_is_recursive_and_sorted() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.join("b/c")).unwrap();
    std::fs::write(
        dir.join("b/c/2.yml"),
        "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: two}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("a.yaml"),
        "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: one}\n---\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not yaml: [").unwrap();
    let (t, w) = load_paths(&[&dir]).unwrap();
    assert!(w.0.is_empty());
    let names: Vec<_> = t.brokers.iter().map(|b| b.meta.name.as_str()).collect();
    assert_eq!(names, ["one", "two"]);
    let _ = std::fs::remove_dir_all(&dir);
    let err = load_paths(&[dir.join("missing.yaml")]).unwrap_err();
    assert!(err.to_string().contains("cannot read"));
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("eventflow-manifests-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn filter_edge_cases() {
    let yaml = r#"
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: empty-filters}
spec: {broker: default, filters: [], filter: {attributes: {type: a}}, subscriber: {uri: "http://x/"}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: neutral}
spec:
  broker: default
  filters: [{}, {all: []}, {any: []}, {cesql: ""}, {not: {}}]
  subscriber: {uri: "http://x/"}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: empty-filter}
spec: {broker: default, filter: {}, subscriber: {uri: "http://x/"}}
"#;
    let l = load_str("edge.yaml", yaml);
    assert!(l.diagnostics.0.is_empty(), "{}", l.diagnostics);
    let t = &l.topology;
    assert_eq!(
        trigger(t, "empty-filters").filter,
        Filter::Attributes(pairs(&[("type", "a")]))
    );
    assert_eq!(
        trigger(t, "neutral").filter,
        Filter::All(vec![Filter::Not(Box::new(Filter::None))])
    );
    assert_eq!(
        trigger(t, "empty-filter").filter,
        Filter::Attributes(vec![])
    );
}

#[test]
fn legacy_subscriptions_and_yaml_features() {
    let yaml = r#"
apiVersion: messaging.knative.dev/v1alpha1
kind: InMemoryChannel
metadata: {name: in}
---
apiVersion: messaging.knative.dev/v1alpha1
kind: InMemoryChannel
metadata: {name: out}
---
# v0.10 reply-only Subscription: an identity hop.
apiVersion: messaging.knative.dev/v1alpha1
kind: Subscription
metadata: {name: hop}
spec:
  channel: {apiVersion: messaging.knative.dev/v1alpha1, kind: InMemoryChannel, name: in}
  reply:
    channel: {apiVersion: messaging.knative.dev/v1alpha1, kind: InMemoryChannel, name: out}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: Subscription
metadata: {name: old}
spec:
  channel: {apiVersion: messaging.knative.dev/v1alpha1, kind: InMemoryChannel, name: in}
  subscriber: {dnsName: legacy.default.svc.cluster.local}
---
base: &base
  apiVersion: eventing.knative.dev/v1
  kind: EventType
apiVersion: eventing.knative.dev/v1beta3
kind: EventType
metadata: {name: et}
spec:
  attributes:
    - {name: type, value: com.example, required: true}
    - {name: source, value: /x}
    - {name: specversion, value: "1.0"}
    - {name: id, required: true}
"#;
    let l = load_str("legacy.yaml", yaml);
    let t = &l.topology;
    let hop = &t.subscriptions[0];
    assert_eq!(hop.subscriber, None);
    assert!(matches!(&hop.reply, Some(Destination::Ref { target, .. }) if target.name == "out"));
    assert_eq!(
        t.subscriptions[1].subscriber,
        Some(Destination::Uri(
            "http://legacy.default.svc.cluster.local".into()
        ))
    );
    assert_eq!(t.event_types[0].ty.as_deref(), Some("com.example"));
    // `base` is an unknown top-level field: the only error.
    let errs = errors(&l);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("unknown field `base`"));

    // A v1 List, and a merge key.
    let yaml = r#"
apiVersion: v1
kind: List
items:
  - apiVersion: eventing.knative.dev/v1
    kind: Broker
    metadata: {name: default}
  - apiVersion: eventing.knative.dev/v1
    kind: Trigger
    metadata: {name: t}
    spec:
      <<: {broker: default, subscriber: {uri: "http://x/"}}
      filter: {attributes: {type: a}}
"#;
    let l = load_str("list.yaml", yaml);
    assert!(l.diagnostics.0.is_empty(), "{}", l.diagnostics);
    assert_eq!(
        l.topology.triggers[0].subscriber,
        Destination::Uri("http://x/".into())
    );
}

#[test]
fn billion_laughs_is_rejected_quickly() {
    let start = Instant::now();
    let l = load(&[root().join("tests/data/bad-manifests/billion-laughs.yaml")]);
    assert!(start.elapsed() < Duration::from_secs(1));
    let text = l.diagnostics.to_string();
    assert!(
        text.contains("aliases expand to more than 100000 nodes"),
        "{text}"
    );
    // A wider bomb in one flow sequence, too.
    let mut y = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for i in 0..12 {
        y.push_str(&format!(
            "b{i}: &b{i} [{}]\n",
            vec![
                if i == 0 {
                    "*a".to_string()
                } else {
                    format!("*b{}", i - 1)
                };
                10
            ]
            .join(",")
        ));
    }
    let start = Instant::now();
    let l = load_str("bomb.yaml", &y);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(l.diagnostics.has_errors());
}

#[test]
fn ten_thousand_triggers_load_fast() {
    let mut y = String::from(
        "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default}\n",
    );
    for i in 0..10_000 {
        y.push_str(&format!(
            "---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t{i}\nspec:\n  broker: default\n  filters:\n    - exact: {{type: com.example.{i}}}\n    - prefix: {{source: /s}}\n  subscriber:\n    ref: {{apiVersion: serving.knative.dev/v1, kind: Service, name: svc{i}}}\n  delivery: {{retry: 2, backoffPolicy: linear, backoffDelay: PT1S}}\n"
        ));
    }
    let start = Instant::now();
    let l = load_str("many.yaml", &y);
    let elapsed = start.elapsed();
    assert!(!l.diagnostics.has_errors(), "{}", l.diagnostics);
    assert_eq!(l.topology.triggers.len(), 10_000);
    let limit = if cfg!(debug_assertions) {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(800)
    };
    assert!(elapsed < limit, "10,000 triggers took {elapsed:?}");
}

#[test]
fn seed_parallel_slide_error_says_where_subscriber_belongs() {
    let l = load(&[root().join("tests/data/bad-manifests/parallel-subscriber-in-filter.yaml")]);
    let errs = errors(&l);
    assert!(errs.iter().any(|e| e.starts_with("tests/data/bad-manifests/parallel-subscriber-in-filter.yaml:17: error: Parallel/default/odd-even-parallel: unknown field `spec.branches[0].filter.subscriber`")
        && e.ends_with("hint: subscriber belongs beside filter in the branch, not inside it")), "{errs:#?}");
}

#[test]
fn cesql_syntax_errors_are_reported_when_the_parser_rejects() {
    if eventflow_planner::cesql::Expr::parse("type = 'a' AND").is_ok() {
        return; // the CESQL parser is still a stub
    }
    let l = load(&[root().join("tests/data/bad-manifests/cesql-syntax.yaml")]);
    let errs = errors(&l);
    assert!(errs.iter().any(|e| e.contains(":15: error: Trigger/default/cesql-broken: CESQL syntax error in `spec.filters[0].cesql`")), "{errs:#?}");
}

use super::*;
use eventflow_planner::manifest::load_str;

const YAML: &str = "
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: heartbeat-source, namespace: demo}
spec:
  template:
    spec:
      containers:
        - image: gcr.io/knative-nightly/knative.dev/eventing/cmd/heartbeats:latest
          name: heartbeats
          args: ['--period=1', '--label=a b']
          env:
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
            - {name: GREETING, value: hello}
  ceOverrides:
    extensions: {team: blue}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
---
apiVersion: sources.eventing.knative.dev/v1alpha1
kind: ContainerSource
metadata: {name: legacy, namespace: demo}
spec:
  image: example.com/legacy@sha256:0123
  args: ['--x']
  sink: {apiVersion: v1, kind: Service, name: display}
";

fn plan() -> Plan {
    let loaded = load_str("t.yaml", YAML);
    assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
    Plan::lower(&loaded.topology).unwrap()
}

fn sink(t: Target) -> Result<String, String> {
    match t {
        Target::Node(n) => Ok(format!("http://127.0.0.1:1/node/{n}")),
        Target::External(_) => Err("its sink is a Service without an HTTP address".into()),
    }
}

#[test]
fn images_without_mappings_are_all_named() {
    let plan = plan();
    assert_eq!(
        names(&plan),
        [
            "ContainerSource/demo/heartbeat-source",
            "ContainerSource/demo/legacy"
        ]
    );
    let err = containers(&plan, &[], sink).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no --image mapping for ContainerSource/demo/heartbeat-source (image \
         gcr.io/knative-nightly/knative.dev/eventing/cmd/heartbeats:latest), \
         ContainerSource/demo/legacy (image example.com/legacy@sha256:0123)"
    );
}

#[test]
fn environment_args_and_sink_follow_knative() {
    let images = [
        (
            "gcr.io/knative-nightly/knative.dev/eventing/cmd/heartbeats".to_string(),
            "./hb".to_string(),
        ),
        ("example.com/legacy".to_string(), "legacy-cmd".to_string()),
    ];
    let found = containers(&plan(), &images, sink).unwrap();
    assert_eq!(found.skipped.len(), 1, "{:?}", found.skipped);
    assert!(found.skipped[0].starts_with("ContainerSource/demo/legacy: its sink is a Service"));
    let [p] = found.processes.as_slice() else {
        panic!("{:?}", found.processes)
    };
    assert_eq!(p.command, "./hb");
    assert_eq!(p.args, ["--period=1", "--label=a b"]);
    assert!(p.sink().starts_with("http://127.0.0.1:1/node/"));
    let env: Vec<(&str, &str)> = p
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("POD_NAME", "heartbeat-source"),
            ("POD_NAMESPACE", "demo"),
            ("K_SINK", p.sink()),
            ("K_CE_OVERRIDES", "{\"extensions\":{\"team\":\"blue\"}}"),
            ("GREETING", "hello"),
        ]
    );
}

#[test]
fn exact_mappings_win_and_tags_must_match() {
    let images = [
        ("a/b".to_string(), "untagged".to_string()),
        ("a/b:1".to_string(), "one".to_string()),
    ];
    assert_eq!(command_for(&images, "a/b:1"), Some("one"));
    assert_eq!(command_for(&images, "a/b:2"), Some("untagged"));
    assert_eq!(command_for(&images[1..], "a/b:2"), None);
    assert_eq!(command_for(&images, "host:5000/a/b"), None);
    assert_eq!(repository("host:5000/a/b"), "host:5000/a/b");
    assert_eq!(repository("host:5000/a/b:v1@sha256:00"), "host:5000/a/b");
}

#[test]
fn processes_are_restarted_and_stopped() {
    let dir = tempfile_dir();
    let marker = dir.join("runs");
    let p = ContainerProcess {
        name: "ContainerSource/demo/t".into(),
        image: "t".into(),
        // Appends K_SINK and its first argument to the file, then exits (to be restarted).
        command: format!("echo \"$K_SINK $1\" >> {}; exit 0; :", marker.display()),
        args: vec!["arg".into()],
        env: vec![("K_SINK".into(), "http://sink".into())],
    };
    let running = LiveContainers::start(vec![p], Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.stats().starts.load(Ordering::Relaxed) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (starts, exits) = running.stop();
    assert!(starts >= 3, "{starts} start(s)");
    assert!(exits >= starts - 1);
    let text = std::fs::read_to_string(&marker).unwrap();
    assert!(text.lines().count() >= 2, "{text}");
    assert!(text.lines().all(|l| l == "http://sink arg"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("eventflow-container-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

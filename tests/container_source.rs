//! ContainerSource as a local process: `eventflow run --image IMAGE=COMMAND` starts a real
//! process (python3) with K_SINK = the Broker's ingress URL and K_CE_OVERRIDES; what it posts
//! goes through a Trigger to a `uri` subscriber this test serves on loopback. The process is
//! restarted when it exits and is gone after shutdown. Unmapped images fail at start.

mod loopback;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Posts one binary-mode heartbeat to $K_SINK (K_CE_OVERRIDES extensions applied, args and env
/// echoed in the data), appends its pid to `pids`, then exits on the first run and stays up
/// (until stopped) on the next.
const POSTER: &str = r#"
import json, os, sys, urllib.request
pids = sys.argv[1]
with open(pids, "a") as f:
    f.write(f"{os.getpid()}\n")
runs = len(open(pids).read().split())
headers = {"ce-specversion": "1.0", "ce-id": f"hb-{runs}", "ce-type": "dev.knative.eventing.samples.heartbeat",
           "ce-source": f"https://knative.dev/eventing-contrib/cmd/heartbeats/#{os.environ['POD_NAMESPACE']}/{os.environ['POD_NAME']}",
           "content-type": "application/json"}
overrides = json.loads(os.environ.get("K_CE_OVERRIDES", "{}"))
for name, value in overrides.get("extensions", {}).items():
    headers["ce-" + name] = value
body = json.dumps({"id": runs, "args": sys.argv[2:], "greeting": os.environ.get("GREETING")}).encode()
req = urllib.request.Request(os.environ["K_SINK"], data=body, headers=headers, method="POST")
print(f"posted: {urllib.request.urlopen(req).status}", file=sys.stderr, flush=True)
if runs >= 2:
    import time
    time.sleep(600)
"#;

fn topology(receiver: &str, pids: &Path) -> String {
    format!(
        "
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {{name: default, namespace: demo}}
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {{name: heartbeat-source, namespace: demo}}
spec:
  template:
    spec:
      containers:
        - image: example.com/poster:1.0
          name: poster
          args: ['{}', '--period=1', 'two words']
          env:
            - {{name: GREETING, value: hello}}
  ceOverrides:
    extensions: {{team: blue}}
  sink:
    ref: {{apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: heartbeats, namespace: demo}}
spec:
  broker: default
  filter: {{attributes: {{type: dev.knative.eventing.samples.heartbeat}}}}
  subscriber: {{uri: '{receiver}'}}
",
        pids.display()
    )
}

#[test]
fn a_container_source_process_posts_to_its_sink() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = loopback::Recorder::start();
    let pids = dir.path().join("pids");
    let manifest = dir.path().join("t.yaml");
    std::fs::write(&manifest, topology(&receiver.url("/display"), &pids)).unwrap();
    std::fs::write(dir.path().join("poster.py"), POSTER).unwrap();
    let image = format!(
        "example.com/poster:1.0=python3 {}",
        dir.path().join("poster.py").display()
    );
    let run = loopback::Run::start(&manifest, &["--image", &image]);
    // The first run posts and exits; the restarted one posts again and stays up.
    let seen = receiver.wait_for(2);
    let pid_list = std::fs::read_to_string(&pids).unwrap_or_default();
    let stopped = run.stop();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    assert_eq!(seen.len(), 2, "{}\n{}", stopped.stdout, stopped.stderr);

    let mut ids: Vec<&str> = seen.iter().map(|r| r.headers["ce-id"].as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["hb-1", "hb-2"]);
    for r in &seen {
        assert_eq!(r.path, "/display");
        assert_eq!(
            r.headers["ce-type"],
            "dev.knative.eventing.samples.heartbeat"
        );
        assert_eq!(
            r.headers["ce-source"],
            "https://knative.dev/eventing-contrib/cmd/heartbeats/#demo/heartbeat-source"
        );
        // K_CE_OVERRIDES' extension, applied by the process, survived the Broker.
        assert_eq!(r.headers["ce-team"], "blue");
        assert!(r.headers.contains_key("ce-knativearrivaltime"));
        let data: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(data["args"], serde_json::json!(["--period=1", "two words"]));
        assert_eq!(data["greeting"], "hello");
    }
    assert!(
        stopped
            .stdout
            .contains("source ContainerSource/demo/heartbeat-source  image example.com/poster:1.0"),
        "{}",
        stopped.stdout
    );
    let sink_line = format!(
        "K_SINK=http://{}/demo/default",
        stopped_addr(&stopped.stdout)
    );
    assert!(stopped.stdout.contains(&sink_line), "{}", stopped.stdout);
    assert!(
        stopped
            .stderr
            .contains("container sources stopped: 2 process start(s), 1 exit(s) before shutdown"),
        "{}",
        stopped.stderr
    );

    // Both processes are gone (the second was stopped with the engine).
    let pids: Vec<u32> = pid_list
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{pid_list}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| loopback::running(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for p in pids {
        assert!(!loopback::running(p), "process {p} survived eventflow run");
    }
}

fn stopped_addr(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("listening on http://"))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn an_unmapped_image_is_an_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("t.yaml");
    std::fs::write(
        &manifest,
        topology("http://127.0.0.1:9/x", &dir.path().join("p")),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["run", "--listen", "127.0.0.1:0", "-f"])
        .arg(&manifest)
        .args(["--image", "other=true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "no --image mapping for ContainerSource/demo/heartbeat-source (image example.com/poster:1.0)"
        ),
        "{err}"
    );
    assert!(
        err.contains("hint: ContainerSources run as local processes"),
        "{err}"
    );
    assert!(
        err.contains("warning: --image other=true: no ContainerSource uses this image"),
        "{err}"
    );
}

#[test]
fn replay_says_container_sources_are_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("t.yaml");
    std::fs::write(
        &manifest,
        topology("http://127.0.0.1:9/x", &dir.path().join("p")),
    )
    .unwrap();
    let events = dir.path().join("e.jsonl");
    std::fs::write(&events, "").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["replay", "-q", "-f"])
        .arg(&manifest)
        .arg("--events")
        .arg(&events)
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: ContainerSource/demo/heartbeat-source: not run by replay"),
        "{err}"
    );
}

//! `eventflow explain` (issue 6): golden outputs for the GitHub topology and for filter edge
//! cases (`UPDATE_GOLDEN=1 cargo test --test explain` rewrites them), and a check that the
//! filter traces agree with the engine's router on every event of the bundled log.

use eventflow::engine::route::RouteIndex;
use eventflow::engine::ttl::broker_ingress;
use eventflow::planner::event::json::parse_event;
use eventflow::planner::plan::NodeKind;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(name: &str, args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .arg("explain")
        .args(args)
        .current_dir(root())
        .output()
        .expect("run eventflow");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = String::from_utf8(o.stdout).expect("utf-8");
    let path = root()
        .join("tests/golden/explain")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing: UPDATE_GOLDEN=1", path.display()));
    assert_eq!(got, want, "{name}: output differs from {}", path.display());
}

const GITHUB: &str = "examples/github/topology.yaml";

#[test]
fn github_push() {
    golden(
        "github-push",
        &["-f", GITHUB, "--event", "tests/data/explain/push.json"],
    );
}

#[test]
fn github_pull_request_opened_through_the_sequence() {
    golden(
        "github-pr-opened-echo",
        &[
            "-f",
            GITHUB,
            "--event",
            "tests/data/explain/pr-opened.json",
            "--into",
            "broker/github",
            "--service",
            "lint=echo",
            "--service",
            "unit-tests=echo",
        ],
    );
}

#[test]
fn github_issue_through_the_parallel() {
    golden(
        "github-issue-opened",
        &[
            "-f",
            GITHUB,
            "--event",
            "tests/data/explain/issue-opened.json",
            "--service",
            "needs-label=echo",
        ],
    );
}

#[test]
fn github_event_nobody_gets() {
    golden(
        "github-ping",
        &["-f", GITHUB, "--event", "tests/data/explain/ping.json"],
    );
}

#[test]
fn github_into_a_sequence_with_a_failing_step() {
    golden(
        "github-sequence-fail",
        &[
            "-f",
            GITHUB,
            "--event",
            "tests/data/explain/pr-opened.json",
            "--into",
            "sequence/pr-review",
            "--service",
            "lint=fail:500",
        ],
    );
}

#[test]
fn filter_edge_cases() {
    golden(
        "filter-edge-cases",
        &[
            "-f",
            "tests/data/explain/edge-cases.yaml",
            "--event",
            "tests/data/explain/example-created.json",
        ],
    );
}

/// For every event of the log and every Trigger: the trace's verdict is the router's.
#[test]
fn traces_agree_with_the_router_on_the_whole_log() {
    let loaded = eventflow::load(&[root().join(GITHUB)]).unwrap();
    let plan = loaded.plan;
    let broker = plan
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Broker)
        .unwrap();
    let index = RouteIndex::build(&plan, &broker.edges);
    let text = std::fs::read_to_string(root().join("examples/github/events.jsonl")).unwrap();
    let mut delivered = 0;
    for line in text.lines() {
        let event = broker_ingress(&parse_event(line).unwrap(), 0).unwrap();
        let mut routed = Vec::new();
        index.matches(&event, &mut routed);
        let mut traced = Vec::new();
        for &e in &broker.edges {
            let filter = &plan.edges[e as usize].filter;
            let trace = filter.explain(&event);
            assert_eq!(trace.result, Some(filter.evaluate(&event)));
            if trace.result.is_some_and(|r| r.delivers()) {
                traced.push(e);
            }
        }
        routed.sort_unstable();
        assert_eq!(routed, traced, "{line}");
        delivered += traced.len();
    }
    assert!(delivered > 273);
}

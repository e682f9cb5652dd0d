//! Golden files for `eventflow plan` (text, dot, json). `UPDATE_GOLDEN=1 cargo test` rewrites.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(name: &str, manifest: &str, format: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .args(["plan", "-f", manifest, "--format", format])
        .current_dir(root())
        .output()
        .expect("run eventflow");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = String::from_utf8(o.stdout).unwrap();
    let path = root().join("tests/golden/plan").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden {}", path.display()));
    assert_eq!(got, want, "plan output differs from {}", path.display());
}

#[test]
fn github_topology_text() {
    golden("github.txt", "examples/github/topology.yaml", "text");
}

#[test]
fn github_topology_dot() {
    golden("github.dot", "examples/github/topology.yaml", "dot");
}

#[test]
fn github_topology_json() {
    golden("github.json", "examples/github/topology.yaml", "json");
}

#[test]
fn sequence_and_parallel_manifests() {
    golden(
        "14-sequence-v1.txt",
        "tests/data/knative-manifests/14-sequence-v1-with-broker-trigger.yaml",
        "text",
    );
    golden(
        "16-parallel-v1.txt",
        "tests/data/knative-manifests/16-parallel-v1-multiple-branches.yaml",
        "text",
    );
    golden(
        "19-channel-subscription.txt",
        "tests/data/knative-manifests/19-channel-subscription-v1-reply-dls.yaml",
        "text",
    );
    golden(
        "07-parallel-v1alpha1.txt",
        "tests/data/knative-manifests/07-parallel-v1alpha1-multiple-branches.yaml",
        "text",
    );
}

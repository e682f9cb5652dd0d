//! Manifest loader tests.
use eventflow_planner::manifest::load;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn dump_all() {
    let dir = root().join("tests/data/knative-manifests");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        let l = load(&[&f]);
        println!("=== {}\n{}\n", f.file_name().unwrap().to_string_lossy(), l.diagnostics);
    }
}

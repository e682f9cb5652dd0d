//! Manifest loader tests.
use eventflow_planner::manifest::load;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn dump_all() {
    let dir = root().join("tests/data/knative-manifests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let l = load(&[&f]);
        println!(
            "=== {}\n{}\n",
            f.file_name().unwrap().to_string_lossy(),
            l.diagnostics
        );
    }
}

#[test]
fn dump_some() {
    for n in [
        "01-broker-triggers-v1alpha1-sourceandtype.yaml",
        "07-parallel-v1alpha1-multiple-branches.yaml",
        "11-imc-v1beta1-delivery-design.yaml",
        "21-triggers-v1-subscriptionsapi-filters.yaml",
    ] {
        let l = load(&[root().join("tests/data/knative-manifests").join(n)]);
        println!("=== {n}\n{:#?}", l.topology);
    }
}

//! A seconds-long smoke of `eventflow bench`: the output has every section, row and field.
//! No timing assertions (timing goals live in the benchmark itself, DESIGN.md §7).

use std::process::Command;

fn bench(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eventflow"))
        .arg("bench")
        .args([
            "--events",
            "300",
            "--runs",
            "1",
            "--latency-seconds",
            "0.05",
        ])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run eventflow bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn json_report_has_every_section_and_the_plots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report_dir = dir.path().join("report");
    let (stdout, _) = bench(&[
        "--triggers-sweep",
        "1,10",
        "--json",
        "--report-dir",
        report_dir.to_str().expect("utf-8 path"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    let names: Vec<&str> = v["throughput"]
        .as_array()
        .expect("throughput rows")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or(""))
        .collect();
    for want in [
        "read + split lines",
        "log reader thread (chunks)",
        "serde_json::Value parse",
        "parse_event (eventflow)",
        "hand loop: parse + RouteIndex",
        "hand loop: parse + naive filters",
        "engine replay, 1 worker(s)",
        "engine replay, 2 worker(s)",
    ] {
        assert!(names.contains(&want), "missing row {want}: {names:?}");
    }
    for row in v["throughput"].as_array().into_iter().flatten() {
        assert_eq!(row["events"], 300, "{row}");
        assert!(row["events_per_second"].as_f64().is_some_and(|x| x > 0.0));
        assert!(row["mb_per_second"].as_f64().is_some());
    }
    // Every generated event matches exactly one of the 100 default Triggers.
    let engine = &v["throughput"][6];
    assert_eq!(engine["deliveries"], 300, "{engine}");
    assert_eq!(v["throughput"][4]["deliveries"], 300);
    let ratios: Vec<&str> = v["ratios"]
        .as_array()
        .expect("ratios")
        .iter()
        .map(|r| r["ratio"].as_str().unwrap_or(""))
        .collect();
    assert!(
        ratios.iter().any(|r| r.contains("serde_json")),
        "{ratios:?}"
    );
    assert!(ratios.iter().any(|r| r.contains("hand loop")), "{ratios:?}");
    assert!(
        ratios.iter().any(|r| r.contains("÷ engine 1 worker")),
        "{ratios:?}"
    );
    assert!(
        ratios.iter().any(|r| r.contains("at 10 ÷ at 1")),
        "{ratios:?}"
    );
    assert!(
        ratios.iter().any(|r| r.contains("p99 latency")),
        "{ratios:?}"
    );
    // Every ratio is a number with its unit; `met` follows from the number and its target.
    for r in v["ratios"].as_array().expect("ratios") {
        let measured = r["measured"].as_f64().expect("numeric measured");
        let name = r["ratio"].as_str().unwrap_or("");
        let unit = r["unit"].as_str().unwrap_or("");
        let want_unit = if name.contains("p99") {
            "us"
        } else if name.contains("memory") {
            "bytes"
        } else {
            "ratio"
        };
        assert_eq!(unit, want_unit, "{r}");
        let met = if let Some(min) = r["target"]["at_least"].as_f64() {
            Some(measured >= min)
        } else if let Some(max) = r["target"]["at_most"].as_f64() {
            Some(measured <= max)
        } else {
            assert!(r["target"].is_null(), "{r}");
            None
        };
        assert_eq!(r["met"].as_bool(), met, "{r}");
    }
    let p99 = v["ratios"]
        .as_array()
        .and_then(|rs| {
            rs.iter().find(|r| {
                r["ratio"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("p99 latency"))
            })
        })
        .expect("p99 row");
    assert_eq!(p99["target"]["at_most"], 250.0, "{p99}");
    let sweep = v["sweep"].as_array().expect("sweep");
    assert_eq!(sweep.len(), 2);
    assert_eq!(sweep[1]["triggers"], 10);
    assert_eq!(sweep[1]["engine"]["deliveries"], 300);
    let points = v["latency"]["points"].as_array().expect("latency points");
    assert_eq!(points.len(), 3);
    for p in points {
        for field in ["offered", "p50_us", "p99_us", "p999_us", "max_us"] {
            assert!(p[field].as_f64().is_some(), "{field} in {p}");
        }
        assert_eq!(p["sent"], p["received"], "{p}");
        let over = p["over_250_us"].as_u64().expect("over_250_us");
        assert!(over <= p["received"].as_u64().unwrap_or(0), "{p}");
        // Its share agrees with the p99: at most 1 % over 250 µs exactly when p99 ≤ 250 µs
        // (up to the histogram's 3 significant digits).
        let p99 = p["p99_us"].as_f64().unwrap_or(0.0);
        let share = over as f64 / p["received"].as_f64().unwrap_or(1.0).max(1.0);
        if p99 < 249.0 {
            assert!(share <= 0.01, "{p}");
        } else if p99 > 251.0 {
            assert!(share >= 0.01, "{p}");
        }
    }
    assert_eq!(v["latency"]["runs_per_point"], 1);
    // The floor (no engine) is measured at the same rates, every event received.
    let floor = v["latency"]["floor_points"]
        .as_array()
        .expect("floor points");
    assert_eq!(floor.len(), 3);
    for (f, p) in floor.iter().zip(points) {
        assert_eq!(f["offered"], p["offered"], "{f}");
        assert_eq!(f["sent"], f["received"], "{f}");
        assert!(f["p99_us"].as_f64().is_some_and(|x| x > 0.0), "{f}");
    }
    assert!(
        ratios
            .iter()
            .any(|r| r.contains("floor (no engine, same run)")),
        "{ratios:?}"
    );
    assert!(v["latency"]["api_peak_events_per_second"]
        .as_f64()
        .is_some());
    for file in [
        "report.md",
        "report.json",
        "throughput-vs-triggers.svg",
        "latency-vs-rate.svg",
    ] {
        let text = std::fs::read_to_string(report_dir.join(file)).expect(file);
        assert!(!text.is_empty(), "{file} is empty");
    }
    let svg = std::fs::read_to_string(report_dir.join("latency-vs-rate.svg")).unwrap_or_default();
    assert!(svg.starts_with("<svg"), "not an SVG");
}

#[test]
fn markdown_tables_on_a_sampled_real_log() {
    let (stdout, _) = bench(&[
        "-f",
        "examples/github/topology.yaml",
        "--sample",
        "examples/github/events.jsonl",
        "--workers",
        "1",
        "--no-sweep",
        "--rate",
        "500",
    ]);
    for want in [
        "## eventflow bench",
        "| ingress | Broker/default/github |",
        "sampled from examples/github/events.jsonl",
        "### Throughput",
        "| serde_json::Value parse |",
        "| hand loop: parse + RouteIndex |",
        "| engine replay, 1 worker(s) |",
        "### Ratios against the targets",
        "### Latency",
        "| p50 µs | p99 µs | p99.9 µs | max µs | > 250 µs |",
        "| floor p50 µs | floor p99 µs | floor p99.9 µs | floor > 250 µs |",
        "floor: the same sender and recording through a bare bounded channel",
    ] {
        assert!(stdout.contains(want), "missing `{want}` in:\n{stdout}");
    }
    assert!(!stdout.contains("### Trigger sweep"), "{stdout}");
    assert!(!stdout.contains("2 worker(s)"), "{stdout}");
}

fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// `bench --processes 2`: both processes run the engine rows as one timely cluster (each
/// replays its share of the chunks), only process 0 runs the baselines and writes the report.
#[test]
fn cluster_of_two_processes_reports_on_process_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hostfile = dir.path().join("hosts");
    let hosts: String = free_ports(2)
        .iter()
        .map(|p| format!("127.0.0.1:{p}\n"))
        .collect();
    std::fs::write(&hostfile, hosts).expect("write hostfile");
    let report_dir = dir.path().join("report");
    let run = |process: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_eventflow"))
            .args(["bench", "--events", "3000", "--runs", "1", "--workers", "1"])
            .args([
                "--no-sweep",
                "--no-latency",
                "--processes",
                "2",
                "--process",
            ])
            .arg(process)
            .arg("--hostfile")
            .arg(&hostfile)
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn eventflow bench")
    };
    let other = run("1", &[]);
    let leader = run(
        "0",
        &["--json", "--report-dir", report_dir.to_str().unwrap_or("")],
    );
    let (leader, other) = (
        leader.wait_with_output().expect("process 0"),
        other.wait_with_output().expect("process 1"),
    );
    let stderr = String::from_utf8_lossy(&leader.stderr);
    assert!(leader.status.success(), "process 0 failed: {stderr}");
    assert!(other.status.success(), "process 1 failed");
    assert!(String::from_utf8_lossy(&other.stderr).contains("the report is on process 0"));
    // Timely prints its connection progress on stdout: the report file is the clean copy.
    let text = std::fs::read_to_string(report_dir.join("report.json")).expect("report.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("report.json is JSON");
    let rows = v["throughput"].as_array().expect("throughput rows");
    let engine = rows
        .iter()
        .find(|r| r["name"] == "engine replay, 1 worker(s) × 2 processes")
        .expect("the cluster's engine row");
    // Every chunk is replayed by exactly one process; worker 0 counts them all.
    assert_eq!(engine["events"], 3000, "{engine}");
    assert_eq!(engine["deliveries"], 3000, "{engine}");
    assert!(rows
        .iter()
        .any(|r| r["name"] == "hand loop: parse + RouteIndex"));
    assert!(v["setup"]["cluster"]
        .as_str()
        .is_some_and(|c| c.starts_with("2 processes × 1 worker(s)")));
    assert!(v["sweep"].as_array().is_some_and(Vec::is_empty));
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_eventflow"))
            .arg("bench")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run eventflow bench");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--events", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("'--events <EVENTS>': must be at least 1"),
        "{err}"
    );
    let (code, err) = run(&["--workers", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("must be at least 1"), "{err}");
    // The generated topology has one Broker; another --into is an error, not ignored.
    let (code, err) = run(&[
        "--into",
        "broker/nope",
        "--events",
        "10",
        "--no-sweep",
        "--no-latency",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("no ingress `broker/nope` (one of: broker/default/bench)"),
        "{err}"
    );
    // A rate of 0 would never send (it used to hang); zero runs, types or Triggers are no
    // longer quietly raised to 1.
    for (flag, value, why) in [
        ("--rate", "0", "must be a number greater than 0"),
        ("--latency-seconds", "0", "must be a number greater than 0"),
        ("--runs", "0", "must be at least 1"),
        ("--types", "0", "must be at least 1"),
        ("--triggers-sweep", "1,0", "must be at least 1"),
    ] {
        let (code, err) = run(&[flag, value]);
        assert_eq!(code, Some(2), "{flag} {value}: {err}");
        assert!(err.contains(why), "{flag} {value}: {err}");
    }
    // `--process` beyond the cluster's size is an error, not a silent no-op.
    let (code, err) = run(&[
        "--process",
        "3",
        "--events",
        "10",
        "--no-sweep",
        "--no-latency",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--process 3 is out of range 0..1"), "{err}");
}

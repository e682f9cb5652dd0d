//! Planner compile time (YAML text → Topology → Plan) for 10, 1,000 and 10,000 Triggers on
//! one Broker. Run with `cargo bench --bench planner_compile`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use eventflow::bench::workload::{plan_from_yaml, sweep_yaml};
use std::time::Duration;

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("planner_compile");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in [10usize, 1_000, 10_000] {
        let yaml = sweep_yaml(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &yaml, |b, yaml| {
            b.iter(|| plan_from_yaml(yaml).map(|p| p.edges.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);

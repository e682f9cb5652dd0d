//! Routing cost per event: `RouteIndex::matches` on one Broker with 1, 100 and 10,000
//! exact-type Triggers (every event matches exactly one), beside the naive one-by-one filter
//! loop. Run with `cargo bench --bench routing`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use eventflow::bench::workload::{generated_event, sweep_plan, Size};
use eventflow::engine::route::RouteIndex;
use std::hint::black_box;
use std::time::Duration;

const EVENTS: usize = 1024;

fn routing(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_per_event");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(EVENTS as u64));
    for n in [1usize, 100, 10_000] {
        let Ok(plan) = sweep_plan(n) else {
            continue;
        };
        let index = RouteIndex::build(&plan, &plan.nodes[0].edges);
        let events: Vec<_> = (0..EVENTS)
            .map(|i| generated_event(i, n, Size::Small))
            .collect();
        group.bench_with_input(BenchmarkId::new("indexed", n), &events, |b, events| {
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                for e in events {
                    index.matches(black_box(e), &mut out);
                }
                out.len()
            })
        });
        if n <= 100 {
            group.bench_with_input(BenchmarkId::new("naive", n), &events, |b, events| {
                b.iter(|| {
                    let mut hits = 0usize;
                    for e in events {
                        for edge in &plan.edges {
                            hits += usize::from(edge.filter.evaluate(black_box(e)).delivers());
                        }
                    }
                    hits
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);

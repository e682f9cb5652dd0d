//! End-to-end replay of 100,000 generated ~400-byte events from memory through
//! `engine::run::run` on 1 worker (100 exact-type Triggers, one match per event), beside the
//! hand-written parse+route loop. Run with `cargo bench --bench replay`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eventflow::bench::baseline::{engine_replay, parse_and_route, Lookup, SharedLog};
use eventflow::bench::workload::{generate_log, sweep_plan, Size, Source};
use eventflow::Bindings;
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVENTS: usize = 100_000;
const TRIGGERS: usize = 100;

fn replay(c: &mut Criterion) {
    let Ok(plan) = sweep_plan(TRIGGERS) else {
        return;
    };
    let plan = Arc::new(plan);
    let source = Source::Generated {
        size: Size::Small,
        types: TRIGGERS,
    };
    let log = SharedLog(generate_log(&source, EVENTS).into());
    let bindings = Bindings::new();
    let mut group = c.benchmark_group("replay_100k");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("engine_1_worker", |b| {
        b.iter(|| {
            engine_replay(plan.clone(), &bindings, &log, 0, 1)
                .map(|r| r.deliveries)
                .unwrap_or(0)
        })
    });
    group.bench_function("hand_written_loop", |b| {
        b.iter(|| parse_and_route(&log.0, &plan, 0, Lookup::Indexed))
    });
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);

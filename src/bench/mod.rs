//! Benchmark helpers shared by `eventflow bench` and the criterion benches: generated
//! workloads ([`workload`]), the baselines a replay is compared with ([`baseline`]), open-loop
//! latency through the library API ([`latency`]) and resident memory ([`memory`]).

pub mod baseline;
pub mod latency;
pub mod memory;
pub mod workload;

/// The median of `xs` (the mean of the middle two for an even count; 0 for none).
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

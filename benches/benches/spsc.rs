//! Per-case detail with criterion: SPSC throughput at 64, 256 and 4096 bytes for every
//! contestant, the 64-byte round trip, and the multi-producer and broadcast cases.
//!
//! ```text
//! cargo bench -p ringflow-benches --bench spsc                 # everything (~5 minutes)
//! cargo bench -p ringflow-benches --bench spsc -- spsc_64B     # one group
//! ```
//!
//! Criterion reports frames/s (`Throughput::Elements`); bytes/s is that times the frame size
//! (`benches/plot.py` draws both). On this noisy 2-vCPU VM these per-case figures compare runs
//! minutes apart, across placements: the headline ratios come from the paired runner
//! (`benches/paired.rs`).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringflow_benches::{fanout, latency, spsc};

fn spsc_size<const S: usize>(c: &mut Criterion, frames: u64) {
    let mut g = c.benchmark_group(format!("spsc_{S}B"));
    g.throughput(Throughput::Elements(frames))
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, f) in spsc::contestants::<S>() {
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| f(iters * frames))
        });
    }
    g.finish();
}

fn spsc_all(c: &mut Criterion) {
    ringflow_benches::pin(0); // reads the core list while nothing is pinned
    spsc_size::<64>(c, 200_000);
    spsc_size::<256>(c, 100_000);
    spsc_size::<4096>(c, 20_000);
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("round_trip_64B");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, f) in latency::contestants() {
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                // The sum of the trips (each timed on its own) is the time for `iters` trips.
                let h = f(iters.max(1));
                Duration::from_nanos((h.mean() * h.len() as f64) as u64)
            })
        });
    }
    g.finish();
}

fn fan(c: &mut Criterion) {
    let frames = 100_000;
    let mut g = c.benchmark_group("fanout_64B");
    g.throughput(Throughput::Elements(frames))
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (name, f) in fanout::contestants() {
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| f(iters * frames))
        });
    }
    g.finish();
}

criterion_group!(benches, spsc_all, round_trip, fan);
criterion_main!(benches);

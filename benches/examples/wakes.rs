//! Which side of a blocking stream issued futex wakes: twelve runs of 1,000,000 64-byte frames,
//! the reader in `recv(None)` keeping up with a blocking producer, each run with its placement
//! and the two wake counters (`data_wakes`: commits that found the reader asleep;
//! `space_wakes`: releases that found the producer asleep). Each run's close adds one data wake.
//!
//! ```text
//! cargo run --release -p ringflow-benches --example wakes
//! ```

use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig};
use ringflow_benches::{placement_ns, run, touch, write_frames, CAPACITY};

fn main() {
    const FRAMES: u64 = 1_000_000;
    for round in 0..12 {
        let placement = placement_ns();
        let ring = Ring::anonymous(
            &RingConfig::new(CAPACITY as u32, 64)
                .timestamps(false)
                .max_consumers(1),
        )
        .unwrap();
        let mut consumer = ring.consumer().unwrap();
        let mut producer = ring
            .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }).timestamps(false))
            .unwrap();
        let elapsed = run(
            move || write_frames(&mut producer, FRAMES, 64),
            move || {
                let mut acc = 0;
                for _ in 0..FRAMES {
                    acc ^= touch(consumer.recv(None).unwrap().payload());
                }
                acc
            },
        );
        let stats = ring.stats();
        println!(
            "run {round}: placement {placement:.0} ns, {:.1} M frames/s, data_wakes {}, space_wakes {}",
            FRAMES as f64 / elapsed.as_secs_f64() / 1e6,
            stats.data_wakes,
            stats.space_wakes
        );
    }
}

//! The "lines per frame" contestants of `benches/src/spsc.rs` (ringflow's batches and rtrb's
//! chunks at several frame sizes), eight rounds with the placement before each: the quick way
//! to compare batched throughput between two commits (run it in a worktree of each, in turns).
//!
//! ```text
//! cargo run --release -p ringflow-benches --example lines
//! ```

fn main() {
    const FRAMES: u64 = 4_000_000;
    for round in 0..8 {
        let placement = ringflow_benches::placement_ns();
        let figures: Vec<String> = ringflow_benches::spsc::lines()
            .into_iter()
            .map(|(name, f)| {
                format!(
                    "{name} {:.1}",
                    FRAMES as f64 / f(FRAMES).as_secs_f64() / 1e6
                )
            })
            .collect();
        println!(
            "round {round}, placement {placement:.0} ns, M frames/s: {}",
            figures.join(", ")
        );
    }
}

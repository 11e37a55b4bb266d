//! The one-thread loops of `benches/src/one_thread.rs`, three rounds: the CPU cost of a frame.
//!
//! ```text
//! cargo run --release -p ringflow-benches --example one_thread
//! ```

fn main() {
    for round in 0..3 {
        let figures: Vec<String> = ringflow_benches::one_thread::contestants()
            .into_iter()
            .map(|(name, f)| format!("{name} {:.1}", f(5_000_000)))
            .collect();
        println!("round {round}, ns per frame: {}", figures.join(", "));
    }
}

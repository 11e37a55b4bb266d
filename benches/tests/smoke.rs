//! Every benchmark contestant runs to the end on a few frames (a contestant that deadlocks or
//! loses frames would hang its bench, or pass it with a wrong figure). Speed is not checked here.

use std::time::Duration;

use ringflow_benches::{blocking, fanout, latency, one_thread, spsc};

#[test]
fn every_spsc_contestant_streams_to_the_end() {
    ringflow_benches::pin(0);
    for (name, f) in spsc::contestants::<64>()
        .into_iter()
        .chain(spsc::contestants::<4096>())
    {
        let elapsed = f(20_000);
        assert!(elapsed > Duration::ZERO, "{name}");
    }
}

#[test]
fn every_round_trip_contestant_records_each_trip() {
    ringflow_benches::pin(0);
    for (name, f) in latency::contestants() {
        assert_eq!(f(1_000).len(), 1_000, "{name}");
    }
}

#[test]
fn the_blocking_and_fan_out_contestants_run_to_the_end() {
    ringflow_benches::pin(0);
    let (_, wakes) = blocking::ringflow_blocking::<64>(20_000);
    // At least the wake-up of the close; how many more depends on timing.
    assert!(wakes >= 1, "{wakes}");
    for (name, f) in blocking::wakers() {
        assert_eq!(f(50, Duration::from_micros(100)).len(), 50, "{name}");
    }
    for (name, f) in fanout::contestants() {
        assert!(f(10_000) > Duration::ZERO, "{name}");
    }
}

#[test]
fn the_lines_and_one_thread_contestants_run_to_the_end() {
    ringflow_benches::pin(0);
    for (name, f) in spsc::lines() {
        assert!(f(20_000) > Duration::ZERO, "{name}");
    }
    // One thread: each frame written is read back at once (a missing one panics in the loop).
    for (name, f) in one_thread::contestants() {
        assert!(f(10_000) > 0.0, "{name}");
    }
}

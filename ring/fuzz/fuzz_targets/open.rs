//! Fuzzes `Ring::open` with arbitrary file contents, then reads whatever a successful open
//! exposes: every input must give a typed error or a ring whose reads stay inside the mapping.
//!
//! cargo +nightly fuzz run open -- -max_total_time=600   (from ring/)

#![no_main]

use libfuzzer_sys::fuzz_target;
use ringflow::{Delivery, Ring};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("ringflow-fuzz-{}", std::process::id()));
    std::fs::write(&path, data).unwrap();
    if let Ok(ring) = Ring::open(&path) {
        let _ = ring.stats();
        if let Ok(mut consumer) = ring.consumer(Delivery::Lossy) {
            let mut buf = vec![0u8; ring.slot_size()];
            for _ in 0..4 {
                let _ = consumer.read_into(&mut buf);
                let _ = consumer.poll().map(|f| f.map(|f| f.payload().len()));
            }
        }
    }
});

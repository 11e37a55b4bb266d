//! The sleeper protocol with the asymmetric fence (`sleep.rs`): no wake-up is lost when readers
//! and writers park and notify thousands of times.

use std::time::Duration;

use ringflow::{Delivery, Error, ProducerOptions, Ring, RingConfig};

/// A reader on an anonymous ring sleeps without a time limit (nothing can die unseen in one
/// process), so a lost wake-up would leave it asleep: `recv` with a generous bound then fails
/// with `Timeout`, and the test with it.
#[test]
fn readers_that_park_thousands_of_times_miss_no_wake_up() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut consumer = ring.consumer(Delivery::Lossless).unwrap();
    let frames = 20_000u64;
    let writer = {
        let ring = ring.clone();
        std::thread::spawn(move || {
            let mut producer = ring.producer(ProducerOptions::default()).unwrap();
            for i in 0..frames {
                producer.push(&i.to_le_bytes()).unwrap();
                // Now and then let the reader run dry, so it parks.
                if i % 3 == 0 {
                    for _ in 0..(i % 2000) {
                        std::hint::spin_loop();
                    }
                }
            }
        })
    };
    for i in 0..frames {
        match consumer.recv(Some(Duration::from_secs(20))) {
            Ok(frame) => assert_eq!(frame.payload(), &i.to_le_bytes()),
            Err(Error::Timeout) => panic!("a wake-up was lost at frame {i}"),
            Err(e) => panic!("{e}"),
        }
    }
    writer.join().unwrap();
    let stats = ring.stats();
    println!(
        "fence mode: {}; data wakes {}, space wakes {}",
        ringflow::fence_mode(),
        stats.data_wakes,
        stats.space_wakes
    );
    assert!(
        stats.data_wakes > 100,
        "the reader hardly parked: {stats:?}"
    );
}

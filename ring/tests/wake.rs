//! The sleeper protocol with the asymmetric fence (`sleep.rs`): no wake-up is lost when a reader
//! parks and a producer notifies thousands of times.

use std::time::{Duration, Instant};

use ringflow::{ProducerOptions, RecvError, Ring, RingConfig};

/// A reader on an anonymous ring sleeps without a time limit of its own (nothing can die unseen
/// in one process), so a lost wake-up would leave it asleep until `recv`'s bound (10 s): a
/// receive that took that long, or failed with `Timeout`, fails the test. The producer waits until
/// the reader is about to sleep (it armed the futex word) before every other frame, so each of
/// those frames must wake it, with at most one wake call.
#[test]
fn a_reader_that_parks_thousands_of_times_misses_no_wake_up() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let frames = 4_000u64;
    let writer = {
        let ring = ring.clone();
        std::thread::spawn(move || {
            let mut producer = ring.producer(ProducerOptions::default()).unwrap();
            for i in 0..frames {
                if i % 2 == 0 {
                    let deadline = Instant::now() + Duration::from_secs(20);
                    while !ring.stats().data_armed {
                        assert!(
                            Instant::now() < deadline,
                            "the reader never parked before frame {i}"
                        );
                        std::thread::yield_now();
                    }
                }
                producer.push(&i.to_le_bytes()).unwrap();
            }
        })
    };
    let bound = Duration::from_secs(10);
    for i in 0..frames {
        let asked = Instant::now();
        match consumer.recv(Some(bound)) {
            Ok(frame) => assert_eq!(frame.payload(), &i.to_le_bytes()),
            Err(RecvError::Timeout) => panic!("a wake-up was lost at frame {i}"),
            Err(e) => panic!("{e}"),
        }
        assert!(
            asked.elapsed() < bound,
            "a wake-up was lost at frame {i} (slept the whole bound)"
        );
    }
    writer.join().unwrap();
    let stats = ring.stats();
    println!(
        "fence mode: {}; data wakes {}",
        ringflow::fence_mode(),
        stats.data_wakes
    );
    // The 2,000 frames pushed to an armed reader made the notify path run. Not all of them wake:
    // a reader that armed can still see the frame in its last look before sleeping, and then
    // disarms the word itself before the producer's notify looks (1,988 of 2,001 in one run), so
    // the bound is loose; a lost wake-up is what the time bound above catches.
    assert!(stats.data_wakes >= frames / 4, "{stats:?}");
}

/// A reader counts each of its sleeps in its block (`wakes`, R7), which `inspect` shows per
/// reader; polling never sleeps. Deterministic: with no frame ever coming, each wait parks, and
/// is ended by `wake_waiters` once the reader counted itself asleep. (A wait ended by its own
/// timeout is not: a reader descheduled in its spin for the whole timeout, as on a loaded
/// machine, finds the deadline passed before it parks, and rightly does not sleep.)
#[test]
fn a_reader_counts_its_sleeps_and_a_poll_never_sleeps() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let _producer = ring.producer(ProducerOptions::default()).unwrap();
    for _ in 0..100 {
        assert!(consumer.poll().unwrap().is_none());
    }
    assert_eq!(ring.stats().consumers[0].wakes, 0);
    for n in 1..=3 {
        let waker = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                while ring.stats().data_sleepers == 0 {
                    std::thread::yield_now();
                }
                ring.wake_waiters();
            })
        };
        // Bounded, so a lost wake fails the test instead of hanging it.
        let asked = Instant::now();
        consumer.wait(Some(Duration::from_secs(30))).unwrap();
        assert!(asked.elapsed() < Duration::from_secs(30), "never woken");
        waker.join().unwrap();
        assert!(consumer.poll().unwrap().is_none());
        let wakes = ring.stats().consumers[0].wakes;
        assert_eq!(wakes, n, "{wakes} sleeps after {n} waits");
    }
}

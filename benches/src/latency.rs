//! Round-trip latency: a 64-byte frame from core 0 to core 1 and back over two queues, both
//! sides busy-waiting, timed per trip; and the bare cache-line round trip under it all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_queue::ArrayQueue;
use hdrhistogram::Histogram;
use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig};

use crate::{pin, touch, touch_frame, CAPACITY};

const S: usize = 64;

/// A latency contestant: makes this many round trips and returns their times (ns).
pub type Pinger = (&'static str, fn(u64) -> Histogram<u64>);

/// Every contestant, the bare cache line first.
pub fn contestants() -> Vec<Pinger> {
    vec![
        ("bare cache line", bare),
        ("ringflow", ringflow),
        ("rtrb", rtrb),
        ("crossbeam ArrayQueue", array_queue),
        ("crossbeam-channel", crossbeam_channel),
        ("std sync_channel", sync_channel),
    ]
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 10_000_000, 3).unwrap()
}

/// Runs `echo` on core 1 and `trip` `trips` times on core 0, timing each trip.
fn ping_pong(
    trips: u64,
    mut trip: impl FnMut(u64),
    echo: impl FnOnce() + Send + 'static,
) -> Histogram<u64> {
    let echo = std::thread::spawn(move || {
        pin(1);
        echo();
    });
    pin(0);
    let mut h = histogram();
    for i in 0..trips {
        let start = Instant::now();
        trip(i);
        h.saturating_record(start.elapsed().as_nanos() as u64);
    }
    echo.join().unwrap();
    h
}

/// One cache line written by each side in turn.
pub fn bare(trips: u64) -> Histogram<u64> {
    let flag = Arc::new(AtomicU64::new(0));
    let f = Arc::clone(&flag);
    ping_pong(
        trips,
        move |i| {
            flag.store(2 * i + 1, Ordering::Release);
            while flag.load(Ordering::Acquire) != 2 * i + 2 {
                std::hint::spin_loop();
            }
        },
        move || {
            for i in 0..trips {
                while f.load(Ordering::Acquire) != 2 * i + 1 {
                    std::hint::spin_loop();
                }
                f.store(2 * i + 2, Ordering::Release);
            }
        },
    )
}

/// Two anonymous ringflow rings; frames written in place and read as views.
pub fn ringflow(trips: u64) -> Histogram<u64> {
    let config = RingConfig::new(CAPACITY as u32, S as u32)
        .timestamps(false)
        .max_consumers(1);
    let (a, b) = (
        Ring::anonymous(&config).unwrap(),
        Ring::anonymous(&config).unwrap(),
    );
    let options = ProducerOptions::new(FullPolicy::Block { timeout: None }).timestamps(false);
    let (mut a_rx, mut b_rx) = (a.consumer().unwrap(), b.consumer().unwrap());
    let (mut a_tx, mut b_tx) = (a.producer(options).unwrap(), b.producer(options).unwrap());
    ping_pong(
        trips,
        move |i| {
            let mut slot = a_tx.claim().unwrap();
            slot.payload_mut()[..S].fill(i as u8);
            slot.commit(S);
            loop {
                if let Ok(Some(f)) = b_rx.poll() {
                    std::hint::black_box(touch_frame::<S>(f.payload()));
                    break;
                }
                std::hint::spin_loop();
            }
        },
        move || {
            for _ in 0..trips {
                loop {
                    if let Ok(Some(f)) = a_rx.poll() {
                        let mut slot = b_tx.claim().unwrap();
                        slot.payload_mut()[..S].copy_from_slice(f.payload());
                        slot.commit(S);
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
        },
    )
}

/// Two rtrb ring buffers of `[u8; 64]`.
pub fn rtrb(trips: u64) -> Histogram<u64> {
    let (mut a_tx, mut a_rx) = rtrb::RingBuffer::<[u8; S]>::new(CAPACITY);
    let (mut b_tx, mut b_rx) = rtrb::RingBuffer::<[u8; S]>::new(CAPACITY);
    ping_pong(
        trips,
        move |i| {
            a_tx.push([i as u8; S]).unwrap();
            loop {
                if let Ok(v) = b_rx.pop() {
                    std::hint::black_box(touch(&v));
                    break;
                }
                std::hint::spin_loop();
            }
        },
        move || {
            for _ in 0..trips {
                loop {
                    if let Ok(v) = a_rx.pop() {
                        b_tx.push(v).unwrap();
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
        },
    )
}

/// Two crossbeam `ArrayQueue`s.
pub fn array_queue(trips: u64) -> Histogram<u64> {
    let (a, b) = (
        Arc::new(ArrayQueue::<[u8; S]>::new(CAPACITY)),
        Arc::new(ArrayQueue::<[u8; S]>::new(CAPACITY)),
    );
    let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
    ping_pong(
        trips,
        move |i| {
            a.push([i as u8; S]).unwrap();
            loop {
                if let Some(v) = b.pop() {
                    std::hint::black_box(touch(&v));
                    break;
                }
                std::hint::spin_loop();
            }
        },
        move || {
            for _ in 0..trips {
                loop {
                    if let Some(v) = a2.pop() {
                        b2.push(v).unwrap();
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
        },
    )
}

/// Two crossbeam-channel `bounded` channels, `try_recv` in a spin.
pub fn crossbeam_channel(trips: u64) -> Histogram<u64> {
    let (a_tx, a_rx) = crossbeam_channel::bounded::<[u8; S]>(CAPACITY);
    let (b_tx, b_rx) = crossbeam_channel::bounded::<[u8; S]>(CAPACITY);
    ping_pong(
        trips,
        move |i| {
            a_tx.send([i as u8; S]).unwrap();
            loop {
                if let Ok(v) = b_rx.try_recv() {
                    std::hint::black_box(touch(&v));
                    break;
                }
                std::hint::spin_loop();
            }
        },
        move || {
            for _ in 0..trips {
                loop {
                    if let Ok(v) = a_rx.try_recv() {
                        b_tx.send(v).unwrap();
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
        },
    )
}

/// Two std `sync_channel`s, `try_recv` in a spin.
pub fn sync_channel(trips: u64) -> Histogram<u64> {
    let (a_tx, a_rx) = std::sync::mpsc::sync_channel::<[u8; S]>(CAPACITY);
    let (b_tx, b_rx) = std::sync::mpsc::sync_channel::<[u8; S]>(CAPACITY);
    ping_pong(
        trips,
        move |i| {
            a_tx.send([i as u8; S]).unwrap();
            loop {
                if let Ok(v) = b_rx.try_recv() {
                    std::hint::black_box(touch(&v));
                    break;
                }
                std::hint::spin_loop();
            }
        },
        move || {
            for _ in 0..trips {
                loop {
                    if let Ok(v) = a_rx.try_recv() {
                        b_tx.send(v).unwrap();
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
        },
    )
}

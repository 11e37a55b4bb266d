//! Multi-producer (2 producers, 1 consumer) and broadcast (1 producer, 2 or 4 consumers, every
//! consumer sees every frame), ringflow against the disruptor crate. These run more threads than
//! the machine has cores (2 vCPUs here), unpinned and busy-waiting: both contestants suffer the
//! same oversubscription, so compare them with each other only.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig};

use crate::{read_frames, touch, write_frames, CAPACITY};

const S: usize = 64;

/// A fan-out contestant: streams the given number of frames and returns how long that took.
pub type Fan = (&'static str, fn(u64) -> Duration);

/// Every contestant.
pub fn contestants() -> Vec<Fan> {
    vec![
        ("ringflow 2 producers", ringflow_mp),
        ("disruptor 2 producers", disruptor_mp),
        ("ringflow broadcast to 2", |n| ringflow_broadcast(n, 2)),
        ("disruptor broadcast to 2", |n| disruptor_broadcast(n, 2)),
        ("ringflow broadcast to 4", |n| ringflow_broadcast(n, 4)),
        ("disruptor broadcast to 4", |n| disruptor_broadcast(n, 4)),
    ]
}

fn options() -> ProducerOptions {
    ProducerOptions::new(FullPolicy::Block { timeout: None }).timestamps(false)
}

/// ringflow, a multi-producer ring: two producers write `frames / 2` each.
pub fn ringflow_mp(frames: u64) -> Duration {
    let ring = Ring::anonymous(
        &RingConfig::new(CAPACITY as u32, S as u32)
            .timestamps(false)
            .max_consumers(1)
            .multi_producer(true),
    )
    .unwrap();
    let mut c = ring.consumer().unwrap();
    let start = Instant::now();
    let reader = std::thread::spawn(move || black_box(read_frames::<S>(&mut c, frames)));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let mut p = ring.producer(options()).unwrap();
            std::thread::spawn(move || write_frames(&mut p, frames / 2, S))
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    start.elapsed()
}

/// ringflow, one producer, `k` lossless consumers.
pub fn ringflow_broadcast(frames: u64, k: usize) -> Duration {
    let ring = Ring::anonymous(
        &RingConfig::new(CAPACITY as u32, S as u32)
            .timestamps(false)
            .max_consumers(k as u32),
    )
    .unwrap();
    let consumers: Vec<_> = (0..k).map(|_| ring.consumer().unwrap()).collect();
    let mut p = ring.producer(options()).unwrap();
    let start = Instant::now();
    let readers: Vec<_> = consumers
        .into_iter()
        .map(|mut c| std::thread::spawn(move || black_box(read_frames::<S>(&mut c, frames))))
        .collect();
    write_frames(&mut p, frames, S);
    for r in readers {
        r.join().unwrap();
    }
    start.elapsed()
}

/// A disruptor event handler that reads every byte and counts down `left` at the last frame.
fn handler(
    last: i64,
    left: &Arc<AtomicU64>,
) -> impl FnMut(&[u8; S], disruptor::Sequence, bool) + Send + 'static {
    let left = Arc::clone(left);
    let mut acc = 0u64;
    move |e, seq, _| {
        acc ^= touch(e);
        if seq == last {
            black_box(acc);
            left.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn wait_zero(left: &AtomicU64) {
    while left.load(Ordering::Acquire) != 0 {
        std::hint::spin_loop();
    }
}

/// The disruptor crate, a multi-producer disruptor: two producer clones publish `frames / 2`
/// each.
pub fn disruptor_mp(frames: u64) -> Duration {
    use disruptor::{build_multi_producer, BusySpin, Producer};
    let left = Arc::new(AtomicU64::new(1));
    let frames = frames / 2 * 2;
    let producer = build_multi_producer(CAPACITY, || [0u8; S], BusySpin)
        .handle_events_with(handler(frames as i64 - 1, &left))
        .build();
    let start = Instant::now();
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let mut p = producer.clone();
            std::thread::spawn(move || {
                for i in 0..frames / 2 {
                    p.publish(|e| e.fill(i as u8));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    wait_zero(&left);
    let elapsed = start.elapsed();
    drop(producer);
    elapsed
}

/// The disruptor crate, one producer, `k` (2 or 4) concurrent event handlers.
pub fn disruptor_broadcast(frames: u64, k: usize) -> Duration {
    use disruptor::{build_single_producer, BusySpin, Producer};
    let left = Arc::new(AtomicU64::new(k as u64));
    let last = frames as i64 - 1;
    let builder = build_single_producer(CAPACITY, || [0u8; S], BusySpin)
        .handle_events_with(handler(last, &left))
        .handle_events_with(handler(last, &left));
    let mut producer = if k == 4 {
        builder
            .handle_events_with(handler(last, &left))
            .handle_events_with(handler(last, &left))
            .build()
    } else {
        assert_eq!(k, 2, "2 or 4 consumers");
        builder.build()
    };
    let start = Instant::now();
    for i in 0..frames {
        producer.publish(|e| e.fill(i as u8));
    }
    wait_zero(&left);
    let elapsed = start.elapsed();
    drop(producer);
    elapsed
}

//! ringflow-benches: ringflow against the queues a user would pick instead.
//!
//! The contestants live here, shared by the criterion benches (`benches/spsc.rs`, per-case
//! detail) and the paired runner (`benches/paired.rs`, the headline ratios, run in interleaved
//! rounds with the two-core placement measured before each). See `docs/BENCHMARKS.md`.
//!
//! Every contestant: capacity 4096 frames, producer pinned to core 0 and consumer to core 1,
//! every payload byte written by the producer and read by the consumer (an XOR over all of it).
//! ringflow runs with timestamps off (the peers write none).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

pub mod blocking;
pub mod fanout;
pub mod iox;
pub mod latency;
pub mod spsc;

/// The one-thread loops (the CPU cost of a frame), kept in `ringflow-ir` so its instruction
/// counts (callgrind) measure the very loops the timed runs do.
pub use ringflow_ir::one_thread;
/// Slots (or elements) of every queue; frames per batch where a contestant batches; reads every
/// byte of a frame.
pub use ringflow_ir::{touch, touch_frame, BATCH, CAPACITY};

/// Pins the current thread to core `core` (0 or 1). The list of cores is read once, on the first
/// call: call it before any thread is pinned (a thread spawned by a pinned thread inherits its
/// mask, and asking for the core list from there would see one core only).
pub fn pin(core: usize) {
    static CORES: std::sync::OnceLock<Vec<core_affinity::CoreId>> = std::sync::OnceLock::new();
    let cores = CORES.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default());
    assert!(
        cores.len() >= 2,
        "the benchmarks need two cores, found {}",
        cores.len()
    );
    assert!(
        core_affinity::set_for_current(cores[core % cores.len()]),
        "could not pin to core {core}"
    );
}

/// Writes `frames` frames of `size` bytes into ringflow, one at a time, every byte (the byte is the
/// frame's number).
pub fn write_frames(p: &mut ringflow::Producer, frames: u64, size: usize) {
    for i in 0..frames {
        let mut slot = p.claim().unwrap();
        slot.payload_mut()[..size].fill(i as u8);
        slot.commit(size);
    }
}

/// Reads `frames` frames from ringflow, busy-polling, every byte; returns their XOR. `S`: the
/// frames' length, read as an `[u8; S]` (see [`touch_frame`]; 0: any length).
pub fn read_frames<const S: usize>(c: &mut ringflow::Consumer, frames: u64) -> u64 {
    let (mut got, mut acc) = (0, 0);
    while got < frames {
        match c.poll() {
            Ok(Some(f)) => {
                acc ^= touch_frame::<S>(f.payload());
                got += 1;
            }
            _ => std::hint::spin_loop(),
        }
    }
    acc
}

/// Reads `frames` frames from ringflow in the blocking `recv` (which spins, backing off, before it
/// would park), every byte; returns their XOR. `S` as for [`read_frames`].
pub fn recv_frames<const S: usize>(c: &mut ringflow::Consumer, frames: u64) -> u64 {
    let mut acc = 0;
    for _ in 0..frames {
        acc ^= touch_frame::<S>(c.recv(None).unwrap().payload());
    }
    acc
}

/// Writes `frames` frames of `size` bytes into ringflow in batches of [`BATCH`] claimed and
/// committed at once, every byte (the byte is the frame's number).
pub fn write_batches(p: &mut ringflow::Producer, frames: u64, size: usize) {
    let mut sent = 0u64;
    while sent < frames {
        let n = BATCH.min((frames - sent) as usize);
        let mut batch = p.claim_batch(n).unwrap();
        for i in 0..n {
            batch.slot_mut(i)[..size].fill((sent + i as u64) as u8);
            batch.set_len(i, size);
        }
        batch.commit();
        sent += n as u64;
    }
}

/// Reads `frames` frames from ringflow taking every ready frame at once (`poll_batch`),
/// busy-polling, every byte; returns their XOR. `S` as for [`read_frames`].
pub fn read_batches<const S: usize>(c: &mut ringflow::Consumer, frames: u64) -> u64 {
    let (mut got, mut acc) = (0, 0);
    while got < frames {
        let batch = c.poll_batch(CAPACITY).unwrap();
        if batch.is_empty() {
            std::hint::spin_loop();
            continue;
        }
        for f in batch.iter() {
            acc ^= touch_frame::<S>(f.payload);
        }
        got += batch.len() as u64;
    }
    acc
}

/// Reads `frames` frames from ringflow in the blocking `recv_batch` (the wait of `recv`, then
/// every ready frame at once), every byte; returns their XOR. `S` as for [`read_frames`].
pub fn recv_batches<const S: usize>(c: &mut ringflow::Consumer, frames: u64) -> u64 {
    let (mut got, mut acc) = (0, 0);
    while got < frames {
        let batch = c.recv_batch(CAPACITY, None).unwrap();
        for f in batch.iter() {
            acc ^= touch_frame::<S>(f.payload);
        }
        got += batch.len() as u64;
    }
    acc
}

/// Nanoseconds per cache-line round trip between cores 0 and 1 now (the placement probe, and
/// the floor of any ping-pong).
pub fn placement_ns() -> f64 {
    const TRIPS: u64 = 20_000;
    let flag = Arc::new(AtomicU64::new(0));
    let f = Arc::clone(&flag);
    let other = std::thread::spawn(move || {
        pin(1);
        for i in 0..TRIPS {
            while f.load(Ordering::Acquire) != 2 * i + 1 {
                std::hint::spin_loop();
            }
            f.store(2 * i + 2, Ordering::Release);
        }
    });
    pin(0);
    let start = Instant::now();
    for i in 0..TRIPS {
        flag.store(2 * i + 1, Ordering::Release);
        while flag.load(Ordering::Acquire) != 2 * i + 2 {
            std::hint::spin_loop();
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / TRIPS as f64;
    other.join().unwrap();
    ns
}

/// Runs `consume` on core 1 and `produce` on core 0, started together; returns the time from
/// the start until both ended.
pub fn run<P, C>(produce: P, consume: C) -> Duration
where
    P: FnOnce(),
    C: FnOnce() -> u64 + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(2));
    let b = Arc::clone(&barrier);
    let reader = std::thread::spawn(move || {
        pin(1);
        b.wait();
        black_box(consume())
    });
    pin(0);
    barrier.wait();
    let start = Instant::now();
    produce();
    reader.join().unwrap();
    start.elapsed()
}

/// A contestant: streams the given number of frames and returns how long that took.
pub type Contestant = (&'static str, fn(u64) -> Duration);

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

//! The CPU cost of a frame, without cross-core transfers: one thread writes a frame and reads it
//! back, over and over. Placement-independent, so it compares code, not the host's mood; what it
//! leaves out (the lines the two cores trade) the two-thread benches measure.

use std::hint::black_box;
use std::time::Instant;

use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig};

use crate::{touch, touch_frame, BATCH, CAPACITY};

/// A contestant: nanoseconds per frame over this many frames.
pub type Loop = (&'static str, fn(u64) -> f64);

/// Every contestant.
pub fn contestants() -> Vec<Loop> {
    vec![
        ("ringflow single 64 B", ringflow_single::<64>),
        ("rtrb push/pop 64 B", rtrb_push_pop::<64>),
        ("ringflow batch 64 B", ringflow_batch::<64>),
        ("ringflow single 256 B", ringflow_single::<256>),
        ("rtrb push/pop 256 B", rtrb_push_pop::<256>),
        ("ringflow batch 256 B", ringflow_batch::<256>),
        ("ringflow push + read_into 64 B", ringflow_copying::<64>),
        ("rtrb chunks 64 B", rtrb_chunks::<64>),
        ("rtrb chunks 256 B", rtrb_chunks::<256>),
    ]
}

fn ring_and_ends<const S: usize>() -> (Ring, ringflow::Producer, ringflow::Consumer) {
    let ring = Ring::anonymous(
        &RingConfig::new(CAPACITY as u32, S as u32)
            .timestamps(false)
            .max_consumers(1),
    )
    .unwrap();
    let consumer = ring.consumer().unwrap();
    let producer = ring
        .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }).timestamps(false))
        .unwrap();
    (ring, producer, consumer)
}

/// ringflow: claim, fill, commit; poll, read every byte, drop.
pub fn ringflow_single<const S: usize>(frames: u64) -> f64 {
    let (_ring, mut p, mut c) = ring_and_ends::<S>();
    let start = Instant::now();
    let mut acc = 0;
    for i in 0..frames {
        let mut slot = p.claim().unwrap();
        slot.payload_mut()[..S].fill(i as u8);
        slot.commit(S);
        acc ^= touch_frame::<S>(c.poll().unwrap().unwrap().payload());
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / frames as f64
}

/// ringflow: a batch of [`BATCH`] written, then read as one batch.
pub fn ringflow_batch<const S: usize>(frames: u64) -> f64 {
    let (_ring, mut p, mut c) = ring_and_ends::<S>();
    let start = Instant::now();
    let mut acc = 0;
    for j in 0..frames / BATCH as u64 {
        let mut batch = p.claim_batch(BATCH).unwrap();
        for i in 0..BATCH {
            batch.slot_mut(i)[..S].fill((j + i as u64) as u8);
            batch.set_len(i, S);
        }
        batch.commit();
        for f in c.poll_batch(CAPACITY).unwrap().iter() {
            acc ^= touch_frame::<S>(f.payload);
        }
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / (frames / BATCH as u64 * BATCH as u64) as f64
}

/// rtrb: push, pop, read every byte.
pub fn rtrb_push_pop<const S: usize>(frames: u64) -> f64 {
    let (mut p, mut c) = rtrb::RingBuffer::<[u8; S]>::new(CAPACITY);
    let start = Instant::now();
    let mut acc = 0;
    for i in 0..frames {
        p.push([i as u8; S]).unwrap();
        acc ^= touch(&c.pop().unwrap());
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / frames as f64
}

/// rtrb's chunk API: a chunk of [`BATCH`] elements written, then read as one chunk.
pub fn rtrb_chunks<const S: usize>(frames: u64) -> f64 {
    let (mut p, mut c) = rtrb::RingBuffer::<[u8; S]>::new(CAPACITY);
    let start = Instant::now();
    let mut acc = 0;
    for j in 0..frames / BATCH as u64 {
        let chunk = p.write_chunk_uninit(BATCH).unwrap();
        let written = chunk.fill_from_iter((0..BATCH).map(|i| [(j + i as u64) as u8; S]));
        assert_eq!(written, BATCH);
        let chunk = c.read_chunk(BATCH).unwrap();
        let (first, second) = chunk.as_slices();
        for e in first.iter().chain(second) {
            acc ^= touch(e);
        }
        chunk.commit_all();
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / (frames / BATCH as u64 * BATCH as u64) as f64
}

/// ringflow's copying calls: `push` a frame from a buffer, `read_into` a buffer (what lossy
/// readers and foreign callers use).
pub fn ringflow_copying<const S: usize>(frames: u64) -> f64 {
    let (_ring, mut p, mut c) = ring_and_ends::<S>();
    let mut buf = [0u8; S];
    let start = Instant::now();
    let mut acc = 0;
    for i in 0..frames {
        p.push(&[i as u8; S]).unwrap();
        let info = c.read_into(&mut buf).unwrap().unwrap();
        acc ^= touch_frame::<S>(&buf[..info.len]);
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / frames as f64
}

//! Blocking mode: the consumer waits in a blocking `recv` (ringflow spins briefly, then parks on
//! the futex; the channels spin, then park on theirs), against busy-waiting; how many futex
//! wake-ups ringflow's producers and consumers issued; and the wake-up latency of a reader that
//! sleeps between frames.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig};

use crate::{pin, recv_frames, run, write_frames, CAPACITY};

/// ringflow with a blocking reader (`recv(None)`) and a blocking producer: the time, and the
/// futex wake syscalls issued (commits that found a reader asleep, plus releases that found a
/// producer asleep).
pub fn ringflow_blocking<const S: usize>(frames: u64) -> (Duration, u64) {
    let ring = Ring::anonymous(
        &RingConfig::new(CAPACITY as u32, S as u32)
            .timestamps(false)
            .max_consumers(1),
    )
    .unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }).timestamps(false))
        .unwrap();
    let elapsed = run(
        move || write_frames(&mut p, frames, S),
        move || recv_frames::<S>(&mut c, frames),
    );
    let stats = ring.stats();
    (elapsed, stats.data_wakes + stats.space_wakes)
}

/// One frame every `gap`; the reader sleeps in a blocking receive between them. Returns the
/// latency from just before the send to just after the receive, per frame (ns).
fn paced<T: Send + 'static>(
    frames: u64,
    gap: Duration,
    mut send: impl FnMut(u64),
    recv: impl FnMut() -> T + Send + 'static,
    sent_at: impl Fn(&T) -> u64 + Send + 'static,
    epoch: Instant,
) -> Histogram<u64> {
    let mut recv = recv;
    let reader = std::thread::spawn(move || {
        pin(1);
        let mut h = Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 3).unwrap();
        for _ in 0..frames {
            let v = recv();
            let now = epoch.elapsed().as_nanos() as u64;
            h.saturating_record(now.saturating_sub(sent_at(&v)));
        }
        h
    });
    pin(0);
    let mut next = Instant::now() + gap;
    for i in 0..frames {
        while Instant::now() < next {
            std::hint::spin_loop();
        }
        next += gap;
        send(i);
    }
    reader.join().unwrap()
}

/// Wake-up latency contestants: (name, run(frames, gap)).
pub type Waker = (&'static str, fn(u64, Duration) -> Histogram<u64>);

/// ringflow, crossbeam-channel and std `sync_channel`, each with a blocking receive.
pub fn wakers() -> Vec<Waker> {
    vec![
        ("ringflow", ringflow_wake),
        ("crossbeam-channel", crossbeam_wake),
        ("std sync_channel", sync_channel_wake),
    ]
}

fn ringflow_wake(frames: u64, gap: Duration) -> Histogram<u64> {
    let ring = Ring::anonymous(
        &RingConfig::new(CAPACITY as u32, 64)
            .timestamps(false)
            .max_consumers(1),
    )
    .unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }).timestamps(false))
        .unwrap();
    let epoch = Instant::now();
    paced(
        frames,
        gap,
        move |_| {
            let mut slot = p.claim().unwrap();
            let at = epoch.elapsed().as_nanos() as u64;
            slot.payload_mut()[..8].copy_from_slice(&at.to_le_bytes());
            slot.commit(64);
        },
        move || {
            let f = c.recv(None).unwrap();
            u64::from_le_bytes(f.payload()[..8].try_into().unwrap())
        },
        |at| *at,
        epoch,
    )
}

fn crossbeam_wake(frames: u64, gap: Duration) -> Histogram<u64> {
    let (tx, rx) = crossbeam_channel::bounded::<[u8; 64]>(CAPACITY);
    let epoch = Instant::now();
    paced(
        frames,
        gap,
        move |_| {
            let mut v = [0u8; 64];
            v[..8].copy_from_slice(&(epoch.elapsed().as_nanos() as u64).to_le_bytes());
            tx.send(v).unwrap();
        },
        move || rx.recv().unwrap(),
        |v| u64::from_le_bytes(v[..8].try_into().unwrap()),
        epoch,
    )
}

fn sync_channel_wake(frames: u64, gap: Duration) -> Histogram<u64> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<[u8; 64]>(CAPACITY);
    let epoch = Instant::now();
    paced(
        frames,
        gap,
        move |_| {
            let mut v = [0u8; 64];
            v[..8].copy_from_slice(&(epoch.elapsed().as_nanos() as u64).to_le_bytes());
            tx.send(v).unwrap();
        },
        move || rx.recv().unwrap(),
        |v| u64::from_le_bytes(v[..8].try_into().unwrap()),
        epoch,
    )
}

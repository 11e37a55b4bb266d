//! SPSC throughput: one producer on core 0, one consumer on core 1, `S`-byte frames.
//!
//! ringflow and the lock-free queues busy-wait on both sides; the channels (crossbeam-channel,
//! std `sync_channel`, tokio `mpsc`) are used as their users use them, with their blocking
//! `send`/`recv` (which spin briefly, then park).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig};

use crate::{
    pin, read_batches, read_frames, recv_batches, run, touch, write_batches, write_frames,
    Contestant, BATCH, CAPACITY,
};

/// Every contestant for `S`-byte frames, in the order reports list them.
pub fn contestants<const S: usize>() -> Vec<Contestant> {
    vec![
        ("ringflow single", ringflow_single::<S>),
        ("ringflow single recv", ringflow_single_recv::<S>),
        ("ringflow batch", ringflow_batch::<S>),
        ("ringflow batch recv", ringflow_batch_recv::<S>),
        ("ringflow file single", ringflow_file_single::<S>),
        ("ringflow file batch", ringflow_file_batch::<S>),
        ("rtrb push/pop", rtrb_push_pop::<S>),
        ("rtrb chunks", rtrb_chunks::<S>),
        ("crossbeam ArrayQueue", array_queue::<S>),
        ("crossbeam-channel", crossbeam_channel::<S>),
        ("std sync_channel", sync_channel::<S>),
        ("tokio mpsc", tokio_mpsc::<S>),
        ("disruptor single", disruptor_single::<S>),
        ("disruptor batch", disruptor_batch::<S>),
    ]
}

/// Frames of several sizes streamed in batches, ringflow's and rtrb's: how throughput follows
/// the cache lines a frame takes (a ringflow frame is its payload, at a 16-byte stride, plus a
/// 16-byte descriptor packed four to a line, since layout version 5: 1.25 lines for 64 bytes;
/// an rtrb element is its bytes alone).
pub fn lines() -> Vec<Contestant> {
    vec![
        ("ringflow batch 32 B", ringflow_batch::<32>),
        ("ringflow batch 64 B", ringflow_batch::<64>),
        ("ringflow batch recv 64 B", ringflow_batch_recv::<64>),
        ("rtrb chunks 32 B", rtrb_chunks::<32>),
        ("rtrb chunks 64 B", rtrb_chunks::<64>),
        ("rtrb chunks 128 B", rtrb_chunks::<128>),
    ]
}

fn anonymous<const S: usize>() -> Ring {
    Ring::anonymous(
        &RingConfig::new(CAPACITY as u32, S as u32)
            .timestamps(false)
            .max_consumers(1),
    )
    .unwrap()
}

/// A ring in a file under /dev/shm (removed at once: the mapping stays).
fn file_backed<const S: usize>() -> Ring {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "ringflow-bench-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let path = ringflow::shm_path(&path.file_name().unwrap().to_string_lossy()).unwrap_or(path);
    let ring = Ring::create_or_replace(
        &path,
        &RingConfig::new(CAPACITY as u32, S as u32)
            .timestamps(false)
            .max_consumers(1),
    )
    .unwrap();
    let _ = std::fs::remove_file(&path);
    ring
}

fn single<const S: usize>(ring: Ring, frames: u64) -> Duration {
    let mut c = ring.consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }).timestamps(false))
        .unwrap();
    run(
        move || write_frames(&mut p, frames, S),
        move || read_frames::<S>(&mut c, frames),
    )
}

/// Batches of [`BATCH`] written; `read` reads them.
fn batch<const S: usize>(
    ring: Ring,
    frames: u64,
    read: fn(&mut ringflow::Consumer, u64) -> u64,
) -> Duration {
    let mut c = ring.consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }).timestamps(false))
        .unwrap();
    run(
        move || write_batches(&mut p, frames, S),
        move || read(&mut c, frames),
    )
}

/// ringflow, anonymous region, one frame at a time (claim, write in place, commit; poll a view).
pub fn ringflow_single<const S: usize>(frames: u64) -> Duration {
    single::<S>(anonymous::<S>(), frames)
}

/// ringflow, anonymous region, one frame at a time, the reader in the blocking `recv` (which
/// spins, backing off, before it would park): ringflow's usual way to read. A reader that polls
/// the stamp of the slot being written as fast as it can takes the line from the producer on every
/// look; `recv`'s backoff looks less often.
pub fn ringflow_single_recv<const S: usize>(frames: u64) -> Duration {
    // The blocking section's contestant, without its wake count.
    crate::blocking::ringflow_blocking::<S>(frames).0
}

/// ringflow, anonymous region, batches of [`BATCH`] claimed and committed at once; the consumer
/// takes every ready frame at once.
pub fn ringflow_batch<const S: usize>(frames: u64) -> Duration {
    batch::<S>(anonymous::<S>(), frames, read_batches::<S>)
}

/// ringflow, anonymous region, batches as [`ringflow_batch`], the reader in the blocking
/// `recv_batch` (the backoff of `recv`, then every ready frame at once).
pub fn ringflow_batch_recv<const S: usize>(frames: u64) -> Duration {
    batch::<S>(anonymous::<S>(), frames, recv_batches::<S>)
}

/// ringflow, file-backed region (`/dev/shm`), one frame at a time.
pub fn ringflow_file_single<const S: usize>(frames: u64) -> Duration {
    single::<S>(file_backed::<S>(), frames)
}

/// ringflow, file-backed region, batches.
pub fn ringflow_file_batch<const S: usize>(frames: u64) -> Duration {
    batch::<S>(file_backed::<S>(), frames, read_batches::<S>)
}

/// rtrb `push`/`pop` of `[u8; S]`.
pub fn rtrb_push_pop<const S: usize>(frames: u64) -> Duration {
    let (mut p, mut c) = rtrb::RingBuffer::<[u8; S]>::new(CAPACITY);
    run(
        move || {
            for i in 0..frames {
                let mut v = [i as u8; S];
                while let Err(rtrb::PushError::Full(back)) = p.push(v) {
                    v = back;
                    std::hint::spin_loop();
                }
            }
        },
        move || {
            let (mut got, mut acc) = (0, 0);
            while got < frames {
                match c.pop() {
                    Ok(v) => {
                        acc ^= touch(&v);
                        got += 1;
                    }
                    Err(_) => std::hint::spin_loop(),
                }
            }
            acc
        },
    )
}

/// rtrb's chunk API: up to [`BATCH`] written at once; the consumer reads every ready element.
pub fn rtrb_chunks<const S: usize>(frames: u64) -> Duration {
    let (mut p, mut c) = rtrb::RingBuffer::<[u8; S]>::new(CAPACITY);
    run(
        move || {
            let mut sent = 0u64;
            while sent < frames {
                let n = p.slots().min(BATCH).min((frames - sent) as usize);
                if n == 0 {
                    std::hint::spin_loop();
                    continue;
                }
                let filled = p
                    .write_chunk_uninit(n)
                    .unwrap()
                    .fill_from_iter((sent..sent + n as u64).map(|i| [i as u8; S]));
                sent += filled as u64;
            }
        },
        move || {
            let (mut got, mut acc) = (0, 0);
            while got < frames {
                let n = c.slots();
                if n == 0 {
                    std::hint::spin_loop();
                    continue;
                }
                let chunk = c.read_chunk(n).unwrap();
                let (a, b) = chunk.as_slices();
                for v in a.iter().chain(b) {
                    acc ^= touch(v);
                }
                chunk.commit_all();
                got += n as u64;
            }
            acc
        },
    )
}

/// crossbeam-queue's `ArrayQueue` (MPMC, bounded), `push`/`pop` busy-waiting.
pub fn array_queue<const S: usize>(frames: u64) -> Duration {
    let q = Arc::new(ArrayQueue::<[u8; S]>::new(CAPACITY));
    let qc = Arc::clone(&q);
    run(
        move || {
            for i in 0..frames {
                let mut v = [i as u8; S];
                while let Err(back) = q.push(v) {
                    v = back;
                    std::hint::spin_loop();
                }
            }
        },
        move || {
            let (mut got, mut acc) = (0, 0);
            while got < frames {
                match qc.pop() {
                    Some(v) => {
                        acc ^= touch(&v);
                        got += 1;
                    }
                    None => std::hint::spin_loop(),
                }
            }
            acc
        },
    )
}

/// crossbeam-channel `bounded(4096)`, blocking `send`/`recv`.
pub fn crossbeam_channel<const S: usize>(frames: u64) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<[u8; S]>(CAPACITY);
    run(
        move || {
            for i in 0..frames {
                tx.send([i as u8; S]).unwrap();
            }
        },
        move || {
            let mut acc = 0;
            for _ in 0..frames {
                acc ^= touch(&rx.recv().unwrap());
            }
            acc
        },
    )
}

/// std `sync_channel(4096)`, blocking `send`/`recv`.
pub fn sync_channel<const S: usize>(frames: u64) -> Duration {
    let (tx, rx) = std::sync::mpsc::sync_channel::<[u8; S]>(CAPACITY);
    run(
        move || {
            for i in 0..frames {
                tx.send([i as u8; S]).unwrap();
            }
        },
        move || {
            let mut acc = 0;
            for _ in 0..frames {
                acc ^= touch(&rx.recv().unwrap());
            }
            acc
        },
    )
}

/// tokio `mpsc::channel(4096)` between two plain threads (`blocking_send`/`blocking_recv`).
pub fn tokio_mpsc<const S: usize>(frames: u64) -> Duration {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<[u8; S]>(CAPACITY);
    run(
        move || {
            for i in 0..frames {
                tx.blocking_send([i as u8; S]).unwrap();
            }
        },
        move || {
            let mut acc = 0;
            for _ in 0..frames {
                acc ^= touch(&rx.blocking_recv().unwrap());
            }
            acc
        },
    )
}

/// The disruptor crate (4.x): a single producer publishing one event at a time (or
/// [`BATCH`] at once) into a 4096-event ring, one busy-spinning managed consumer thread (pinned
/// to core 1 from its first event: `pin_at_core` panics when the building thread is pinned).
fn disruptor<const S: usize>(frames: u64, batch: bool) -> Duration {
    use disruptor::{build_single_producer, BusySpin, Producer, Sequence};
    let done = Arc::new(AtomicBool::new(false));
    let d = Arc::clone(&done);
    let last = frames as Sequence - 1;
    let mut acc = 0u64;
    let mut pinned = false;
    let handler = move |e: &[u8; S], seq: Sequence, _end_of_batch: bool| {
        if !pinned {
            pin(1);
            pinned = true;
        }
        acc ^= touch(e);
        if seq == last {
            black_box(acc);
            d.store(true, Ordering::Release);
        }
    };
    let mut producer = build_single_producer(CAPACITY, || [0u8; S], BusySpin)
        .handle_events_with(handler)
        .build();
    pin(0);
    let start = Instant::now();
    if batch {
        let mut sent = 0u64;
        while sent < frames {
            let n = BATCH.min((frames - sent) as usize);
            producer.batch_publish(n, |events| {
                for (i, e) in events.enumerate() {
                    e.fill((sent + i as u64) as u8);
                }
            });
            sent += n as u64;
        }
    } else {
        for i in 0..frames {
            producer.publish(|e| e.fill(i as u8));
        }
    }
    while !done.load(Ordering::Acquire) {
        std::hint::spin_loop();
    }
    let elapsed = start.elapsed();
    drop(producer); // joins the consumer thread
    elapsed
}

/// The disruptor crate, one `publish` per frame.
pub fn disruptor_single<const S: usize>(frames: u64) -> Duration {
    disruptor::<S>(frames, false)
}

/// The disruptor crate, `batch_publish` of [`BATCH`].
pub fn disruptor_batch<const S: usize>(frames: u64) -> Duration {
    disruptor::<S>(frames, true)
}

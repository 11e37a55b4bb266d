//! Paired SPSC throughput runner: ringflow against rtrb and crossbeam's `ArrayQueue`, run in
//! short interleaved rounds with the two-core placement measured before each round.
//!
//! On this VM the host moves the two vCPUs between a near placement (a cache-line round trip of
//! ~150 ns) and a far one (~450 ns) every few seconds, and everything that crosses cores runs
//! 3-4x slower when far. A median over contestants run minutes apart compares placements, not
//! code; so each round runs every contestant once, back to back, in a rotating order, and the
//! report gives each contestant's median and the median of per-round ratios.
//!
//! ```text
//! cargo bench -p ringflow-benches --bench paired            # full run
//! cargo bench -p ringflow-benches --bench paired -- --quick # 3 rounds
//! ```
//!
//! Every contestant: capacity 4096 frames, producer pinned to core 0 and consumer to core 1,
//! busy-waiting on both sides, every payload byte written by the producer (`fill`) and read by
//! the consumer (an XOR over all of it). ringflow runs with timestamps off (rtrb and crossbeam
//! write none).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use crossbeam_queue::ArrayQueue;
use ringflow::{Delivery, FullPolicy, ProducerOptions, Ring, RingConfig};

const CAPACITY: usize = 4096;
const BATCH: usize = 64;

/// Pins the current thread to core `core` (0 or 1). The list of cores is read once, before any
/// thread is pinned: a thread spawned by a pinned thread inherits its mask, and asking for the
/// core list from there would see one core only.
fn pin(core: usize) {
    static CORES: std::sync::OnceLock<Vec<core_affinity::CoreId>> = std::sync::OnceLock::new();
    let cores = CORES.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default());
    assert!(
        cores.len() >= 2,
        "the paired runner needs two cores, found {}",
        cores.len()
    );
    assert!(
        core_affinity::set_for_current(cores[core]),
        "could not pin to core {core}"
    );
}

/// Reads every byte of a frame.
#[inline]
fn touch(bytes: &[u8]) -> u64 {
    let mut acc = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        acc ^= u64::from_ne_bytes(c.try_into().unwrap());
    }
    for &b in chunks.remainder() {
        acc ^= u64::from(b);
    }
    acc
}

/// Nanoseconds per cache-line round trip between cores 0 and 1 now.
fn placement_ns() -> f64 {
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

/// Runs `consume` on core 1 and `produce` on core 0; returns frames per second.
fn run<P, C>(frames: u64, produce: P, consume: C) -> f64
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
    frames as f64 / start.elapsed().as_secs_f64()
}

fn ringflow_single<const S: usize>(frames: u64) -> f64 {
    let ring =
        Ring::anonymous(&RingConfig::new(CAPACITY as u32, S as u32).max_consumers(1)).unwrap();
    let mut c = ring.consumer(Delivery::Lossless).unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Fail).timestamps(false))
        .unwrap();
    run(
        frames,
        move || {
            for i in 0..frames {
                loop {
                    if let Ok(mut slot) = p.claim() {
                        slot.payload_mut()[..S].fill(i as u8);
                        slot.commit(S);
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
        },
        move || {
            let (mut got, mut acc) = (0, 0);
            while got < frames {
                match c.poll() {
                    Ok(Some(f)) => {
                        acc ^= touch(f.payload());
                        got += 1;
                    }
                    _ => std::hint::spin_loop(),
                }
            }
            acc
        },
    )
}

fn ringflow_batch<const S: usize>(frames: u64) -> f64 {
    let ring =
        Ring::anonymous(&RingConfig::new(CAPACITY as u32, S as u32).max_consumers(1)).unwrap();
    let mut c = ring.consumer(Delivery::Lossless).unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Fail).timestamps(false))
        .unwrap();
    run(
        frames,
        move || {
            let mut sent = 0u64;
            while sent < frames {
                let n = BATCH.min((frames - sent) as usize);
                match p.claim_batch(n) {
                    Ok(mut batch) => {
                        for i in 0..n {
                            batch.slot_mut(i)[..S].fill((sent + i as u64) as u8);
                            batch.set_len(i, S);
                        }
                        batch.commit();
                        sent += n as u64;
                    }
                    Err(_) => std::hint::spin_loop(),
                }
            }
        },
        move || {
            let (mut got, mut acc) = (0, 0);
            while got < frames {
                let batch = c.poll_batch(CAPACITY).unwrap();
                if batch.is_empty() {
                    std::hint::spin_loop();
                    continue;
                }
                for f in batch.iter() {
                    acc ^= touch(f.payload);
                }
                got += batch.len() as u64;
            }
            acc
        },
    )
}

fn rtrb_push_pop<const S: usize>(frames: u64) -> f64 {
    let (mut p, mut c) = rtrb::RingBuffer::<[u8; S]>::new(CAPACITY);
    run(
        frames,
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

fn rtrb_chunks<const S: usize>(frames: u64) -> f64 {
    let (mut p, mut c) = rtrb::RingBuffer::<[u8; S]>::new(CAPACITY);
    run(
        frames,
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

fn crossbeam_array_queue<const S: usize>(frames: u64) -> f64 {
    let q = Arc::new(ArrayQueue::<[u8; S]>::new(CAPACITY));
    let qc = Arc::clone(&q);
    run(
        frames,
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

type Contestant = (&'static str, fn(u64) -> f64);

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn report(size: usize, rounds: &[(f64, Vec<(&'static str, f64)>)], names: &[&'static str]) {
    println!("\n## SPSC, {size}-byte frames: frames/s (millions)\n");
    println!("| contestant | median, all rounds | min .. max | median, near rounds (<250 ns) |");
    println!("|---|---:|---:|---:|");
    for name in names {
        let mut all: Vec<f64> = rounds
            .iter()
            .flat_map(|(_, r)| r.iter().filter(|(n, _)| n == name).map(|(_, v)| *v))
            .collect();
        let mut near: Vec<f64> = rounds
            .iter()
            .filter(|(ns, _)| *ns < 250.0)
            .flat_map(|(_, r)| r.iter().filter(|(n, _)| n == name).map(|(_, v)| *v))
            .collect();
        let (lo, hi) = all
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let near_median = if near.is_empty() {
            "-".to_string()
        } else {
            format!("{:.1}", median(&mut near) / 1e6)
        };
        println!(
            "| {name} | {:.1} | {:.1} .. {:.1} | {near_median} |",
            median(&mut all) / 1e6,
            lo / 1e6,
            hi / 1e6
        );
    }
    println!("\nMedian over rounds of the per-round ratio (same round, same placement):\n");
    println!("| ratio | median | min .. max |");
    println!("|---|---:|---:|");
    let get = |r: &Vec<(&'static str, f64)>, n: &str| {
        r.iter().find(|(m, _)| *m == n).map(|(_, v)| *v).unwrap()
    };
    for (ours, theirs) in [
        ("ringflow batch", "rtrb chunks"),
        ("ringflow single", "rtrb push/pop"),
        ("ringflow single", "crossbeam ArrayQueue"),
    ] {
        let mut ratios: Vec<f64> = rounds
            .iter()
            .map(|(_, r)| get(r, ours) / get(r, theirs))
            .collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        println!(
            "| {ours} / {theirs} | {:.2} | {lo:.2} .. {hi:.2} |",
            median(&mut ratios)
        );
    }
    let mut placements: Vec<f64> = rounds.iter().map(|(ns, _)| *ns).collect();
    println!("\nPlacement before each round (ns per cache-line round trip): {placements:.0?}, median {:.0}", median(&mut placements));
}

fn bench_size<const S: usize>(rounds: usize, frames: u64) {
    let contestants: [Contestant; 5] = [
        ("ringflow single", ringflow_single::<S>),
        ("ringflow batch", ringflow_batch::<S>),
        ("rtrb push/pop", rtrb_push_pop::<S>),
        ("rtrb chunks", rtrb_chunks::<S>),
        ("crossbeam ArrayQueue", crossbeam_array_queue::<S>),
    ];
    // Warm up every contestant once.
    for (_, f) in &contestants {
        black_box(f(frames / 10));
    }
    let mut results = Vec::new();
    for round in 0..rounds {
        let placement = placement_ns();
        let mut this = Vec::new();
        for k in 0..contestants.len() {
            let (name, f) = contestants[(round + k) % contestants.len()];
            this.push((name, f(frames)));
        }
        results.push((placement, this));
    }
    report(S, &results, &contestants.map(|(n, _)| n));
}

fn main() {
    pin(0); // reads the core list while nothing is pinned
            // `cargo bench` passes `--bench`; `--quick` runs 3 rounds.
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 3 } else { 11 };
    println!("# ringflow paired SPSC runner: {rounds} rounds, capacity {CAPACITY}, batch {BATCH}");
    bench_size::<64>(rounds, 2_000_000);
    bench_size::<256>(rounds, 1_000_000);
    bench_size::<4096>(rounds, 200_000);
}

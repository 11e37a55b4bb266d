//! Cross-process: ringflow over a file-backed ring (`/dev/shm`) against iceoryx2 0.10
//! publish-subscribe, producer and consumer in two processes (this program re-runs itself as the
//! child), both busy-waiting, in interleaved rounds with the placement measured before each.
//!
//! ```text
//! cargo bench -p ringflow-benches --bench cross_process            # 7 rounds
//! cargo bench -p ringflow-benches --bench cross_process -- --quick # 3 rounds
//! ```
//!
//! Throughput: the parent (core 0) writes every byte of N frames, the child (core 1) reads every
//! byte; timed from the child's "ready" to its "done". iceoryx2 runs lossless (no safe overflow,
//! `RetryUntilDelivered`, a 4096-sample subscriber buffer) so both deliver every frame. Round
//! trip: 64-byte frames over two rings (two services), the child echoing, timed per trip.
//!
//! It leaves nothing behind: its rings are `/dev/shm/ringflow-xp-PID-*`, and iceoryx2 runs in an
//! [`IoxScope`] of its own (a root path and a file prefix naming this run), both removed at the
//! end, even after a panic.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use iceoryx2::port::backpressure_strategy::BackpressureStrategy;
use iceoryx2::prelude::*;
use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig};
use ringflow_benches::iox::IoxScope;
use ringflow_benches::{
    median, placement_ns, read_batches, read_frames, recv_frames, touch, touch_frame,
    write_batches, write_frames, CAPACITY,
};

const CHILD: &str = "RINGFLOW_XP_CHILD";

fn pin_to(core: usize) {
    core_affinity::set_for_current(core_affinity::CoreId { id: core });
}

fn options() -> ProducerOptions {
    ProducerOptions::new(FullPolicy::Block { timeout: None }).timestamps(false)
}

/// Starts this program as the child with `args`; returns it once it said "ready".
fn spawn(args: &str) -> (Child, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    (child, lines)
}

fn finish(mut child: Child, mut lines: std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let done = lines.next().unwrap().unwrap();
    assert!(done.starts_with("done"), "{done}");
    assert!(child.wait().unwrap().success());
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

fn shm(tag: &str) -> std::path::PathBuf {
    ringflow::shm_path(&format!("ringflow-xp-{}-{tag}", std::process::id())).unwrap()
}

/// Removes this run's rings on drop (a run removes its own as it ends; this catches a panic).
struct RingFiles;

impl Drop for RingFiles {
    fn drop(&mut self) {
        for tag in ["stream", "ping", "pong"] {
            let _ = std::fs::remove_file(shm(tag));
        }
    }
}

fn ring(path: &std::path::Path, size: usize) -> Ring {
    Ring::create_or_replace(
        path,
        &RingConfig::new(CAPACITY as u32, size as u32)
            .timestamps(false)
            .max_consumers(1),
    )
    .unwrap()
}

fn iox_service(
    node: &Node<ipc::Service>,
    name: &str,
) -> iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, [u8; 256], ()> {
    node.service_builder(&name.try_into().unwrap())
        .publish_subscribe::<[u8; 256]>()
        .enable_safe_overflow(false)
        .subscriber_max_buffer_size(CAPACITY)
        .open_or_create()
        .unwrap()
}

// ---- throughput ------------------------------------------------------------------------------

/// How ringflow's two processes move frames in a throughput run.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `claim`/`commit` per frame; the reader in a busy `poll` loop.
    Poll,
    /// `claim`/`commit` per frame; the reader in the blocking `recv` (spins, backing off, before
    /// it would park): ringflow's usual read.
    Recv,
    /// `claim_batch(64)`/`commit`; the reader takes every ready frame at once (`poll_batch`).
    Batch,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Poll, Mode::Recv, Mode::Batch];

    fn name(self) -> &'static str {
        match self {
            Mode::Poll => "poll",
            Mode::Recv => "recv",
            Mode::Batch => "batch",
        }
    }

    fn parse(s: &str) -> Mode {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .unwrap_or_else(|| panic!("unknown mode {s}"))
    }
}

fn ringflow_stream(mode: Mode, frames: u64, size: usize) -> Duration {
    let path = shm("stream");
    let r = ring(&path, size);
    let mut p = r.producer(options()).unwrap();
    let (child, lines) = spawn(&format!(
        "ringflow-read {} {frames} {}",
        path.display(),
        mode.name()
    ));
    pin_to(0);
    let start = Instant::now();
    match mode {
        Mode::Batch => write_batches(&mut p, frames, size),
        Mode::Poll | Mode::Recv => write_frames(&mut p, frames, size),
    }
    finish(child, lines);
    let elapsed = start.elapsed();
    let _ = std::fs::remove_file(path);
    elapsed
}

fn ringflow_read(path: &str, frames: u64, mode: Mode) {
    let r = Ring::open(path).unwrap();
    let mut c = r.consumer().unwrap();
    pin_to(1);
    say("ready");
    let acc = match mode {
        // Any length (`S == 0`): the frames' size is a run-time argument here, as it is for
        // iceoryx2's reader, which reads `[..size]` of its fixed 256-byte samples.
        Mode::Poll => read_frames::<0>(&mut c, frames),
        Mode::Recv => recv_frames::<0>(&mut c, frames),
        Mode::Batch => read_batches::<0>(&mut c, frames),
    };
    say(&format!("done {acc}"));
}

/// iceoryx2 moves fixed 256-byte samples here (its payload type is fixed per service); `size`
/// bytes of each are written and read, as for ringflow.
fn iox_stream(scope: &IoxScope, frames: u64, size: usize) -> Duration {
    let name = format!("ringflow-xp/{}/stream/{size}", std::process::id());
    let node = scope.node();
    let service = iox_service(&node, &name);
    let publisher = service
        .publisher_builder()
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()
        .unwrap();
    let (child, lines) = spawn(&format!("iox-read {name} {frames} {size} {}", scope.spec()));
    pin_to(0);
    let start = Instant::now();
    for i in 0..frames {
        let mut sample = publisher.loan_uninit().unwrap();
        // SAFETY: `[u8; 256]` has no invalid bit patterns; the bytes not written are never read.
        let bytes = unsafe { sample.payload_mut().assume_init_mut() };
        bytes[..size].fill(i as u8);
        // SAFETY: as above.
        unsafe { sample.assume_init() }.send().unwrap();
    }
    finish(child, lines);
    start.elapsed()
}

fn iox_read(scope: &IoxScope, name: &str, frames: u64, size: usize) {
    let node = scope.node();
    let service = iox_service(&node, name);
    let subscriber = service
        .subscriber_builder()
        .buffer_size(CAPACITY)
        .create()
        .unwrap();
    pin_to(1);
    say("ready");
    let (mut got, mut acc) = (0, 0);
    while got < frames {
        match subscriber.receive().unwrap() {
            Some(sample) => {
                acc ^= touch(&sample.payload()[..size]);
                got += 1;
            }
            None => std::hint::spin_loop(),
        }
    }
    say(&format!("done {acc}"));
}

// ---- round trip ------------------------------------------------------------------------------

fn ringflow_round_trip(trips: u64) -> Histogram<u64> {
    let (pa, pb) = (shm("ping"), shm("pong"));
    let (a, b) = (ring(&pa, 64), ring(&pb, 64));
    let mut tx = a.producer(options()).unwrap();
    let mut rx = b.consumer().unwrap();
    let (child, lines) = spawn(&format!(
        "ringflow-echo {} {} {trips}",
        pa.display(),
        pb.display()
    ));
    pin_to(0);
    let mut h = Histogram::new_with_bounds(1, 100_000_000, 3).unwrap();
    for i in 0..trips {
        let start = Instant::now();
        let mut slot = tx.claim().unwrap();
        slot.payload_mut()[..64].fill(i as u8);
        slot.commit(64);
        loop {
            if let Ok(Some(f)) = rx.poll() {
                black_box(touch_frame::<64>(f.payload()));
                break;
            }
            std::hint::spin_loop();
        }
        h.saturating_record(start.elapsed().as_nanos() as u64);
    }
    finish(child, lines);
    let _ = (std::fs::remove_file(pa), std::fs::remove_file(pb));
    h
}

fn ringflow_echo(pa: &str, pb: &str, trips: u64) {
    let (a, b) = (Ring::open(pa).unwrap(), Ring::open(pb).unwrap());
    let mut rx = a.consumer().unwrap();
    let mut tx = b.producer(options()).unwrap();
    pin_to(1);
    say("ready");
    for _ in 0..trips {
        loop {
            if let Ok(Some(f)) = rx.poll() {
                let mut slot = tx.claim().unwrap();
                slot.payload_mut()[..64].copy_from_slice(f.payload());
                slot.commit(64);
                break;
            }
            std::hint::spin_loop();
        }
    }
    say("done");
}

fn iox_round_trip(scope: &IoxScope, trips: u64) -> Histogram<u64> {
    let base = format!("ringflow-xp/{}/rt", std::process::id());
    let node = scope.node();
    let ping = iox_service(&node, &format!("{base}/ping"));
    let pong = iox_service(&node, &format!("{base}/pong"));
    let publisher = ping.publisher_builder().create().unwrap();
    let subscriber = pong.subscriber_builder().create().unwrap();
    let (child, lines) = spawn(&format!("iox-echo {base} {trips} {}", scope.spec()));
    pin_to(0);
    let mut h = Histogram::new_with_bounds(1, 100_000_000, 3).unwrap();
    for i in 0..trips {
        let start = Instant::now();
        let mut sample = publisher.loan_uninit().unwrap();
        // SAFETY: as in `iox_stream`.
        let bytes = unsafe { sample.payload_mut().assume_init_mut() };
        bytes[..64].fill(i as u8);
        // SAFETY: as above.
        unsafe { sample.assume_init() }.send().unwrap();
        loop {
            if let Some(s) = subscriber.receive().unwrap() {
                black_box(touch(&s.payload()[..64]));
                break;
            }
            std::hint::spin_loop();
        }
        h.saturating_record(start.elapsed().as_nanos() as u64);
    }
    finish(child, lines);
    h
}

fn iox_echo(scope: &IoxScope, base: &str, trips: u64) {
    let node = scope.node();
    let ping = iox_service(&node, &format!("{base}/ping"));
    let pong = iox_service(&node, &format!("{base}/pong"));
    let subscriber = ping.subscriber_builder().create().unwrap();
    let publisher = pong.publisher_builder().create().unwrap();
    pin_to(1);
    say("ready");
    for _ in 0..trips {
        loop {
            if let Some(s) = subscriber.receive().unwrap() {
                let mut out = publisher.loan_uninit().unwrap();
                // SAFETY: as in `iox_stream`.
                let bytes = unsafe { out.payload_mut().assume_init_mut() };
                bytes[..64].copy_from_slice(&s.payload()[..64]);
                // SAFETY: as above.
                unsafe { out.assume_init() }.send().unwrap();
                break;
            }
            std::hint::spin_loop();
        }
    }
    say("done");
}

// ---- the runner ------------------------------------------------------------------------------

fn child(args: &str) {
    let a: Vec<&str> = args.split(' ').collect();
    let n = |i: usize| a[i].parse::<u64>().unwrap();
    match a[0] {
        "ringflow-read" => ringflow_read(a[1], n(2), Mode::parse(a[3])),
        "iox-read" => iox_read(
            &IoxScope::join(&a[4..].join(" ")),
            a[1],
            n(2),
            n(3) as usize,
        ),
        "ringflow-echo" => ringflow_echo(a[1], a[2], n(3)),
        "iox-echo" => iox_echo(&IoxScope::join(&a[3..].join(" ")), a[1], n(2)),
        other => panic!("unknown child role {other}"),
    }
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, 0f64), |(l, h), x| (l.min(*x), h.max(*x)))
}

fn main() {
    if let Ok(args) = std::env::var(CHILD) {
        child(&args);
        return;
    }
    set_log_level(LogLevel::Error);
    // Dropped last (declared first): after every run and child has ended.
    let _rings = RingFiles;
    let scope = IoxScope::new();
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, k) = if quick { (3, 4) } else { (7, 1) };
    println!("# ringflow cross-process runner: {rounds} rounds; ringflow file-backed ring vs iceoryx2 0.10 publish-subscribe");
    for size in [64usize, 256] {
        let frames = 1_000_000 / k;
        // Contestants: ringflow's three ways to move frames, then iceoryx2; each round starts one
        // further along the list, so no contestant always runs first or after the same one.
        let names = [
            "ringflow poll",
            "ringflow recv",
            "ringflow batch",
            "iceoryx2",
        ];
        let mut figures: Vec<Vec<f64>> = vec![vec![]; names.len()];
        let mut ratios: Vec<Vec<f64>> = vec![vec![]; Mode::ALL.len()];
        let mut placements = vec![];
        for round in 0..rounds {
            placements.push(placement_ns());
            let mut this = [0f64; 4];
            for k in 0..names.len() {
                let c = (round + k) % names.len();
                let elapsed = match Mode::ALL.get(c) {
                    Some(&mode) => ringflow_stream(mode, frames, size),
                    None => iox_stream(&scope, frames, size),
                };
                this[c] = frames as f64 / elapsed.as_secs_f64();
            }
            let threads = match size {
                64 => ringflow_benches::spsc::ringflow_file_single::<64>(frames),
                _ => ringflow_benches::spsc::ringflow_file_single::<256>(frames),
            };
            println!("(round {round}: ringflow poll between two threads of one process, same ring kind: {:.2} M frames/s)", frames as f64 / threads.as_secs_f64() / 1e6);
            for c in 0..names.len() {
                figures[c].push(this[c]);
            }
            for m in 0..Mode::ALL.len() {
                ratios[m].push(this[m] / this[3]);
            }
        }
        println!("\n## Cross-process throughput, {size}-byte frames ({frames} frames a run)\n");
        println!("| contestant | median M frames/s | min .. max |\n|---|---:|---:|");
        for (name, v) in names.iter().zip(&mut figures) {
            let (lo, hi) = min_max(v);
            println!(
                "| {name} | {:.2} | {:.2} .. {:.2} |",
                median(v) / 1e6,
                lo / 1e6,
                hi / 1e6
            );
        }
        println!("\n| ratio (same round) | median | min .. max |\n|---|---:|---:|");
        for (name, v) in names.iter().zip(&mut ratios) {
            let (lo, hi) = min_max(v);
            println!(
                "| {name} / iceoryx2 | {:.1} | {lo:.1} .. {hi:.1} |",
                median(v)
            );
        }
        println!(
            "\nplacements (ns per cache-line round trip, before each round): {placements:.0?}"
        );
    }
    let trips = 50_000 / k;
    let (mut p50, mut p99, mut ratios, mut placements) =
        (vec![vec![], vec![]], vec![vec![], vec![]], vec![], vec![]);
    for round in 0..rounds {
        placements.push(placement_ns());
        let (a, b) = if round % 2 == 0 {
            let a = ringflow_round_trip(trips);
            (a, iox_round_trip(&scope, trips))
        } else {
            let b = iox_round_trip(&scope, trips);
            (ringflow_round_trip(trips), b)
        };
        for (i, h) in [&a, &b].into_iter().enumerate() {
            p50[i].push(h.value_at_quantile(0.5) as f64);
            p99[i].push(h.value_at_quantile(0.99) as f64);
        }
        ratios.push(a.value_at_quantile(0.5) as f64 / b.value_at_quantile(0.5) as f64);
    }
    println!("\n## Cross-process round trip, 64-byte frames ({trips} trips a run)\n");
    println!("| contestant | median of p50 (ns) | median of p99 (ns) |\n|---|---:|---:|");
    for (i, name) in ["ringflow (file-backed)", "iceoryx2"]
        .into_iter()
        .enumerate()
    {
        println!(
            "| {name} | {:.0} | {:.0} |",
            median(&mut p50[i]),
            median(&mut p99[i])
        );
    }
    println!(
        "\nringflow p50 / iceoryx2 p50, per round: median {:.2}; placements {placements:.0?}",
        median(&mut ratios)
    );
}

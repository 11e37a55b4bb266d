//! The push bridge against a plain `async-nats` JetStream publisher with the same batching (a
//! window of 256 unacknowledged publishes, the same headers, each payload copied into its
//! message from a source buffer), in the same run, on one local `nats-server`; then end-to-end
//! latency ring -> push -> server -> pull -> ring.
//!
//! ```text
//! cargo run --release -p ringflow-benches --example bridge [FRAMES [ROUNDS [disk|shm]]]
//! ```
//! Needs `nats-server` on PATH (`make setup`). Prints one line per case; docs/BENCHMARKS.md
//! ("NATS bridge") records a run.

use std::collections::VecDeque;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use ringflow::{Delivery, FullPolicy, ProducerOptions, Ring, RingConfig, Start};
use ringflow_engine::bridge::pull::{pull, PullOptions};
use ringflow_engine::bridge::push::{push, PushOptions, WINDOW};
use ringflow_engine::bridge::wire::{FrameHeaders, TIMESTAMP};
use tokio_util::sync::CancellationToken;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let frames: u64 = std::env::args()
        .nth(1)
        .map_or(200_000, |a| a.parse().expect("FRAMES"));
    let rounds: u32 = std::env::args()
        .nth(2)
        .map_or(3, |a| a.parse().expect("ROUNDS"));
    // Where the server stores the streams: `disk` (a temporary directory, on this VM's ext4) or
    // `shm` (tmpfs: the server's writes cost memory copies, with no writeback to a disk).
    let store = std::env::args().nth(3).unwrap_or_else(|| "disk".into());
    let dir = match store.as_str() {
        "disk" => tempfile::tempdir().unwrap(),
        "shm" => tempfile::tempdir_in("/dev/shm").unwrap(),
        other => panic!("STORE is disk or shm, not {other}"),
    };
    // The rings live where rings live, in shared memory (tmpfs); a ring file on a disk would
    // have the kernel write its pages back meanwhile, on the disk the server stores to.
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server(
        Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path().join("js"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server on PATH"),
    );
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("nats://127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cpu = Cpu::new(server.0.id());
    println!("store {store}; cpu: us of CPU per frame (utime + stime from /proc), this process (of which the ring's producer thread) and nats-server");
    // Paired: each round runs both at every size, alternating which goes first, on the same
    // server, so a move of the two vCPUs between rounds shows as a round that differs.
    for round in 0..rounds {
        for size in [64u32, 256, 3840] {
            let n = if size == 3840 { frames / 4 } else { frames };
            let tag = format!("{size}R{round}");
            let plain_case = || {
                let before = cpu.now();
                let secs = rt.block_on(plain_publisher(&url, &tag, size, n));
                (secs, cpu.since(before, 0, n))
            };
            let bridge_case = || {
                let before = cpu.now();
                let (secs, producer) = bridge_push(&rt, &url, shm.path(), &tag, size, n);
                (secs, cpu.since(before, producer, n))
            };
            let (plain, bridged) = if round % 2 == 0 {
                let plain = plain_case();
                (plain, bridge_case())
            } else {
                let bridged = bridge_case();
                (plain_case(), bridged)
            };
            println!(
                "round {round} push {size:>5} B: bridge {:>9.0} frames/s {:>7.1} MB/s cpu {} | plain async-nats {:>9.0} frames/s {:>7.1} MB/s cpu {} | ratio {:.2}",
                n as f64 / bridged.0,
                n as f64 * f64::from(size) / bridged.0 / 1e6,
                bridged.1,
                n as f64 / plain.0,
                n as f64 * f64::from(size) / plain.0 / 1e6,
                plain.1,
                plain.0 / bridged.0,
            );
            // An empty store for the next case: a store that grows round after round has the
            // server (and, on disk, the writeback) do more in later rounds than in earlier ones.
            rt.block_on(async {
                let js = jetstream::new(async_nats::connect(&url).await.unwrap());
                for name in [format!("PLAIN{tag}"), format!("BRIDGE{tag}")] {
                    js.delete_stream(&name).await.unwrap();
                }
            });
        }
    }
    latency(&rt, &url, shm.path());
}

/// CPU time from `/proc`: this process's and the server's (`utime` + `stime`, in clock ticks).
struct Cpu {
    server: String,
    /// Clock ticks per second (`getconf CLK_TCK`).
    hz: f64,
}

/// CPU ticks of this process and of the server at one moment.
#[derive(Clone, Copy)]
struct CpuAt {
    me: u64,
    server: u64,
}

impl Cpu {
    fn new(server_pid: u32) -> Cpu {
        let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
        let hz = String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Cpu {
            server: format!("/proc/{server_pid}/stat"),
            hz,
        }
    }

    fn now(&self) -> CpuAt {
        CpuAt {
            me: ticks("/proc/self/stat"),
            server: ticks(&self.server),
        }
    }

    /// Microseconds of CPU per frame since `before`: this process (of which `producer` ticks
    /// were the ring's producer thread) and the server.
    fn since(&self, before: CpuAt, producer: u64, n: u64) -> String {
        let now = self.now();
        let us = |ticks: u64| ticks as f64 / self.hz * 1e6 / n as f64;
        format!(
            "{:.1} ({:.1}) + server {:.1}",
            us(now.me - before.me),
            us(producer),
            us(now.server - before.server)
        )
    }
}

/// `utime` + `stime` of a `/proc/.../stat` file, in clock ticks.
fn ticks(path: &str) -> u64 {
    let stat = std::fs::read_to_string(path).unwrap();
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // Fields 14 and 15 of proc(5), the 12th and 13th after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Seconds to publish `n` messages of `size` bytes with the bridge's batching.
async fn plain_publisher(url: &str, tag: &str, size: u32, n: u64) -> f64 {
    let js = jetstream::new(async_nats::connect(url).await.unwrap());
    let name = format!("PLAIN{tag}");
    js.create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![name.clone()],
        ..Default::default()
    })
    .await
    .unwrap();
    // The messages' source: like the bridge, which copies each frame out of the ring, a real
    // publisher puts each payload into a message of its own. Reusing one `Bytes` by reference
    // count would spare the plain side the copy (and the allocation) the bridge must make.
    let source = vec![7u8; size as usize];
    let start = Instant::now();
    let mut window = VecDeque::with_capacity(WINDOW);
    for seq in 0..n {
        if window.len() >= WINDOW {
            let ack: jetstream::context::PublishAckFuture = window.pop_front().unwrap();
            ack.await.unwrap();
        }
        let headers = FrameHeaders {
            seq,
            kind: 0,
            timestamp_ns: 0,
            lost_before: 0,
        }
        .to_map("0000000000000000", seq.checked_sub(1));
        window.push_back(
            js.publish_with_headers(name.clone(), headers, Bytes::copy_from_slice(&source))
                .await
                .unwrap(),
        );
    }
    for ack in window {
        ack.await.unwrap();
    }
    start.elapsed().as_secs_f64()
}

/// Seconds for the push bridge to publish `n` frames a producer writes meanwhile, from its
/// consumer's registration to its last acknowledgement (`PushSummary::elapsed_s`): like the
/// plain publisher's, the time leaves out connecting and making the stream. Also the CPU
/// ticks of the producer thread.
fn bridge_push(
    rt: &tokio::runtime::Runtime,
    url: &str,
    dir: &std::path::Path,
    tag: &str,
    size: u32,
    n: u64,
) -> (f64, u64) {
    let path = dir.join(format!("push{tag}"));
    let ring = Ring::create(&path, &RingConfig::new(4096, size)).unwrap();
    // The bridge's named consumer is registered before the producer writes: it gates it.
    drop(
        ring.consumer_named("bench", Delivery::Lossless, Duration::from_secs(60))
            .unwrap(),
    );
    let writer = std::thread::spawn(move || {
        let mut p = ring
            .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }))
            .unwrap();
        let buf = vec![7u8; size as usize];
        let before = ticks("/proc/thread-self/stat");
        for _ in 0..n {
            p.push(&buf).unwrap();
        }
        ticks("/proc/thread-self/stat") - before
    });
    let o = PushOptions {
        ring: path.clone(),
        url: url.into(),
        stream: format!("BRIDGE{tag}"),
        subject: format!("BRIDGE{tag}"),
        name: "bench".into(),
        delivery: Delivery::Lossless,
        grace: Duration::from_secs(60),
        replicas: 1,
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        max_bytes: None,
        frames: Some(n),
        idle_timeout: None,
    };
    let s = rt.block_on(push(o, CancellationToken::new())).unwrap();
    assert_eq!(s.frames, n);
    let producer = writer.join().unwrap();
    std::fs::remove_file(&path).unwrap();
    (s.elapsed_s, producer)
}

/// Frames one every millisecond, ring -> push -> server -> pull -> ring; prints p50/p99 of the
/// time from the producer's commit to the far reader's receipt, and of the time to a plain core
/// NATS subscriber of the stream's subject (ring -> push -> server only). One warm-up frame goes
/// through the whole path first and is reported on its own: it waits for the pull bridge to
/// connect and make its consumer, which is start-up, not latency.
fn latency(rt: &tokio::runtime::Runtime, url: &str, dir: &std::path::Path) {
    const N: u64 = 2000;
    let a = dir.join("lat-a");
    let b = dir.join("lat-b");
    let ring_a = Ring::create(&a, &RingConfig::new(1024, 64)).unwrap();
    let ring_b = Ring::create(&b, &RingConfig::new(1024, 64)).unwrap();
    drop(
        ring_a
            .consumer_named("lat", Delivery::Lossless, Duration::from_secs(60))
            .unwrap(),
    );
    let mut reader = ring_b
        .consumer_with(Delivery::Lossless, Start::Seq(0))
        .unwrap();
    let token = CancellationToken::new();
    let push_o = PushOptions {
        ring: a.clone(),
        url: url.into(),
        stream: "LAT".into(),
        subject: "LAT".into(),
        name: "lat".into(),
        delivery: Delivery::Lossless,
        grace: Duration::from_secs(60),
        replicas: 1,
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        max_bytes: None,
        frames: Some(N + 1),
        idle_timeout: None,
    };
    // Ring -> push -> server, seen by a core subscriber (no JetStream consumer in between).
    let (client, mut sub) = rt.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let sub = client.subscribe("LAT").await.unwrap();
        client.flush().await.unwrap();
        (client, sub)
    });
    let core = rt.spawn(async move {
        let _client = client;
        let mut hist = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        // The warm-up frame first, then N.
        for i in 0..=N {
            let m = sub.next().await.unwrap();
            let ts: u64 = m
                .headers
                .as_ref()
                .unwrap()
                .get(TIMESTAMP)
                .unwrap()
                .as_str()
                .parse()
                .unwrap();
            let now = ringflow::liveness::monotonic_ns();
            if i > 0 {
                hist.record(now.saturating_sub(ts) / 1000).unwrap();
            }
        }
        hist
    });
    let pushing = rt.spawn(push(push_o, token.clone()));
    // The stream exists once the push bridge is registered again.
    while ring_a.stats().consumers.iter().all(|c| c.ownerless) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let pull_o = PullOptions {
        url: url.into(),
        stream: "LAT".into(),
        durable: "lat".into(),
        ring: b.clone(),
        frames: Some(N + 1),
        idle_timeout: None,
    };
    let pulling = rt.spawn(pull(pull_o, token));
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let mut p = ring_a.producer(ProducerOptions::default()).unwrap();
        p.push(&[0u8; 64]).unwrap();
        go_rx.recv().unwrap();
        for _ in 0..N {
            p.push(&[0u8; 64]).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let since = |f: &ringflow::Frame<'_>| {
        ringflow::liveness::monotonic_ns().saturating_sub(f.timestamp_ns()) / 1000
    };
    let warm_up = since(&reader.recv(Some(Duration::from_secs(30))).unwrap());
    go_tx.send(()).unwrap();
    let mut hist = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    for _ in 0..N {
        let f = reader.recv(Some(Duration::from_secs(30))).unwrap();
        hist.record(since(&f)).unwrap();
    }
    writer.join().unwrap();
    rt.block_on(pushing).unwrap().unwrap();
    rt.block_on(pulling).unwrap().unwrap();
    let core = rt.block_on(core).unwrap();
    println!("latency, 64 B, 1 frame/ms, {N} frames after a warm-up frame ({warm_up} us, the pull bridge starting):");
    for (what, h) in [
        ("ring -> push -> server -> core subscriber", &core),
        ("ring -> push -> server -> pull -> ring", &hist),
    ] {
        println!(
            "  {what}: p50 {} us, p99 {} us, p99.9 {} us, max {} us",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        );
    }
    drop(reader);
    drop(ring_b);
    for path in [a, b] {
        let _ = std::fs::remove_file(&path);
    }
}

//! The push bridge against a plain `async-nats` JetStream publisher with the same batching (a
//! window of 256 unacknowledged publishes, the same headers), in the same run, on one local
//! `nats-server`; then end-to-end latency ring -> push -> server -> pull -> ring.
//!
//! ```text
//! cargo run --release -p ringflow-benches --example bridge [FRAMES]
//! ```
//! Needs `nats-server` on PATH (`make setup`). Prints one line per case; docs/BENCHMARKS.md
//! ("NATS bridge") records a run.

use std::collections::VecDeque;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use ringflow::{Delivery, FullPolicy, ProducerOptions, Ring, RingConfig, Start};
use ringflow_engine::bridge::pull::{pull, PullOptions};
use ringflow_engine::bridge::push::{push, PushOptions, WINDOW};
use ringflow_engine::bridge::wire::FrameHeaders;
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
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
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
    for size in [64u32, 256, 3840] {
        let n = if size == 3840 { frames / 4 } else { frames };
        let plain = rt.block_on(plain_publisher(&url, size, n));
        let bridged = bridge_push(&rt, &url, dir.path(), size, n);
        println!(
            "push {size:>5} B: bridge {:>9.0} frames/s {:>7.1} MB/s | plain async-nats {:>9.0} frames/s {:>7.1} MB/s | ratio {:.2}",
            n as f64 / bridged,
            n as f64 * f64::from(size) / bridged / 1e6,
            n as f64 / plain,
            n as f64 * f64::from(size) / plain / 1e6,
            plain / bridged,
        );
    }
    latency(&rt, &url, dir.path());
}

/// Seconds to publish `n` messages of `size` bytes with the bridge's batching.
async fn plain_publisher(url: &str, size: u32, n: u64) -> f64 {
    let js = jetstream::new(async_nats::connect(url).await.unwrap());
    let name = format!("PLAIN{size}");
    js.create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![name.clone()],
        ..Default::default()
    })
    .await
    .unwrap();
    let payload = Bytes::from(vec![7u8; size as usize]);
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
        .to_map("0000000000000000");
        window.push_back(
            js.publish_with_headers(name.clone(), headers, payload.clone())
                .await
                .unwrap(),
        );
    }
    for ack in window {
        ack.await.unwrap();
    }
    start.elapsed().as_secs_f64()
}

/// Seconds for the push bridge to publish `n` frames a producer writes meanwhile.
fn bridge_push(
    rt: &tokio::runtime::Runtime,
    url: &str,
    dir: &std::path::Path,
    size: u32,
    n: u64,
) -> f64 {
    let path = dir.join(format!("push{size}"));
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
        for _ in 0..n {
            p.push(&buf).unwrap();
        }
    });
    let o = PushOptions {
        ring: path,
        url: url.into(),
        stream: format!("BRIDGE{size}"),
        subject: format!("BRIDGE{size}"),
        name: "bench".into(),
        delivery: Delivery::Lossless,
        grace: Duration::from_secs(60),
        replicas: 1,
        frames: Some(n),
        idle_timeout: None,
    };
    let start = Instant::now();
    let s = rt.block_on(push(o, CancellationToken::new())).unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(s.frames, n);
    writer.join().unwrap();
    elapsed
}

/// Frames one every millisecond, ring -> push -> server -> pull -> ring; prints p50/p99 of the
/// time from the producer's commit to the far reader's receipt.
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
        ring: a,
        url: url.into(),
        stream: "LAT".into(),
        subject: "LAT".into(),
        name: "lat".into(),
        delivery: Delivery::Lossless,
        grace: Duration::from_secs(60),
        replicas: 1,
        frames: Some(N),
        idle_timeout: None,
    };
    let pushing = rt.spawn(push(push_o, token.clone()));
    // The stream exists once the push bridge is registered again.
    while ring_a.stats().consumers.iter().all(|c| c.ownerless) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let pull_o = PullOptions {
        url: url.into(),
        stream: "LAT".into(),
        durable: "lat".into(),
        ring: b,
        frames: Some(N),
        idle_timeout: None,
    };
    let pulling = rt.spawn(pull(pull_o, token));
    let writer = std::thread::spawn(move || {
        let mut p = ring_a.producer(ProducerOptions::default()).unwrap();
        for _ in 0..N {
            p.push(&[0u8; 64]).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let mut hist = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    for _ in 0..N {
        let f = reader.recv(Some(Duration::from_secs(30))).unwrap();
        let now = ringflow::liveness::monotonic_ns();
        hist.record(now.saturating_sub(f.timestamp_ns()) / 1000)
            .unwrap();
    }
    writer.join().unwrap();
    rt.block_on(pushing).unwrap().unwrap();
    rt.block_on(pulling).unwrap().unwrap();
    println!(
        "latency ring -> push -> server -> pull -> ring, 64 B, 1 frame/ms: p50 {} us, p99 {} us, max {} us",
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        hist.max()
    );
}

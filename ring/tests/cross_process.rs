//! Real child processes over a file-backed ring: millions of verified frames, a producer killed
//! with SIGKILL mid-stream, a lossless consumer killed with SIGKILL, and a futex wake that
//! crosses processes. The children are `ringflow-stream` (src/bin), which print one JSON line.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig};

fn stream(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ringflow-stream"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn ringflow-stream")
}

/// Waits for a child, killing it (and failing) if it outlives `limit`: a guard against a hang,
/// not a speed check.
fn finish(mut child: Child, limit: Duration) -> (i32, String) {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("child {} still running after {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The value of `"key":` in a one-line JSON object.
fn field<'a>(json: &'a str, key: &str) -> &'a str {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + key.len()
        + 3;
    let rest = &json[at..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"')
}

fn num(json: &str, key: &str) -> u64 {
    field(json, key)
        .parse()
        .unwrap_or_else(|_| panic!("{key} in {json}"))
}

fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn create(dir: &Path, slots: u32, size: u32) -> (Ring, String) {
    let path = dir.join("ring");
    let ring = Ring::create(&path, &RingConfig::new(slots, size)).unwrap();
    (ring, path.to_str().unwrap().to_owned())
}

#[test]
fn five_million_frames_cross_processes_verified_and_broadcast() {
    const FRAMES: &str = "5000000";
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = create(dir.path(), 1024, 64);
    let lossless = stream(&[
        "consume",
        &path,
        "--verify",
        "--frames",
        FRAMES,
        "--timeout",
        "60",
    ]);
    let lossy = stream(&["consume", &path, "--verify", "--lossy", "--timeout", "60"]);
    wait_until("both consumers", Duration::from_secs(30), || {
        ring.stats().consumers.len() == 2
    });
    let producer = stream(&[
        "produce", &path, "--frames", FRAMES, "--size", "64", "--batch", "16",
    ]);
    let (code, out) = finish(producer, Duration::from_secs(120));
    assert_eq!(code, 0, "{out}");
    let (code, out) = finish(lossless, Duration::from_secs(120));
    assert_eq!(code, 0, "{out}");
    assert_eq!(num(&out, "frames"), 5_000_000, "{out}");
    for key in ["lost", "duplicated", "reordered", "corrupt", "torn"] {
        assert_eq!(num(&out, key), 0, "{key}: {out}");
    }
    assert_eq!(field(&out, "verified"), "true");
    // The lossy reader ends when the ring closes; what it read checks out, and read + lost is
    // everything.
    let (code, out) = finish(lossy, Duration::from_secs(120));
    assert_eq!(code, 0, "{out}");
    assert_eq!(field(&out, "end"), "closed");
    assert_eq!(num(&out, "frames") + num(&out, "lost"), 5_000_000, "{out}");
    assert_eq!(num(&out, "corrupt"), 0, "{out}");
    assert_eq!(
        num(&out, "gaps"),
        num(&out, "lost"),
        "the loss count is exact: {out}"
    );
    assert_eq!(field(&out, "verified"), "true");
}

#[test]
fn a_producer_killed_mid_stream_leaves_whole_frames_and_producer_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = create(dir.path(), 256, 128);
    let consumer = stream(&["consume", &path, "--verify", "--timeout", "60"]);
    wait_until("the consumer", Duration::from_secs(30), || {
        ring.stats().consumers.len() == 1
    });
    let mut producer = stream(&["produce", &path, "--size", "128"]);
    wait_until("frames", Duration::from_secs(30), || {
        ring.stats().published > 200_000
    });
    producer.kill().unwrap(); // SIGKILL
    producer.wait().unwrap();
    let published = ring.stats().published;
    let (code, out) = finish(consumer, Duration::from_secs(60));
    assert_eq!(code, 0, "{out}");
    assert_eq!(field(&out, "end"), "producer_gone", "{out}");
    // Every committed frame was read, whole; nothing half-written was seen.
    assert_eq!(num(&out, "frames"), published, "{out}");
    for key in ["lost", "duplicated", "reordered", "corrupt"] {
        assert_eq!(num(&out, key), 0, "{key}: {out}");
    }
    // A new producer takes over the dead one's entry and continues the sequence.
    let mut consumer = ring.consumer().unwrap();
    let mut successor = ring.producer(ProducerOptions::default()).unwrap();
    successor.push(b"after the crash").unwrap();
    let frame = consumer.poll().unwrap().unwrap();
    assert_eq!(
        (frame.seq(), frame.payload()),
        (published, &b"after the crash"[..])
    );
}

#[test]
fn a_killed_lossless_consumer_is_evicted_and_the_producer_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = create(dir.path(), 64, 64);
    let mut consumer = stream(&["consume", &path, "--timeout", "60"]);
    wait_until("the consumer", Duration::from_secs(30), || {
        ring.stats().consumers.len() == 1
    });
    let policy = FullPolicy::Block {
        timeout: Some(Duration::from_secs(60)),
    };
    let mut producer = ring
        .producer(ProducerOptions::new(policy).liveness_interval(Duration::from_millis(10)))
        .unwrap();
    let mut sent = 0u64;
    while ring.stats().consumers[0].delivered < 1000 {
        producer.push(&sent.to_le_bytes()).unwrap();
        sent += 1;
    }
    consumer.kill().unwrap();
    consumer.wait().unwrap();
    // The dead reader gated the producer; pushing many rings' worth must get past it.
    for _ in 0..64 * 10 {
        producer.push(&sent.to_le_bytes()).unwrap();
        sent += 1;
    }
    let stats = ring.stats();
    assert_eq!(stats.consumers.len(), 1);
    assert!(stats.consumers[0].evicted, "{stats:?}");
    // Its block is taken over by the next consumer, since its process is gone.
    let next = ring.consumer().unwrap();
    assert_eq!(next.index(), 0);
}

#[test]
fn a_futex_wake_crosses_processes() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = create(dir.path(), 8, 64);
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    // No timeout and a liveness interval of ten minutes: the child sleeps on the futex until a
    // wake from this process reaches it.
    let consumer = stream(&["consume", &path, "--frames", "1", "--liveness-ms", "600000"]);
    wait_until("the consumer to sleep", Duration::from_secs(30), || {
        ring.stats().data_sleepers > 0
    });
    producer.push(&[0u8; 16]).unwrap();
    let (code, out) = finish(consumer, Duration::from_secs(60));
    assert_eq!(code, 0, "{out}");
    assert_eq!(num(&out, "frames"), 1);
    // One wake call (none if the child saw the frame in its last look before sleeping and
    // disarmed the word itself first); a lost one would have kept it asleep past `finish`'s
    // bound.
    assert!(ring.stats().data_wakes <= 1, "{:?}", ring.stats());
}

/// Issue 13: a multi-producer killed between claim and commit leaves no hole. A child commits
/// frames 0..5, claims frame 5 and is killed with SIGKILL; the readers waiting at frame 5 find
/// its claim record with its liveness lock gone and publish the frame as a skip frame; then
/// another producer (attached all along, so the readers do not end) writes 8 frames. A lossless
/// and a lossy reader get all 13 frames, in order, then the end that names the dead producer;
/// `abandoned` is 1 and `published` 14.
#[test]
fn a_producer_killed_in_its_claim_leaves_no_hole() {
    use ringflow::{Delivery, RecvError, Start};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(16, 64).multi_producer(true)).unwrap();
    let limit = Some(Duration::from_secs(10));
    let readers: Vec<_> = [Delivery::Lossless, Delivery::Lossy]
        .into_iter()
        .map(|delivery| {
            let mut c = ring.consumer_with(delivery, Start::Next).unwrap();
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                let mut buf = [0u8; 64];
                loop {
                    let got = match delivery {
                        Delivery::Lossless => c.recv(limit).map(|f| f.seq()),
                        Delivery::Lossy => c.recv_into(&mut buf, limit).map(|i| i.seq),
                    };
                    match got {
                        Ok(seq) => seqs.push(seq),
                        Err(RecvError::ProducerGone { .. }) => return (seqs, c.lost()),
                        Err(e) => panic!("{delivery:?} reader after {seqs:?}: {e}"),
                    }
                }
            })
        })
        .collect();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    assert_eq!(kill_in_claim(&path, 5), 5);
    // The readers, waiting at frame 5, repair it (within a liveness slice of 50 ms).
    wait_until(
        "the readers to repair frame 5",
        Duration::from_secs(10),
        || ring.stats().abandoned == 1,
    );
    for i in 0..8u8 {
        producer.push(&[i; 8]).unwrap();
    }
    drop(producer);
    let want: Vec<u64> = (0..5).chain(6..14).collect();
    for reader in readers {
        let (seqs, lost) = reader.join().unwrap();
        assert_eq!(seqs, want);
        assert_eq!(lost, 0);
    }
    let stats = ring.stats();
    assert_eq!(stats.abandoned, 1);
    assert_eq!(stats.published, 14);
}

/// Runs a child producer on the multi-producer ring at `path` that commits `frames` frames,
/// claims one more and is killed with SIGKILL before it commits it; returns the frame it claimed.
fn kill_in_claim(path: &Path, frames: u64) -> u64 {
    use std::io::BufRead;
    let mut child = stream(&[
        "produce",
        path.to_str().unwrap(),
        "--frames",
        &frames.to_string(),
        "--size",
        "64",
        "--die-in-claim",
    ]);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let line = line.expect("the child said it claimed a frame");
    num(&line, "claimed")
}

/// A producer that comes round to the slot of a dead producer's claim (no reader waits on it)
/// repairs it from its wait for the slot, and goes on: frame 5's slot is frame 21's.
#[test]
fn a_producer_coming_round_to_a_dead_claim_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(16, 64).multi_producer(true)).unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    assert_eq!(kill_in_claim(&path, 5), 5);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..20u8 {
            producer.push(&[i; 8]).unwrap();
        }
        let _ = tx.send(producer.published());
    });
    let published = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the producer got past the dead claim's slot");
    assert_eq!(published, 26);
    assert_eq!(ring.stats().abandoned, 1);
}

/// A producer attaching over a dead producer's table entry repairs the claim recorded there
/// before its own first claim would overwrite the record.
#[test]
fn a_producer_attaching_over_a_dead_entry_repairs_its_claim() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(16, 64).multi_producer(true)).unwrap();
    assert_eq!(kill_in_claim(&path, 3), 3);
    assert_eq!(ring.stats().abandoned, 0);
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    assert_eq!(producer.id(), 0, "the dead producer's entry is taken over");
    let stats = ring.stats();
    assert_eq!((stats.abandoned, stats.published), (1, 4));
    let mut c = ring.consumer_at(ringflow::Start::Seq(0)).unwrap();
    producer.push(b"after").unwrap();
    let seqs: Vec<u64> = (0..4)
        .map(|_| c.recv(Some(Duration::from_secs(10))).unwrap().seq())
        .collect();
    assert_eq!(seqs, [0, 1, 2, 4]);
}

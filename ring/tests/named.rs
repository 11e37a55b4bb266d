//! Durable named consumers: a block known by name outlives its owner, keeps its cursor, gates
//! lossless producers for its grace once ownerless, and is taken again by exactly one owner.
//! Two mappings of one file stand for two processes where that is enough (each has its own
//! liveness locks); the kill and race tests use real child processes (`ringflow-stream`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ringflow::{pattern, Delivery, Error, FullPolicy, ProducerOptions, Ring, RingConfig};

const LONG: Duration = Duration::from_secs(30);

fn ring_at(dir: &Path, slots: u32) -> (Ring, std::path::PathBuf) {
    let path = dir.join("ring");
    let ring = Ring::create(&path, &RingConfig::new(slots, 64).max_consumers(4)).unwrap();
    (ring, path)
}

#[test]
fn a_name_taken_again_resumes_where_its_owner_released() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = ring_at(dir.path(), 16);
    let other = Ring::open(&path).unwrap(); // another mapping: another owner, as a process
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    let mut first = ring
        .consumer_named("bridge-1", Delivery::Lossless, LONG)
        .unwrap();
    assert_eq!(first.resumed(), None, "a new name");
    assert!(matches!(
        other.consumer_named("bridge-1", Delivery::Lossless, LONG),
        Err(Error::NameTaken { pid, .. }) if pid == std::process::id()
    ));
    first.hold_releases();
    for seq in 0..10u64 {
        producer.push(&seq.to_le_bytes()).unwrap();
    }
    for _ in 0..6 {
        first.poll().unwrap().unwrap();
    }
    assert_eq!(first.commit(4), 4, "commit stops where asked");
    assert_eq!(first.commit(2), 4, "and never moves back");
    drop(first);
    // Ownerless: shown by name, still gating at its committed cursor.
    let stats = ring.stats();
    let c = &stats.consumers[0];
    assert_eq!(
        (c.name.as_deref(), c.ownerless, c.read, c.evicted),
        (Some("bridge-1"), true, 4, false)
    );
    // Anonymous consumers never take a named block.
    let anon = other.consumer().unwrap();
    assert_ne!(anon.index(), 0);
    let mut again = other
        .consumer_named("bridge-1", Delivery::Lossless, LONG)
        .unwrap();
    assert_eq!(again.resumed(), Some((4, false)));
    assert_eq!(again.start_seq(), 4);
    let seqs: Vec<u64> = std::iter::from_fn(|| {
        again
            .poll()
            .unwrap()
            .map(|f| u64::from_le_bytes(f.payload().try_into().unwrap()))
    })
    .collect();
    assert_eq!(seqs, (4..10).collect::<Vec<_>>());
    assert_eq!(again.missed_at_start(), 0);
}

#[test]
fn an_ownerless_name_holds_producers_back_for_its_grace_then_is_evicted() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = ring_at(dir.path(), 4);
    let grace = Duration::from_millis(300);
    drop(
        ring.consumer_named("slow", Delivery::Lossless, grace)
            .unwrap(),
    );
    let mut producer = ring
        .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }))
        .unwrap();
    let started = Instant::now();
    for seq in 0..4u64 {
        producer.push(&seq.to_le_bytes()).unwrap(); // the ring's worth fits
    }
    assert_eq!(ring.stats().evicted, 0);
    producer.push(&4u64.to_le_bytes()).unwrap(); // held back until the grace ends
    let held = started.elapsed();
    assert!(held >= grace, "the producer went on after {held:?}");
    let stats = ring.stats();
    assert_eq!(stats.evicted, 1);
    assert!(stats.consumers[0].evicted && stats.consumers[0].name.as_deref() == Some("slow"));
    for seq in 5..10u64 {
        producer.push(&seq.to_le_bytes()).unwrap();
    }
    // Taken again after the eviction: it learns it, and what was overwritten is counted.
    let other = Ring::open(&path).unwrap();
    let mut again = other
        .consumer_named("slow", Delivery::Lossless, grace)
        .unwrap();
    assert_eq!(again.resumed(), Some((0, true)));
    let mut seqs = Vec::new();
    while let Some(f) = again.poll().unwrap() {
        seqs.push(u64::from_le_bytes(f.payload().try_into().unwrap()));
    }
    // Frames 6..10 are in the ring; a lapped reader restarts one frame further (the oldest a
    // producer cannot be rewriting), so 6 or 7 frames were gone before it read any.
    let missed = again.missed_at_start();
    assert!((6..=7).contains(&missed), "{missed}");
    assert_eq!(
        seqs,
        (missed..10).collect::<Vec<_>>(),
        "the frames still in the ring"
    );
}

/// A `fail` producer never waits, but an ownerless name does not hold it back for ever either:
/// it refuses frames while the grace runs, then evicts the block and takes the space.
#[test]
fn an_ownerless_name_holds_a_fail_producer_back_only_for_its_grace() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, _path) = ring_at(dir.path(), 4);
    let grace = Duration::from_millis(200);
    drop(
        ring.consumer_named("slow", Delivery::Lossless, grace)
            .unwrap(),
    );
    let mut producer = ring
        .producer(
            ProducerOptions::new(FullPolicy::Fail).liveness_interval(Duration::from_millis(10)),
        )
        .unwrap();
    for seq in 0..4u64 {
        producer.push(&seq.to_le_bytes()).unwrap();
    }
    let started = Instant::now();
    let mut refused = 0u64;
    loop {
        match producer.push(&4u64.to_le_bytes()) {
            Ok(()) => break,
            Err(e) => {
                assert!(e.to_string().contains("full"), "{e}");
                refused += 1;
                assert!(started.elapsed() < LONG, "still refused after {LONG:?}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    assert!(
        started.elapsed() >= grace,
        "went on after {:?}",
        started.elapsed()
    );
    let stats = ring.stats();
    assert_eq!((stats.evicted, stats.dropped), (1, refused));
}

/// Two takers (two mappings: two lock owners, as two processes) race for one name, new and
/// then ownerless: each time exactly one wins and the other gets `NameTaken`.
#[test]
fn two_takers_of_one_name_one_wins() {
    for round in 0..25 {
        let dir = tempfile::tempdir().unwrap();
        let (_ring, path) = ring_at(dir.path(), 4);
        for phase in ["new", "ownerless"] {
            let (start, tried) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
            let takers: Vec<_> = (0..2)
                .map(|_| {
                    let ring = Ring::open(&path).unwrap();
                    let (start, tried) = (Arc::clone(&start), Arc::clone(&tried));
                    std::thread::spawn(move || {
                        start.wait();
                        let got = ring.consumer_named("n", Delivery::Lossless, LONG);
                        // The winner holds the name until both tried, however slow the other.
                        tried.wait();
                        got.map(|_| ()).map_err(|e| e.to_string())
                    })
                })
                .collect();
            let results: Vec<_> = takers.into_iter().map(|t| t.join().unwrap()).collect();
            let won = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(won, 1, "round {round}, {phase}: {results:?}");
            let lost = results.iter().find_map(|r| r.clone().err()).unwrap();
            assert!(lost.contains("is taken"), "{lost}");
        }
    }
}

#[test]
fn bad_names_are_refused() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    for name in ["", "a\0b", &"x".repeat(33)] {
        assert!(matches!(
            ring.consumer_named(name, Delivery::Lossless, LONG),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert!(ring
        .consumer_named(&"x".repeat(32), Delivery::Lossy, LONG)
        .is_ok());
}

fn stream(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ringflow-stream"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ringflow-stream")
}

fn finish(child: Child, limit: Duration) -> (i32, String, String) {
    let deadline = Instant::now() + limit;
    let id = child.id();
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("child {id} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn logged(log: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // A line cut by the kill has no newline yet.
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete.lines().map(|l| l.parse().unwrap()).collect()
}

/// A named reader killed with SIGKILL mid-stream and started again under its name sees every
/// frame exactly once, in order: the block's cursor at the kill is where the dead reader last
/// committed (the frame it logged last, or the one after), and the new owner starts exactly
/// there.
#[test]
fn a_named_reader_killed_mid_stream_resumes_with_nothing_lost_or_repeated() {
    const FRAMES: u64 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = ring_at(dir.path(), 1024);
    let path_s = path.to_str().unwrap().to_owned();
    let log = dir.path().join("log");
    let log_s = log.to_str().unwrap().to_owned();
    let args = [
        "consume",
        &path_s,
        "--name",
        "durable",
        "--grace",
        "60",
        "--log",
        &log_s,
        "--verify",
        "--timeout",
        "30",
    ];
    let mut first = stream(&args);
    // Wait until the name is registered, so the producer is gated by it from frame 0.
    let deadline = Instant::now() + LONG;
    while ring.stats().consumers.is_empty() {
        assert!(Instant::now() < deadline, "the reader never registered");
        std::thread::sleep(Duration::from_millis(1));
    }
    let writer = {
        let ring = ring.clone();
        std::thread::spawn(move || {
            let mut p = ring
                .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }))
                .unwrap();
            let mut buf = [0u8; 64];
            for seq in 0..FRAMES {
                pattern::fill(&mut buf, 0, seq);
                p.push(&buf).unwrap();
            }
        })
    };
    while logged(&log).len() < 50_000 {
        assert!(Instant::now() < deadline, "the reader made no progress");
        std::thread::sleep(Duration::from_millis(1));
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let before = logged(&log);
    let last = *before.last().unwrap();
    assert_eq!(before, (0..=last).collect::<Vec<_>>());
    let read = ring.stats().consumers[0].read;
    assert!(
        read == last || read == last + 1,
        "cursor {read} after the last logged frame {last}"
    );
    assert!(ring.stats().consumers[0].ownerless);

    // The second owner logs to a file of its own: the first may have died half-way through a
    // line, and appending to it would glue the two.
    let log2 = dir.path().join("log2");
    let log2_s = log2.to_str().unwrap().to_owned();
    let mut args2 = args;
    args2[7] = &log2_s;
    let (code, out, err) = finish(stream(&args2), LONG);
    writer.join().unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("\"start_seq\":{read},")), "{out}");
    assert!(
        out.contains("\"verified\":true") && out.contains("\"missed_at_start\":0"),
        "{out}"
    );
    // What the first reader logged from the cursor on was logged again by the second.
    let mut seen: Vec<u64> = before.iter().copied().filter(|&s| s < read).collect();
    seen.extend(logged(&log2));
    let first_wrong = seen
        .iter()
        .zip(0..FRAMES)
        .position(|(&got, want)| got != want);
    assert!(
        first_wrong.is_none() && seen.len() as u64 == FRAMES,
        "{} frames seen, the first out of place at {first_wrong:?} (cursor {read})",
        seen.len()
    );
    assert_eq!(ring.stats().evicted, 0);
}

/// Two processes start one name at once: exactly one reads, the other ends with the typed
/// error's message and exit status 2.
#[test]
fn two_processes_racing_for_one_name_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = ring_at(dir.path(), 16);
    let path_s = path.to_str().unwrap().to_owned();
    let args = [
        "consume",
        &path_s,
        "--name",
        "one",
        "--frames",
        "1",
        "--timeout",
        "20",
    ];
    let a = stream(&args);
    let b = stream(&args);
    // The loser exits at once; then a frame lets the winner end.
    let deadline = Instant::now() + LONG;
    let mut a = Some(a);
    let mut b = Some(b);
    let loser = loop {
        assert!(Instant::now() < deadline, "neither taker was refused");
        if a.as_mut().unwrap().try_wait().unwrap().is_some() {
            break a.take().unwrap();
        }
        if b.as_mut().unwrap().try_wait().unwrap().is_some() {
            break b.take().unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let winner = a.or(b).unwrap();
    let (code, _, err) = finish(loser, LONG);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("consumer name \"one\" is taken by process"),
        "{err}"
    );
    ring.producer(ProducerOptions::default())
        .unwrap()
        .push(&[0u8; 64])
        .unwrap();
    let (code, out, err) = finish(winner, LONG);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"frames\":1,"), "{out}");
}

/// A producer held back by an ownerless name (a grace far longer than the test) goes on as soon
/// as the name is forgotten from another mapping, and the name is gone: taken again, it is a
/// new consumer at the newest frame.
#[test]
fn a_producer_held_back_by_an_ownerless_name_proceeds_once_it_is_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = ring_at(dir.path(), 4);
    let grace = Duration::from_secs(3600);
    drop(
        ring.consumer_named("gone", Delivery::Lossless, grace)
            .unwrap(),
    );
    let producer = {
        let ring = ring.clone();
        std::thread::spawn(move || {
            let mut p = ring
                .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }))
                .unwrap();
            for seq in 0..10u64 {
                p.push(&seq.to_le_bytes()).unwrap();
            }
        })
    };
    // The ring's worth fits; the fifth frame waits for the ownerless name.
    let deadline = Instant::now() + LONG;
    while ring.published() < 4 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(ring.published(), 4, "held back by the ownerless name");
    let other = Ring::open(&path).unwrap();
    assert!(other.forget_consumer("gone", false).unwrap());
    producer.join().unwrap();
    assert_eq!(ring.published(), 10);
    let stats = ring.stats();
    assert_eq!(stats.evicted, 0, "forgotten, not evicted");
    assert!(stats.consumers.iter().all(|c| c.name.is_none()));
    assert!(
        !other.forget_consumer("gone", false).unwrap(),
        "nothing left to forget"
    );
    let again = other
        .consumer_named("gone", Delivery::Lossless, grace)
        .unwrap();
    assert_eq!((again.resumed(), again.next_seq()), (None, 10));
}

/// A name with a live owner (another mapping) is refused with its owner's pid, and keeps its
/// cursor; forced, it is evicted: its owner learns it at its next read, and the name is gone.
#[test]
fn forgetting_a_live_name_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, path) = ring_at(dir.path(), 4);
    let mut owner = ring
        .consumer_named("live", Delivery::Lossless, LONG)
        .unwrap();
    let other = Ring::open(&path).unwrap();
    match other.forget_consumer("live", false) {
        Err(Error::NameTaken { name, pid }) => {
            assert_eq!((name.as_str(), pid), ("live", std::process::id()))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ring.stats().consumers[0].name.as_deref(), Some("live"));
    assert!(owner.poll().unwrap().is_none(), "still its owner's");
    assert!(other.forget_consumer("live", true).unwrap());
    assert!(matches!(
        owner.wait(Some(Duration::from_millis(10))),
        Err(ringflow::RecvError::Evicted { .. })
    ));
    let stats = ring.stats();
    assert_eq!(stats.evicted, 1);
    assert!(stats.consumers.iter().all(|c| c.name.is_none()));
    drop(owner);
    // Its block is free again once the owner let go.
    let fresh = other
        .consumer_named("live", Delivery::Lossless, LONG)
        .unwrap();
    assert_eq!(fresh.resumed(), None);
}

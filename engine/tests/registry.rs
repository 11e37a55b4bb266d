//! The registry: handles, cancellation, shutdown, panics, async subscriptions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringflow::{Delivery, Ring, RingConfig};
use ringflow_engine::registry::{Handle, Outcome, Registry, TaskState};
use ringflow_engine::sink::NullSink;
use ringflow_engine::source::{FnSource, SeqSource};
use ringflow_engine::task::{ConsumeOptions, ProduceOptions};
use ringflow_engine::{runtime, EngineError};

fn registry() -> Registry {
    Registry::new(runtime::runtime().handle().clone())
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn cancelling_mid_stream_ends_the_task_and_frees_the_handle() {
    let reg = registry();
    let ring = Ring::anonymous(&RingConfig::new(64, 64)).unwrap();
    let rh = reg.add_ring(ring.clone());
    let reader = reg
        .spawn_consumer(rh, Box::new(NullSink), ConsumeOptions::default())
        .unwrap();
    let writer = reg
        .spawn_producer(
            rh,
            Box::new(SeqSource::new(0, 64)),
            ProduceOptions::default(),
        )
        .unwrap();
    wait_until("frames", || ring.published() > 10_000);
    assert_eq!(reg.state(reader).unwrap(), TaskState::Running);
    // Stats: the ring's counters and every task's progress, as JSON.
    wait_until("progress", || {
        reg.stats(rh).unwrap()["tasks"][0]["progress"]["frames"].as_u64() > Some(0)
    });
    let stats = reg.stats(rh).unwrap();
    assert!(stats["ring"]["published"].as_u64().unwrap() > 10_000);
    assert_eq!(stats["ring"]["consumers"].as_array().unwrap().len(), 1);
    assert_eq!(stats["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(stats["tasks"][0]["state"], "running");
    assert!(
        stats["tasks"][0]["progress"]["latency_ns"]["p99"].is_u64(),
        "{stats}"
    );
    reg.cancel(reader).unwrap();
    assert!(matches!(
        reg.state(reader),
        Err(EngineError::UnknownHandle(_))
    ));
    assert!(matches!(
        reg.cancel(reader),
        Err(EngineError::UnknownHandle(_))
    ));
    // The task ends and its consumer block is given back: the producer is no longer gated by it.
    wait_until("the reader to unregister", || {
        ring.stats().consumers.is_empty()
    });
    reg.cancel(writer).unwrap();
    wait_until("the writer to detach", || ring.is_closed());
    reg.cancel(rh).unwrap();
    assert!(reg.is_empty());
}

#[test]
fn cancelling_a_ring_cancels_its_tasks() {
    let reg = registry();
    let ring = Ring::anonymous(&RingConfig::new(64, 64)).unwrap();
    let rh = reg.add_ring(ring.clone());
    let writer = reg
        .spawn_producer(
            rh,
            Box::new(SeqSource::new(0, 64)),
            ProduceOptions::default(),
        )
        .unwrap();
    wait_until("frames", || ring.published() > 1000);
    reg.cancel(rh).unwrap();
    assert!(matches!(
        reg.state(writer),
        Err(EngineError::UnknownHandle(_))
    ));
    wait_until("the writer to stop", || ring.is_closed());
}

#[test]
fn shutdown_wakes_parked_waiters_and_ends_every_task() {
    let reg = registry();
    // No producer ever writes: a consumer task on one ring, and on another a consumer parked by
    // hand with no timeout, which only a wake can end.
    let (a, ring) = (
        Ring::anonymous(&RingConfig::new(64, 64)).unwrap(),
        Ring::anonymous(&RingConfig::new(64, 64)).unwrap(),
    );
    let ah = reg.add_ring(a.clone());
    reg.add_ring(ring.clone());
    let _producers = (
        a.producer(Default::default()).unwrap(),
        ring.producer(Default::default()).unwrap(),
    );
    let _task = reg
        .spawn_consumer(ah, Box::new(NullSink), ConsumeOptions::default())
        .unwrap();
    let mut parked = ring.consumer().unwrap();
    let thread = std::thread::spawn(move || parked.wait(None).is_ok());
    wait_until("sleepers", || ring.stats().data_sleepers >= 1);
    assert_eq!(reg.shutdown(Duration::from_secs(10)), 0, "every task ended");
    assert!(thread.join().unwrap(), "the parked wait returned");
    assert!(reg.is_empty());
}

#[test]
fn a_panicking_source_fails_alone() {
    let reg = registry();
    let (a, b) = (
        Ring::anonymous(&RingConfig::new(64, 64)).unwrap(),
        Ring::anonymous(&RingConfig::new(64, 64)).unwrap(),
    );
    let (ah, bh) = (reg.add_ring(a), reg.add_ring(b.clone()));
    let mut n = 0;
    let bad = FnSource(move |buf: &mut [u8]| {
        n += 1;
        assert!(n < 100, "source broke at frame {n}");
        buf[0] = 1;
        1
    });
    let bad = reg
        .spawn_producer(ah, Box::new(bad), ProduceOptions::default())
        .unwrap();
    let good = reg
        .spawn_producer(
            bh,
            Box::new(SeqSource::new(0, 64)),
            ProduceOptions::default(),
        )
        .unwrap();
    let state = runtime::runtime().block_on(reg.join(bad)).unwrap();
    match state {
        TaskState::Failed(m) => assert!(m.contains("source broke at frame 100"), "{m}"),
        other => panic!("{other:?}"),
    }
    let before = b.published();
    wait_until("the good producer to go on", || {
        b.published() > before + 1000
    });
    assert_eq!(reg.state(good).unwrap(), TaskState::Running);
    reg.shutdown(Duration::from_secs(10));
}

#[test]
fn stale_and_wrong_handles_are_errors() {
    let reg = registry();
    assert!(matches!(
        reg.ring(Handle(12345)),
        Err(EngineError::UnknownHandle(12345))
    ));
    let rh = reg.add_ring(Ring::anonymous(&RingConfig::new(4, 16)).unwrap());
    assert!(matches!(
        reg.state(rh),
        Err(EngineError::WrongKind {
            expected: "task",
            ..
        })
    ));
    let job = reg.spawn_job(None, |_| Ok(7u32)).unwrap();
    assert!(matches!(
        reg.ring(job),
        Err(EngineError::WrongKind {
            expected: "ring",
            ..
        })
    ));
    assert_eq!(
        runtime::runtime().block_on(reg.join(job)).unwrap(),
        TaskState::Done(7.into())
    );
    reg.release(job).unwrap();
    assert!(matches!(reg.state(job), Err(EngineError::UnknownHandle(_))));
}

/// Many subscriptions awaiting on a one-worker runtime: none blocks the worker (if one did, the
/// others could not run and the test would not finish), every one gets every frame in order.
#[test]
fn subscriptions_await_without_blocking_a_worker() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let reg = Arc::new(Registry::new(rt.handle().clone()));
    let ring = Ring::anonymous(&RingConfig::new(256, 64).max_consumers(64)).unwrap();
    let rh = reg.add_ring(ring.clone());
    const FRAMES: u64 = 20_000;
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (_, mut sub) = reg.subscribe(rh, Delivery::Lossless).unwrap();
            let done = done.clone();
            rt.spawn(async move {
                let mut expected = 0u64;
                while let Some(frame) = sub.next().await {
                    let frame = frame.unwrap();
                    assert_eq!(
                        ringflow::pattern::check(&frame.payload),
                        Some((0, expected))
                    );
                    expected += 1;
                }
                done.fetch_add(1, Ordering::SeqCst);
                expected
            })
        })
        .collect();
    let writer = reg
        .spawn_producer(
            rh,
            Box::new(SeqSource::new(0, 64)),
            ProduceOptions {
                frames: Some(FRAMES),
                ..Default::default()
            },
        )
        .unwrap();
    for t in tasks {
        assert_eq!(rt.block_on(t).unwrap(), FRAMES);
    }
    assert_eq!(done.load(Ordering::SeqCst), 50);
    assert!(matches!(
        rt.block_on(reg.join(writer)).unwrap(),
        TaskState::Done(_)
    ));
    reg.cancel(rh).unwrap();
}

#[test]
fn cancelling_a_subscription_ends_its_await() {
    let reg = registry();
    let ring = Ring::anonymous(&RingConfig::new(16, 64)).unwrap();
    let _producer = ring.producer(ringflow::ProducerOptions::default()).unwrap(); // never writes
    let rh = reg.add_ring(ring);
    let (sh, mut sub) = reg.subscribe(rh, Delivery::Lossy).unwrap();
    let rt = runtime::runtime();
    let waiting = rt.spawn(async move { sub.next().await.is_none() });
    reg.cancel(sh).unwrap();
    assert!(rt.block_on(waiting).unwrap());
}

type Ends = Arc<std::sync::Mutex<Vec<(Handle, Outcome)>>>;

/// Collects `on_end` calls.
fn ends() -> (Ends, impl Fn() -> Option<ringflow_engine::registry::OnEnd>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let make = move || -> Option<ringflow_engine::registry::OnEnd> {
        let s = Arc::clone(&s);
        Some(Box::new(move |h, o| s.lock().unwrap().push((h, o))))
    };
    (seen, make)
}

#[test]
fn a_future_task_reports_its_value_error_panic_or_cancellation_once() {
    let reg = registry();
    let (seen, on_end) = ends();
    let ok = reg
        .spawn_future(None, |_| async { Ok(41 + 1) }, on_end())
        .unwrap();
    let failed = reg
        .spawn_future(
            None,
            |_| async { Err::<(), _>(EngineError::Ring(ringflow::Error::Full)) },
            on_end(),
        )
        .unwrap();
    let panicked = reg
        .spawn_future(
            None,
            |_| async {
                if true {
                    panic!("boom in a future");
                }
                Ok(())
            },
            on_end(),
        )
        .unwrap();
    let never = reg
        .spawn_future(
            None,
            |_| std::future::pending::<ringflow_engine::Result<()>>(),
            on_end(),
        )
        .unwrap();
    wait_until("three ends", || seen.lock().unwrap().len() == 3);
    reg.cancel(never).unwrap();
    wait_until("the cancelled end", || seen.lock().unwrap().len() == 4);
    let seen = seen.lock().unwrap();
    let of = |h: Handle| &seen.iter().find(|(k, _)| *k == h).unwrap().1;
    assert!(
        matches!(of(ok), Outcome::Done(v) if *v == 42),
        "{:?}",
        of(ok)
    );
    assert!(
        matches!(
            of(failed),
            Outcome::Failed(EngineError::Ring(ringflow::Error::Full))
        ),
        "{:?}",
        of(failed)
    );
    assert!(
        matches!(of(panicked), Outcome::Panicked(m) if m.contains("boom in a future")),
        "{:?}",
        of(panicked)
    );
    assert!(matches!(of(never), Outcome::Cancelled), "{:?}", of(never));
    // The joinable state agrees, and the handles are freed on release.
    let rt = runtime::runtime();
    assert_eq!(
        rt.block_on(reg.join(ok)).unwrap(),
        TaskState::Done(42.into())
    );
    for h in [ok, failed, panicked] {
        reg.release(h).unwrap();
    }
    assert!(reg.is_empty());
}

#[test]
fn published_beyond_resolves_on_a_frame_and_fails_once_closed() {
    let reg = registry();
    let ring = Ring::anonymous(&RingConfig::new(64, 64)).unwrap();
    let rh = reg.add_ring(ring.clone());
    let rt = runtime::runtime();
    // 100 futures waiting at once share the ring's one waiter thread.
    let waits: Vec<_> = (0..100)
        .map(|_| rt.spawn(reg.published_beyond(rh, 0).unwrap()))
        .collect();
    let mut producer = ring.producer(ringflow::ProducerOptions::default()).unwrap();
    producer.push(b"a").unwrap();
    for w in waits {
        assert_eq!(rt.block_on(w).unwrap().unwrap(), 1);
    }
    // Already beyond: at once.
    assert_eq!(
        rt.block_on(reg.published_beyond(rh, 0).unwrap()).unwrap(),
        1
    );
    let pending = rt.spawn(reg.published_beyond(rh, 1).unwrap());
    drop(producer); // the last producer detaches: closed
    assert!(matches!(
        rt.block_on(pending).unwrap(),
        Err(EngineError::Ring(ringflow::Error::Closed))
    ));
    reg.cancel(rh).unwrap();
}

#[test]
fn bench_job_delivers_every_frame_and_a_cancelled_one_leaves_nothing_running() {
    use ringflow_engine::jobs::{bench, BenchSpec};
    let reg: &'static Registry = Box::leak(Box::new(registry()));
    let spec = BenchSpec {
        frame_size: 64,
        frames: 100_000,
        consumers: 2,
        producers: 1,
    };
    let report = runtime::runtime().block_on(bench(reg, spec)).unwrap();
    assert_eq!(report.delivered, 200_000);
    assert!(reg.is_empty(), "the bench's ring was released");
    // An endless bench, cancelled through its task handle.
    let (seen, on_end) = ends();
    let spec = BenchSpec {
        frames: u64::MAX / 2,
        ..spec
    };
    let h = reg
        .spawn_future(None, move |_| bench(reg, spec), on_end())
        .unwrap();
    wait_until("the bench's producer to start", || reg.len() > 3);
    reg.cancel(h).unwrap();
    wait_until("the cancelled end", || seen.lock().unwrap().len() == 1);
    assert!(matches!(seen.lock().unwrap()[0].1, Outcome::Cancelled));
    assert_eq!(
        reg.shutdown(Duration::from_secs(10)),
        0,
        "nothing left running"
    );
}

#[test]
fn a_subscription_future_dropped_while_it_waits_leaves_no_waiter_counted() {
    let reg = registry();
    let ring = Ring::anonymous(&RingConfig::new(64, 64)).unwrap();
    let rh = reg.add_ring(ring.clone());
    let (_h, mut sub) = reg.subscribe(rh, Delivery::Lossy).unwrap();
    let rt = runtime::runtime();
    // Wait for a frame that does not come, then give up on it (a select, a timeout).
    let gave_up = rt.block_on(async {
        tokio::time::timeout(Duration::from_millis(100), sub.next())
            .await
            .is_err()
    });
    assert!(gave_up);
    // Nobody waits now, so the waiter thread must leave the futex: commits then find no sleeper
    // and make no wake syscall.
    wait_until("the waiter thread to leave the futex", || {
        let stats = ring.stats();
        // Gone, and the word disarmed (the last sleeper to leave unwoken does that after it
        // counts itself out).
        stats.data_sleepers == 0 && !stats.data_armed
    });
    // (A lossy subscription: it never holds the producer back.)
    let mut producer = ring.producer(ringflow::ProducerOptions::default()).unwrap();
    let before = ring.stats().data_wakes;
    for _ in 0..1_000 {
        producer.push(b"x").unwrap();
    }
    assert_eq!(
        ring.stats().data_wakes,
        before,
        "commits woke a waiter nobody needs"
    );
    reg.cancel(rh).unwrap();
}

//! Consumer behaviour: delivery policies, lapping, torn views, batches, waits, eviction.

use std::time::Duration;

use ringflow::{
    pattern, ClaimError, Error, FullPolicy, ProducerOptions, RecvError, Ring, RingConfig, Start,
};

#[test]
fn every_consumer_sees_every_frame_broadcast() {
    let ring = Ring::anonymous(&RingConfig::new(8, 16)).unwrap();
    let mut a = ring.consumer().unwrap();
    let mut b = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    for i in 0..5u8 {
        p.push(&[i]).unwrap();
    }
    for c in [&mut a, &mut b] {
        let got: Vec<u8> =
            std::iter::from_fn(|| c.poll().unwrap().map(|f| f.payload()[0])).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }
}

#[test]
fn a_consumer_starts_at_frames_published_after_it_registered() {
    let ring = Ring::anonymous(&RingConfig::new(8, 16)).unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    p.push(b"before").unwrap();
    let mut c = ring.consumer().unwrap();
    assert!(c.poll().unwrap().is_none());
    p.push(b"after").unwrap();
    let f = c.poll().unwrap().unwrap();
    assert_eq!((f.seq(), f.payload()), (1, &b"after"[..]));
}

#[test]
fn a_lossy_consumer_never_gates_and_a_lossless_one_does() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut lossy = ring.lossy_consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Fail))
        .unwrap();
    for i in 0..20u8 {
        p.push(&[i]).unwrap();
    }
    let lossless = ring.consumer().unwrap();
    for i in 0..4u8 {
        p.push(&[i]).unwrap();
    }
    assert!(matches!(p.push(b"x"), Err(ClaimError::Full)));
    let mut buf = [0u8; 16];
    let f = lossy.read_into(&mut buf).unwrap().unwrap();
    // 24 published into 4 slots: the lossy reader lost 0..21 and reads 21.
    assert_eq!((f.seq, f.lost_before), (21, 21));
    drop(lossless); // unregistering stops the gating
    p.push(b"x").unwrap();
}

#[test]
fn batches_advance_once_and_report_their_frames() {
    let ring = Ring::anonymous(&RingConfig::new(8, 16)).unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    assert!(c.poll_batch(4).unwrap().is_empty());
    for i in 0..6u8 {
        p.push(&[i]).unwrap();
    }
    {
        let batch = c.poll_batch(4).unwrap();
        assert_eq!((batch.len(), batch.first_seq(), batch.intact()), (4, 0, 4));
        let seqs: Vec<_> = batch.iter().map(|f| (f.seq, f.payload[0])).collect();
        assert_eq!(seqs, vec![(0, 0), (1, 1), (2, 2), (3, 3)]);
        assert_eq!(
            ring.stats().consumers[0].read,
            0,
            "the cursor moves when the batch is dropped"
        );
    }
    assert_eq!(ring.stats().consumers[0].read, 4);
    assert_eq!(c.poll_batch(100).unwrap().len(), 2);
    assert_eq!(c.delivered(), 6);
}

#[test]
fn recv_batch_waits_for_a_frame_then_takes_every_ready_one_up_to_max() {
    let ring = Ring::anonymous(&RingConfig::new(8, 16)).unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    // Nothing there: it waits until the other thread's frames come, and returns them.
    let writer = std::thread::spawn(move || {
        let mut batch = p.claim_batch(5).unwrap();
        for i in 0..5 {
            batch.slot_mut(i)[0] = i as u8;
            batch.set_len(i, 1);
        }
        batch.commit_first(3); // two skip frames the batch must not count
        p.push(&[9]).unwrap();
        p
    });
    let mut got = Vec::new();
    while got.len() < 4 {
        let batch = c.recv_batch(3, Some(Duration::from_secs(10))).unwrap();
        assert!(!batch.is_empty());
        assert!(batch.len() <= 3);
        got.extend(batch.iter().map(|f| f.payload[0]));
    }
    assert_eq!(got, vec![0, 1, 2, 9]);
    assert_eq!(c.delivered(), 4);
    let p = writer.join().unwrap();
    // Nothing more: a timeout; and a batch of at most 0 frames is refused, consuming nothing.
    assert!(matches!(
        c.recv_batch(4, Some(Duration::from_millis(5))),
        Err(RecvError::Timeout)
    ));
    assert!(matches!(
        c.recv_batch(0, None),
        Err(RecvError::InvalidArgument(_))
    ));
    // After the close, the frames left come first, then `Closed`.
    let mut p = p;
    p.push(&[10]).unwrap();
    drop(p);
    assert_eq!(
        c.recv_batch(4, None)
            .unwrap()
            .iter()
            .next()
            .unwrap()
            .payload,
        &[10][..]
    );
    assert!(matches!(c.recv_batch(4, None), Err(RecvError::Closed)));
}

#[test]
fn read_into_needs_room_and_consumes_nothing_without_it() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    p.push(b"twelve bytes").unwrap();
    let mut small = [0u8; 4];
    assert!(matches!(
        c.read_into(&mut small),
        Err(RecvError::InvalidArgument(_))
    ));
    let mut buf = [0u8; 16];
    let info = c.read_into(&mut buf).unwrap().unwrap();
    assert_eq!(&buf[..info.len], b"twelve bytes");
}

#[test]
fn closed_comes_after_the_last_frame() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    p.push(b"last").unwrap();
    drop(p);
    assert_eq!(c.recv(None).unwrap().payload(), b"last");
    assert!(matches!(c.recv(None), Err(RecvError::Closed)));
    assert!(matches!(
        c.wait(Some(Duration::ZERO)),
        Err(RecvError::Closed)
    ));
}

#[test]
fn a_wait_times_out_when_nothing_comes() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut c = ring.consumer().unwrap();
    let _p = ring.producer(ProducerOptions::default()).unwrap();
    assert!(matches!(
        c.recv(Some(Duration::from_millis(5))),
        Err(RecvError::Timeout)
    ));
}

#[test]
fn a_parked_consumer_is_woken_by_a_commit() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    // A 10 s bound on the wait: a lost wake-up fails the test instead of hanging it.
    let reader =
        std::thread::spawn(move || c.recv(Some(Duration::from_secs(10))).map(|f| f.to_vec()));
    // Wait (on the condition) until the reader is about to sleep (it armed the word and counted
    // itself), then publish: a futex wake must bring it back.
    let stats = || ring.stats();
    while stats().data_sleepers == 0 {
        std::thread::yield_now();
    }
    p.push(b"wake").unwrap();
    assert_eq!(reader.join().unwrap().unwrap(), b"wake");
    // One wake call; none if the reader saw the frame in its last look before sleeping and
    // disarmed the word itself before the commit's notify looked at it.
    assert!(ring.stats().data_wakes <= 1, "{:?}", ring.stats());
}

#[test]
fn a_producer_that_keeps_finding_readers_awake_makes_no_wake_call() {
    let ring = Ring::anonymous(&RingConfig::new(64, 16)).unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Fail))
        .unwrap();
    for i in 0..1000u32 {
        p.push(&i.to_le_bytes()).unwrap();
        assert_eq!(c.poll().unwrap().unwrap().payload(), i.to_le_bytes());
    }
    assert_eq!(ring.stats().data_wakes, 0);
    assert_eq!(ring.stats().space_wakes, 0);
}

#[test]
fn consumer_blocks_run_out() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16).max_consumers(2)).unwrap();
    let a = ring.consumer().unwrap();
    let _b = ring.lossy_consumer().unwrap();
    assert!(matches!(
        ring.consumer(),
        Err(Error::NoConsumerSlot { max: 2 })
    ));
    drop(a);
    ring.consumer().unwrap();
}

#[test]
fn a_stalled_lossless_consumer_is_evicted_by_heartbeat_age() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut stalled = ring.consumer().unwrap();
    let options = ProducerOptions::default()
        .evict_after(Duration::from_millis(20))
        .liveness_interval(Duration::from_millis(5));
    let mut p = ring.producer(options).unwrap();
    for i in 0..20u8 {
        p.push(&[i]).unwrap(); // blocks at frame 4 until the stalled reader is evicted
    }
    let stats = ring.stats();
    assert!(stats.consumers[0].evicted);
    assert!(matches!(
        stalled.poll(),
        Err(RecvError::Evicted { index: 0 })
    ));
    drop(stalled);
    assert!(ring.stats().consumers.is_empty());
}

#[test]
fn dropping_a_lossless_consumer_unblocks_a_waiting_producer() {
    let ring = Ring::anonymous(&RingConfig::new(2, 16)).unwrap();
    let c = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    p.push(b"1").unwrap();
    p.push(b"2").unwrap();
    let ring2 = ring.clone();
    let writer = std::thread::spawn(move || p.push(b"3"));
    while ring2.stats().space_sleepers == 0 {
        std::thread::yield_now();
    }
    drop(c);
    writer.join().unwrap().unwrap();
}

/// A lossy reader copying frames from 4 slots while an `overwrite` producer writes 300,000: every
/// copy it returns is whole, and what it read plus what it lost is everything published. (How
/// often it is lapped depends on scheduling; the proptest model and the loom model
/// `lossy_lapping_seqlock` cover lapping deterministically.)
#[test]
fn lossy_copies_are_whole_and_read_plus_lost_is_everything() {
    lossy_copies_against(|mut p| {
        for n in 0..300_000 {
            p.push_with(|buf| {
                pattern::fill(buf, 0, n);
                buf.len()
            })
            .unwrap();
        }
        300_000
    });
}

/// The same against an `overwrite` producer writing batches, whose slots are marked as being
/// written one by one as the batch fills them (not all at the claim): every copy is still whole.
#[test]
fn lossy_copies_of_batched_frames_are_whole() {
    lossy_copies_against(|mut p| {
        for n in (0..300_000).step_by(3) {
            let mut batch = p.claim_batch(3).unwrap();
            for i in 0..3 {
                let len = batch.slot_mut(i).len();
                pattern::fill(batch.slot_mut(i), 0, n + i as u64);
                batch.set_len(i, len);
            }
            batch.commit();
        }
        300_000
    });
}

/// A lossy reader copying pattern frames from a 4-slot ring while `write` (on another thread,
/// with an `overwrite` producer) writes frames 0, 1, 2, ... and returns how many: every copy
/// is whole, carries its own sequence and comes in order, and what the reader read plus what
/// it counted lost is every frame written.
fn lossy_copies_against(write: impl FnOnce(ringflow::Producer) -> u64 + Send + 'static) {
    let ring = Ring::anonymous(&RingConfig::new(4, 512).overwritable(true)).unwrap();
    let mut c = ring.lossy_consumer().unwrap();
    let p = ring
        .producer(ProducerOptions::new(FullPolicy::Overwrite))
        .unwrap();
    let writer = std::thread::spawn(move || write(p));
    let mut buf = vec![0u8; 512];
    let (mut read, mut last) = (0u64, None);
    loop {
        match c.recv_into(&mut buf, None) {
            Ok(info) => {
                let (_, n) = pattern::check(&buf[..info.len]).expect("a torn copy was returned");
                assert_eq!(n, info.seq);
                assert!(last.is_none_or(|l| n > l));
                last = Some(n);
                read += 1;
            }
            Err(RecvError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let written = writer.join().unwrap();
    assert_eq!(read + c.lost(), written);
}

/// The same with zero-copy views: a view may be overwritten while held, and then it must not be
/// reported intact: every view whose bytes failed the pattern was flagged by `is_intact`. (Whether
/// any view is overwritten in a given run depends on scheduling.)
#[test]
fn lossy_views_whose_bytes_are_wrong_are_never_reported_intact() {
    const FRAMES: u64 = 300_000;
    let ring = Ring::anonymous(&RingConfig::new(4, 512).overwritable(true)).unwrap();
    let mut c = ring.lossy_consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Overwrite))
        .unwrap();
    let writer = std::thread::spawn(move || {
        for n in 0..FRAMES {
            p.push_with(|buf| {
                pattern::fill(buf, 0, n);
                buf.len()
            })
            .unwrap();
        }
    });
    let (mut bad_undetected, mut delivered) = (0u64, 0u64);
    loop {
        // SAFETY: the view's bytes are only checked against the pattern, and the verdict is
        // trusted only if `is_intact` says so afterwards (the test's point).
        match unsafe { c.recv_unchecked(None) } {
            Ok(frame) => {
                let whole = pattern::check(frame.payload()).is_some_and(|(_, n)| n == frame.seq());
                if !whole && frame.is_intact() {
                    bad_undetected += 1;
                }
                delivered += 1;
            }
            Err(RecvError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    writer.join().unwrap();
    assert_eq!(bad_undetected, 0);
    assert_eq!(delivered + c.lost(), FRAMES);
    assert_eq!(ring.stats().consumers[0].torn, c.torn());
}

#[test]
fn check_producer_says_closed_only_once_nothing_is_left() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    c.check_producer().unwrap();
    p.push(b"x").unwrap();
    drop(p);
    c.check_producer().unwrap();
    drop(c.poll().unwrap().unwrap());
    assert!(matches!(c.check_producer(), Err(RecvError::Closed)));
}

#[test]
fn wait_published_wakes_on_a_commit_and_on_close() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    let waiter = {
        let ring = ring.clone();
        std::thread::spawn(move || {
            let mut seen = 0;
            while seen < 1 {
                seen = ring.wait_published(seen, None);
            }
            // Then wait for the close: returns with nothing new published.
            while !ring.is_closed() {
                ring.wait_published(seen, None);
            }
            seen
        })
    };
    while ring.stats().data_sleepers == 0 {
        std::thread::yield_now();
    }
    p.push(b"x").unwrap();
    drop(p);
    assert_eq!(waiter.join().unwrap(), 1);
}

#[test]
fn wake_waiters_returns_a_parked_wait_early() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut c = ring.consumer().unwrap();
    let _p = ring.producer(ProducerOptions::default()).unwrap();
    // An untimed in-process wait: only a wake ends it.
    let waiter = std::thread::spawn(move || c.wait(None).map(|()| c.poll().unwrap().is_none()));
    while ring.stats().data_sleepers == 0 {
        std::thread::yield_now();
    }
    ring.wake_waiters();
    assert!(
        waiter.join().unwrap().unwrap(),
        "woken with nothing to read"
    );
}

#[test]
fn a_held_frame_stays_put_until_released_and_reports_an_overwrite() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut lossless = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    p.push(b"first").unwrap();
    p.push(b"second").unwrap();
    let held = lossless.poll_held().unwrap().unwrap();
    // SAFETY: the frame is held and the ring alive.
    let payload = unsafe { std::slice::from_raw_parts(held.payload_ptr(), held.info().len) };
    assert_eq!((held.info().seq, payload), (0, &b"first"[..]));
    assert_eq!(lossless.next_seq(), 0, "the cursor waits for the release");
    assert!(lossless.release_held(held).unwrap());
    assert_eq!(lossless.poll_held().unwrap().unwrap().info().seq, 1);

    // A lossy reader's frame is unprotected: it is handed out as a checked copy, which the
    // producer (that never waits for a lossy reader) cannot tear by rewriting the slot.
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut lossy2 = ring.lossy_consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    p.push(b"old").unwrap();
    let held = lossy2.poll_held().unwrap().unwrap();
    for _ in 0..4 {
        p.push(b"new").unwrap();
    }
    // SAFETY: the frame is held and the consumer alive.
    let payload = unsafe { std::slice::from_raw_parts(held.payload_ptr(), held.info().len) };
    assert_eq!(payload, b"old", "the held copy keeps its bytes");
    assert!(
        lossy2.release_held(held).unwrap(),
        "a checked copy is intact"
    );
    assert_eq!(lossy2.torn(), 0);

    // The same on an overwritable ring, for a lossless reader.
    let ring = Ring::anonymous(&RingConfig::new(4, 16).overwritable(true)).unwrap();
    let mut lossless = ring.consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(ringflow::FullPolicy::Overwrite))
        .unwrap();
    p.push(b"old").unwrap();
    let held = lossless.poll_held().unwrap().unwrap();
    for _ in 0..4 {
        p.push(b"new").unwrap();
    }
    // SAFETY: the frame is held and the consumer alive.
    let payload = unsafe { std::slice::from_raw_parts(held.payload_ptr(), held.info().len) };
    assert_eq!(payload, b"old");
    assert!(lossless.release_held(held).unwrap());
    assert_eq!(lossless.torn(), 0);
}

/// A protected frame is held in place; a producer with `evict_after` evicts the stalled holder
/// and rewrites the slot: the release reports it (`Ok(false)`, counted torn).
#[test]
fn a_held_frame_whose_holder_was_evicted_is_reported_torn() {
    let ring = Ring::anonymous(&RingConfig::new(2, 16)).unwrap();
    let mut lossless = ring.consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::default().evict_after(std::time::Duration::from_millis(30)))
        .unwrap();
    p.push(b"old").unwrap();
    let held = lossless.poll_held().unwrap().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(60));
    // The ring is 2 slots: the third push needs slot 0, which only an eviction frees.
    for _ in 0..3 {
        p.push(b"new").unwrap();
    }
    assert!(
        !lossless.release_held(held).unwrap(),
        "rewritten after the eviction"
    );
    assert_eq!(lossless.torn(), 1);
}

/// A protected batch is released with one look at the consumer's block rather than a re-check
/// of every slot; after an eviction it still counts each rewritten slot as torn.
#[test]
fn a_batch_whose_holder_was_evicted_counts_each_rewritten_slot_torn() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut lossless = ring.consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::default().evict_after(std::time::Duration::from_millis(30)))
        .unwrap();
    for _ in 0..3 {
        p.push(b"old").unwrap();
    }
    {
        let batch = lossless.poll_batch(4).unwrap();
        assert_eq!(batch.len(), 3);
        std::thread::sleep(std::time::Duration::from_millis(60));
        // Frames 4 and 5 need the slots of frames 0 and 1, which only an eviction frees.
        for _ in 0..3 {
            p.push(b"new").unwrap();
        }
        assert_eq!(
            batch.intact(),
            1,
            "frames 0 and 1 were rewritten, frame 2 was not"
        );
    }
    assert_eq!(lossless.torn(), 2);

    // A batch nobody evicted is whole at its release.
    let mut kept = ring.consumer().unwrap();
    p.push(b"one").unwrap();
    p.push(b"two").unwrap();
    drop(kept.poll_batch(4).unwrap());
    assert_eq!(kept.torn(), 0);
}

/// A consumer says where it started and what it missed: `Next` sees nothing published before
/// it, `Oldest` reads what is still in the ring, `Seq` counts the frames that were gone.
#[test]
fn a_start_position_is_honoured_and_what_was_gone_is_counted() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    for i in 0..10u8 {
        p.push(&[i]).unwrap(); // no consumer yet: frames 0..6 are overwritten
    }
    let mut next = ring.consumer_at(Start::Next).unwrap();
    let mut oldest = ring.consumer_at(Start::Oldest).unwrap();
    let mut from_zero = ring.lossy_consumer_at(Start::Seq(0)).unwrap();
    let mut from_eight = ring.consumer_at(Start::Seq(8)).unwrap();
    assert_eq!(next.start_seq(), 10);
    assert_eq!(oldest.start_seq(), 6);
    assert!(next.poll().unwrap().is_none());
    let mut buf = [0u8; 16];
    for expected in 6..10u8 {
        let f = oldest.poll().unwrap().unwrap();
        assert_eq!(
            (f.seq(), f.payload()),
            (u64::from(expected), &[expected][..])
        );
    }
    assert_eq!((oldest.first_seq(), oldest.missed_at_start()), (Some(6), 0));
    // Frames 0..6 were gone. A reader that finds itself lapped jumps to one ring behind the
    // published cursor, less the slot a producer may be writing next (frame 6's): 0..7 are
    // missed at the start, not lost, and the reader goes on at 7.
    let info = from_zero.read_into(&mut buf).unwrap().unwrap();
    assert_eq!(info.seq, 7);
    assert_eq!((from_zero.missed_at_start(), from_zero.lost()), (7, 0));
    assert_eq!(from_eight.poll().unwrap().unwrap().seq(), 8);
    assert_eq!(from_eight.missed_at_start(), 0);
    // An `Oldest` reader holds producers at its (earlier) position, as any lossless reader
    // holds them at its own: a full ring behind it refuses a `fail` producer until it reads.
    let held = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut fail = held
        .producer(ProducerOptions::new(FullPolicy::Fail))
        .unwrap();
    for i in 0..4u8 {
        fail.push(&[i]).unwrap(); // no reader yet: nothing holds the producer
    }
    let mut behind = held.consumer_at(Start::Oldest).unwrap();
    assert_eq!(behind.start_seq(), 0);
    assert!(matches!(fail.push(b"x"), Err(ClaimError::Full)));
    assert_eq!(behind.poll().unwrap().unwrap().payload(), [0]);
    fail.push(b"x").unwrap();
    drop(p);
    assert!(matches!(
        next.recv(Some(Duration::from_secs(1))),
        Err(RecvError::Closed)
    ));
}

/// A lossless reader of an overwritable ring is never handed a frame an `overwrite` producer is
/// rewriting: every view is a whole frame, and frames overwritten before it got them are lost,
/// counted, never delivered.
#[test]
fn a_lossless_reader_of_an_overwritable_ring_never_sees_a_torn_frame() {
    const FRAMES: u64 = 200_000;
    let ring = Ring::anonymous(&RingConfig::new(4, 512).overwritable(true)).unwrap();
    let mut c = ring.consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Overwrite))
        .unwrap();
    let writer = std::thread::spawn(move || {
        for n in 0..FRAMES {
            p.push_with(|buf| {
                pattern::fill(buf, 0, n);
                buf.len()
            })
            .unwrap();
        }
    });
    let (mut delivered, mut last) = (0u64, None);
    loop {
        match c.recv(None) {
            Ok(frame) => {
                let (_, n) = pattern::check(frame.payload()).expect("a torn frame was handed out");
                assert_eq!(n, frame.seq());
                assert!(last.is_none_or(|l| n > l));
                last = Some(n);
                delivered += 1;
            }
            Err(RecvError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    writer.join().unwrap();
    assert_eq!(delivered + c.lost(), FRAMES);
    assert_eq!(c.torn(), 0, "checked copies are never torn");
}

/// `release_held` takes back only the frame this consumer handed out, once: another consumer's
/// token is refused and moves nothing; a read while a frame is held is refused too.
#[test]
fn a_held_frame_is_released_only_by_its_own_consumer() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut a = ring.consumer().unwrap();
    let mut b = ring.consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    p.push(b"x").unwrap();
    p.push(b"y").unwrap();
    let held_a = a.poll_held().unwrap().unwrap();
    let held_b = b.poll_held().unwrap().unwrap();
    assert!(matches!(
        a.poll_held(),
        Err(RecvError::FrameHeld { seq: 0 })
    ));
    let mut buf = [0u8; 16];
    assert!(matches!(
        a.read_into(&mut buf),
        Err(RecvError::FrameHeld { .. })
    ));
    assert!(matches!(a.poll(), Err(RecvError::FrameHeld { .. })));
    // b's token through a: refused and given back; a's cursor does not move.
    let refused = a.release_held(held_b).unwrap_err();
    assert_eq!(refused.held, Some(0));
    assert_eq!(a.next_seq(), 0);
    assert!(a.release_held(held_a).unwrap());
    assert_eq!(a.next_seq(), 1);
    // The token given back still releases b's frame, once.
    assert!(b.release_held(refused.frame).unwrap());
    assert_eq!(b.next_seq(), 1);
    assert_eq!(b.poll_held().unwrap().unwrap().info().seq, 1);
}

/// A lossy reader's batch copies (`recv_batch_into`) against an `overwrite` producer that laps
/// it: every frame copied is whole, in order, and copies plus losses are every frame written.
#[test]
fn lossy_batch_copies_are_never_torn() {
    const FRAMES: u64 = 200_000;
    let ring = Ring::anonymous(&RingConfig::new(4, 512).overwritable(true)).unwrap();
    let mut c = ring.lossy_consumer().unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(FullPolicy::Overwrite))
        .unwrap();
    let writer = std::thread::spawn(move || {
        for n in 0..FRAMES {
            p.push_with(|buf| {
                pattern::fill(buf, 0, n);
                buf.len()
            })
            .unwrap();
        }
    });
    let mut buf = vec![0u8; 8 * 512];
    let mut infos = [ringflow::FrameInfo::default(); 8];
    let (mut read, mut last) = (0u64, None);
    loop {
        match c.recv_batch_into(&mut buf, &mut infos, None) {
            Ok(n) => {
                for (i, info) in infos[..n].iter().enumerate() {
                    let frame = &buf[i * 512..i * 512 + info.len];
                    let (_, seq) = pattern::check(frame).expect("a torn copy was returned");
                    assert_eq!(seq, info.seq);
                    assert!(last.is_none_or(|l| seq > l));
                    last = Some(seq);
                    read += 1;
                }
            }
            Err(RecvError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    writer.join().unwrap();
    assert_eq!(read + c.lost(), FRAMES);
}

/// The one look at a protected batch's release also sees an eviction no producer made: a named
/// reader's batch whose name was forgotten by force (`forget_consumer(name, true)`) and whose
/// slots a producer then rewrote counts each rewritten slot torn.
#[test]
fn a_batch_whose_name_was_forgotten_by_force_counts_each_rewritten_slot_torn() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Ring::create(dir.path().join("ring"), &RingConfig::new(4, 16)).unwrap();
    let mut named = ring
        .consumer_named(
            "held",
            ringflow::Delivery::Lossless,
            std::time::Duration::from_secs(3600),
        )
        .unwrap();
    let mut p = ring
        .producer(ProducerOptions::new(ringflow::FullPolicy::Fail))
        .unwrap();
    for _ in 0..3 {
        p.push(b"old").unwrap();
    }
    {
        let batch = named.poll_batch(4).unwrap();
        assert_eq!(batch.len(), 3);
        assert!(p.push(b"new").is_ok(), "frame 3 has a free slot");
        assert!(p.push(b"new").is_err(), "frame 4 needs frame 0's slot");
        assert!(ring.forget_consumer("held", true).unwrap());
        for _ in 0..2 {
            p.push(b"new").unwrap();
        }
        assert_eq!(batch.intact(), 1, "frames 0 and 1 were rewritten");
    }
    assert_eq!(named.torn(), 2);
}

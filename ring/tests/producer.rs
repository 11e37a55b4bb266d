//! Producer behaviour: policies, batches, abandoned claims, roles, multi-producer.

use std::collections::HashSet;
use std::time::Duration;

use ringflow::{
    pattern, ClaimError, Error, FullPolicy, ProducerOptions, PushError, RecvError, Ring, RingConfig,
};

#[test]
fn fail_gives_the_frame_back() {
    let ring = Ring::anonymous(&RingConfig::new(2, 16)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut producer = ring
        .producer(ProducerOptions::new(FullPolicy::Fail))
        .unwrap();
    producer.push(b"a").unwrap();
    producer.push(b"b").unwrap();
    let refused = producer.push_with(|buf| {
        buf[0] = b'c';
        1
    });
    let write = match refused {
        Err(PushError::Full(write)) => write,
        other => panic!("{:?}", other.is_ok()),
    };
    assert_eq!(ring.stats().dropped, 1);
    drop(consumer.poll().unwrap());
    producer.push_with(write).unwrap();
    let frames: Vec<_> =
        std::iter::from_fn(|| consumer.poll().unwrap().map(|f| f.to_vec())).collect();
    assert_eq!(frames, vec![b"b".to_vec(), b"c".to_vec()]);
}

#[test]
fn block_waits_until_a_consumer_frees_a_slot() {
    let ring = Ring::anonymous(&RingConfig::new(2, 16)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..100u8 {
            producer.push(&[i]).unwrap();
        }
    });
    for i in 0..100u8 {
        assert_eq!(consumer.recv(None).unwrap().payload(), [i]);
    }
    writer.join().unwrap();
}

#[test]
fn block_with_a_timeout_reports_it_and_keeps_the_frame() {
    let ring = Ring::anonymous(&RingConfig::new(2, 16)).unwrap();
    let _consumer = ring.consumer().unwrap();
    let policy = FullPolicy::Block {
        timeout: Some(Duration::from_millis(10)),
    };
    let mut producer = ring.producer(ProducerOptions::new(policy)).unwrap();
    producer.push(b"1").unwrap();
    producer.push(b"2").unwrap();
    assert!(matches!(
        producer.push_with(|_| 0),
        Err(PushError::Timeout(_))
    ));
    assert!(matches!(producer.push(b"3"), Err(ClaimError::Timeout)));
    assert_eq!(producer.published(), 2);
}

#[test]
fn overwrite_never_waits_and_the_reader_counts_what_it_lost() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16).overwritable(true)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut producer = ring
        .producer(ProducerOptions::new(FullPolicy::Overwrite))
        .unwrap();
    for i in 0..10u8 {
        producer.push(&[i]).unwrap();
    }
    let first = consumer.poll().unwrap().unwrap();
    // Published 10 into 4 slots: frames 7, 8, 9 are surely intact; 0..7 are counted lost.
    assert_eq!((first.seq(), first.lost_before()), (7, 7));
    drop(first);
    assert_eq!(consumer.lost(), 7);
    assert_eq!(consumer.lapped(), 1);
    assert_eq!(consumer.poll().unwrap().unwrap().payload(), [8]);
}

#[test]
fn without_consumers_a_producer_never_blocks() {
    let ring = Ring::anonymous(&RingConfig::new(2, 16)).unwrap();
    let mut producer = ring
        .producer(ProducerOptions::new(FullPolicy::Fail))
        .unwrap();
    for _ in 0..10 {
        producer.push(b"x").unwrap();
    }
    // A lossy consumer never gates either.
    let _lossy = ring.lossy_consumer().unwrap();
    for _ in 0..10 {
        producer.push(b"x").unwrap();
    }
}

#[test]
fn an_abandoned_claim_is_skipped_by_readers() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    drop(producer.claim().unwrap());
    drop(producer.claim_batch(2).unwrap());
    producer.push(b"kept").unwrap();
    let frame = consumer.poll().unwrap().unwrap();
    assert_eq!(
        (frame.seq(), frame.payload(), frame.lost_before()),
        (3, &b"kept"[..], 0)
    );
    drop(frame);
    assert_eq!(consumer.delivered(), 1);
}

#[test]
fn kinds_and_timestamps_travel_with_the_frame() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    let mut slot = producer.claim().unwrap();
    slot.set_kind(7);
    slot.set_timestamp_ns(42);
    slot.commit(0);
    producer.push(b"now").unwrap();
    let frame = consumer.poll().unwrap().unwrap();
    assert_eq!(
        (frame.kind(), frame.timestamp_ns(), frame.is_empty()),
        (7, 42, true)
    );
    drop(frame);
    // The next claim starts clean: no kind or timestamp of the one before.
    let frame = consumer.poll().unwrap().unwrap();
    assert_eq!(frame.kind(), 0);
    assert!(frame.timestamp_ns() > 0 && frame.timestamp_ns() != 42);
}

#[test]
fn a_batch_without_timestamps_leaves_none_behind_from_an_earlier_lap() {
    let ring = Ring::anonymous(&RingConfig::new(2, 16)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut stamped = ring.producer(ProducerOptions::default()).unwrap();
    stamped.push(b"a").unwrap();
    stamped.push(b"b").unwrap();
    for _ in 0..2 {
        assert!(consumer.poll().unwrap().unwrap().timestamp_ns() > 0);
    }
    drop(stamped);
    // The same two slots, written again by a producer without timestamps.
    let mut plain = ring
        .producer(ProducerOptions::default().timestamps(false))
        .unwrap();
    let mut batch = plain.claim_batch(2).unwrap();
    batch.set_len(0, 1);
    batch.set_len(1, 1);
    batch.commit();
    let got = consumer.poll_batch(2).unwrap();
    let stamps: Vec<u64> = got.iter().map(|f| f.timestamp_ns).collect();
    assert_eq!(stamps, [0, 0]);
    drop(got);
    drop(plain);
    // And a batch with timestamps writes them over the zeros.
    let mut stamped = ring.producer(ProducerOptions::default()).unwrap();
    let mut batch = stamped.claim_batch(1).unwrap();
    batch.set_len(0, 1);
    batch.commit();
    let got = consumer.poll_batch(2).unwrap();
    assert_eq!(got.len(), 1);
    assert!(got.iter().all(|f| f.timestamp_ns > 0));
}

/// A batch's slots may be written in any order, and some not at all: each comes out as
/// written, the rest as empty frames of kind 0, with nothing left from the frames the slots
/// held a lap before.
#[test]
fn batch_slots_written_out_of_order_or_not_at_all() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    // A lap of frames with a kind and a length, for the batch to write over.
    for _ in 0..4 {
        let mut slot = producer.claim().unwrap();
        slot.set_kind(9);
        slot.payload_mut()[..3].copy_from_slice(b"old");
        slot.commit(3);
    }
    assert_eq!(consumer.poll_batch(4).unwrap().len(), 4);
    let mut batch = producer.claim_batch(4).unwrap();
    batch.slot_mut(2)[0] = b'c';
    batch.set_len(2, 1);
    batch.set_kind(3, 5); // a kind, no length: an empty frame of that kind
    batch.slot_mut(0)[0] = b'a';
    batch.set_len(0, 1);
    batch.commit(); // slot 1 untouched
    let got = consumer.poll_batch(4).unwrap();
    let frames: Vec<(u16, &[u8])> = got.iter().map(|f| (f.kind, f.payload)).collect();
    assert_eq!(
        frames,
        [(0, &b"a"[..]), (0, &b""[..]), (0, &b"c"[..]), (5, &b""[..])]
    );
}

/// A batch dropped without a commit publishes skip frames, whichever of its slots were written,
/// and a multi-producer's batches (whose claim marks every slot at once) read the same.
#[test]
fn dropped_batches_skip_and_multi_producer_batches_read_the_same() {
    let ring = Ring::anonymous(&RingConfig::new(8, 16).multi_producer(true)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    let mut batch = producer.claim_batch(3).unwrap();
    batch.slot_mut(1)[0] = 1;
    batch.set_len(1, 1);
    drop(batch);
    let mut batch = producer.claim_batch(2).unwrap();
    batch.slot_mut(1)[0] = 7;
    batch.set_len(1, 1);
    batch.commit();
    let got = consumer.poll_batch(8).unwrap();
    let frames: Vec<(u64, &[u8])> = got.iter().map(|f| (f.seq, f.payload)).collect();
    assert_eq!(frames, [(3, &b""[..]), (4, &[7][..])]);
}

#[test]
fn a_batch_must_fit_the_ring() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    assert!(matches!(
        producer.claim_batch(0),
        Err(ClaimError::InvalidArgument(_))
    ));
    assert!(matches!(
        producer.claim_batch(5),
        Err(ClaimError::InvalidArgument(_))
    ));
    assert!(matches!(
        producer.push(&[0; 17]),
        Err(ClaimError::InvalidArgument(_))
    ));
}

#[test]
#[should_panic(expected = "exceeds the slot size")]
fn committing_more_than_a_slot_panics() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    producer.claim().unwrap().commit(17);
}

#[test]
fn a_single_producer_ring_takes_one_producer() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let first = ring.producer(ProducerOptions::default()).unwrap();
    assert!(
        matches!(ring.producer(ProducerOptions::default()), Err(Error::ProducerBusy { pid }) if pid == std::process::id())
    );
    drop(first);
    // The next one continues the sequence.
    let mut second = ring.producer(ProducerOptions::default()).unwrap();
    second.push(b"x").unwrap();
    assert_eq!(second.published(), 1);
}

#[test]
fn a_multi_producer_ring_takes_eight() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16).multi_producer(true)).unwrap();
    let producers: Vec<_> = (0..8)
        .map(|_| ring.producer(ProducerOptions::default()).unwrap())
        .collect();
    assert!(matches!(
        ring.producer(ProducerOptions::default()),
        Err(Error::TooManyProducers { max: 8 })
    ));
    drop(producers);
}

/// Four producer threads, two lossless readers: every frame of every producer arrives at each
/// reader exactly once, whole, and each producer's frames in its own order.
#[test]
fn multi_producer_frames_arrive_once_each_and_whole() {
    const PER_PRODUCER: u64 = 50_000;
    for policy in [FullPolicy::Block { timeout: None }, FullPolicy::Fail] {
        let ring = Ring::anonymous(&RingConfig::new(64, 48).multi_producer(true)).unwrap();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let mut consumer = ring.consumer().unwrap();
                std::thread::spawn(move || {
                    let mut last = [None::<u64>; 4];
                    let mut seen = HashSet::new();
                    loop {
                        match consumer.recv(None) {
                            Ok(frame) => {
                                let (id, n) = pattern::check(frame.payload()).expect("whole frame");
                                assert!(
                                    last[id as usize].is_none_or(|l| n > l),
                                    "producer {id} out of order"
                                );
                                last[id as usize] = Some(n);
                                assert!(seen.insert((id, n)), "duplicate");
                            }
                            Err(RecvError::Closed) => return seen.len() as u64,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..4u32)
            .map(|id| {
                let mut producer = ring.producer(ProducerOptions::new(policy)).unwrap();
                std::thread::spawn(move || {
                    let mut n = 0;
                    while n < PER_PRODUCER {
                        match producer.push_with(|buf| {
                            pattern::fill(&mut buf[..48], id, n);
                            48
                        }) {
                            Ok(()) => n += 1,
                            Err(PushError::Full(_)) => std::thread::yield_now(),
                            Err(PushError::Timeout(_) | PushError::Replaced(..)) => unreachable!(),
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        for r in readers {
            assert_eq!(r.join().unwrap(), 4 * PER_PRODUCER, "{policy:?}");
        }
    }
}

/// Multi-producer with `overwrite` and a lossy copying reader: whatever it gets is whole.
#[test]
fn multi_producer_overwrite_never_hands_out_a_torn_copy() {
    let ring = Ring::anonymous(
        &RingConfig::new(8, 256)
            .multi_producer(true)
            .overwritable(true),
    )
    .unwrap();
    let mut consumer = ring.lossy_consumer().unwrap();
    let writers: Vec<_> = (0..2u32)
        .map(|id| {
            let mut producer = ring
                .producer(ProducerOptions::new(FullPolicy::Overwrite))
                .unwrap();
            std::thread::spawn(move || {
                for n in 0..100_000 {
                    producer
                        .push_with(|buf| {
                            pattern::fill(buf, id, n);
                            buf.len()
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    let mut buf = vec![0; 256];
    let mut got = 0u64;
    loop {
        match consumer.recv_into(&mut buf, None) {
            Ok(info) => {
                assert!(
                    pattern::check(&buf[..info.len]).is_some(),
                    "torn copy of frame {}",
                    info.seq
                );
                got += 1;
            }
            Err(RecvError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(got + consumer.lost(), 200_000);
}

/// An `overwrite` producer is a property of the ring, fixed at creation: a ring created without
/// it refuses one (so its lossless readers' views are never written under them), and the file
/// records it for every process that opens it.
#[test]
fn an_overwrite_producer_needs_an_overwritable_ring() {
    let overwrite = ProducerOptions::new(FullPolicy::Overwrite);
    let dir = tempfile::tempdir().unwrap();
    let plain = Ring::create(dir.path().join("plain"), &RingConfig::new(4, 16)).unwrap();
    assert!(!plain.is_overwritable());
    assert!(matches!(
        plain.producer(overwrite),
        Err(Error::NotOverwritable)
    ));
    // The refusal takes no producer entry: a blocking producer still attaches.
    drop(plain.producer(ProducerOptions::default()).unwrap());
    let path = dir.path().join("audio");
    drop(Ring::create(&path, &RingConfig::new(4, 16).overwritable(true)).unwrap());
    let reopened = Ring::open(&path).unwrap();
    assert!(reopened.is_overwritable());
    assert!(reopened.producer(overwrite).is_ok());
}

/// A multi-producer that claimed a frame and detached without committing it (its `WriteSlot`
/// forgotten) publishes the frame as a skip frame when it detaches, counted in `abandoned`: the
/// reader gets every frame committed after it, then a clean end. (Before the repair of holes,
/// issue 13, it ended with `Abandoned` at frame 1.)
#[test]
fn a_claim_left_open_at_detach_is_published_as_a_skip_frame() {
    let ring = Ring::anonymous(&RingConfig::new(8, 16).multi_producer(true)).unwrap();
    let mut c = ring.consumer().unwrap();
    let mut dead = ring.producer(ProducerOptions::default()).unwrap();
    let mut live = ring.producer(ProducerOptions::default()).unwrap();
    live.push(b"a").unwrap();
    // Claimed and never committed nor dropped.
    std::mem::forget(dead.claim().unwrap());
    for frame in [b"b", b"c", b"d"] {
        live.push(frame).unwrap();
    }
    drop(live);
    drop(dead); // the last producer detaches: the ring closes
    let mut got = Vec::new();
    loop {
        match c.recv(Some(Duration::from_secs(5))) {
            Ok(frame) => got.push((frame.seq(), frame.payload().to_vec())),
            Err(RecvError::Closed) => break,
            Err(e) => panic!("after {got:?}: {e}"),
        }
    }
    let want: Vec<(u64, Vec<u8>)> = vec![
        (0, b"a".to_vec()),
        (2, b"b".to_vec()),
        (3, b"c".to_vec()),
        (4, b"d".to_vec()),
    ];
    assert_eq!(got, want);
    assert_eq!(ring.stats().abandoned, 1);
    assert_eq!(ring.stats().published, 5);
}

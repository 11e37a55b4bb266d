//! The producer loop: unpaced sources that allow it are written in batches, and what readers
//! get is exactly what they would get frame by frame.

use std::thread;

use ringflow::{RecvError, Ring, RingConfig};
use ringflow_engine::source::{FillSource, SeqSource, Source};
use ringflow_engine::task::{run_producer, ProduceOptions, ProduceSummary};
use tokio_util::sync::CancellationToken;

/// A batching source that runs dry after `left` frames of `[i; 8]`.
struct Dries {
    left: u64,
    next: u64,
}

impl Source for Dries {
    fn next_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        buf[..8].copy_from_slice(&self.next.to_le_bytes());
        self.next += 1;
        Some(8)
    }

    fn batch(&self) -> usize {
        64
    }
}

/// Runs `source` into a fresh ring on another thread, reads until the ring closes, returns the
/// producer's summary and every payload read (as its first 8 bytes).
fn produce_and_read(
    capacity: u32,
    source: Box<dyn Source>,
    options: ProduceOptions,
) -> (ProduceSummary, Vec<u64>) {
    let ring = Ring::anonymous(&RingConfig::new(capacity, 64)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let writer = {
        let ring = ring.clone();
        thread::spawn(move || {
            let token = CancellationToken::new();
            run_producer(&ring, source, options, &token, |_| {}).unwrap()
        })
    };
    let mut got = Vec::new();
    loop {
        match consumer.recv(None) {
            Ok(frame) => {
                got.push(u64::from_le_bytes(frame.payload()[..8].try_into().unwrap()));
            }
            Err(RecvError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    (writer.join().unwrap(), got)
}

#[test]
fn a_source_that_runs_dry_mid_batch_publishes_exactly_its_frames() {
    for frames in [0, 1, 63, 64, 65, 1000] {
        let (summary, got) = produce_and_read(
            16,
            Box::new(Dries {
                left: frames,
                next: 0,
            }),
            ProduceOptions::default(),
        );
        assert_eq!(summary.frames, frames);
        assert_eq!(summary.bytes, 8 * frames);
        assert_eq!(got, (0..frames).collect::<Vec<_>>(), "{frames} frames");
    }
}

#[test]
fn a_frame_limit_off_the_batch_size_is_exact() {
    let (summary, got) = produce_and_read(
        4096,
        Box::new(SeqSource::new(0, 64)),
        ProduceOptions {
            frames: Some(10_007),
            ..Default::default()
        },
    );
    assert_eq!(summary.frames, 10_007);
    assert_eq!(got.len(), 10_007);
}

#[test]
fn a_ring_smaller_than_a_batch_still_streams() {
    let (summary, got) = produce_and_read(
        2,
        Box::new(FillSource::new(64)),
        ProduceOptions {
            frames: Some(5_000),
            ..Default::default()
        },
    );
    assert_eq!(summary.frames, 5_000);
    // Every byte of frame i is i as u8.
    let expected: Vec<u64> = (0..5_000u64)
        .map(|i| u64::from_le_bytes([i as u8; 8]))
        .collect();
    assert_eq!(got, expected);
}

/// `fail`: a frame the full ring refuses is made, dropped and counted, never retried. A reader
/// that reads nothing until the producer is done gets exactly the frames that fitted, the first
/// `capacity` the source made; the rest are `dropped`, and the ring counted the same refusals.
#[test]
fn a_failing_producer_drops_and_counts_what_the_ring_refused() {
    let ring = Ring::anonymous(&RingConfig::new(16, 64)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let summary = run_producer(
        &ring,
        Box::new(Dries {
            left: u64::MAX,
            next: 0,
        }),
        ProduceOptions {
            policy: ringflow::FullPolicy::Fail,
            frames: Some(1000),
            rate: None,
        },
        &CancellationToken::new(),
        |_| {},
    )
    .unwrap();
    assert_eq!(
        (summary.frames, summary.dropped, summary.generated),
        (16, 984, 1000)
    );
    assert_eq!(ring.stats().dropped, summary.dropped);
    let mut got = Vec::new();
    while let Ok(frame) = consumer.recv(Some(std::time::Duration::ZERO)) {
        got.push(u64::from_le_bytes(frame.payload()[..8].try_into().unwrap()));
    }
    assert_eq!(got, (0..16).collect::<Vec<_>>());
}

/// A source that runs dry while its frames are being dropped ends the producer before another
/// claim: neither the summary nor the ring counts a frame it did not make.
#[test]
fn a_failing_producer_counts_only_frames_its_source_made() {
    let ring = Ring::anonymous(&RingConfig::new(4, 64)).unwrap();
    let _consumer = ring.consumer().unwrap();
    let summary = run_producer(
        &ring,
        Box::new(Dries { left: 10, next: 0 }),
        ProduceOptions {
            policy: ringflow::FullPolicy::Fail,
            frames: None,
            rate: None,
        },
        &CancellationToken::new(),
        |_| {},
    )
    .unwrap();
    assert_eq!(
        (summary.frames, summary.dropped, summary.generated),
        (4, 6, 10)
    );
    assert_eq!(ring.stats().dropped, summary.dropped);
}

//! Exact liveness on file-backed rings: a participant is alive while it holds its block's lock
//! (`fcntl(F_OFD_SETLK)`), so a recycled pid cannot fake it and a registrant that died half-way
//! does not leak its block.

use std::os::unix::fs::FileExt;
use std::path::Path;

use ringflow::layout::{consumer_block, consumer_state, producer_block, PRODUCER_OFFSET};
use ringflow::{Error, ProducerOptions, Ring, RingConfig};

fn poke_u32(path: &Path, offset: usize, value: u32) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.write_all_at(&value.to_le_bytes(), offset as u64)
        .unwrap();
}

/// Process 1 (init) is alive for the whole test, and is no participant of any ring.
const LIVE_STRANGER: u32 = 1;

#[test]
fn a_recycled_pid_does_not_keep_a_dead_consumer_or_producer_alive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(4, 16).max_consumers(1)).unwrap();
    // A consumer whose process died and whose pid now belongs to a live stranger.
    let block = ring.geometry().consumer_offset(0);
    poke_u32(&path, block + consumer_block::PID_OFFSET, LIVE_STRANGER);
    poke_u32(
        &path,
        block + consumer_block::STATE_OFFSET,
        consumer_state::ACTIVE,
    );
    let consumer = ring
        .consumer()
        .expect("the dead consumer's block is taken over");
    assert_eq!(consumer.index(), 0);
    // The same for the single producer's entry.
    poke_u32(
        &path,
        PRODUCER_OFFSET + producer_block::PRODUCERS_OFFSET + producer_block::ENTRY_PID_OFFSET,
        LIVE_STRANGER,
    );
    assert!(ring.producer(ProducerOptions::default()).is_ok());
}

#[test]
fn a_registrant_that_died_half_way_does_not_leak_its_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(4, 16).max_consumers(1)).unwrap();
    // Taken (CLAIMING) by a registrant that died before writing its pid or going ACTIVE.
    let block = ring.geometry().consumer_offset(0);
    poke_u32(
        &path,
        block + consumer_block::STATE_OFFSET,
        consumer_state::CLAIMING,
    );
    assert!(ring.consumer().is_ok(), "the half-taken block is reclaimed");
}

#[test]
fn a_live_participant_of_another_mapping_keeps_its_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let config = RingConfig::new(4, 16).max_consumers(1);
    let first = Ring::create(&path, &config).unwrap();
    let second = Ring::open(&path).unwrap(); // another mapping: another lock owner, as a process
    let held = first.consumer().unwrap();
    assert!(matches!(
        second.consumer(),
        Err(Error::NoConsumerSlot { max: 1 })
    ));
    let _producer = first.producer(ProducerOptions::default()).unwrap();
    assert!(matches!(
        second.producer(ProducerOptions::default()),
        Err(Error::ProducerBusy { .. })
    ));
    drop(held);
    assert!(second.consumer().is_ok(), "a block given back is free");
}

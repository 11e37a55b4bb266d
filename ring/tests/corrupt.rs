//! Opening corrupt, truncated and hostile region files: each gives a typed error that names the
//! bad value, never a panic or a read outside the mapping.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use ringflow::layout::{desc, ring_flags, Header, HEADER_LEN, MAGIC};
use ringflow::{Error, LayoutError, ProducerOptions, RecvError, Ring, RingConfig};

/// A valid ring file of 4 slots of 64 bytes and 2 consumers.
fn valid(path: &Path) -> u64 {
    let ring = Ring::create(path, &RingConfig::new(4, 64).max_consumers(2)).unwrap();
    ring.region_len() as u64
}

fn header(path: &Path) -> Header {
    let bytes = std::fs::read(path).unwrap();
    bytemuck::pod_read_unaligned(&bytes[..HEADER_LEN])
}

fn write_header(path: &Path, h: &Header) {
    let file = OpenOptions::new().write(true).open(path).unwrap();
    file.write_all_at(bytemuck::bytes_of(h), 0).unwrap();
}

fn field_error(err: Error) -> &'static str {
    match err {
        Error::Layout(LayoutError::BadField { field, .. }) => field,
        other => panic!("expected a bad field, got {other:?}"),
    }
}

type Mutation = fn(&mut Header);

#[test]
fn a_bad_header_field_is_named() {
    let cases: &[(&str, Mutation, &str)] = &[
        ("header_len", |h| h.header_len = 128, "header_len"),
        (
            "slot count not a power of two",
            |h| h.slot_count = 3,
            "slot_count",
        ),
        ("slot count zero", |h| h.slot_count = 0, "slot_count"),
        (
            "slot count too large",
            |h| h.slot_count = 1 << 30,
            "slot_count",
        ),
        ("stride too small", |h| h.slot_stride = 16, "slot_stride"),
        (
            "stride too large",
            |h| h.slot_stride = 1 << 20,
            "slot_stride",
        ),
        ("no consumers", |h| h.max_consumers = 0, "max_consumers"),
        (
            "too many consumers",
            |h| h.max_consumers = 100_000,
            "max_consumers",
        ),
        (
            "producer offset",
            |h| h.producer_offset = 0,
            "producer_offset",
        ),
        (
            "consumers offset",
            |h| h.consumers_offset = u64::MAX,
            "consumers_offset",
        ),
        ("slots offset", |h| h.slots_offset = 8, "slots_offset"),
        ("descs offset", |h| h.descs_offset = 640, "descs_offset"),
        ("descriptor stride", |h| h.desc_stride = 16, "desc_stride"),
        (
            "timestamps flag without its stride",
            |h| h.flags &= !ring_flags::TIMESTAMPS,
            "desc_stride",
        ),
        ("total length", |h| h.total_len = 1 << 40, "total_len"),
        ("producer mode", |h| h.producer_mode = 7, "producer_mode"),
        ("schema", |h| h.schema_id = 9, "schema_id"),
        ("unknown flag", |h| h.flags = 1 << 5, "flags"),
        (
            "sample format",
            |h| h.audio_sample_format = 9,
            "audio_sample_format",
        ),
        (
            "the first sample format after i24",
            |h| h.audio_sample_format = 5,
            "audio_sample_format",
        ),
        (
            "payload grown past the stride",
            |h| h.slot_payload = 1000,
            "slot_stride",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, mutate, field) in cases {
        let path = dir.path().join("ring");
        let _ = std::fs::remove_file(&path);
        valid(&path);
        let mut h = header(&path);
        mutate(&mut h);
        write_header(&path, &h);
        let err = Ring::open(&path).expect_err(name);
        assert_eq!(field_error(err), *field, "case {name}");
    }
}

#[test]
fn bad_magic_and_version_are_reported_with_the_value_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    valid(&path);
    let mut h = header(&path);
    // Version 1 had the same offsets but another sleeper protocol: mixing the two could lose
    // wake-ups. Version 2 had no overwritable flag: its readers would hand out views of frames an
    // `overwrite` producer rewrites. Version 3 had no named consumers: its participants would
    // free or evict an ownerless named block. Version 4 kept each slot's stamp in front of its
    // payload: every offset past the consumer blocks differs. All are refused like any unknown
    // version, with a message that names the file's version and this build's.
    for version in [1, 2, 3, 4, 6] {
        h.version = version;
        write_header(&path, &h);
        let err = Ring::open(&path).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, Error::Layout(LayoutError::BadVersion { found }) if found == version),
            "{message}"
        );
        assert!(
            message.contains(&format!("version {version}")) && message.contains("version 5"),
            "{message}"
        );
    }
    h.magic = 0x1234;
    write_header(&path, &h);
    let err = Ring::open(&path).unwrap_err();
    assert!(matches!(
        err,
        Error::Layout(LayoutError::BadMagic { found: 0x1234 })
    ));
    assert!(err.to_string().contains("0x0000000000001234"), "{err}");
}

#[test]
fn truncated_and_padded_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let len = valid(&path);
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    for short in [len - 1, len / 2, HEADER_LEN as u64] {
        file.set_len(short).unwrap();
        match Ring::open(&path) {
            Err(Error::Layout(LayoutError::Truncated { actual, expected })) => {
                assert_eq!((actual, expected), (short, len));
            }
            other => panic!("length {short}: {other:?}"),
        }
    }
    for short in [0, 8, HEADER_LEN as u64 - 1] {
        file.set_len(short).unwrap();
        assert!(
            matches!(
                Ring::open(&path),
                Err(Error::Layout(LayoutError::Truncated { .. }))
            ),
            "length {short}"
        );
    }
    std::fs::remove_file(&path).unwrap();
    valid(&path);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len + 4096)
        .unwrap();
    assert_eq!(field_error(Ring::open(&path).unwrap_err()), "total_len");
}

#[test]
fn a_file_of_two_gigabytes_is_too_large_for_the_jvm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let file = std::fs::File::create(&path).unwrap();
    file.write_all_at(&MAGIC.to_le_bytes(), 0).unwrap();
    file.set_len(1 << 31).unwrap(); // sparse: takes no disk
    assert!(
        matches!(Ring::open(&path), Err(Error::Layout(LayoutError::TooLarge { len })) if len == 1 << 31)
    );
    // And a configuration that would need that much is refused before any file is made.
    let err = Ring::create(dir.path().join("big"), &RingConfig::new(1 << 20, 4096)).unwrap_err();
    assert!(
        matches!(err, Error::Layout(LayoutError::TooLarge { .. })),
        "{err:?}"
    );
    assert!(!dir.path().join("big").exists());
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_path() {
    let err = Ring::open("/nonexistent/ringflow-test").unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/ringflow-test"));
}

#[test]
fn a_slot_length_out_of_range_is_corruption_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(4, 64)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    producer.push(b"first").unwrap();
    producer.push(b"second").unwrap();
    // A hostile writer sets frame 0's length past the slot.
    let offset = ring.geometry().desc_offset(0) + desc::LEN_OFFSET;
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .write_all_at(&70_000u32.to_le_bytes(), offset as u64)
        .unwrap();
    match consumer.poll() {
        Err(RecvError::Corrupt { seq: 0, detail }) => assert!(detail.contains("70000"), "{detail}"),
        other => panic!("{:?}", other.map(|f| f.map(|f| f.seq()))),
    }
    // The corrupt frame is counted lost and skipped; the next one is read.
    assert_eq!(consumer.lost(), 1);
    assert_eq!(consumer.poll().unwrap().unwrap().payload(), b"second");
}

#[test]
fn random_header_bytes_in_a_truncated_file_never_open_or_panic() {
    use proptest::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let len = valid(&path);
    let pristine = std::fs::read(&path).unwrap();
    proptest!(ProptestConfig::with_cases(512), |(flips in proptest::collection::vec((0..HEADER_LEN, any::<u8>()), 1..8), cut in 0..len)| {
        let mut bytes = pristine.clone();
        for (i, b) in &flips {
            bytes[*i] = *b;
        }
        bytes.truncate(cut.max(1) as usize);
        std::fs::write(&path, &bytes).unwrap();
        // Whatever happens, it is a result, not a panic; a truncated copy never opens.
        let opened = Ring::open(&path);
        prop_assert!(opened.is_err());
    });
}

fn write_at(path: &Path, offset: usize, bytes: &[u8]) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .write_all_at(bytes, offset as u64)
        .unwrap();
}

#[test]
fn cursors_beyond_any_sequence_are_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    valid(&path);
    let published =
        ringflow::layout::PRODUCER_OFFSET + ringflow::layout::producer_block::PUBLISHED_OFFSET;
    write_at(&path, published, &u64::MAX.to_le_bytes());
    let ring = Ring::open(&path).unwrap();
    assert!(matches!(ring.consumer(), Err(Error::Corrupt { .. })));
    assert!(matches!(
        ring.producer(ProducerOptions::default()),
        Err(Error::Corrupt { .. })
    ));
    // Neither left a block taken.
    let stats = ring.stats();
    assert!(
        stats.consumers.is_empty() && stats.producers.is_empty(),
        "{stats:?}"
    );
}

#[test]
fn garbage_stamps_are_reported_and_never_looped_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(4, 64)).unwrap();
    let mut consumer = ring.lossy_consumer().unwrap();
    // Every slot claims a frame that does not belong to it: 2^64 - 1 names frame 2^63 - 1.
    for seq in 0..4 {
        write_at(
            &path,
            ring.geometry().desc_offset(seq),
            &u64::MAX.to_le_bytes(),
        );
    }
    let mut buf = [0u8; 64];
    assert!(matches!(
        consumer.read_into(&mut buf),
        Err(RecvError::Corrupt { seq: 0, .. })
    ));
    assert!(matches!(
        consumer.read_into(&mut buf),
        Err(RecvError::Corrupt { .. })
    ));
    // A stamp of a later frame of the right slot is an ordinary lap, bounded by that frame: the
    // reader jumps to the oldest frame that can still be there, whatever `published` says.
    let lapper: u64 = 4 * 1000;
    write_at(
        &path,
        ring.geometry().desc_offset(0),
        &(2 * lapper + 2).to_le_bytes(),
    );
    for seq in 1..4 {
        write_at(&path, ring.geometry().desc_offset(seq), &0u64.to_le_bytes());
    }
    assert!(consumer.read_into(&mut buf).unwrap().is_none());
    assert_eq!(consumer.lost(), lapper - 3);
    assert_eq!(consumer.next_seq(), lapper - 3);
}

/// A hostile `read` near the end of the sequence space in a live consumer's block: a producer
/// held back by another reader looks for readers to evict and passes over it (it holds nothing
/// back), rather than overflowing.
#[test]
fn a_hostile_read_cursor_is_passed_over_when_a_producer_looks_to_evict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(4, 64)).unwrap();
    let _slow = ring.consumer().unwrap();
    let _hostile = ring.consumer().unwrap();
    let hostile_at =
        ring.geometry().consumer_offset(1) + ringflow::layout::consumer_block::READ_OFFSET;
    write_at(&path, hostile_at, &(u64::MAX - 1).to_le_bytes());
    let mut p = ring
        .producer(ProducerOptions::new(ringflow::FullPolicy::Fail))
        .unwrap();
    for _ in 0..4 {
        p.push(b"x").unwrap();
    }
    // Full: the slow reader holds it back; the refusal looks for dead readers first.
    assert!(matches!(p.push(b"x"), Err(ringflow::ClaimError::Full)));
}

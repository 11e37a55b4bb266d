//! Creating and opening regions: backing, permissions, schema, sizes.

use std::os::unix::fs::PermissionsExt;

use ringflow::{AudioFormat, Error, ProducerOptions, Ring, RingConfig, SampleFormat, Schema};

#[test]
fn a_file_ring_is_created_0600_and_opens_with_the_same_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let config = RingConfig::new(64, 100)
        .max_consumers(3)
        .multi_producer(true);
    let created = Ring::create(&path, &config).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let opened = Ring::open(&path).unwrap();
    assert_eq!(opened.geometry(), created.geometry());
    assert_eq!(opened.header(), created.header());
    assert_eq!(opened.header().owner_pid, std::process::id());
    assert_eq!(opened.capacity(), 64);
    assert_eq!(opened.slot_size(), 100);
    assert!(opened.is_file_backed());
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        opened.region_len() as u64
    );
}

#[test]
fn frames_written_through_one_mapping_are_read_through_another() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let writer = Ring::create(&path, &RingConfig::new(8, 32)).unwrap();
    let reader = Ring::open(&path).unwrap();
    let mut consumer = reader.consumer().unwrap();
    let mut producer = writer.producer(ProducerOptions::default()).unwrap();
    producer.push(b"across mappings").unwrap();
    assert_eq!(
        consumer.poll().unwrap().unwrap().payload(),
        b"across mappings"
    );
}

#[test]
fn create_refuses_an_existing_file_and_replace_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let first = Ring::create(&path, &RingConfig::new(4, 16)).unwrap();
    assert!(matches!(
        Ring::create(&path, &RingConfig::new(4, 16)),
        Err(Error::AlreadyExists { .. })
    ));
    let second = Ring::create_or_replace(&path, &RingConfig::new(8, 16)).unwrap();
    assert_eq!(Ring::open(&path).unwrap().capacity(), 8);
    assert_ne!(first.header().epoch, second.header().epoch);
}

#[test]
fn shm_names_are_single_path_components() {
    for bad in ["", "a/b", "..", "."] {
        assert!(
            matches!(ringflow::shm_path(bad), Err(Error::InvalidArgument(_))),
            "{bad:?}"
        );
    }
    assert_eq!(
        ringflow::shm_path("x").unwrap(),
        std::path::Path::new("/dev/shm/x")
    );
}

#[test]
fn a_ring_in_dev_shm_round_trips() {
    let name = format!("ringflow-test-{}", std::process::id());
    let ring = Ring::create_shm(&name, &RingConfig::new(4, 16)).unwrap();
    let again = Ring::open_shm(&name).unwrap();
    assert_eq!(ring.header(), again.header());
    std::fs::remove_file(ringflow::shm_path(&name).unwrap()).unwrap();
}

#[test]
fn the_schema_is_recorded_in_the_header() {
    let audio = AudioFormat {
        sample_rate: 48_000,
        channels: 2,
        format: SampleFormat::F32,
        samples_per_frame: 480,
    };
    let ring = Ring::anonymous(&RingConfig::new(4, 3840).schema(Schema::Audio(audio))).unwrap();
    assert_eq!(ring.schema(), Schema::Audio(audio));
    assert_eq!(ring.header().audio_sample_rate, 48_000);
    let ring =
        Ring::anonymous(&RingConfig::new(4, 64).schema(Schema::Telemetry { version: 3 })).unwrap();
    assert_eq!(ring.schema(), Schema::Telemetry { version: 3 });
    // An audio frame that does not fit a slot is refused.
    let err = Ring::anonymous(&RingConfig::new(4, 1000).schema(Schema::Audio(audio))).unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument(ref m) if m.contains("3840")),
        "{err}"
    );
}

#[test]
fn bad_sizes_are_refused_with_the_value() {
    let err = Ring::anonymous(&RingConfig::new(1000, 64)).unwrap_err();
    assert!(err.to_string().contains("1000"), "{err}");
    assert!(Ring::anonymous(&RingConfig::new(4, 64).max_consumers(0)).is_err());
}

#[test]
fn stats_list_producers_and_consumers() {
    let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
    let _c = ring.lossy_consumer().unwrap();
    let mut p = ring.producer(ProducerOptions::default()).unwrap();
    p.push(b"1").unwrap();
    let stats = ring.stats();
    assert_eq!(stats.published, 1);
    assert_eq!(stats.producers.len(), 1);
    assert_eq!(stats.consumers.len(), 1);
    assert!(stats.consumers[0].lossy);
    assert_eq!(stats.consumers[0].lag, 1);
    drop(p);
    assert!(ring.stats().closed && ring.is_closed());
}

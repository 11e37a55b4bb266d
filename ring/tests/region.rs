//! Creating and opening regions: backing, permissions, schema, sizes; atomic publication,
//! space reserved at create, and replacement of a ring that is in use.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use ringflow::{
    AudioFormat, ClaimError, Error, FullPolicy, Participant, ProducerOptions, RecvError, Ring,
    RingConfig, Role, SampleFormat, Schema,
};

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

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn racing_open_or_create_gives_every_caller_the_same_whole_ring() {
    const ROUNDS: usize = 200;
    const THREADS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let config = RingConfig::new(64, 100).multi_producer(true);
    for round in 0..ROUNDS {
        let path = Arc::new(dir.path().join(format!("ring{round}")));
        let barrier = Arc::new(Barrier::new(THREADS));
        let racers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    Ring::open_or_create(&*path, &config).map(|r| r.header().epoch)
                })
            })
            .collect();
        let epochs: Vec<u64> = racers
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap()
                    .unwrap_or_else(|e| panic!("round {round}: {e}"))
            })
            .collect();
        assert!(
            epochs.iter().all(|&e| e == epochs[0]),
            "round {round}: callers got different rings: {epochs:x?}"
        );
        // One file per round, and no temporary file left behind.
        assert_eq!(
            names(dir.path()).len(),
            round + 1,
            "{:?}",
            names(dir.path())
        );
    }
}

#[test]
fn open_or_create_says_how_a_ring_found_there_differs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    Ring::create(&path, &RingConfig::new(64, 100)).unwrap();
    let err =
        Ring::open_or_create(&path, &RingConfig::new(128, 100).multi_producer(true)).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Mismatch { .. }), "{message}");
    assert!(
        message.contains("slots 64 (wanted 128)")
            && message.contains("multi-producer no (wanted yes)")
            && !message.contains("slot size"),
        "{message}"
    );
}

/// A tmpfs of `size` mounted on a fresh temporary directory, unmounted on drop. `None` (with a
/// loud note) where mounting is impossible (not root, no `mount`); under `CI`, which runs as
/// root, that is a failure instead.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let why = match out {
            Ok(o) if o.status.success() => return Some(Tmpfs { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            Err(e) => e.to_string(),
        };
        assert!(
            std::env::var_os("CI").is_none(),
            "cannot mount a tmpfs for this test: {why}"
        );
        eprintln!("SKIPPED: cannot mount a {size} tmpfs (needs root): {why}");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_ring_larger_than_its_filesystem_fails_create_and_leaves_nothing() {
    let Some(fs) = Tmpfs::mount("8m") else {
        return;
    };
    // 4096 slots of 4064 + 32 bytes: 16 MiB and a little, twice the filesystem.
    let big = RingConfig::new(4096, 4064);
    let needed = big.geometry().unwrap().total_len;
    let err = Ring::create(fs.path().join("big"), &big).unwrap_err();
    match &err {
        Error::NoSpace {
            dir,
            needed: n,
            free,
        } => {
            assert_eq!(dir, fs.path());
            assert_eq!(*n, needed);
            assert_eq!(*free, 8 << 20);
        }
        other => panic!("expected NoSpace, got {other}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("the ring needs {needed} bytes, 8388608 are free")),
        "{err}"
    );
    assert_eq!(names(fs.path()), Vec::<String>::new());
    // A ring that fits is created, and every page of it is there: writing all of it is safe.
    let ring = Ring::create(fs.path().join("small"), &RingConfig::new(1024, 4064)).unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    for _ in 0..1024 {
        producer.push(&[7; 4064]).unwrap();
    }
    // The space it holds is gone for the next ring.
    let err = Ring::create(fs.path().join("second"), &RingConfig::new(1024, 4064)).unwrap_err();
    assert!(
        matches!(err, Error::NoSpace { free, .. } if free < 4 << 20),
        "{err}"
    );
    assert_eq!(names(fs.path()), ["small"]);
}

#[test]
fn replacing_a_ring_in_use_is_explicit_and_its_participants_learn_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let old = Ring::create(&path, &RingConfig::new(4, 16)).unwrap();
    let mut consumer = old.consumer().unwrap();
    let mut producer = old.producer(ProducerOptions::default()).unwrap();
    producer.push(b"before").unwrap();
    let pid = std::process::id();

    let err = Ring::create_or_replace_idle(&path, &RingConfig::new(8, 16)).unwrap_err();
    match &err {
        Error::InUse { participants, .. } => assert_eq!(
            participants,
            &[
                Participant {
                    pid,
                    role: Role::Producer
                },
                Participant {
                    pid,
                    role: Role::Consumer
                }
            ]
        ),
        other => panic!("expected InUse, got {other}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("producer pid {pid}, consumer pid {pid}")),
        "{err}"
    );
    assert_eq!(
        Ring::open(&path).unwrap().header().epoch,
        old.header().epoch
    );
    assert_eq!(names(dir.path()), ["ring"]);

    let new = Ring::create_or_replace(&path, &RingConfig::new(8, 16)).unwrap();
    assert_eq!(old.replaced_by(), Some(pid));
    assert_eq!(new.replaced_by(), None);
    assert_eq!(
        Ring::open(&path).unwrap().header().epoch,
        new.header().epoch
    );
    assert_eq!(names(dir.path()), ["ring"]);
    // The reader reads what was committed, then learns why nothing more comes.
    assert_eq!(consumer.poll().unwrap().unwrap().payload(), b"before");
    assert!(matches!(consumer.wait(None), Err(RecvError::Replaced { by }) if by == pid));
    assert!(matches!(
        consumer.check_producer(),
        Err(RecvError::Replaced { .. })
    ));
    assert!(matches!(old.check_producer(), Err(Error::Replaced { .. })));
    // Nobody attaches to or registers with the old ring any more; the new one takes both.
    drop(producer);
    assert!(matches!(
        old.producer(ProducerOptions::default()),
        Err(Error::Replaced { .. })
    ));
    assert!(matches!(old.consumer(), Err(Error::Replaced { .. })));
    new.producer(ProducerOptions::default())
        .unwrap()
        .push(b"new")
        .unwrap();
}

#[test]
fn running_producers_end_with_replaced_whatever_their_policy() {
    let dir = tempfile::tempdir().unwrap();
    // A timeout only bounds the test should the replacement go unnoticed.
    let block = FullPolicy::Block {
        timeout: Some(Duration::from_secs(5)),
    };
    for policy in [block, FullPolicy::Overwrite] {
        let path = dir.path().join("ring");
        let old =
            Ring::create_or_replace(&path, &RingConfig::new(4, 16).overwritable(true)).unwrap();
        let _consumer = old.consumer().unwrap();
        let mut producer = old.producer(ProducerOptions::new(policy)).unwrap();
        for _ in 0..4 {
            producer.push(b"x").unwrap();
        }
        Ring::create_or_replace(&path, &RingConfig::new(4, 16)).unwrap();
        // `block` is at its gate (the reader has read nothing), `overwrite` at its once-per-lap
        // look: either way the next claim is the slow path.
        let err = producer.push(b"x").unwrap_err();
        assert!(
            matches!(err, ClaimError::Replaced { by } if by == std::process::id()),
            "{policy:?}: {err}"
        );
        assert!(
            matches!(
                producer.push_with(|_| 0),
                Err(ringflow::PushError::Replaced(_, _))
            ),
            "{policy:?}"
        );
    }
}

/// `create_or_replace` (and its `_idle` form) replaces a file, never a FIFO, a socket or a
/// directory: each is refused with `NotAFile`, naming the path and what it is, and is still there
/// afterwards. (A device node is refused the same way; making one needs root.)
#[test]
fn replace_refuses_what_is_not_a_regular_file() {
    use std::os::unix::fs::FileTypeExt;

    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c_fifo = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
    let socket = dir.path().join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let config = RingConfig::new(4, 16);
    for (path, what) in [
        (&fifo, "a FIFO"),
        (&socket, "a socket"),
        (&sub, "a directory"),
    ] {
        for idle in [false, true] {
            let err = if idle {
                Ring::create_or_replace_idle(path, &config)
            } else {
                Ring::create_or_replace(path, &config)
            }
            .unwrap_err();
            assert!(
                matches!(&err, Error::NotAFile { path: p, what: w } if p == path && *w == what),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(
                message.contains(path.to_str().unwrap()) && message.contains(what),
                "{message}"
            );
        }
    }
    let kind = |p: &Path| std::fs::symlink_metadata(p).unwrap().file_type();
    assert!(kind(&fifo).is_fifo(), "the FIFO is still there");
    assert!(kind(&socket).is_socket(), "the socket is still there");
    assert!(kind(&sub).is_dir(), "the directory is still there");
    // Nothing was left beside them (no temporary ring).
    assert_eq!(names(dir.path()), ["fifo", "socket", "sub"]);
}

/// A replace at a symlink replaces the link (the rename puts the new ring in the link's place),
/// never the ring the link points to: that ring keeps its name, is not marked replaced, its
/// participants run on, and `_idle` does not count them as users of the path.
#[test]
fn a_replace_at_a_symlink_leaves_the_ring_it_pointed_to_alone() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let link = dir.path().join("link");
    let config = RingConfig::new(4, 16);
    let ring = Ring::create(&real, &config).unwrap();
    let mut consumer = ring.consumer().unwrap();
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    for idle in [false, true] {
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let new = if idle {
            Ring::create_or_replace_idle(&link, &config)
        } else {
            Ring::create_or_replace(&link, &config)
        }
        .unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_file(),
            "the link was replaced by the new ring"
        );
        assert_eq!(new.replaced_by(), None);
        assert_eq!(
            ring.replaced_by(),
            None,
            "the ring behind the link is not replaced"
        );
        assert_eq!(
            Ring::open(&real).unwrap().header().epoch,
            ring.header().epoch,
            "the ring behind the link still opens at its own name"
        );
        producer.push(b"still here").unwrap();
        assert_eq!(consumer.poll().unwrap().unwrap().payload(), b"still here");
        std::fs::remove_file(&link).unwrap();
    }
    assert_eq!(names(dir.path()), ["real"]);
}

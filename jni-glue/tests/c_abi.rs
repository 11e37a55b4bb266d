//! The C ABI from outside Rust: a C program (built here with the system's `cc` against
//! `include/ringflow.h`) and a Python `ctypes` consumer read frames a Rust producer writes, and
//! verify every byte (and the C program checks the error paths, stale handles among them); a
//! second C program and a second Python script block readers and check that `rf_ring_wake` and
//! `rf_ring_close` release them. A third C program and a third Python script are producers
//! (`rf_producer_*`): the Rust test process reads and verifies every frame they write, and the C
//! program checks the producer's refusals.
//!
//! Needs `cc` and `python3` on the PATH (both are in the set-up README.md lists).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ringflow::{pattern, ProducerOptions, Ring, RingConfig};

/// `target/<profile>`, where cargo put `libringflow_jni.so` for this test run.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// `libringflow_jni.so`, built now: `cargo test` links integration tests against the rlib and
/// does not build the cdylib, so this asks cargo for it (once per test run, same profile and
/// target directory).
fn library() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = target_dir();
            let mut cargo = Command::new(env!("CARGO"));
            cargo
                .args(["build", "--lib", "-p", "ringflow-jni", "--target-dir"])
                .arg(dir.parent().unwrap());
            if dir.file_name().is_some_and(|p| p == "release") {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("running cargo to build the cdylib");
            assert!(status.success(), "cargo build -p ringflow-jni failed");
            let lib = dir.join("libringflow_jni.so");
            assert!(lib.exists(), "{} was not built", lib.display());
            lib
        })
        .clone()
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds tests/c/consumer.c; returns the program.
fn build_c_consumer(dir: &Path) -> PathBuf {
    build_c(dir, "consumer")
}

/// `python3 tests/python/SCRIPT`, writing no bytecode: the scripts import `rf.py` beside them,
/// and a `__pycache__` would be left in the source tree.
fn python(script: &str) -> Command {
    let mut command = Command::new("python3");
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(manifest_dir().join("tests/python").join(script));
    command
}

/// Builds tests/c/`name`.c; returns the program.
fn build_c(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let source = format!("tests/c/{name}.c");
    let lib_dir = library().parent().unwrap().to_path_buf();
    let status = Command::new("cc")
        .args([
            "-std=c11",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-D_POSIX_C_SOURCE=200809L",
        ])
        .arg("-I")
        .arg(manifest_dir().join("include"))
        .arg(manifest_dir().join(&source))
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lringflow_jni", "-lpthread", "-o"])
        .arg(&out)
        .status()
        .expect("running cc (a C compiler is needed for this test)");
    assert!(status.success(), "cc failed to build {source}");
    out
}

/// Runs `command` to its end, at most `limit` (then kills it and fails: a call that is never
/// released must fail the test, not hang it); returns its stdout. Fails if it did not exit 0.
fn run_bounded(mut command: Command, dir: &Path, limit: Duration) -> String {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = command
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("starting the test program");
    let until = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > until {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read_to_string(&out).unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    match status {
        Some(s) if s.success() => stdout,
        Some(s) => panic!("{command:?} failed ({s}):\n{stdout}{stderr}"),
        None => panic!("{command:?} still ran after {limit:?}, killed:\n{stdout}{stderr}"),
    }
}

/// How long a blocked-call program may run: its calls are released within a second each, so
/// this is only the bound on a broken build's hang.
const BLOCKED_LIMIT: Duration = Duration::from_secs(60);

/// Waits for the child's "registered" line, then writes `frames` pattern frames into `ring` and
/// detaches (the ring closes); returns the child's last line of output.
fn produce_to(mut child: Child, ring: &Ring, frames: u64, size: usize) -> String {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("the consumer said nothing").unwrap();
    assert_eq!(first, "registered");
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    let mut buf = vec![0u8; size];
    for seq in 0..frames {
        pattern::fill(&mut buf, 0, seq);
        producer.push(&buf).unwrap();
    }
    drop(producer); // the last producer detaches: the consumer reads to the end, then Closed
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the consumer failed: {status}; said {rest:?}"
    );
    rest.last().cloned().unwrap_or_default()
}

#[test]
fn a_c_program_drives_the_whole_abi_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let program = build_c_consumer(dir.path());
    let out = Command::new(&program)
        .arg("self")
        .arg(dir.path().join("ring"))
        .args(["200000", "64"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok self 200000 frames"), "{stdout}");
}

#[test]
fn a_c_consumer_reads_every_frame_a_rust_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let program = build_c_consumer(dir.path());
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(256, 100)).unwrap();
    let child = Command::new(&program)
        .arg("open")
        .arg(&path)
        .arg("300000")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let last = produce_to(child, &ring, 300_000, 100);
    assert_eq!(last, "ok open 300000 frames");
}

#[test]
fn a_python_ctypes_consumer_reads_every_frame_a_rust_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(64, 48)).unwrap();
    let child = python("consumer.py")
        .arg(library())
        .arg(&path)
        .arg("20000")
        .stdout(Stdio::piped())
        .spawn()
        .expect("running python3 (needed for this test)");
    let last = produce_to(child, &ring, 20_000, 48);
    assert_eq!(last, "ok python 20000 frames");
}

#[test]
fn c_calls_blocked_on_a_ring_are_released_by_wake_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let program = build_c(dir.path(), "blocked");
    let mut command = Command::new(&program);
    command.arg(dir.path().join("ring"));
    let stdout = run_bounded(command, dir.path(), BLOCKED_LIMIT);
    print!("{stdout}");
    assert!(stdout.ends_with("ok blocked\n"), "{stdout}");
}

#[test]
fn python_calls_blocked_on_a_ring_are_released_by_wake_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = python("blocked.py");
    command.arg(library()).arg(dir.path().join("ring"));
    let stdout = run_bounded(command, dir.path(), BLOCKED_LIMIT);
    print!("{stdout}");
    assert!(stdout.ends_with("ok python blocked\n"), "{stdout}");
}

/// What `ringflow.h` gives a C program, as the C compiler sees it, is what the Rust side has:
/// every `RF_*` status and policy the header defines (by name and value), and the size, alignment and field
/// offsets of `rf_frame` and `rf_cobject` against the `#[repr(C)]` structs.
#[test]
fn the_c_compiler_sees_the_values_and_layouts_rust_has() {
    use ringflow_jni::capi::{policies, statuses, RfCObject, RfFrame, RfSlot};
    use std::mem::{align_of, offset_of, size_of};

    let dir = tempfile::tempdir().unwrap();
    let program = build_c(dir.path(), "layout");
    let out = run_bounded(Command::new(&program), dir.path(), Duration::from_secs(30));
    let seen: Vec<(String, i64)> = out
        .lines()
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_string(), value.parse().unwrap())
        })
        .collect();
    let mut expected: Vec<(String, i64)> = statuses()
        .iter()
        .chain(policies())
        .map(|&(name, v)| (name.to_string(), i64::from(v)))
        .collect();
    let shapes = [
        ("sizeof rf_frame", size_of::<RfFrame>()),
        ("alignof rf_frame", align_of::<RfFrame>()),
        ("offsetof rf_frame.seq", offset_of!(RfFrame, seq)),
        (
            "offsetof rf_frame.timestamp_ns",
            offset_of!(RfFrame, timestamp_ns),
        ),
        (
            "offsetof rf_frame.lost_before",
            offset_of!(RfFrame, lost_before),
        ),
        ("offsetof rf_frame.data", offset_of!(RfFrame, data)),
        ("offsetof rf_frame.len", offset_of!(RfFrame, len)),
        ("offsetof rf_frame.kind", offset_of!(RfFrame, kind)),
        ("sizeof rf_cobject", size_of::<RfCObject>()),
        ("alignof rf_cobject", align_of::<RfCObject>()),
        ("offsetof rf_cobject.kind", offset_of!(RfCObject, kind)),
        (
            "offsetof rf_cobject.as_string",
            offset_of!(RfCObject, as_string),
        ),
        ("sizeof rf_slot", size_of::<RfSlot>()),
        ("alignof rf_slot", align_of::<RfSlot>()),
        ("offsetof rf_slot.seq", offset_of!(RfSlot, seq)),
        ("offsetof rf_slot.data", offset_of!(RfSlot, data)),
        ("offsetof rf_slot.capacity", offset_of!(RfSlot, capacity)),
    ];
    expected.extend(shapes.iter().map(|&(n, v)| (n.to_string(), v as i64)));
    assert_eq!(
        seen, expected,
        "the C program's view (left) differs from Rust's (right)"
    );

    // Every status and policy the header defines is one the program printed: one added to the
    // header and not to tests/c/layout.c (and `capi::statuses` or `capi::policies`) fails here.
    let header = std::fs::read_to_string(manifest_dir().join("include/ringflow.h")).unwrap();
    let defined: Vec<&str> = header
        .lines()
        .filter_map(|l| l.strip_prefix("#define RF_"))
        .map(|rest| rest.split_whitespace().next().unwrap())
        .collect();
    let printed: Vec<String> = seen
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("RF_").map(String::from))
        .collect();
    assert_eq!(
        defined, printed,
        "statuses in ringflow.h vs tests/c/layout.c"
    );
}

/// The fenced block after `marker` in docs/BINDINGS.md.
fn doc_block(doc: &str, marker: &str) -> String {
    let at = doc
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in BINDINGS.md"));
    let open = at + doc[at..].find("```").unwrap();
    let body = open + doc[open..].find('\n').unwrap() + 1;
    let close = body + doc[body..].find("```").unwrap();
    doc[body..close].to_string()
}

/// BINDINGS.md's C program, built with its `cc` line exactly as written (run where the
/// repository's `jni-glue/include` and `target/release` are, here through links to them), runs
/// without `LD_LIBRARY_PATH` and reads every frame.
#[test]
fn the_c_program_in_bindings_md_builds_as_written_and_runs() {
    let doc = std::fs::read_to_string(manifest_dir().join("../docs/BINDINGS.md")).unwrap();
    let program = doc_block(&doc, "A whole program, `app.c`");
    let build = doc_block(&doc, "Build it from the repository root");
    let cc_line = build
        .lines()
        .find(|l| l.starts_with("cc "))
        .expect("a cc line");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.c"), program).unwrap();
    std::fs::create_dir(dir.path().join("jni-glue")).unwrap();
    std::os::unix::fs::symlink(
        manifest_dir().join("include"),
        dir.path().join("jni-glue/include"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("target")).unwrap();
    std::os::unix::fs::symlink(
        library().parent().unwrap(),
        dir.path().join("target/release"),
    )
    .unwrap();
    let status = Command::new("sh")
        .args(["-c", cc_line])
        .current_dir(dir.path())
        .env("PWD", dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "{cc_line}");

    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(64, 32)).unwrap();
    let mut app = Command::new(dir.path().join("app"));
    app.arg(&path).env_remove("LD_LIBRARY_PATH");
    let child = app.stdout(Stdio::piped()).spawn().unwrap();
    // The program registers, then reads until the ring closes: wait for its consumer first.
    let deadline = Instant::now() + Duration::from_secs(30);
    while ring.stats().consumers.is_empty() {
        assert!(Instant::now() < deadline, "the C program never registered");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut producer = ring.producer(ProducerOptions::default()).unwrap();
    for _ in 0..1000 {
        producer.push(&[7u8; 32]).unwrap();
    }
    drop(producer);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "read 1000 frames, 32000 bytes\n"
    );
}

/// What `tests/c/producer.c` and `tests/python/producer.py` write: frame `i` of writer `tag` is
/// a pattern frame (`pattern::check` gives back `(tag, i)`) of `16 + i % (capacity - 15)` bytes
/// and kind `i * 7 + tag`.
fn expected_frame(i: u64, tag: u32, capacity: usize) -> (usize, u16) {
    (
        16 + (i % (capacity as u64 - 15)) as usize,
        (i.wrapping_mul(7).wrapping_add(u64::from(tag))) as u16,
    )
}

/// Reads `consumer` until its ring closes, and checks every frame against what `writers` (tags)
/// wrote, `frames` each, in order per writer, none lost, torn or duplicated. `in_ring_order`: a
/// single writer, whose frame `i` is the ring's sequence `i` (the skip frames of a batch
/// committed short come only after its last frame). Returns the frames read.
fn verify_written(
    consumer: &mut ringflow::Consumer,
    writers: &[u32],
    frames: u64,
    capacity: usize,
    in_ring_order: bool,
) -> u64 {
    let mut next: std::collections::HashMap<u32, u64> = writers.iter().map(|&t| (t, 0)).collect();
    let mut read = 0u64;
    loop {
        let frame = match consumer.recv(Some(Duration::from_secs(60))) {
            Ok(frame) => frame,
            Err(ringflow::RecvError::Closed) => break,
            Err(e) => panic!("after {read} frames: {e}"),
        };
        let (tag, i) = pattern::check(frame.payload()).unwrap_or_else(|| {
            panic!("frame {} (read {read}) is not a pattern frame", frame.seq())
        });
        let expected = next
            .get_mut(&tag)
            .unwrap_or_else(|| panic!("frame {} from unknown writer {tag}", frame.seq()));
        assert_eq!(
            i, *expected,
            "writer {tag}: frame {i} where {expected} was next"
        );
        assert_eq!(
            (frame.payload().len(), frame.kind()),
            expected_frame(i, tag, capacity),
            "writer {tag} frame {i}: length and kind"
        );
        if in_ring_order {
            assert_eq!(frame.seq(), i, "ring sequence of writer {tag}'s frame {i}");
        }
        *expected += 1;
        read += 1;
    }
    for (tag, n) in next {
        assert_eq!(n, frames, "writer {tag} delivered {n} of {frames} frames");
    }
    read
}

/// Runs `command` (a writer of `frames` frames) against `consumer`, verifying what it wrote as
/// it comes; fails if the writer fails or says anything but its `ok` line.
fn writer_to(
    mut command: Command,
    consumer: &mut ringflow::Consumer,
    tag: u32,
    frames: u64,
    capacity: usize,
    ok: &str,
) {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the writer");
    let read = verify_written(consumer, &[tag], frames, capacity, true);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), ok);
    assert_eq!(read, frames);
}

#[test]
fn a_c_producer_writes_every_frame_a_rust_consumer_reads_in_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let program = build_c(dir.path(), "producer");
    // One claim and commit per frame, then batches of 16 (the last one committed short).
    for (frames, batch) in [(100_000u64, 1usize), (100_003, 16)] {
        let path = dir.path().join(format!("ring-{batch}"));
        let ring = Ring::create(&path, &RingConfig::new(64, 100)).unwrap();
        let mut consumer = ring.consumer().unwrap();
        let mut command = Command::new(&program);
        command
            .arg("write")
            .arg(&path)
            .args([frames.to_string(), batch.to_string(), "0".into()]);
        let ok = format!("ok wrote {frames} frames");
        writer_to(command, &mut consumer, 0, frames, 100, &ok);
    }
}

#[test]
fn two_c_producers_share_a_multi_producer_ring() {
    let dir = tempfile::tempdir().unwrap();
    let program = build_c(dir.path(), "producer");
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(64, 64).multi_producer(true)).unwrap();
    let mut consumer = ring.consumer().unwrap();
    // Attached for the whole run, writing nothing: the ring must not close between the writers
    // (it closes when the last producer detaches).
    let keep_open = ring.producer(ProducerOptions::default()).unwrap();
    let frames = 50_000u64;
    let children: Vec<Child> = [(1u32, 1usize), (2, 8)]
        .iter()
        .map(|(tag, batch)| {
            Command::new(&program)
                .arg("write")
                .arg(&path)
                .args([frames.to_string(), batch.to_string(), tag.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let reader =
        std::thread::spawn(move || verify_written(&mut consumer, &[1, 2], frames, 64, false));
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim_end(),
            format!("ok wrote {frames} frames")
        );
    }
    drop(keep_open); // the last producer: the ring closes
    assert_eq!(reader.join().unwrap(), 2 * frames);
}

#[test]
fn the_c_producer_refuses_misuse_with_typed_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let program = build_c(dir.path(), "producer");
    let mut command = Command::new(&program);
    command.arg("misuse").arg(dir.path().join("ring"));
    let stdout = run_bounded(command, dir.path(), BLOCKED_LIMIT);
    assert_eq!(stdout, "ok misuse\n");
}

#[test]
fn a_python_ctypes_producer_writes_every_frame_a_rust_consumer_reads() {
    let dir = tempfile::tempdir().unwrap();
    for (frames, batch) in [(5_000u64, 1usize), (20_001, 8)] {
        let path = dir.path().join(format!("ring-{batch}"));
        let ring = Ring::create(&path, &RingConfig::new(64, 48)).unwrap();
        let mut consumer = ring.consumer().unwrap();
        let mut command = python("producer.py");
        command
            .arg(library())
            .arg(&path)
            .args([frames.to_string(), batch.to_string(), "5".into()]);
        let ok = format!("ok python wrote {frames} frames");
        writer_to(command, &mut consumer, 5, frames, 48, &ok);
    }
}

//! Bad invocations of `ringflow`: each gets exactly one line on stderr, naming what the user typed,
//! and the documented exit code (2: bad usage or bad input); `--help` is still the full help.

mod common;

use common::{ringflow, wait_until, Running};

/// Runs `args` and checks: the exit code, exactly one stderr line, which contains `mentions`, and
/// nothing on stdout.
fn one_line(args: &[&str], code: i32, mentions: &str) {
    let out = ringflow(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: one line wanted, got {stderr:?}"
    );
    assert!(
        stderr.contains(mentions),
        "{args:?}: {stderr:?} should mention {mentions:?}"
    );
    assert!(
        out.stdout.is_empty(),
        "{args:?}: stdout {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn every_bad_invocation_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (ring, garbage, new, audio) = (p("ring"), p("garbage"), p("new"), p("audio"));
    std::fs::write(&garbage, vec![0x5a; 4096]).unwrap();
    assert_eq!(
        ringflow(&["create", &ring, "--slots", "64"]).status.code(),
        Some(0)
    );
    assert_eq!(
        ringflow(&["create", &audio, "--schema", "audio", "--slots", "64"])
            .status
            .code(),
        Some(0)
    );
    let d = dir.path().to_str().unwrap();
    #[rustfmt::skip]
    let table: &[(&[&str], &str)] = &[
        (&[], "a command is needed"),
        (&["frobnicate"], "frobnicate"),
        (&["create"], "<PATH>"),
        (&["produce", &ring, "--bogus"], "--bogus"),
        (&["produce", &ring, "--polcy", "fail"], "did you mean --policy"),
        (&["produce", &ring, "--policy", "sometimes"], "one of: block, fail, overwrite"),
        (&["create", &new, "--slots", "abc"], "--slots"),
        (&["create", &new, "--slots", "-4"], "--slots -4: must not be negative"),
        (&["create", &new, "--schema", "audio", "--frame-ms", "1e9"], "--frame-ms 1000000000: gives 48000000000 samples per frame at 48000 Hz; a frame holds 1 ..="),
        (&["create", &new, "--schema", "audio", "--frame-ms", "0.001"], "gives 0 samples per frame"),
        (&["produce", &ring, "--frames", "-1"], "--frames -1: must not be negative"),
        (&["consume", &ring, "--from", "-5"], "--from -5: must not be negative"),
        (&["inspect", &ring, "--interval", "-0.5"], "--interval -0.5: must not be negative"),
        (&["create", &new, "--slots", "1000"], "--slots 1000: must be a power of two"),
        (&["create", &new, "--consumers", "0"], "--consumers 0"),
        (&["create", &new, "--slot-size", "0"], "--slot-size 0"),
        (&["create", &new, "--slot-size", "1"], "--slot-size 1"),
        (&["create", &new, "--slots", "16777216", "--slot-size", "100000"], "below 2^31"),
        (&["create", &ring], "give --force to replace it"),
        (&["create", d], "is a directory"),
        (&["consume", &p("missing")], "missing"),
        (&["consume", &garbage], "not a ringflow region"),
        (&["inspect", &garbage], "magic"),
        (&["consume", &ring, "--timeout", "1e300"], "--timeout"),
        (&["bench", "--frame-size", "4"], "--frame-size"),
        // The schema is enforced before the first frame, and flags never reshape a ring.
        (&["produce", &audio, "--frames", "1"], "--source seq writes raw frames"),
        (&["produce", &audio, "--source", "telemetry", "--frames", "1"], "holds audio"),
        (&["produce", &ring, "--source", "telemetry", "--frames", "1"], "holds raw frames"),
        (&["produce", &ring, "--source", "audio", "--frames", "1"], "--source audio writes audio"),
        (&["produce", &new, "--schema", "audio", "--frames", "1"], "--schema audio: --source seq"),
        (&["produce", &ring, "--slots", "128", "--frames", "1"], "--slots 128 (it has 64)"),
        (&["produce", &ring, "--slot-size", "64", "--frames", "1"], "--slot-size 64 (it has 256)"),
        (&["produce", &ring, "--multi-producer", "--frames", "1"], "--multi-producer"),
        (&["produce", &audio, "--source", "audio", "--schema", "telemetry"], "--schema telemetry"),
    ];
    for (args, mentions) in table {
        one_line(args, 2, mentions);
    }
    assert!(
        !std::path::Path::new(&new).exists(),
        "no refused command left a file"
    );
    for r in [&ring, &audio] {
        let v = common::inspect(std::path::Path::new(r));
        assert_eq!(v["published"], 0, "a refused produce wrote nothing: {v}");
    }
}

#[test]
fn help_is_still_the_full_help() {
    for args in [&["--help"][..], &["create", "--help"]] {
        let out = ringflow(args);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.lines().count() > 5, "{text}");
        assert!(text.contains("Usage: ringflow"), "{text}");
    }
}

/// A second producer on a single-producer ring: one line naming the attached one, exit 2, no
/// summary of the nothing it wrote.
#[test]
fn a_second_producer_on_a_single_producer_ring_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    assert_eq!(
        ringflow(&["create", r, "--slots", "64"]).status.code(),
        Some(0)
    );
    let mut first = Running::spawn(&["produce", r, "--fps", "100"], &[]);
    wait_until("the first producer attached", || {
        common::inspect(&ring)["producers"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    });
    one_line(
        &["produce", r, "--frames", "1"],
        2,
        &format!("single-producer ring and process {}", first.id()),
    );
    assert!(first.is_running());
}

/// What a stranger points the command at instead of a ring: a directory, an empty file, a
/// truncated ring, a ring of another layout version, `/dev/null`, a FIFO. Each is one line and
/// exit 2, at once: nothing waits on a FIFO for a writer or reader that never comes, and
/// `create --force` never replaces a FIFO or a device.
#[test]
fn odd_files_are_one_line_and_exit_2_at_once() {
    use std::os::unix::fs::FileTypeExt;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (ring, empty, cut, v9, fifo, sub) = (
        p("ring"),
        p("empty"),
        p("cut"),
        p("v9"),
        p("fifo"),
        p("sub"),
    );
    assert_eq!(
        ringflow(&["create", &ring, "--slots", "16"]).status.code(),
        Some(0)
    );
    let bytes = std::fs::read(&ring).unwrap();
    std::fs::write(&empty, b"").unwrap();
    std::fs::write(&cut, &bytes[..1000]).unwrap();
    let mut other = bytes.clone();
    other[8..12].copy_from_slice(&9u32.to_le_bytes()); // the header's `version`
    std::fs::write(&v9, other).unwrap();
    std::fs::create_dir(&sub).unwrap();
    let c_fifo = std::ffi::CString::new(fifo.clone()).unwrap();
    // SAFETY: mkfifo(3) with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);

    // Bounded: a command that waits on the FIFO fails the test instead of hanging it.
    let within = |args: &[&str], mentions: &str| {
        let out = Running::spawn(args, &[]).finish(Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(
            stderr.contains(mentions),
            "{args:?}: {stderr:?} should mention {mentions:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    };
    let not_regular = "is not a regular file (a FIFO, socket or device)";
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        (&empty, "region is 0 bytes but 256 are required"),
        (&cut, "region is 1000 bytes but"),
        (&v9, "unsupported layout version 9"),
        (&fifo, not_regular),
        ("/dev/null", not_regular),
    ];
    for (path, mentions) in cases {
        for command in ["inspect", "consume", "produce"] {
            within(
                &[command, path, "--frames", "1"][..if command == "inspect" { 2 } else { 4 }],
                mentions,
            );
        }
    }
    within(&["inspect", &sub], "is a directory, not a ring file");
    within(&["rm", &sub], "is a directory, not a ring file");
    within(&["rm", &fifo], not_regular);
    within(&["create", &fifo, "--force"], not_regular);
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "still a FIFO"
    );
    within(
        &["consume", &ring, "--wav", &p("out.wav")],
        "--wav records an audio ring; ",
    );
    within(
        &["consume", &ring, "--wav", &p("out.wav")],
        "ring holds raw frames",
    );
    let audio = p("audio");
    assert_eq!(
        ringflow(&["create", &audio, "--schema", "audio", "--slots", "16"])
            .status
            .code(),
        Some(0)
    );
    within(
        &["consume", &audio, "--wav", &fifo, "--frames", "1"],
        "is a pipe or socket; a WAV recording",
    );
    within(&["list", &empty], "Not a directory");
}

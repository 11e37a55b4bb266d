//! `ringflow inspect`: the table, JSON and JSON Lines, liveness from the ring's locks, and a
//! read-only open.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use common::{inspect, ringflow, wait_until, Running};

/// A producer killed with SIGKILL shows as dead, its reader as alive, and the schema in words.
#[test]
fn the_table_names_the_schema_and_tells_dead_from_alive() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("audio");
    let r = ring.to_str().unwrap();
    let out = ringflow(&[
        "create",
        r,
        "--schema",
        "audio",
        "--slots",
        "64",
        "--overwritable",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let reader = Running::spawn(&["consume", r, "--policy", "lossy", "--timeout", "60"], &[]);
    wait_until("the reader registered", || {
        inspect(&ring)["consumers"]
            .as_array()
            .is_some_and(|c| c.len() == 1)
    });
    let producer = Running::spawn(
        &["produce", r, "--source", "audio", "--policy", "overwrite"],
        &[],
    );
    let pid = producer.id();
    wait_until("frames", || inspect(&ring)["published"].as_u64() >= Some(5));
    let v = inspect(&ring);
    assert_eq!(v["producers"][0]["alive"], true, "{v}");
    // A reader ends when it sees every producer dead; stopped, it stays registered and alive
    // (it still holds its lock) for the rest of the test. Dropping it sends SIGKILL. Stopped
    // means every thread: one still running when the producer dies unregisters it.
    reader.stop();
    producer.kill();
    let v = inspect(&ring);
    assert_eq!(
        (
            v["producers"][0]["pid"].as_u64(),
            &v["producers"][0]["alive"]
        ),
        (Some(u64::from(pid)), &serde_json::Value::from(false)),
        "{v}"
    );
    assert!(v["producers"][0]["heartbeat_age_s"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["header"]["schema"]["format"], "f32");
    let out = ringflow(&["inspect", r]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("audio (48000 Hz, 2 channels, f32, 480 samples per frame = 10 ms)"),
        "{table}"
    );
    let producer_row = format!("{pid}   dead");
    assert!(table.contains(&producer_row), "{table}");
    assert!(table.contains("every producer dead"), "{table}");
    assert!(table.contains("lossy"), "{table}");
    assert!(table.contains(" alive "), "{table}");
}

/// A ring file nobody may write (mode 0444; as root, inspected as user `nobody`, for whom
/// 0644 would do too): inspect reads it.
#[test]
fn inspect_needs_only_read_access() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    assert_eq!(
        ringflow(&["create", r, "--slots", "64"]).status.code(),
        Some(0)
    );
    assert_eq!(
        ringflow(&["produce", r, "--frames", "7"]).status.code(),
        Some(0)
    );
    std::fs::set_permissions(&ring, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringflow"));
    c.args(["inspect", r, "--json"]);
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        // Root may write any file: look as an unprivileged user instead.
        c.uid(65534).gid(65534);
    }
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(common::last_json(&out.stdout)["published"], 7);
    // And a writer is still refused there (the file is read-only to it too).
    if !root {
        assert_ne!(
            ringflow(&["produce", r, "--frames", "1"]).status.code(),
            Some(0)
        );
    }
}

/// `--watch --json`: one JSON object per refresh, every `--interval`, until a signal.
#[test]
fn watch_json_prints_json_lines_until_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    assert_eq!(
        ringflow(&["create", r, "--slots", "64"]).status.code(),
        Some(0)
    );
    let mut watch = Running::spawn(
        &["inspect", r, "--watch", "--json", "--interval", "0.05"],
        &[],
    );
    // Two refreshes printed, then the signal: its handler is installed before the first one (a
    // fixed sleep instead let a slow start take SIGTERM unhandled, or print fewer than two).
    let mut stdout = std::io::BufReader::new(watch.take_stdout());
    let mut text = String::new();
    for _ in 0..2 {
        assert!(
            std::io::BufRead::read_line(&mut stdout, &mut text).unwrap() > 0,
            "{text}"
        );
    }
    watch.signal("TERM");
    std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
    let out = watch.finish(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2, "{text}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["header"]["slot_count"], 64);
        assert_eq!(v["published"], 0);
    }
}

/// `create --no-timestamps` makes 16-byte slot descriptors (layout version 5), which inspect
/// reports, and a flag that would change an existing ring is refused; the consumer table has a
/// per-reader `wakes` column, which a reader that waited for frames raises.
#[test]
fn a_ring_without_timestamps_and_the_readers_wakes() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("lean");
    let r = ring.to_str().unwrap();
    let out = ringflow(&["create", r, "--slots", "64", "--no-timestamps"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = inspect(&ring);
    assert_eq!(v["header"]["timestamps"], false, "{v}");
    assert_eq!(v["header"]["desc_stride"], 16, "{v}");
    // A timestamped ring's descriptors are twice as large.
    let stamped = dir.path().join("stamped");
    let s = stamped.to_str().unwrap();
    assert_eq!(
        ringflow(&["create", s, "--slots", "64"]).status.code(),
        Some(0)
    );
    assert_eq!(inspect(&stamped)["header"]["desc_stride"], 32);
    let out = ringflow(&["produce", s, "--no-timestamps", "--frames", "1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--no-timestamps"),
        "{out:?}"
    );
    // A reader that waits (nothing is produced for a while) sleeps and counts it.
    let _reader = Running::spawn(&["consume", r, "--timeout", "60"], &[]);
    wait_until("the reader slept", || {
        inspect(&ring)["consumers"][0]["wakes"].as_u64() >= Some(1)
    });
    let table = String::from_utf8_lossy(&ringflow(&["inspect", r]).stdout).into_owned();
    assert!(table.contains("wakes"), "{table}");
    assert!(!table.contains("timestamps"), "{table}");
    assert!(
        String::from_utf8_lossy(&ringflow(&["inspect", s]).stdout).contains(", timestamps"),
        "the timestamped ring says so"
    );
}

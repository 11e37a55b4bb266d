//! The `ringflow` command, driven exactly as the contract says: exit codes, JSON summaries, and
//! `produce | consume --verify` across two processes for each source and policy.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ringflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringflow"))
        .args(args)
        .output()
        .expect("run ringflow")
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ringflow"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ringflow")
}

/// The JSON object on the last line of stdout.
fn last_json(out: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(out);
    let line = text.lines().last().unwrap_or_else(|| panic!("no output"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// Waits for a child, killing it (and failing) if it outlives `limit`: a guard, not a timing.
fn finish(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!(
                "ringflow still running after {limit:?}: {:?}",
                child.wait_with_output().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

fn consumers(path: &Path) -> usize {
    let out = ringflow(&["inspect", path.to_str().unwrap(), "--json"]);
    last_json(&out.stdout)["consumers"]
        .as_array()
        .map_or(0, Vec::len)
}

fn wait_for_consumers(path: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumers(path) < n {
        assert!(Instant::now() < deadline, "no consumer registered");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn assert_usage_error(args: &[&str], mentions: &str) {
    let out = ringflow(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(mentions),
        "{args:?}: {stderr:?} should mention {mentions:?}"
    );
    assert!(!stderr.trim().is_empty());
}

#[test]
fn bad_usage_and_bad_input_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (ring, garbage) = (p("ring"), p("garbage"));
    std::fs::write(&garbage, vec![0x5a; 4096]).unwrap();
    assert_eq!(
        ringflow(&["create", &ring, "--slots", "64"]).status.code(),
        Some(0)
    );
    assert_usage_error(&["produce", &ring, "--bogus"], "--bogus");
    assert_usage_error(&["frobnicate"], "frobnicate");
    assert_usage_error(&["consume", &p("missing")], "missing");
    assert_usage_error(&["consume", &garbage], "not a ringflow region");
    assert_usage_error(&["inspect", &garbage], "magic");
    assert_usage_error(&["create", &p("odd"), "--slots", "1000"], "--slots 1000");
    assert_usage_error(&["create", &ring], "already exists");
    assert_usage_error(
        &["produce", &ring, "--producers", "2", "--frames", "1"],
        "single-producer",
    );
    assert_usage_error(&["produce", &ring, "--fps=-5", "--frames", "1"], "--fps");
    assert_usage_error(&["produce", &ring, "--wav", "x.wav"], "--source audio");
    assert_usage_error(
        &["produce", &ring, "--source", "audio", "--frames", "1"],
        "--source audio writes audio frames",
    );
    assert_usage_error(
        &["consume", &ring, "--wav", &p("out.wav"), "--frames", "1"],
        "audio ring",
    );
    assert_usage_error(&["produce", &ring, "--policy", "sometimes"], "sometimes");
    // Finite but beyond any Duration: refused, not a panic.
    assert_usage_error(&["consume", &ring, "--timeout", "1e300"], "--timeout");
    assert_usage_error(&["bench", "--frame-size", "4"], "--frame-size");
    // --force replaces.
    assert_eq!(
        ringflow(&["create", &ring, "--force", "--slots", "128"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn a_timeout_is_a_job_failure() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let ring = ring.to_str().unwrap();
    ringflow(&["create", ring, "--slots", "64"]);
    let out = ringflow(&[
        "consume",
        ring,
        "--frames",
        "1",
        "--timeout",
        "0.2",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(last_json(&out.stdout)["end"], "timeout");
}

/// One producer process and one consumer process, seq frames, every policy; the consumer
/// verifies every byte.
#[test]
fn seq_frames_cross_processes_verified_for_every_policy() {
    for (policy, delivery) in [
        ("block", "lossless"),
        ("fail", "lossless"),
        ("overwrite", "lossy"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ring = dir.path().join("ring");
        let r = ring.to_str().unwrap();
        ringflow(&[
            "create",
            r,
            "--slots",
            "256",
            "--slot-size",
            "128",
            overwritable_if(policy),
        ]);
        let consumer = spawn(&[
            "consume",
            r,
            "--policy",
            delivery,
            "--verify",
            "--timeout",
            "30",
            "--json",
        ]);
        wait_for_consumers(&ring, 1);
        let out = ringflow(&[
            "produce", r, "--frames", "300000", "--policy", policy, "--json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{policy}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let produced = last_json(&out.stdout);
        for key in [
            "frames",
            "bytes",
            "dropped",
            "generated",
            "elapsed_s",
            "frames_per_s",
        ] {
            assert!(produced[key].is_number(), "{key}");
        }
        // `fail` drops what the full ring refused (none under `block` or `overwrite`).
        let (sent, dropped) = (
            produced["frames"].as_u64().unwrap(),
            produced["dropped"].as_u64().unwrap(),
        );
        assert_eq!(
            (sent + dropped, produced["generated"].as_u64()),
            (300_000, Some(300_000))
        );
        if policy != "fail" {
            assert_eq!(dropped, 0, "{policy}");
        }
        let out = finish(consumer, Duration::from_secs(60));
        let got = last_json(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{policy}: {got}");
        assert_eq!(got["verified"], true, "{policy}: {got}");
        assert_eq!(got["end"], "closed");
        for key in ["corrupt", "duplicated", "reordered"] {
            assert_eq!(got[key], 0, "{policy} {key}: {got}");
        }
        // A lossy reader's loss count is exact: what it read plus what it lost is everything
        // the ring took.
        let (frames, lost) = (
            got["frames"].as_u64().unwrap(),
            got["lost"].as_u64().unwrap(),
        );
        assert_eq!(frames + lost, sent, "{policy}: {got}");
        assert_eq!(got["dropped_by_producers"], dropped, "{policy}: {got}");
        if delivery == "lossless" {
            assert_eq!(lost, 0);
        }
        for key in ["p50", "p99", "max"] {
            assert!(got["latency_ns"][key].is_u64(), "{key}");
        }
    }
}

/// Sends SIGSTOP to a process, and SIGCONT when dropped (also when a test fails), so a stopped
/// reader is never left behind.
struct Stopped(i32);

impl Stopped {
    fn new(child: &Child) -> Stopped {
        let pid = child.id() as i32;
        // SAFETY: kill(2) on a child this test started and has not reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

/// `--policy fail` drops what the ring refused: with a lossless reader stopped (SIGSTOP) while a
/// paced producer writes, frames are dropped, `frames + dropped == generated == --frames` (in the
/// JSON and in words), the ring's own `dropped` agrees, and the reader, continued, delivers exactly the frames the ring
/// took, every one verified, the drops showing as gaps no reader lost.
#[test]
fn a_failing_producer_drops_what_a_slow_reader_leaves_no_room_for() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    let out = ringflow(&["create", r, "--slots", "16", "--slot-size", "64"]);
    assert_eq!(out.status.code(), Some(0));
    let consumer = spawn(&["consume", r, "--verify", "--timeout", "30", "--json"]);
    wait_for_consumers(&ring, 1);
    let producer = {
        let stopped = Stopped::new(&consumer);
        let producer = spawn(&[
            "produce", r, "--frames", "600", "--fps", "2000", "--policy", "fail",
        ]);
        // Stopped until the ring has refused frames: then some surely were dropped.
        let deadline = Instant::now() + Duration::from_secs(30);
        while last_json(&ringflow(&["inspect", r, "--json"]).stdout)["dropped"] == 0 {
            assert!(Instant::now() < deadline, "nothing dropped");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(stopped);
        producer
    };
    let out = finish(producer, Duration::from_secs(60));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let produced = last_json(&out.stdout);
    let (sent, dropped) = (
        produced["frames"].as_u64().unwrap(),
        produced["dropped"].as_u64().unwrap(),
    );
    assert_eq!(sent + dropped, 600, "{produced}");
    assert_eq!(produced["generated"], 600, "{produced}");
    assert!(dropped > 0 && sent >= 16, "{produced}");
    // The human summary says it in words too (its last line is the same JSON).
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "dropped {dropped} of 600 frames (the ring was full"
        )),
        "{text}"
    );
    let ring_view = last_json(&ringflow(&["inspect", r, "--json"]).stdout);
    assert_eq!(ring_view["dropped"], dropped, "{ring_view}");
    let got = last_json(&finish(consumer, Duration::from_secs(60)).stdout);
    assert_eq!(got["end"], "closed", "{got}");
    assert_eq!(got["frames"], sent, "nothing lost silently: {got}");
    assert_eq!(
        (got["lost"].as_u64(), got["verified"].as_bool()),
        (Some(0), Some(true)),
        "{got}"
    );
    assert_eq!(got["dropped_by_producers"], dropped, "{got}");
    assert!(got["gaps"].as_u64().unwrap() <= dropped, "{got}");
}

#[test]
fn several_producers_into_one_ring_verified() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    ringflow(&["create", r, "--slots", "512", "--multi-producer"]);
    let consumer = spawn(&["consume", r, "--verify", "--timeout", "30", "--json"]);
    wait_for_consumers(&ring, 1);
    let out = ringflow(&[
        "produce",
        r,
        "--frames",
        "200000",
        "--producers",
        "3",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(last_json(&out.stdout)["frames"], 200_000);
    let got = last_json(&finish(consumer, Duration::from_secs(60)).stdout);
    assert_eq!(
        (got["frames"].as_u64(), got["verified"].as_bool()),
        (Some(200_000), Some(true)),
        "{got}"
    );
}

/// Audio through every policy into a WAV file (paced 20x faster than real time to keep the test
/// short): a lossless reader of a blocking or failing producer gets every frame; a lossy reader
/// of an overwriting one gets frames plus exact losses.
#[test]
fn audio_cross_processes_into_a_wav_file_for_every_policy() {
    for (policy, delivery) in [
        ("block", "lossless"),
        ("fail", "lossless"),
        ("overwrite", "lossy"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ring = dir.path().join("audio");
        let wav = dir.path().join("out.wav");
        let r = ring.to_str().unwrap();
        let out = ringflow(&[
            "create",
            r,
            "--schema",
            "audio",
            "--slots",
            "64",
            overwritable_if(policy),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let consumer = spawn(&[
            "consume",
            r,
            "--policy",
            delivery,
            "--wav",
            wav.to_str().unwrap(),
            "--timeout",
            "30",
            "--json",
        ]);
        wait_for_consumers(&ring, 1);
        let out = ringflow(&[
            "produce", r, "--source", "audio", "--frames", "200", "--fps", "2000", "--policy",
            policy, "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{policy}");
        let produced = last_json(&out.stdout);
        let sent = produced["frames"].as_u64().unwrap();
        assert_eq!(
            sent + produced["dropped"].as_u64().unwrap(),
            200,
            "{produced}"
        );
        let got = last_json(&finish(consumer, Duration::from_secs(60)).stdout);
        let (frames, lost) = (
            got["frames"].as_u64().unwrap(),
            got["lost"].as_u64().unwrap(),
        );
        assert_eq!(frames + lost, sent, "{policy}: {got}");
        if delivery == "lossless" {
            assert_eq!(lost, 0, "{policy}: {got}");
        }
        let reader = hound::WavReader::open(&wav).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.sample_format),
            (48_000, 2, hound::SampleFormat::Float)
        );
        assert_eq!(u64::from(reader.duration()), frames * 480, "{policy}");
    }
}

/// Telemetry through every policy into JSON Lines: events decoded, ticks in order, and every tick
/// the ring took present for a lossless reader (a frame the ring refused under `fail` is a
/// dropped tick, counted in the producer's `dropped`).
#[test]
fn telemetry_cross_processes_into_json_lines_for_every_policy() {
    for (policy, delivery) in [
        ("block", "lossless"),
        ("fail", "lossless"),
        ("overwrite", "lossy"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ring = dir.path().join("telemetry");
        let jsonl = dir.path().join("events.jsonl");
        let r = ring.to_str().unwrap();
        ringflow(&[
            "create",
            r,
            "--schema",
            "telemetry",
            "--slots",
            "256",
            overwritable_if(policy),
        ]);
        let consumer = spawn(&[
            "consume",
            r,
            "--policy",
            delivery,
            "--jsonl",
            jsonl.to_str().unwrap(),
            "--timeout",
            "30",
            "--json",
        ]);
        wait_for_consumers(&ring, 1);
        let out = ringflow(&[
            "produce",
            r,
            "--source",
            "telemetry",
            "--frames",
            "2000",
            "--fps",
            "20000",
            "--policy",
            policy,
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{policy}");
        let produced = last_json(&out.stdout);
        let (sent, dropped) = (
            produced["frames"].as_u64().unwrap(),
            produced["dropped"].as_u64().unwrap(),
        );
        assert_eq!(sent + dropped, 2000, "{produced}");
        let got = last_json(&finish(consumer, Duration::from_secs(60)).stdout);
        let lost = got["lost"].as_u64().unwrap();
        assert_eq!(
            got["frames"].as_u64().unwrap() + lost,
            sent,
            "{policy}: {got}"
        );
        let lines = std::fs::read_to_string(&jsonl).unwrap();
        let ticks: Vec<u64> = lines
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]["tick"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert!(
            ticks.windows(2).all(|w| w[0] < w[1]),
            "{policy}: ticks out of order"
        );
        if delivery == "lossless" {
            assert_eq!(ticks.len() as u64, sent, "{policy}");
            if dropped == 0 {
                assert_eq!(ticks, (0..2000).collect::<Vec<_>>(), "{policy}");
            }
        }
    }
}

#[test]
fn inspect_shows_header_cursors_and_consumers() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    ringflow(&["create", r, "--slots", "64", "--consumers", "3"]);
    let consumer = spawn(&[
        "consume",
        r,
        "--policy",
        "lossy",
        "--frames",
        "10",
        "--timeout",
        "30",
    ]);
    wait_for_consumers(&ring, 1);
    let v = last_json(&ringflow(&["inspect", r, "--json"]).stdout);
    assert_eq!(v["header"]["slot_count"], 64);
    assert_eq!(v["header"]["max_consumers"], 3);
    assert_eq!(v["consumers"][0]["policy"], "lossy");
    for key in ["read", "lag", "lapped", "lost", "delivered"] {
        assert!(v["consumers"][0][key].is_u64(), "{key}");
    }
    ringflow(&["produce", r, "--frames", "10"]);
    assert_eq!(
        finish(consumer, Duration::from_secs(60)).status.code(),
        Some(0)
    );
    let table = String::from_utf8(ringflow(&["inspect", r]).stdout).unwrap();
    assert!(table.contains("published  10 "), "{table}");
}

#[test]
fn bench_reports_throughput() {
    let out = ringflow(&["bench", "--frames", "200000", "--consumers", "2", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = last_json(&out.stdout);
    assert_eq!(v["delivered"], 400_000);
    assert!(v["frames_per_s"].as_f64().unwrap() > 0.0);
    let out = ringflow(&["bench", "--frames", "100000", "--producers", "2", "--json"]);
    assert_eq!(last_json(&out.stdout)["delivered"], 100_000);
}

#[test]
fn demo_records_a_wav_file_and_a_telemetry_log() {
    let out = ringflow(&["demo", "--seconds", "0.5", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = last_json(&out.stdout);
    assert_eq!(v["audio_producer"]["frames"], 50);
    assert_eq!(v["wav_recorder"]["frames"], 50);
    assert_eq!(v["wav_recorder"]["lost"], 0);
    assert_eq!(v["telemetry_log"]["frames"], 500);
    let wav = v["wav"].as_str().unwrap();
    assert_eq!(hound::WavReader::open(wav).unwrap().duration(), 50 * 480);
    std::fs::remove_file(wav).unwrap();
    std::fs::remove_file(v["jsonl"].as_str().unwrap()).unwrap();
}

#[test]
fn produce_creates_the_ring_from_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("new");
    let r = ring.to_str().unwrap();
    let out = ringflow(&[
        "produce",
        r,
        "--source",
        "telemetry",
        "--frames",
        "10",
        "--fps",
        "10000",
        "--slots",
        "32",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = last_json(&ringflow(&["inspect", r, "--json"]).stdout);
    assert_eq!(v["header"]["slot_count"], 32);
    assert_eq!(
        v["header"]["schema"],
        serde_json::json!({"kind": "telemetry", "version": 1})
    );
    assert_eq!(v["published"], 10);
    assert_eq!(v["closed"], true);
}

/// `--overwritable` for a ring an `overwrite` producer will write, else a flag that changes
/// nothing (`--consumers 8`, the default).
fn overwritable_if(policy: &str) -> &'static str {
    if policy == "overwrite" {
        "--overwritable"
    } else {
        "--consumers=8"
    }
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn ctrl_c_ends_an_endless_produce_cleanly_with_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    ringflow(&["create", r, "--slots", "64", "--overwritable"]);
    // Overwrite: no reader needed; no --frames: runs until interrupted.
    let producer = spawn(&["produce", r, "--policy", "overwrite", "--json"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while last_json(&ringflow(&["inspect", r, "--json"]).stdout)["published"].as_u64() < Some(1000)
    {
        assert!(Instant::now() < deadline, "no frames");
        std::thread::sleep(Duration::from_millis(5));
    }
    interrupt(&producer);
    let out = finish(producer, Duration::from_secs(30));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = last_json(&out.stdout);
    assert!(summary["frames"].as_u64().unwrap() >= 1000, "{summary}");
    assert_eq!(summary["frames"], summary["published"]);
}

#[test]
fn inspect_watch_refreshes_until_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    ringflow(&["create", r, "--slots", "64"]);
    let mut watch = spawn(&["inspect", r, "--watch"]);
    // Read its first report, then interrupt it.
    let mut stdout = std::io::BufReader::new(watch.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("published") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0);
    }
    assert!(line.starts_with("published  0 "), "{line}");
    interrupt(&watch);
    assert_eq!(
        finish(watch, Duration::from_secs(30)).status.code(),
        Some(0)
    );
}

/// The README's two-process run with the reader started late: `--verify` must not say
/// "verified" over frames the reader never saw. By default a reader asks for the whole stream
/// (`--from 0`): frames gone before it started fail verification with one line; `--from oldest`
/// and `--from next` accept a late start, and every summary says where the reader started.
#[test]
fn a_late_reader_reports_where_it_started_and_verify_fails_on_what_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    ringflow(&["create", r, "--slots", "64", "--slot-size", "64"]);
    // No reader yet: 100 frames into 64 slots, frames 0..36 are gone.
    let out = ringflow(&["produce", r, "--frames", "100", "--json"]);
    assert_eq!(out.status.code(), Some(0));

    let out = ringflow(&["consume", r, "--verify", "--json"]);
    let v = last_json(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{v} {stderr}");
    assert_eq!(v["verified"], false);
    assert_eq!(v["start_seq"], 0);
    let first = v["first_seq"].as_u64().unwrap();
    assert!(first >= 36, "{v}");
    assert_eq!(v["unseen_before"], first);
    assert_eq!(v["missed_at_start"], first);
    assert_eq!(v["frames"], 100 - first);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("gone before the reader started"),
        "{stderr}"
    );

    let out = ringflow(&["consume", r, "--from", "oldest", "--verify", "--json"]);
    let v = last_json(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(
        (v["verified"].clone(), v["first_seq"].clone()),
        (true.into(), 36.into())
    );
    assert_eq!(
        (v["frames"].clone(), v["unseen_before"].clone()),
        (64.into(), 36.into())
    );

    let out = ringflow(&["consume", r, "--from", "90", "--verify", "--json"]);
    let v = last_json(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(
        (v["first_seq"].clone(), v["frames"].clone()),
        (90.into(), 10.into())
    );

    // --frames N that ends with fewer: exit 1, one line saying why.
    let out = ringflow(&["consume", r, "--from", "next", "--frames", "10", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(last_json(&out.stdout)["frames"], 0);
    assert!(
        stderr.contains("the ring closed after 0 of 10 frames"),
        "{stderr}"
    );
    // --frames 0 means none.
    let out = ringflow(&["consume", r, "--frames", "0", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(last_json(&out.stdout)["frames"], 0);

    assert_usage_error(&["consume", r, "--from", "latest"], "--from");
    assert_usage_error(&["consume", r, "--from=-1"], "--from");
}

/// `produce --wait-consumers N` holds the first frame until N readers are there, so a reader
/// started after the producer still sees the stream from frame 0.
#[test]
fn produce_waits_for_its_consumers_before_the_first_frame() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    ringflow(&["create", r, "--slots", "64"]);
    let producer = spawn(&[
        "produce",
        r,
        "--frames",
        "20000",
        "--wait-consumers",
        "1",
        "--json",
    ]);
    std::thread::sleep(Duration::from_millis(200));
    let published = last_json(&ringflow(&["inspect", r, "--json"]).stdout)["published"].clone();
    assert_eq!(
        published, 0,
        "nothing is written before a consumer registers"
    );
    let out = ringflow(&["consume", r, "--verify", "--json"]);
    let v = last_json(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(
        (v["frames"].clone(), v["first_seq"].clone()),
        (20000.into(), 0.into())
    );
    assert_eq!(v["verified"], true);
    assert_eq!(
        finish(producer, Duration::from_secs(30)).status.code(),
        Some(0)
    );
    assert_usage_error(&["produce", r, "--wait-consumers", "9"], "consumer blocks");
}

/// A lossless reader of a ring an `overwrite` producer writes (the demo's recorder) is never
/// handed a torn, duplicated or reordered frame: what it could not read in time is lost and
/// counted, and the payloads' gaps equal that count. A ring not created `--overwritable`
/// refuses such a producer with one line.
#[test]
fn a_lossless_reader_of_an_overwrite_producer_gets_whole_frames_or_counted_losses() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    ringflow(&["create", r, "--slots", "64", "--slot-size", "256"]);
    assert_usage_error(
        &["produce", r, "--policy", "overwrite", "--frames", "1"],
        "--overwritable",
    );
    std::fs::remove_file(&ring).unwrap();
    ringflow(&[
        "create",
        r,
        "--slots",
        "64",
        "--slot-size",
        "256",
        "--overwritable",
    ]);
    let consumer = spawn(&["consume", r, "--verify", "--timeout", "30", "--json"]);
    wait_for_consumers(&ring, 1);
    let out = ringflow(&["produce", r, "--policy", "overwrite", "--frames", "2000000"]);
    assert_eq!(out.status.code(), Some(0));
    let out = finish(consumer, Duration::from_secs(60));
    let v = last_json(&out.stdout);
    for key in ["corrupt", "duplicated", "reordered"] {
        assert_eq!(v[key], 0, "{key}: {v}");
    }
    assert_eq!(v["gaps"], v["lost"], "{v}");
    let (frames, lost) = (v["frames"].as_u64().unwrap(), v["lost"].as_u64().unwrap());
    assert_eq!(frames + lost, 2_000_000, "{v}");
    // A lossless reader that lost frames did not get what it asked for.
    let expected = if lost == 0 { 0 } else { 1 };
    assert_eq!(out.status.code(), Some(expected), "{v}");
}

/// Two producer processes on one multi-producer ring get distinct producer ids (their entries
/// in the producer table) without the user's help, so a verifying reader checks each one's
/// frames apart: nothing is reported reordered when nothing went wrong. A slow third producer
/// keeps the ring open while the two run (a ring closes when its last producer detaches, and one
/// of the two may finish before the other attaches), and is stopped last.
#[test]
fn producers_in_two_processes_verify_per_producer() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    let r = ring.to_str().unwrap();
    ringflow(&["create", r, "--slots", "256", "--multi-producer"]);
    let consumer = spawn(&["consume", r, "--verify", "--timeout", "60", "--json"]);
    wait_for_consumers(&ring, 1);
    let anchor = spawn(&["produce", r, "--fps", "10", "--json"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while last_json(&ringflow(&["inspect", r, "--json"]).stdout)["published"].as_u64() < Some(1) {
        assert!(Instant::now() < deadline, "the anchor producer never wrote");
        std::thread::sleep(Duration::from_millis(5));
    }
    let producers: Vec<Child> = (0..2)
        .map(|_| spawn(&["produce", r, "--frames", "200000", "--json"]))
        .collect();
    for p in producers {
        assert_eq!(finish(p, Duration::from_secs(60)).status.code(), Some(0));
    }
    interrupt(&anchor);
    assert_eq!(
        finish(anchor, Duration::from_secs(30)).status.code(),
        Some(0)
    );
    let out = finish(consumer, Duration::from_secs(60));
    let v = last_json(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert!(v["frames"].as_u64().unwrap() > 400_000, "{v}");
    assert_eq!(
        (v["reordered"].clone(), v["duplicated"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(v["verified"], true);
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

/// stderr as text, which must be exactly one line.
fn one_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
    stderr
}

#[test]
fn producers_racing_to_create_one_ring_both_finish() {
    const ROUNDS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    for round in 0..ROUNDS {
        let path = dir.path().join(format!("ring{round}"));
        let path = path.to_str().unwrap();
        let args = [
            "produce",
            path,
            "--multi-producer",
            "--frames",
            "2000",
            "--slots",
            "64",
            "--json",
        ];
        let (a, b) = (spawn(&args), spawn(&args));
        for out in [
            finish(a, Duration::from_secs(30)),
            finish(b, Duration::from_secs(30)),
        ] {
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(last_json(&out.stdout)["frames"], 2000);
        }
        // Both wrote into the one ring, and no temporary file is left.
        let inspected = last_json(&ringflow(&["inspect", path, "--json"]).stdout);
        assert_eq!(inspected["published"], 4000, "round {round}: {inspected}");
        assert_eq!(
            names(dir.path()).len(),
            round + 1,
            "{:?}",
            names(dir.path())
        );
    }
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
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn create_on_a_filesystem_too_small_exits_2_naming_the_sizes() {
    let Some(fs) = Tmpfs::mount("8m") else {
        return;
    };
    let ring = fs.dir.path().join("ring");
    let ring = ring.to_str().unwrap();
    // 4096 slots of 4064 + 32 bytes: 16 MiB and a little, twice the filesystem.
    let out = ringflow(&["create", ring, "--slots", "4096", "--slot-size", "4064"]);
    let stderr = one_line(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "no space left on {}: the ring needs 16778880 bytes, 8388608 are free",
            fs.dir.path().display()
        )),
        "{stderr}"
    );
    assert_eq!(names(fs.dir.path()), Vec::<String>::new());
    // `produce` creating the ring fails the same way, before any frame.
    let out = ringflow(&[
        "produce",
        ring,
        "--slots",
        "4096",
        "--slot-size",
        "4064",
        "--frames",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", one_line(&out));
    assert_eq!(names(fs.dir.path()), Vec::<String>::new());
}

#[test]
fn create_force_refuses_a_live_ring_and_force_twice_ends_its_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = path.to_str().unwrap();
    assert_eq!(
        ringflow(&["create", ring, "--slots", "64"]).status.code(),
        Some(0)
    );
    let reader = spawn(&["consume", ring]);
    wait_for_consumers(&path, 1);

    let out = ringflow(&["create", ring, "--force", "--slots", "128"]);
    let stderr = one_line(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("consumer pid {}", reader.id()))
            && stderr.contains("--force twice"),
        "{stderr}"
    );
    let inspected = last_json(&ringflow(&["inspect", ring, "--json"]).stdout);
    assert_eq!(inspected["header"]["slot_count"], 64, "{inspected}");

    let out = ringflow(&["create", ring, "--force", "--force", "--slots", "128"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = finish(reader, Duration::from_secs(10));
    let stderr = one_line(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("replaced"), "{stderr}");
    assert_eq!(names(dir.path()), ["ring"]);
}

#[test]
fn create_force_replaces_a_ring_whose_participants_died() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = path.to_str().unwrap();
    assert_eq!(
        ringflow(&["create", ring, "--slots", "64"]).status.code(),
        Some(0)
    );
    let mut reader = spawn(&["consume", ring]);
    wait_for_consumers(&path, 1);
    let mut writer = spawn(&["produce", ring, "--fps", "100"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while last_json(&ringflow(&["inspect", ring, "--json"]).stdout)["published"] == 0 {
        assert!(Instant::now() < deadline, "the producer wrote nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL: neither gets to detach or unregister; their entries stay with dead pids.
    for child in [&mut reader, &mut writer] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let inspected = last_json(&ringflow(&["inspect", ring, "--json"]).stdout);
    assert_eq!(
        inspected["consumers"].as_array().map(Vec::len),
        Some(1),
        "{inspected}"
    );
    let out = ringflow(&["create", ring, "--force", "--slots", "128"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inspected = last_json(&ringflow(&["inspect", ring, "--json"]).stdout);
    assert_eq!(inspected["header"]["slot_count"], 128, "{inspected}");
}

#[test]
fn a_creator_killed_mid_build_leaves_no_ring_file_at_the_name() {
    const ROUNDS: u64 = 20;
    let dir = tempfile::tempdir().unwrap();
    let mut killed_mid_build = 0;
    for round in 0..ROUNDS {
        let path = dir.path().join(format!("ring{round}"));
        let ring = path.to_str().unwrap();
        // 64 MiB: building it (fallocate, populated mapping, header) takes tens of ms here;
        // the kill lands anywhere from the start of the process to the end of the build.
        let mut creator = spawn(&["create", ring, "--slots", "16384", "--slot-size", "4064"]);
        std::thread::sleep(Duration::from_millis(round * 8));
        creator.kill().unwrap();
        let status = creator.wait().unwrap();
        // No file at the name, or a whole ring (the create finished before the kill).
        if path.exists() {
            let out = ringflow(&["inspect", ring, "--json"]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: a killed creator ({status}) left {ring} half-built: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            killed_mid_build += 1;
        }
        // What a killed creator may leave is its recognisable temporary file.
        for name in names(dir.path()) {
            assert!(
                name.starts_with("ring") || name.contains(".ringflow-tmp."),
                "round {round}: {name}"
            );
        }
    }
    eprintln!("{killed_mid_build} of {ROUNDS} creators were killed before their ring had a name");
}

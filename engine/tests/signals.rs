//! Every way a recording ends leaves a valid WAV file: SIGTERM and SIGHUP are handled like Ctrl-C
//! (summary, finished files, removed rings), and after SIGKILL the header counts all but the
//! last second at most.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{inspect, last_json, ringflow, wait_until, wav_sizes, Running};

/// 48 kHz stereo f32, 480 samples per frame: the `audio` schema's default.
const BYTES_PER_FRAME: u64 = 480 * 2 * 4;
const BYTES_PER_SECOND: u64 = 48_000 * 2 * 4;

/// An audio ring being fed in real time by `produce --source audio`, recorded by
/// `consume --wav`.
fn recording(dir: &Path) -> (PathBuf, PathBuf, Running, Running) {
    let ring = dir.join("audio");
    let wav = dir.join("out.wav");
    let r = ring.to_str().unwrap();
    let out = ringflow(&["create", r, "--schema", "audio", "--slots", "64"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let consumer = Running::spawn(
        &["consume", r, "--wav", wav.to_str().unwrap(), "--json"],
        &[],
    );
    wait_until("the consumer", || {
        inspect(&ring)["consumers"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    });
    let producer = Running::spawn(&["produce", r, "--source", "audio", "--json"], &[]);
    (ring, wav, consumer, producer)
}

#[test]
fn sigterm_and_sighup_end_a_recording_with_its_summary_and_a_finished_file() {
    for sig in ["TERM", "HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let (ring, wav, consumer, producer) = recording(dir.path());
        wait_until("30 frames", || {
            inspect(&ring)["published"].as_u64() >= Some(30)
        });
        consumer.signal(sig);
        let out = consumer.finish(Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(0), "SIG{sig}: {out:?}");
        let frames = last_json(&out.stdout)["frames"].as_u64().unwrap();
        assert!(frames >= 30, "SIG{sig}: {frames}");
        let bytes = std::fs::read(&wav).unwrap();
        let (riff, data_offset, data) = wav_sizes(&bytes);
        assert_eq!(
            data,
            frames * BYTES_PER_FRAME,
            "SIG{sig}: the header counts every frame"
        );
        assert_eq!(riff + 8, bytes.len() as u64);
        assert_eq!(data_offset + data, bytes.len() as u64);
        let reader = hound::WavReader::open(&wav).unwrap();
        assert_eq!(u64::from(reader.duration()), frames * 480, "SIG{sig}");
        // The producer takes the same signal the same way.
        producer.signal(sig);
        let out = producer.finish(Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(0), "SIG{sig}: {out:?}");
        assert!(last_json(&out.stdout)["frames"].as_u64() >= Some(frames));
    }
}

#[test]
fn after_sigkill_the_file_is_valid_and_lacks_a_second_at_most() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, wav, consumer, producer) = recording(dir.path());
    wait_until("the first frame", || {
        inspect(&ring)["published"].as_u64() >= Some(1)
    });
    std::thread::sleep(Duration::from_millis(2500));
    consumer.kill();
    // Published by now: more than the recorder can have written.
    let recorded = inspect(&ring)["published"].as_u64().unwrap();
    drop(producer);
    let bytes = std::fs::read(&wav).unwrap();
    let (riff, data_offset, data) = wav_sizes(&bytes);
    let len = bytes.len() as u64;
    assert_eq!(
        riff + 8,
        data_offset + data,
        "RIFF size agrees with the data size"
    );
    assert!(
        data_offset + data <= len,
        "the header claims no more than the file holds"
    );
    assert!(
        len - (data_offset + data) < BYTES_PER_SECOND,
        "less than a second of samples uncounted: {len} bytes, {data} counted"
    );
    assert_eq!(data % BYTES_PER_FRAME, 0);
    let reader = hound::WavReader::open(&wav).unwrap();
    let seconds = f64::from(reader.duration()) / 48_000.0;
    assert!(
        seconds >= 1.0 && seconds * 100.0 <= recorded as f64,
        "{seconds} s recorded of {recorded} frames"
    );
    let samples = reader
        .into_samples::<f32>()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert!(samples.iter().any(|s| s.abs() > 0.4), "the sine is there");
}

#[test]
fn sigterm_ends_the_demo_with_its_summary_and_removes_its_rings() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = Running::spawn(
        &["demo", "--seconds", "60", "--json"],
        &[("TMPDIR", tmp.path())],
    );
    let pid = demo.id();
    let rings = [
        PathBuf::from(format!("/dev/shm/ringflow-demo-audio-{pid}")),
        PathBuf::from(format!("/dev/shm/ringflow-demo-telemetry-{pid}")),
    ];
    // Rings left by a failed run of this test are removed whatever happens.
    struct Remove<'a>(&'a [PathBuf]);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            for p in self.0 {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    let _remove = Remove(&rings);
    wait_until("the demo's rings", || rings.iter().all(|p| p.exists()));
    wait_until("30 audio frames", || {
        inspect(&rings[0])["published"].as_u64() >= Some(30)
    });
    demo.signal("TERM");
    let out = demo.finish(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for p in &rings {
        assert!(!p.exists(), "{} left behind", p.display());
    }
    let v = last_json(&out.stdout);
    let frames = v["wav_recorder"]["frames"].as_u64().unwrap();
    assert!(frames >= 30, "{v}");
    let wav = PathBuf::from(v["wav"].as_str().unwrap());
    assert!(wav.starts_with(tmp.path()));
    assert_eq!(
        u64::from(hound::WavReader::open(&wav).unwrap().duration()),
        frames * 480
    );
}

#[test]
fn a_recorder_started_with_sighup_ignored_keeps_recording_when_it_comes() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("audio");
    let wav = dir.path().join("out.wav");
    let r = ring.to_str().unwrap();
    let out = ringflow(&["create", r, "--schema", "audio", "--slots", "64"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // `nohup` ignores SIGHUP and execs the recorder in its place (same pid).
    let mut nohup = Command::new("nohup");
    nohup.arg(env!("CARGO_BIN_EXE_ringflow")).args([
        "consume",
        r,
        "--wav",
        wav.to_str().unwrap(),
        "--json",
    ]);
    let mut recorder = Running::start(nohup);
    wait_until("the consumer", || {
        inspect(&ring)["consumers"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    });
    recorder.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        recorder.is_running(),
        "SIGHUP under nohup ended the recorder"
    );
    recorder.signal("TERM");
    let out = recorder.finish(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

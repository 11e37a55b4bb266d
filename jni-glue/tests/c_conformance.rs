//! The C consumer path meets the reader obligations (docs/FORMAT.md, "Reader obligations"): every
//! scenario of `kotlin-consumer/src/test/resources/reader-conformance.txt`, the file the Kotlin
//! cursor and the Rust consumer are held to (`ReaderConformanceTest`), runs here through the C
//! ABI's consumer calls (`rf_ring_open`, `rf_consumer_register`, `rf_consumer_next`,
//! `rf_consumer_release`, `rf_consumer_unregister`: the very functions a C program links), and
//! must give the outcome the file states. An expected exception class is the status the one error
//! table (`ErrorKind::boundary`) gives that class.
//!
//! The producer is a Rust producer on the same file, in this process, with `evict_after` as the
//! scenario says, pushing on its own thread.

use std::ffi::CString;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringflow::layout::stamp;
use ringflow::{pattern, ConsumerStats, FullPolicy, ProducerOptions, Ring, RingConfig};
use ringflow_engine::error::ErrorKind;
use ringflow_jni::capi::{
    rf_consumer_next, rf_consumer_register, rf_consumer_release, rf_consumer_unregister,
    rf_ring_close, rf_ring_open, RfFrame, RF_OK, RF_TIMEOUT,
};

struct Scenario {
    name: String,
    slots: u32,
    lossy: bool,
    evict_after_ms: u64,
    steps: Vec<Vec<String>>,
    expect: Vec<(String, String)>,
}

impl Scenario {
    fn expect(&self, key: &str) -> Option<&str> {
        self.expect
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn expect_u64(&self, key: &str) -> u64 {
        self.expect(key)
            .unwrap_or_else(|| panic!("{}: no `{key}` expected", self.name))
            .parse()
            .unwrap()
    }
}

fn key_values<'a>(words: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    words
        .map(|w| {
            let (k, v) = w.split_once('=').expect("key=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn scenarios() -> Vec<Scenario> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kotlin-consumer/src/test/resources/reader-conformance.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut out = Vec::new();
    let mut head: Option<Vec<String>> = None;
    let mut steps = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        match words[0].as_str() {
            "scenario" => {
                head = Some(words);
                steps.clear();
            }
            "expect" => {
                let h = head.take().expect("`expect` after a `scenario`");
                let opts = key_values(h[2..].iter().map(String::as_str));
                let opt = |k: &str| opts.iter().find(|(key, _)| key == k).map(|(_, v)| v);
                out.push(Scenario {
                    name: h[1].clone(),
                    slots: opt("slots").unwrap().parse().unwrap(),
                    lossy: opt("delivery").unwrap() == "lossy",
                    evict_after_ms: opt("evict_after_ms").map_or(0, |v| v.parse().unwrap()),
                    steps: std::mem::take(&mut steps),
                    expect: key_values(words[1..].iter().map(String::as_str)),
                });
            }
            "push" | "producer-sleep" | "await-push" | "pace" | "read" | "corrupt" => {
                steps.push(words)
            }
            other => panic!("unknown line in reader-conformance.txt: {other}"),
        }
    }
    assert!(
        out.len() >= 8,
        "expected the file's scenarios, found {}",
        out.len()
    );
    out
}

/// The producer side: a thread that runs pushes and sleeps in order.
struct Harness {
    ring: Ring,
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Result<(), String>>,
    sent: usize,
    thread: Option<JoinHandle<()>>,
    pace: Duration,
}

enum Job {
    Push(u64),
    Sleep(u64),
}

impl Harness {
    fn new(ring: Ring, evict_after_ms: u64) -> Harness {
        let mut options = ProducerOptions::new(FullPolicy::Block {
            timeout: Some(Duration::from_secs(30)),
        })
        .liveness_interval(Duration::from_millis(10));
        if evict_after_ms > 0 {
            options = options.evict_after(Duration::from_millis(evict_after_ms));
        }
        let mut producer = ring.producer(options).unwrap();
        let (jobs, rx) = mpsc::channel::<Job>();
        let (tx, done) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut pushed = 0u64;
            for job in rx {
                let outcome = match job {
                    Job::Sleep(ms) => {
                        std::thread::sleep(Duration::from_millis(ms));
                        Ok(())
                    }
                    Job::Push(n) => (0..n).try_for_each(|_| {
                        let mut slot = producer.claim().map_err(|e| e.to_string())?;
                        let payload = slot.payload_mut();
                        let len = payload.len();
                        pattern::fill(payload, 0, pushed);
                        slot.commit(len);
                        pushed += 1;
                        Ok(())
                    }),
                };
                let _ = tx.send(outcome);
            }
            // The producer detaches here: the ring closes.
        });
        Harness {
            ring,
            jobs: Some(jobs),
            done,
            sent: 0,
            thread: Some(thread),
            pace: Duration::ZERO,
        }
    }

    fn send(&mut self, job: Job) {
        self.jobs.as_ref().unwrap().send(job).unwrap();
        self.sent += 1;
    }

    /// Runs a step that is not a read; `frames_read` is the reader's count so far (both start at
    /// frame 0, so it is also the next frame's sequence).
    fn run(&mut self, step: &[String], frames_read: u64) {
        match step[0].as_str() {
            "push" => self.send(Job::Push(step[1].parse().unwrap())),
            "producer-sleep" => self.send(Job::Sleep(step[1].parse().unwrap())),
            "await-push" => {
                for _ in 0..std::mem::take(&mut self.sent) {
                    let outcome = self.done.recv_timeout(Duration::from_secs(60));
                    assert!(matches!(outcome, Ok(Ok(()))), "a push failed: {outcome:?}");
                }
            }
            "pace" => self.pace = Duration::from_micros(step[1].parse().unwrap()),
            "corrupt" => {
                let next = frames_read;
                let value = match step[1].as_str() {
                    "other_slot" => stamp::committed(next + 1),
                    "beyond_max_seq" => stamp::committed(next + stamp::MAX_SEQ),
                    "all_ones" => u64::MAX,
                    other => panic!("unknown corruption {other}"),
                };
                let g = *self.ring.geometry();
                let offset = g.desc_offset(next) as u64;
                assert!(offset + 8 <= self.ring.region_len() as u64);
                // SAFETY: the stamp word of a slot's descriptor inside the mapping, 8-byte aligned
                // (the descriptor array and its stride are); written as the atomic the readers load it as.
                let word = unsafe {
                    &*self
                        .ring
                        .region_ptr()
                        .add(offset as usize)
                        .cast::<AtomicU64>()
                };
                // Release: as a producer publishes a stamp (the reader's acquire load is the partner).
                word.store(value, Ordering::Release);
            }
            other => panic!("not a harness step: {other}"),
        }
    }

    fn pace(&self) {
        let until = Instant::now() + self.pace;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    }

    /// Lets the producer finish and detach.
    fn detach(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.detach();
    }
}

#[derive(Debug)]
struct Outcome {
    error: Option<i32>,
    frames: u64,
    lost: u64,
    problems: Vec<String>,
    block: Option<ConsumerStats>,
}

/// The consumer block once it shows `frames` delivered (or after 10 s).
fn settled_block(ring: &Ring, frames: u64) -> Option<ConsumerStats> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = ring.stats();
        let block = stats.consumers.first().cloned();
        if block.as_ref().is_some_and(|b| b.delivered == frames) || Instant::now() > deadline {
            return block;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs one scenario through the C ABI's consumer calls.
fn c_reader(path: &Path, s: &Scenario) -> Outcome {
    let ring = Ring::create(path, &RingConfig::new(s.slots, 32)).unwrap();
    let mut h = Harness::new(ring, s.evict_after_ms);
    let c_path = CString::new(path.to_str().unwrap()).unwrap();
    let (mut ring_handle, mut consumer) = (0u64, 0u64);
    // SAFETY: a NUL-terminated path and a valid out pointer.
    let opened = unsafe { rf_ring_open(c_path.as_ptr(), &mut ring_handle) };
    assert_eq!(opened, RF_OK);
    // SAFETY: a valid out pointer.
    let registered = unsafe { rf_consumer_register(ring_handle, s.lossy, &mut consumer) };
    assert_eq!(registered, RF_OK);
    let (mut frames, mut lost, mut next) = (0u64, 0u64, 0u64);
    let mut problems = Vec::new();
    let mut error = None;
    'steps: for step in &s.steps {
        if step[0] != "read" {
            h.run(step, frames);
            continue;
        }
        for _ in 0..step[1].parse::<u64>().unwrap() {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut f = RfFrame {
                seq: 0,
                timestamp_ns: 0,
                lost_before: 0,
                data: std::ptr::null(),
                len: 0,
                kind: 0,
            };
            loop {
                // SAFETY: a valid out pointer.
                match unsafe { rf_consumer_next(consumer, 50, &mut f) } {
                    RF_OK => break,
                    RF_TIMEOUT if Instant::now() < deadline => {}
                    RF_TIMEOUT => {
                        problems.push(format!("no frame within 30 s after {frames}"));
                        break 'steps;
                    }
                    status => {
                        error = Some(status);
                        break 'steps;
                    }
                }
            }
            // SAFETY: `data` holds `len` bytes until the release below.
            let payload = unsafe { std::slice::from_raw_parts(f.data, f.len) };
            if pattern::check(payload) != Some((0, f.seq)) {
                problems.push(format!(
                    "frame {}: carries {:?}",
                    f.seq,
                    pattern::check(payload)
                ));
            }
            if f.seq != next + f.lost_before {
                problems.push(format!(
                    "frame {} after {} with lost_before {}",
                    f.seq,
                    next.wrapping_sub(1),
                    f.lost_before
                ));
            }
            let mut intact = false;
            // SAFETY: a valid out pointer.
            let released = unsafe { rf_consumer_release(consumer, &mut intact) };
            if released != RF_OK || !intact {
                problems.push(format!(
                    "frame {}: release {released}, intact {intact}",
                    f.seq
                ));
            }
            frames += 1;
            lost += f.lost_before;
            next = f.seq + 1;
            h.pace();
            if problems.len() >= 10 {
                break 'steps;
            }
        }
    }
    let block = if error.is_none() {
        settled_block(&h.ring, frames)
    } else {
        None
    };
    assert_eq!(rf_consumer_unregister(consumer), RF_OK);
    h.detach();
    assert_eq!(rf_ring_close(ring_handle), RF_OK);
    Outcome {
        error,
        frames,
        lost,
        problems,
        block,
    }
}

/// The C status the one error table gives an exception class the scenario names.
fn status_of(class: &str) -> i32 {
    ErrorKind::ALL
        .iter()
        .map(|k| k.boundary())
        .find(|b| b.kotlin_class.rsplit('/').next() == Some(class))
        .unwrap_or_else(|| panic!("no error kind maps to {class}"))
        .c_status
}

fn check(s: &Scenario, o: &Outcome) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{}: {what}: {o:?}", s.name));
    if !o.problems.is_empty() {
        return fail("problems");
    }
    if let Some(class) = s.expect("error") {
        if o.error != Some(status_of(class)) {
            return fail(&format!("expected {class} ({})", status_of(class)));
        }
        if o.frames != s.expect_u64("after") {
            return fail("frames read before the error");
        }
        return Ok(());
    }
    let Some(block) = o.block.as_ref() else {
        return fail("no consumer block");
    };
    if o.error.is_some() || block.evicted {
        return fail("failed or evicted");
    }
    if (o.frames, o.lost) != (s.expect_u64("delivered"), s.expect_u64("lost")) {
        return fail("frames and losses the reader counted");
    }
    if (block.delivered, block.lost, block.lapped) != (o.frames, o.lost, s.expect_u64("lapped")) {
        return fail("the block's delivered, lost and lapped");
    }
    Ok(())
}

#[test]
fn the_c_consumer_path_meets_the_reader_obligations() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (i, s) in scenarios().iter().enumerate() {
        let outcome = c_reader(&dir.path().join(format!("ring{i}")), s);
        if let Err(why) = check(s, &outcome) {
            failures.push(why);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

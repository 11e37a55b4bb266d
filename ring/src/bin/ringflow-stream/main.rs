//! `ringflow-stream`: streams verifiable frames between processes over a file-backed ring and
//! prints a JSON summary. The ring crate's example of real use, and the child process of its
//! cross-process tests. (The full `ringflow` CLI lives in the engine crate.)
//!
//! ```text
//! ringflow-stream demo    [--frames N] [--size BYTES] [--slots N] [--batch K]
//! ringflow-stream produce PATH [--frames N] [--size BYTES] [--slots N] [--consumers N]
//!                         [--policy block|fail|overwrite] [--batch K] [--multi] [--create]
//!                         [--producer-id ID] [--wait-consumers N] [--timeout SECS]
//!                         [--die-in-claim]
//! ringflow-stream consume PATH [--frames N] [--lossy] [--verify] [--timeout SECS]
//!                         [--liveness-ms MS] [--name NAME [--grace SECS] [--log FILE]]
//! ringflow-stream layout
//! ringflow-stream chaos-produce PATH --id ID ...     (the chaos test's children: see chaos.rs)
//! ringflow-stream chaos-consume PATH [--lossy] ...
//! ```
//!
//! Exit status: 0 success; 1 frames failed verification (or a lossless reader lost frames);
//! 2 bad arguments or a ring error.
//!
//! Arguments are parsed by hand: the `ringflow` library crate keeps its dependency list to what
//! the ring needs, and this program has a dozen flags.

mod chaos;

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use ringflow::{
    pattern, ClaimError, Delivery, FullPolicy, ProducerOptions, RecvError, Ring, RingConfig, Start,
};

struct Args {
    rest: Vec<String>,
}

impl Args {
    fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        before != self.rest.len()
    }

    fn value<T: std::str::FromStr>(&mut self, name: &str) -> Result<Option<T>, String> {
        let Some(i) = self.rest.iter().position(|a| a == name) else {
            return Ok(None);
        };
        if i + 1 >= self.rest.len() {
            return Err(format!("{name} needs a value"));
        }
        let raw = self.rest.remove(i + 1);
        self.rest.remove(i);
        raw.parse()
            .map(Some)
            .map_err(|_| format!("{name}: cannot parse {raw:?}"))
    }

    fn positional(&mut self, what: &str) -> Result<String, String> {
        match self.rest.iter().position(|a| !a.starts_with("--")) {
            Some(i) => Ok(self.rest.remove(i)),
            None => Err(format!("missing {what}")),
        }
    }

    fn done(self) -> Result<(), String> {
        match self.rest.first() {
            Some(extra) => Err(format!("unexpected argument {extra:?}")),
            None => Ok(()),
        }
    }
}

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv[0] == "--help" || argv[0] == "-h" {
        eprintln!(
            "usage: ringflow-stream demo|produce|consume|layout|chaos-produce|chaos-consume ... (see the source's header)"
        );
        return ExitCode::from(if argv.is_empty() { 2 } else { 0 });
    }
    let command = argv.remove(0);
    let args = Args { rest: argv };
    let result = match command.as_str() {
        "produce" => produce(args),
        "consume" => consume(args),
        "demo" => demo(args),
        "chaos-produce" => chaos::produce(args),
        "chaos-consume" => chaos::consume(args),
        "layout" => args.done().map(|()| {
            print!("{}", ringflow::layout::layout_dump());
            0
        }),
        other => Err(format!("unknown command {other:?}")),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("ringflow-stream {command}: {message}");
            ExitCode::from(2)
        }
    }
}

fn produce(mut args: Args) -> Result<u8, String> {
    let path = PathBuf::from(args.positional("PATH")?);
    let frames: Option<u64> = args.value("--frames")?;
    let size: u32 = args.value("--size")?.unwrap_or(256);
    let slots: u32 = args.value("--slots")?.unwrap_or(4096);
    let consumers: u32 = args.value("--consumers")?.unwrap_or(8);
    let batch: usize = args.value("--batch")?.unwrap_or(1);
    let producer_id: u32 = args.value("--producer-id")?.unwrap_or(0);
    let wait_consumers: usize = args.value("--wait-consumers")?.unwrap_or(0);
    let timeout: Option<f64> = args.value("--timeout")?;
    let policy = match args.value::<String>("--policy")?.as_deref() {
        None | Some("block") => FullPolicy::Block {
            timeout: timeout.map(Duration::from_secs_f64),
        },
        Some("fail") => FullPolicy::Fail,
        Some("overwrite") => FullPolicy::Overwrite,
        Some(other) => {
            return Err(format!(
                "--policy: {other:?} is not block, fail or overwrite"
            ))
        }
    };
    let multi = args.flag("--multi");
    let create = args.flag("--create");
    // For the tests of hole repair: after the frames, claim one more, say so, and wait to be
    // killed without committing it.
    let die_in_claim = args.flag("--die-in-claim");
    args.done()?;
    if (size as usize) < pattern::TAG_LEN {
        return Err(format!(
            "--size must be at least {} (the pattern tag)",
            pattern::TAG_LEN
        ));
    }
    let ring = if create {
        Ring::create_or_replace(
            &path,
            &RingConfig::new(slots, size)
                .max_consumers(consumers)
                .multi_producer(multi)
                .overwritable(policy == FullPolicy::Overwrite),
        )
    } else {
        Ring::open(&path)
    }
    .map_err(|e| e.to_string())?;
    let size = size.min(ring.slot_size() as u32) as usize;
    if batch == 0 || batch > ring.capacity() {
        return Err(format!("--batch must be 1 ..= {}", ring.capacity()));
    }
    // Wait (on a condition, polled) until the expected readers registered, so they see frame 0.
    while ring.stats().consumers.len() < wait_consumers {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut producer = ring
        .producer(ProducerOptions::new(policy))
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut sent = 0u64;
    let mut dropped = 0u64;
    let limit = frames.unwrap_or(u64::MAX);
    while sent < limit {
        let n = batch.min((limit - sent).min(usize::MAX as u64) as usize);
        match producer.claim_batch(n) {
            Ok(mut b) => {
                for i in 0..n {
                    let seq = b.first_seq() + i as u64;
                    pattern::fill(&mut b.slot_mut(i)[..size], producer_id, seq);
                    b.set_len(i, size);
                }
                b.commit();
                sent += n as u64;
            }
            Err(ClaimError::Full) => {
                dropped += 1;
                std::hint::spin_loop();
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    if die_in_claim {
        let mut slot = producer.claim().map_err(|e| e.to_string())?;
        let seq = slot.seq();
        pattern::fill(&mut slot.payload_mut()[..size], producer_id, seq);
        println!("{{\"role\":\"producer\",\"frames\":{sent},\"claimed\":{seq}}}");
        use std::io::Write;
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(producer);
    println!(
        "{{\"role\":\"producer\",\"frames\":{sent},\"bytes\":{},\"dropped\":{dropped},\"elapsed_s\":{elapsed:.6},\"frames_per_s\":{:.0}}}",
        sent * size as u64,
        sent as f64 / elapsed.max(1e-9)
    );
    Ok(0)
}

fn consume(mut args: Args) -> Result<u8, String> {
    let path = PathBuf::from(args.positional("PATH")?);
    let frames: Option<u64> = args.value("--frames")?;
    let timeout: Option<f64> = args.value("--timeout")?;
    let liveness_ms: Option<u64> = args.value("--liveness-ms")?;
    let lossy = args.flag("--lossy");
    let verify = args.flag("--verify");
    let name: Option<String> = args.value("--name")?;
    let grace: f64 = args.value("--grace")?.unwrap_or(10.0);
    let log: Option<PathBuf> = args.value("--log")?;
    args.done()?;
    let ring = Ring::open(&path).map_err(|e| e.to_string())?;
    let delivery = if lossy {
        Delivery::Lossy
    } else {
        Delivery::Lossless
    };
    let mut consumer = match &name {
        // A durable named consumer: each frame's sequence is appended to the log, and only then
        // is the frame committed, so a killed reader leaves at most one logged frame uncommitted.
        Some(name) => {
            let grace = Duration::try_from_secs_f64(grace).map_err(|e| e.to_string())?;
            let mut c = ring
                .consumer_named(name, delivery, grace)
                .map_err(|e| e.to_string())?;
            c.hold_releases();
            c
        }
        None => ring
            .consumer_with(delivery, Start::Next)
            .map_err(|e| e.to_string())?,
    };
    let mut log = match log {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .map_err(|e| format!("{}: {e}", p.display()))?,
        ),
        None => None,
    };
    let start_seq = consumer.next_seq();
    if let Some(ms) = liveness_ms {
        consumer.set_liveness_interval(Duration::from_millis(ms));
    }
    let limit = frames.unwrap_or(u64::MAX);
    let timeout = timeout.map(Duration::from_secs_f64);
    // Frames count from where the consumer started, so a loss before its first frame is a gap.
    let mut tally = pattern::Tally {
        next: Some(consumer.next_seq()),
        ..Default::default()
    };
    let mut bytes = 0u64;
    let mut received = 0u64;
    let mut latencies = Vec::new();
    let mut start = None;
    let mut buf = vec![0u8; ring.slot_size()];
    let end = loop {
        if received >= limit {
            break "frames";
        }
        // Lossy readers copy (never torn); lossless ones read in place.
        let result = if lossy {
            consumer.recv_into(&mut buf, timeout).map(|info| {
                if verify {
                    tally.record(&buf[..info.len]);
                }
                (info.len, info.timestamp_ns, info.seq)
            })
        } else {
            consumer.recv(timeout).map(|frame| {
                if verify {
                    tally.record(frame.payload());
                }
                (frame.len(), frame.timestamp_ns(), frame.seq())
            })
        };
        match result {
            Ok((len, ts, seq)) => {
                if let Some(log) = &mut log {
                    use std::io::Write;
                    // One write call per line: a kill never leaves half a line for the next run
                    // to append to (`writeln!` may write the number and the newline apart).
                    log.write_all(format!("{seq}\n").as_bytes())
                        .map_err(|e| e.to_string())?;
                }
                if name.is_some() {
                    consumer.commit(seq + 1);
                }
                start.get_or_insert_with(Instant::now);
                received += 1;
                bytes += len as u64;
                if seq % 64 == 0 && ts != 0 {
                    latencies.push(ringflow::liveness::monotonic_ns().saturating_sub(ts));
                }
            }
            Err(RecvError::Closed) => break "closed",
            Err(RecvError::ProducerGone { .. }) => break "producer_gone",
            Err(RecvError::Timeout) => break "timeout",
            Err(e) => return Err(e.to_string()),
        }
    };
    let elapsed = start.map_or(0.0, |s| s.elapsed().as_secs_f64());
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    // The ring's own loss count must match the gaps the payloads show, exactly.
    let lost = consumer.lost();
    let clean = tally.corrupt == 0
        && tally.duplicated == 0
        && tally.reordered == 0
        && (!verify || tally.gaps == lost)
        && (lossy || lost == 0);
    let verified = verify && clean;
    println!(
        "{{\"role\":\"consumer\",\"end\":\"{end}\",\"start_seq\":{start_seq},\"missed_at_start\":{},\"frames\":{received},\"bytes\":{bytes},\"elapsed_s\":{elapsed:.6},\
         \"frames_per_s\":{:.0},\"lost\":{lost},\"gaps\":{},\"lapped\":{},\"torn\":{},\"duplicated\":{},\"reordered\":{},\
         \"corrupt\":{},\"verified\":{verified},\"latency_ns\":{{\"p50\":{},\"p99\":{},\"max\":{}}}}}",
        consumer.missed_at_start(),
        received as f64 / elapsed.max(1e-9),
        tally.gaps,
        consumer.lapped(),
        consumer.torn(),
        tally.duplicated,
        tally.reordered,
        tally.corrupt,
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or(0),
    );
    if end == "timeout" && received < limit && frames.is_some() {
        return Ok(2);
    }
    Ok(if verify && !clean { 1 } else { 0 })
}

/// Creates a ring in /dev/shm, runs a consumer in a child process and produces into it.
fn demo(mut args: Args) -> Result<u8, String> {
    let frames: u64 = args.value("--frames")?.unwrap_or(1_000_000);
    let size: u32 = args.value("--size")?.unwrap_or(256);
    let slots: u32 = args.value("--slots")?.unwrap_or(4096);
    let batch: usize = args.value("--batch")?.unwrap_or(64);
    args.done()?;
    let name = format!("ringflow-demo-{}", std::process::id());
    let path = ringflow::shm_path(&name).map_err(|e| e.to_string())?;
    let ring =
        Ring::create_or_replace(&path, &RingConfig::new(slots, size)).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    eprintln!("demo: {frames} frames of {size} bytes through {} ({slots} slots), consumer in a child process", path.display());
    let child = Command::new(&exe)
        .args([
            "consume",
            path.to_str().unwrap(),
            "--verify",
            "--timeout",
            "30",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    while ring.stats().consumers.is_empty() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let produced = produce(Args {
        rest: vec![
            path.to_str().unwrap().into(),
            "--frames".into(),
            frames.to_string(),
            "--size".into(),
            size.to_string(),
            "--batch".into(),
            batch.to_string(),
        ],
    });
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&path);
    print!("{}", String::from_utf8_lossy(&output.stdout));
    produced?;
    Ok(output.status.code().unwrap_or(2) as u8)
}

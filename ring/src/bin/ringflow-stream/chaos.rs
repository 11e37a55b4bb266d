//! The children of the chaos test (`ring/tests/chaos.rs`): a producer and a reader that can be
//! killed at any instant and still leave behind what the test needs to judge the ring.
//!
//! ```text
//! ringflow-stream chaos-produce PATH --id ID [--seed S] [--batch MAX] [--hold-every N]
//!                               [--hold-us US] [--progress-ms MS]
//! ringflow-stream chaos-consume PATH [--lossy] [--progress-ms MS]
//! ```
//!
//! A producer writes pattern frames (`pattern::fill`) whose producer field is its `--id` (unique
//! per process the test starts) and whose sequence field is its own counter from 0, so a reader
//! checks every byte and, per producer, that no frame is torn, duplicated, reordered or (lossless)
//! missing. It claims batches of 1 ..= MAX frames and, once every N claims, holds its claim for
//! US microseconds before committing it, so a kill often lands between claim and commit (a hole
//! the ring must repair). It runs until its stdin reaches end of file, then detaches cleanly.
//!
//! Both print one line per event, flushed before the next event could be lost to a SIGKILL:
//!
//! ```text
//! producer: ready entry=E                         attached, on table entry E
//!           progress sent=N last_seq=S            every MS: frames committed, ring seq of the last
//!           end sent=N first_seq=F last_seq=L     stopped cleanly (F, L absent if N = 0)
//! reader:   start seq=S protected=P index=I       registered (Start::Next)
//!           skip from=A to=B                      ring seqs A..B were skip frames (exact)
//!           progress next=N delivered=D lost=L    every MS; every seq below N is accounted for
//!           error TEXT                            a check failed (also makes the exit status 1)
//!           end how=H next=N start=S delivered=D lost=L skips=K torn=T errors=E
//!               producers=ID:FIRST:LAST:COUNT,...       (one line)
//! ```
//!
//! A reader accounts for every ring sequence from its start: each is a frame it delivered, a skip
//! frame, or (lossy only) a frame the ring told it it lost (`lost_before`). Between two delivered
//! frames, a lossless reader's gap is all skip frames; a lossy reader's is exact only when it lost
//! nothing there (else it is reported in no `skip` line).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringflow::{pattern, Delivery, FullPolicy, ProducerOptions, RecvError, Ring, Start};

use crate::Args;

/// splitmix64: enough randomness to vary batch sizes, lengths and holds reproducibly from a
/// seed, without a dependency for the library crate (whose binary this is).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `1 ..= max` (`max >= 1`).
    fn one_to(&mut self, max: u64) -> u64 {
        1 + self.next() % max
    }
}

/// Prints one line and flushes it: a SIGKILL after this call cannot take the line back.
fn say(out: &mut impl Write, line: std::fmt::Arguments<'_>) -> Result<(), String> {
    out.write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| format!("stdout: {e}"))
}

/// Set once stdin reaches end of file: the test's "stop cleanly" (and, if the test itself dies,
/// its pipe closing stops the child too).
fn stop_on_stdin_eof() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        // Relaxed: a request to stop, which orders nothing.
        flag.store(true, Ordering::Relaxed);
    });
    stop
}

pub(crate) fn produce(mut args: Args) -> Result<u8, String> {
    let path = PathBuf::from(args.positional("PATH")?);
    let id: u32 = args.value("--id")?.ok_or("--id is required")?;
    let seed: u64 = args.value("--seed")?.unwrap_or(u64::from(id));
    let max_batch: u64 = args.value("--batch")?.unwrap_or(4);
    let hold_every: u64 = args.value("--hold-every")?.unwrap_or(0);
    let hold = Duration::from_micros(args.value("--hold-us")?.unwrap_or(0));
    let progress = Duration::from_millis(args.value("--progress-ms")?.unwrap_or(100));
    args.done()?;
    let stop = stop_on_stdin_eof();
    let ring = Ring::open(&path).map_err(|e| e.to_string())?;
    if max_batch == 0 || max_batch > ring.capacity() as u64 {
        return Err(format!("--batch must be 1 ..= {}", ring.capacity()));
    }
    let mut producer = ring
        .producer(ProducerOptions::new(FullPolicy::Block { timeout: None }))
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    say(&mut out, format_args!("ready entry={}", producer.id()))?;
    let mut rng = SplitMix(seed);
    let slot = producer.slot_size() as u64;
    let (mut sent, mut first_seq, mut last_seq) = (0u64, None, None);
    let mut claims = 0u64;
    let mut next_progress = Instant::now() + progress;
    // Relaxed: see `stop_on_stdin_eof`.
    while !stop.load(Ordering::Relaxed) {
        let n = rng.one_to(max_batch) as usize;
        let mut batch = producer.claim_batch(n).map_err(|e| e.to_string())?;
        for i in 0..n {
            let len =
                pattern::TAG_LEN + (rng.next() % (slot - pattern::TAG_LEN as u64 + 1)) as usize;
            pattern::fill(&mut batch.slot_mut(i)[..len], id, sent + i as u64);
            batch.set_len(i, len);
        }
        let first = batch.first_seq();
        claims += 1;
        if hold_every > 0 && claims % hold_every == 0 {
            std::thread::sleep(hold);
        }
        batch.commit();
        first_seq.get_or_insert(first);
        last_seq = Some(first + n as u64 - 1);
        sent += n as u64;
        if Instant::now() >= next_progress {
            next_progress += progress;
            let last = last_seq.unwrap_or(0);
            say(
                &mut out,
                format_args!("progress sent={sent} last_seq={last}"),
            )?;
        }
    }
    drop(producer);
    match (first_seq, last_seq) {
        (Some(f), Some(l)) => say(
            &mut out,
            format_args!("end sent={sent} first_seq={f} last_seq={l}"),
        )?,
        _ => say(&mut out, format_args!("end sent=0"))?,
    }
    Ok(0)
}

/// Failed checks a reader prints before it only counts them.
const MAX_ERROR_LINES: u64 = 100;

/// What one reader saw of one producer's counter.
struct Seen {
    first: u64,
    last: u64,
    count: u64,
}

/// A reader's accounting of ring sequences and producers' counters.
struct Tally<W: Write> {
    out: W,
    lossless: bool,
    /// The next ring sequence not yet accounted for.
    expected: u64,
    delivered: u64,
    /// `lost_before` summed over the frames handed out.
    lost_seen: u64,
    skips: u64,
    errors: u64,
    producers: BTreeMap<u32, Seen>,
}

impl<W: Write> Tally<W> {
    /// Reports a failed check; after `MAX_ERROR_LINES` only counts them (a systematic fault
    /// would fail every frame), and the end line's `errors` gives the total.
    fn error(&mut self, what: std::fmt::Arguments<'_>) -> Result<(), String> {
        self.errors += 1;
        if self.errors > MAX_ERROR_LINES {
            return Ok(());
        }
        say(&mut self.out, format_args!("error {what}"))
    }

    /// Accounts for ring sequences `expected .. to`, of which `lost` were lost (not skip frames).
    fn gap(&mut self, to: u64, lost: u64) -> Result<(), String> {
        let gap = to - self.expected;
        if lost > gap {
            let from = self.expected;
            self.error(format_args!(
                "{lost} frames said lost before seq {to}, but only {gap} seqs since {from}"
            ))?;
        } else if self.lossless && lost > 0 {
            self.error(format_args!(
                "a lossless reader lost {lost} frames before seq {to}"
            ))?;
        } else {
            self.skips += gap - lost;
            if lost == 0 && gap > 0 {
                let from = self.expected;
                say(&mut self.out, format_args!("skip from={from} to={to}"))?;
            }
        }
        self.expected = to;
        Ok(())
    }

    fn frame(&mut self, seq: u64, lost_before: u64, payload: &[u8]) -> Result<(), String> {
        if seq < self.expected {
            let expected = self.expected;
            return self.error(format_args!("ring seq {seq} after {expected}: went back"));
        }
        self.lost_seen += lost_before;
        self.gap(seq, lost_before)?;
        self.expected = seq + 1;
        self.delivered += 1;
        let Some((id, counter)) = pattern::check(payload) else {
            return self.error(format_args!("ring seq {seq}: torn or corrupt payload"));
        };
        let lossless = self.lossless;
        let problem = match self.producers.get_mut(&id) {
            None => {
                self.producers.insert(
                    id,
                    Seen {
                        first: counter,
                        last: counter,
                        count: 1,
                    },
                );
                None
            }
            Some(seen) => {
                let last = seen.last;
                let problem = if counter == last {
                    Some("duplicated")
                } else if counter < last {
                    Some("reordered")
                } else if lossless && counter != last + 1 {
                    Some("missing frames before it")
                } else {
                    None
                };
                // A gap is reported once: the counter goes on from the frame after it.
                if counter > last {
                    seen.last = counter;
                    seen.count += 1;
                }
                problem.map(|p| (p, last))
            }
        };
        match problem {
            Some((what, last)) => self.error(format_args!(
                "ring seq {seq}: producer {id} counter {counter} after {last}: {what}"
            )),
            None => Ok(()),
        }
    }
}

pub(crate) fn consume(mut args: Args) -> Result<u8, String> {
    let path = PathBuf::from(args.positional("PATH")?);
    let lossy = args.flag("--lossy");
    let progress = Duration::from_millis(args.value("--progress-ms")?.unwrap_or(100));
    args.done()?;
    let ring = Ring::open(&path).map_err(|e| e.to_string())?;
    let delivery = if lossy {
        Delivery::Lossy
    } else {
        Delivery::Lossless
    };
    let mut consumer = ring
        .consumer_with(delivery, Start::Next)
        .map_err(|e| e.to_string())?;
    let start = consumer.start_seq();
    let mut tally = Tally {
        out: std::io::stdout().lock(),
        lossless: !lossy,
        expected: start,
        delivered: 0,
        lost_seen: 0,
        skips: 0,
        errors: 0,
        producers: BTreeMap::new(),
    };
    say(
        &mut tally.out,
        format_args!(
            "start seq={start} protected={} index={}",
            consumer.protected_from(),
            consumer.index()
        ),
    )?;
    let mut buf = vec![0u8; ring.slot_size()];
    let mut next_progress = Instant::now() + progress;
    let how = loop {
        let left = next_progress.saturating_duration_since(Instant::now());
        let got = if lossy {
            match consumer.recv_into(&mut buf, Some(left)) {
                Ok(info) => tally
                    .frame(info.seq, info.lost_before, &buf[..info.len])
                    .map(Ok),
                Err(e) => Ok(Err(e)),
            }
        } else {
            match consumer.recv(Some(left)) {
                Ok(frame) => tally
                    .frame(frame.seq(), frame.lost_before(), frame.payload())
                    .map(Ok),
                Err(e) => Ok(Err(e)),
            }
        }?;
        match got {
            Ok(()) | Err(RecvError::Timeout) => {}
            Err(RecvError::Closed) => break "closed",
            Err(RecvError::ProducerGone { .. }) => break "producer_gone",
            Err(e) => {
                tally.error(format_args!("{e}"))?;
                break "failed";
            }
        }
        if Instant::now() >= next_progress {
            next_progress = Instant::now() + progress;
            let next = tally.expected;
            say(
                &mut tally.out,
                format_args!(
                    "progress next={next} delivered={} lost={}",
                    tally.delivered, tally.lost_seen
                ),
            )?;
        }
    };
    // Skip frames (and, lossy, frames lost) after the last frame handed out.
    let next = consumer.next_seq();
    let lost = consumer.lost();
    tally.gap(next, lost.saturating_sub(tally.lost_seen))?;
    if consumer.delivered() != tally.delivered {
        let counted = tally.delivered;
        tally.error(format_args!(
            "the consumer says it delivered {} frames, the reader counted {counted}",
            consumer.delivered()
        ))?;
    }
    let producers = tally
        .producers
        .iter()
        .map(|(id, s)| format!("{id}:{}:{}:{}", s.first, s.last, s.count))
        .collect::<Vec<_>>()
        .join(",");
    say(
        &mut tally.out,
        format_args!(
            "end how={how} next={next} start={start} delivered={} lost={lost} skips={} torn={} errors={} producers={producers}",
            tally.delivered,
            tally.skips,
            consumer.torn(),
            tally.errors
        ),
    )?;
    Ok(if tally.errors > 0 { 1 } else { 0 })
}

//! `ringflow inspect`: a ring's shape, counters and participants, as a table or JSON, once or
//! every `--interval` seconds. The ring is opened read-only ([`RingView`]): any user who may read
//! the file may inspect it, and inspecting never writes it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use ringflow::{RingStats, RingView, Schema};
use ringflow_engine::{runtime, stats};

use super::signals::StopSignals;
use super::Failure;

#[derive(Args)]
pub(crate) struct InspectArgs {
    pub(crate) path: PathBuf,
    /// Refresh every --interval seconds until Ctrl-C (with --json: one JSON object per line).
    #[arg(long)]
    pub(crate) watch: bool,
    /// Seconds between refreshes of --watch.
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub(crate) interval: f64,
    /// Print JSON (one object; with --watch, one per refresh: JSON Lines).
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn inspect(a: InspectArgs) -> Result<u8, Failure> {
    let interval = Duration::try_from_secs_f64(a.interval)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Failure::usage(format!(
                "--interval {}: must be a positive number of seconds",
                a.interval
            ))
        })?;
    let view = RingView::open(&a.path)?;
    if !a.watch {
        print(&view, a.json, None);
        return Ok(0);
    }
    // Relaxed is enough: the flag carries no data, and the loop reads it again each interval.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let signals = StopSignals::listen()?;
        runtime::runtime().spawn(async move {
            signals.recv().await;
            stop.store(true, Ordering::Relaxed);
        });
    }
    let tty = std::io::stdout().is_terminal() && !a.json;
    let mut last = (Instant::now(), view.stats().published);
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        if !first {
            // In short naps, so a signal ends the watch within 50 ms.
            let until = Instant::now() + interval;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        let published = view.stats().published;
        let rate = (!first).then(|| {
            (published - last.1.min(published)) as f64 / last.0.elapsed().as_secs_f64().max(1e-9)
        });
        last = (Instant::now(), published);
        if tty {
            print!("\x1b[2J\x1b[H");
        }
        print(&view, a.json, rate);
        let _ = std::io::stdout().flush();
        first = false;
    }
    Ok(0)
}

/// One report: a JSON line or the table.
fn print(view: &RingView, json: bool, rate: Option<f64>) {
    let s = view.stats();
    let mut v = stats::view_json(view, &s);
    if let Some(r) = rate {
        v["frames_per_s"] = r.round().into();
    }
    if json {
        println!("{v}");
    } else {
        print!("{}", table(view, &s, &v, rate));
    }
}

/// The schema in words: `audio: 48000 Hz, 2 channels, f32, 480 samples per frame (10 ms)`.
pub(crate) fn schema_words(schema: Schema) -> String {
    match schema {
        Schema::Raw => "raw".into(),
        Schema::Telemetry { version } => format!("telemetry v{version}"),
        Schema::Audio(a) => format!(
            "audio ({} Hz, {} channel{}, {}, {} samples per frame = {} ms)",
            a.sample_rate,
            a.channels,
            if a.channels == 1 { "" } else { "s" },
            stats::sample_format_name(a.format),
            a.samples_per_frame,
            trim(f64::from(a.samples_per_frame) * 1000.0 / f64::from(a.sample_rate.max(1)))
        ),
    }
}

/// A number without trailing zeros (`10`, `2.5`).
fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn age(v: &serde_json::Value) -> String {
    v.as_f64().map_or("-".into(), |s| format!("{s:.1} s"))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "alive"
    } else {
        "dead"
    }
}

/// The table of one snapshot `s` (and `v`, its JSON, for the heartbeat ages).
fn table(view: &RingView, s: &RingStats, v: &serde_json::Value, rate: Option<f64>) -> String {
    use std::fmt::Write as _;
    let h = view.header();
    let mut out = String::new();
    let state = match (v["replaced_by"].as_u64(), s.closed) {
        (Some(pid), _) => format!("replaced (by process {pid})"),
        (None, true) => "closed".into(),
        (None, false) if s.producers.iter().any(|p| p.alive) => "open".into(),
        (None, false) if s.producers.is_empty() => "open, no producer attached".into(),
        (None, false) => "open, every producer dead".into(),
    };
    let _ = writeln!(out, "ring       {}", view.path().display());
    let _ = writeln!(out, "schema     {}", schema_words(view.schema()));
    let _ = writeln!(
        out,
        "slots      {} of {} bytes, {} consumer blocks, {} producer{}, {} bytes",
        h.slot_count,
        h.slot_payload,
        h.max_consumers,
        if h.producer_mode == 1 {
            "multi"
        } else {
            "single"
        },
        if view.is_overwritable() {
            ", overwritable"
        } else {
            ""
        },
        h.total_len
    );
    let _ = writeln!(out, "state      {state}");
    let _ = writeln!(
        out,
        "published  {}{}   refused {}   abandoned {}   evicted {}   wakes: data {} space {}",
        s.published,
        rate.map_or(String::new(), |r| format!(" ({r:.0} frames/s)")),
        s.dropped,
        s.abandoned,
        s.evicted,
        s.data_wakes,
        s.space_wakes
    );
    let _ = writeln!(out, "producers  {}", s.producers.len());
    if !s.producers.is_empty() {
        let _ = writeln!(
            out,
            "  {:>5} {:>8} {:>6} {:>10}",
            "entry", "pid", "alive", "heartbeat"
        );
        for (p, j) in s
            .producers
            .iter()
            .zip(v["producers"].as_array().into_iter().flatten())
        {
            let _ = writeln!(
                out,
                "  {:>5} {:>8} {:>6} {:>10}",
                p.index,
                p.pid,
                yes_no(p.alive),
                age(&j["heartbeat_age_s"])
            );
        }
    }
    let _ = writeln!(out, "consumers  {}", s.consumers.len());
    if !s.consumers.is_empty() {
        let _ = writeln!(
            out,
            "  {:>5} {:>9} {:>8} {:>6} {:>12} {:>8} {:>8} {:>7} {:>7} {:>10}",
            "index",
            "delivery",
            "pid",
            "alive",
            "position",
            "lag",
            "lost",
            "lapped",
            "wakes",
            "heartbeat"
        );
        for (c, j) in s
            .consumers
            .iter()
            .zip(v["consumers"].as_array().into_iter().flatten())
        {
            let _ = writeln!(
                out,
                "  {:>5} {:>9} {:>8} {:>6} {:>12} {:>8} {:>8} {:>7} {:>7} {:>10}{}",
                c.index,
                if c.lossy { "lossy" } else { "lossless" },
                c.pid,
                yes_no(c.alive),
                c.read,
                c.lag,
                c.lost,
                c.lapped,
                c.wakes,
                age(&j["heartbeat_age_s"]),
                consumer_notes(c)
            );
        }
    }
    out
}

/// What the consumer table adds after a row: a durable consumer's name (and whether no process
/// owns it now, so its dead pid is expected), and an eviction.
fn consumer_notes(c: &ringflow::ConsumerStats) -> String {
    let mut notes = String::new();
    if let Some(name) = &c.name {
        notes.push_str(&format!("  name {name}"));
        if c.ownerless {
            notes.push_str(" (ownerless: kept for its next owner)");
        }
    }
    if c.evicted {
        notes.push_str("  evicted");
    }
    notes
}

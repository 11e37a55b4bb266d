//! The paired runner: the headline comparisons, run in short interleaved rounds with the two-core
//! placement measured before each round.
//!
//! On this VM the host moves the two vCPUs between a near placement (a cache-line round trip of
//! ~150 ns) and a far one (~450 ns) every few seconds, and everything that crosses cores runs
//! 3-4x slower when far. A median over contestants run minutes apart compares placements, not
//! code; so each round runs every contestant once, back to back, in a rotating order, and the
//! report gives each contestant's median and the median of per-round ratios.
//!
//! ```text
//! cargo bench -p ringflow-benches --bench paired            # full run (~6 minutes)
//! cargo bench -p ringflow-benches --bench paired -- --quick # 3 rounds, fewer frames
//! ```
//!
//! Prints Markdown tables, and writes every round's figures to
//! `target/ringflow-bench/paired.json` (for `benches/plot.py`).

use std::hint::black_box;
use std::time::Duration;

use ringflow_benches::{
    blocking, fanout, latency, median, one_thread, placement_ns, spsc, Contestant,
};

/// Near placement: a cache-line round trip below this many ns.
const NEAR_NS: f64 = 250.0;

/// One section's rounds: the placement before each, and each contestant's figure.
struct Rounds {
    title: String,
    unit: &'static str,
    rounds: Vec<(f64, Vec<(&'static str, f64)>)>,
    /// The placement probe taken just before each contestant's run, in the order of `rounds`:
    /// the host moves the vCPUs every few seconds, so a round's first probe does not say where
    /// its later runs ran.
    probes: Vec<Vec<f64>>,
}

impl Rounds {
    fn get(&self, round: usize, name: &str) -> f64 {
        self.rounds[round]
            .1
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap()
    }

    fn probe(&self, round: usize, name: &str) -> f64 {
        let k = self.rounds[round]
            .1
            .iter()
            .position(|(n, _)| *n == name)
            .unwrap();
        self.probes[round][k]
    }

    fn names(&self) -> Vec<&'static str> {
        self.rounds[0].1.iter().map(|(n, _)| *n).collect()
    }

    fn print(&self, scale: f64) {
        println!("\n## {}\n", self.title);
        println!(
            "| contestant | median, all rounds ({}) | min .. max | median, near rounds |",
            self.unit
        );
        println!("|---|---:|---:|---:|");
        let mut names = self.names();
        names.sort_by_key(|n| self.rounds[0].1.iter().position(|(m, _)| m == n));
        for name in names {
            let mut all: Vec<f64> = (0..self.rounds.len()).map(|r| self.get(r, name)).collect();
            let mut near: Vec<f64> = (0..self.rounds.len())
                .filter(|&r| self.rounds[r].0 < NEAR_NS)
                .map(|r| self.get(r, name))
                .collect();
            let (lo, hi) = min_max(&all);
            let near = if near.is_empty() {
                "-".into()
            } else {
                format!("{:.1}", median(&mut near) / scale)
            };
            println!(
                "| {name} | {:.1} | {:.1} .. {:.1} | {near} |",
                median(&mut all) / scale,
                lo / scale,
                hi / scale
            );
        }
        let mut placements: Vec<f64> = self.rounds.iter().map(|(ns, _)| *ns).collect();
        println!(
            "\nPlacement before each round (ns per cache-line round trip): {placements:.0?}, median {:.0}",
            median(&mut placements)
        );
    }

    /// Prints the median (and range) of per-round ratios `ours / theirs`, over all rounds and
    /// split by where both runs of the pair ran: near (both probes below [`NEAR_NS`]), far (both
    /// above), or mixed (the host moved the vCPUs between the two runs; such a ratio says little).
    fn ratios(&self, pairs: &[(&str, &str)]) {
        println!(
            "\n| ratio (same round) | median | min .. max | near: median (n) | far: median (n) | mixed (n) |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for (ours, theirs) in pairs {
            let mut all = Vec::new();
            let (mut near, mut far, mut mixed) = (Vec::new(), Vec::new(), 0);
            for k in 0..self.rounds.len() {
                let ratio = self.get(k, ours) / self.get(k, theirs);
                all.push(ratio);
                let (a, b) = (self.probe(k, ours), self.probe(k, theirs));
                match (a < NEAR_NS, b < NEAR_NS) {
                    (true, true) => near.push(ratio),
                    (false, false) => far.push(ratio),
                    _ => mixed += 1,
                }
            }
            let (lo, hi) = min_max(&all);
            let class = |v: &mut Vec<f64>| {
                if v.is_empty() {
                    "- (0)".to_string()
                } else {
                    format!("{:.2} ({})", median(v), v.len())
                }
            };
            println!(
                "| {ours} / {theirs} | {:.2} | {lo:.2} .. {hi:.2} | {} | {} | {mixed} |",
                median(&mut all),
                class(&mut near),
                class(&mut far)
            );
        }
    }

    fn json(&self) -> serde_json_like::Value {
        serde_json_like::section(&self.title, self.unit, &self.rounds)
    }
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)))
}

/// Runs `contestants` in `rounds` rotating rounds; each figure is `measure(contestant)`.
fn rounds<T: Copy>(
    title: String,
    unit: &'static str,
    rounds: usize,
    contestants: &[(&'static str, T)],
    mut measure: impl FnMut(T) -> f64,
) -> Rounds {
    for (_, c) in contestants {
        black_box(measure(*c)); // warm-up
    }
    let mut out = Vec::new();
    let mut probes = Vec::new();
    for round in 0..rounds {
        let placement = placement_ns();
        let mut this = Vec::new();
        let mut probed = Vec::new();
        for k in 0..contestants.len() {
            let (name, c) = contestants[(round + k) % contestants.len()];
            probed.push(if k == 0 { placement } else { placement_ns() });
            this.push((name, measure(c)));
        }
        out.push((placement, this));
        probes.push(probed);
    }
    Rounds {
        title,
        unit,
        rounds: out,
        probes,
    }
}

fn spsc_section<const S: usize>(n: usize, frames: u64) -> Rounds {
    let contestants: Vec<Contestant> = spsc::contestants::<S>();
    let r = rounds(
        format!("SPSC, {S}-byte frames: frames/s"),
        "M frames/s",
        n,
        &contestants,
        |f: fn(u64) -> Duration| frames as f64 / f(frames).as_secs_f64(),
    );
    r.print(1e6);
    r.ratios(&[
        ("ringflow batch", "rtrb chunks"),
        ("ringflow batch recv", "rtrb chunks"),
        ("ringflow batch", "disruptor batch"),
        ("ringflow single", "rtrb push/pop"),
        ("ringflow single recv", "rtrb push/pop"),
        ("ringflow single", "disruptor single"),
        ("ringflow single", "crossbeam ArrayQueue"),
        ("ringflow single", "crossbeam-channel"),
        ("ringflow file single", "ringflow single"),
    ]);
    r
}

fn main() {
    ringflow_benches::pin(0); // reads the core list while nothing is pinned
                              // `cargo bench` passes `--bench`; `--quick` runs 3 rounds of fewer frames.
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, k) = if quick { (3, 4) } else { (9, 1) };
    println!(
        "# ringflow paired runner: {n} rounds, capacity {}, batch {}; fence mode: {}",
        ringflow_benches::CAPACITY,
        ringflow_benches::BATCH,
        ringflow::fence_mode()
    );
    let mut sections = vec![
        spsc_section::<64>(n, 2_000_000 / k),
        spsc_section::<256>(n, 1_000_000 / k),
        spsc_section::<4096>(n, 200_000 / k),
    ];

    // How batched throughput follows the lines a frame takes.
    let frames = 2_000_000 / k;
    let lines = rounds(
        "Lines per frame, batched: frames/s".into(),
        "M frames/s",
        n,
        &spsc::lines(),
        |f: fn(u64) -> Duration| frames as f64 / f(frames).as_secs_f64(),
    );
    lines.print(1e6);
    lines.ratios(&[
        ("ringflow batch 32 B", "rtrb chunks 32 B"),
        ("ringflow batch 64 B", "rtrb chunks 64 B"),
        ("ringflow batch 64 B", "rtrb chunks 128 B"),
        ("ringflow batch recv 64 B", "rtrb chunks 128 B"),
        ("rtrb chunks 64 B", "rtrb chunks 32 B"),
        ("rtrb chunks 128 B", "rtrb chunks 64 B"),
    ]);
    sections.push(lines);

    // The CPU cost of a frame, one thread writing and reading (no transfers; the placement
    // does not matter, but the rounds interleave the same way).
    let frames = 5_000_000 / k;
    let cpu = rounds(
        "One thread, write then read: ns per frame".into(),
        "ns",
        n,
        &one_thread::contestants(),
        |f: fn(u64) -> f64| f(frames),
    );
    cpu.print(1.0);
    cpu.ratios(&[
        ("ringflow single 64 B", "rtrb push/pop 64 B"),
        ("ringflow single 256 B", "rtrb push/pop 256 B"),
    ]);
    sections.push(cpu);

    // Round trips: median and p99 per contestant, per round.
    let trips = 50_000 / k;
    let pingers = latency::contestants();
    let rt = rounds(
        "Round trip, 64-byte frames, busy-waiting: median ns".into(),
        "ns",
        n,
        &pingers,
        |f: fn(u64) -> hdrhistogram::Histogram<u64>| f(trips).value_at_quantile(0.5) as f64,
    );
    rt.print(1.0);
    rt.ratios(&[
        ("ringflow", "bare cache line"),
        ("ringflow", "rtrb"),
        ("ringflow", "crossbeam ArrayQueue"),
    ]);
    // p99s from separate runs (one per contestant, same count of trips), interleaved the same way.
    let tails = rounds(
        "Round trip, 64-byte frames, busy-waiting: p99 ns".into(),
        "ns",
        n,
        &pingers,
        |f: fn(u64) -> hdrhistogram::Histogram<u64>| f(trips).value_at_quantile(0.99) as f64,
    );
    tails.print(1.0);
    sections.push(rt);
    sections.push(tails);

    // Blocking mode: a blocking reader against the busy one, and the futex wakes it cost.
    let frames = 1_000_000 / k;
    let mut wakes: Vec<f64> = Vec::new();
    let blocking_contestants: Vec<(&'static str, u8)> = vec![
        ("ringflow busy", 0),
        ("ringflow blocking", 1),
        ("crossbeam-channel", 2),
        ("std sync_channel", 3),
    ];
    let b = rounds(
        "Blocking reader, 64-byte frames: frames/s".into(),
        "M frames/s",
        n,
        &blocking_contestants,
        |which| {
            let elapsed = match which {
                0 => spsc::ringflow_single::<64>(frames),
                1 => {
                    let (elapsed, w) = blocking::ringflow_blocking::<64>(frames);
                    wakes.push(w as f64 * 1e6 / frames as f64);
                    elapsed
                }
                2 => spsc::crossbeam_channel::<64>(frames),
                _ => spsc::sync_channel::<64>(frames),
            };
            frames as f64 / elapsed.as_secs_f64()
        },
    );
    b.print(1e6);
    b.ratios(&[
        ("ringflow blocking", "ringflow busy"),
        ("ringflow blocking", "crossbeam-channel"),
        ("ringflow blocking", "std sync_channel"),
    ]);
    let (lo, hi) = min_max(&wakes);
    println!(
        "\nringflow blocking: futex wake syscalls per million frames, median {:.0} (min {lo:.0}, max {hi:.0}) over {} runs",
        median(&mut wakes.clone()),
        wakes.len()
    );
    sections.push(b);

    // Wake-up latency of a reader asleep between frames (one frame every 200 us).
    let wake = rounds(
        "Wake-up latency, a frame every 200 us, blocking reader: median ns".into(),
        "ns",
        n,
        &blocking::wakers(),
        |f: fn(u64, Duration) -> hdrhistogram::Histogram<u64>| {
            f(2_000 / k, Duration::from_micros(200)).value_at_quantile(0.5) as f64
        },
    );
    wake.print(1.0);
    sections.push(wake);

    // Multi-producer and broadcast against the disruptor (oversubscribed: see fanout.rs).
    let frames = 1_000_000 / k;
    let fan = rounds(
        "Multi-producer and broadcast, 64-byte frames: frames/s".into(),
        "M frames/s",
        n,
        &fanout::contestants(),
        |f: fn(u64) -> Duration| frames as f64 / f(frames).as_secs_f64(),
    );
    fan.print(1e6);
    fan.ratios(&[
        ("ringflow 2 producers", "disruptor 2 producers"),
        ("ringflow broadcast to 2", "disruptor broadcast to 2"),
        ("ringflow broadcast to 4", "disruptor broadcast to 4"),
    ]);
    sections.push(fan);

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ringflow-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let json = serde_json_like::array(sections.iter().map(Rounds::json).collect());
    std::fs::write(dir.join("paired.json"), json.0).unwrap();
    println!("\nWrote {}", dir.join("paired.json").display());
}

/// A few lines of JSON writing (the benches need no serde for one file).
mod serde_json_like {
    pub struct Value(pub String);

    pub fn section(title: &str, unit: &str, rounds: &[(f64, Vec<(&'static str, f64)>)]) -> Value {
        let rounds: Vec<String> = rounds
            .iter()
            .map(|(placement, figures)| {
                let figures: Vec<String> = figures
                    .iter()
                    .map(|(n, v)| format!("{{\"name\":{n:?},\"value\":{v}}}"))
                    .collect();
                format!(
                    "{{\"placement_ns\":{placement},\"figures\":[{}]}}",
                    figures.join(",")
                )
            })
            .collect();
        Value(format!(
            "{{\"title\":{title:?},\"unit\":{unit:?},\"rounds\":[{}]}}",
            rounds.join(",")
        ))
    }

    pub fn array(values: Vec<Value>) -> Value {
        let items: Vec<String> = values.into_iter().map(|v| v.0).collect();
        Value(format!("[{}]", items.join(",")))
    }
}

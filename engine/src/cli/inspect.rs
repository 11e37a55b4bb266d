//! `ringflow inspect`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use ringflow::Ring;
use ringflow_engine::{runtime, stats};

use super::signals::StopSignals;
use super::Failure;

#[derive(Args)]
pub(crate) struct InspectArgs {
    pub(crate) path: PathBuf,
    /// Refresh every second until Ctrl-C.
    #[arg(long)]
    pub(crate) watch: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn inspect(a: InspectArgs) -> Result<u8, Failure> {
    let ring = Ring::open(&a.path)?;
    if !a.watch {
        let v = stats::ring_json(&ring);
        if a.json {
            println!("{v}");
        } else {
            println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
        return Ok(0);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        let signals = StopSignals::listen()?;
        runtime::runtime().spawn(async move {
            signals.recv().await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let tty = std::io::stdout().is_terminal();
    let mut last = (Instant::now(), ring.stats());
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_secs(1));
        let s = ring.stats();
        let secs = last.0.elapsed().as_secs_f64();
        let rate = (s.published - last.1.published) as f64 / secs;
        if tty {
            print!("\x1b[2J\x1b[H");
        }
        println!(
            "{}  published {}  {:.0} frames/s  dropped {}  abandoned {}  closed {}",
            a.path.display(),
            s.published,
            rate,
            s.dropped,
            s.abandoned,
            s.closed
        );
        // Xruns, as an audio user counts them: frames a producer could not write (dropped)
        // plus frames readers never got (lost).
        let xruns = s.dropped + s.consumers.iter().map(|c| c.lost).sum::<u64>();
        println!("xruns {xruns}");
        println!(
            "wakes: data {} space {}   sleepers: data {} space {}",
            s.data_wakes, s.space_wakes, s.data_sleepers, s.space_sleepers
        );
        println!(
            "{:>5} {:>8} {:>9} {:>14} {:>10} {:>12} {:>10} {:>8} {:>6}",
            "index", "pid", "policy", "read", "lag", "delivered", "lost", "lapped", "torn"
        );
        for c in &s.consumers {
            println!(
                "{:>5} {:>8} {:>9} {:>14} {:>10} {:>12} {:>10} {:>8} {:>6}{}",
                c.index,
                c.pid,
                if c.lossy { "lossy" } else { "lossless" },
                c.read,
                c.lag,
                c.delivered,
                c.lost,
                c.lapped,
                c.torn,
                if c.evicted { "  evicted" } else { "" }
            );
        }
        last = (Instant::now(), s);
    }
    Ok(0)
}

//! What runs alongside a job and what it prints at the end: a progress spinner, joined tasks,
//! the summary line.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use ringflow::Ring;
use ringflow_engine::registry::{Handle, Registry, TaskState};
use ringflow_engine::runtime;

/// A spinner showing the ring's rate and lag while stdout is a terminal; nothing otherwise.
pub(crate) fn progress(ring: &Ring) -> Option<(ProgressBar, std::thread::JoinHandle<()>)> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("template"));
    let (ring, b) = (ring.clone(), bar.clone());
    let t = std::thread::spawn(move || {
        let mut last = (Instant::now(), ring.published());
        while !b.is_finished() {
            std::thread::sleep(Duration::from_millis(250));
            let s = ring.stats();
            let rate = (s.published - last.1) as f64 / last.0.elapsed().as_secs_f64();
            last = (Instant::now(), s.published);
            let lag = s.consumers.iter().map(|c| c.lag).max().unwrap_or(0);
            b.set_message(format!(
                "{} frames  {:.0} frames/s  max lag {lag}",
                s.published, rate
            ));
            b.tick();
        }
    });
    Some((bar, t))
}

pub(crate) fn finish_progress(p: Option<(ProgressBar, std::thread::JoinHandle<()>)>) {
    if let Some((bar, t)) = p {
        bar.finish_and_clear();
        let _ = t.join();
    }
}

pub(crate) fn join_all(registry: &Registry, handles: &[Handle]) -> Vec<TaskState> {
    let rt = runtime::runtime();
    handles
        .iter()
        .map(|&h| {
            let state = rt
                .block_on(registry.join(h))
                .unwrap_or_else(|e| TaskState::Failed(e.to_string()));
            let _ = registry.release(h);
            state
        })
        .collect()
}

pub(crate) fn report(json: bool, what: &str, value: &serde_json::Value) {
    if json {
        println!("{value}");
    } else {
        let frames = value["frames"].as_u64().unwrap_or(0);
        let rate = value["frames_per_s"].as_f64().unwrap_or(0.0);
        println!(
            "{what} {frames} frames in {:.3} s ({rate:.0} frames/s)",
            value["elapsed_s"].as_f64().unwrap_or(0.0)
        );
        println!("{value}");
    }
}

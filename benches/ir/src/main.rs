//! `ringflow-ir`: instructions per frame of the one-thread loops, counted by callgrind.
//!
//! ```text
//! ringflow-ir report [--frames N] [--check FILE]   every loop under callgrind; a table
//! ringflow-ir run NAME FRAMES                      one loop (what `report` runs under callgrind)
//! ```
//!
//! `report` runs each loop twice under `valgrind --tool=callgrind`, for `N` and `3 N` frames
//! (default `N` = 20,000: several laps of the 4096-slot ring), and prints `(Ir(3N) - Ir(N)) / 2N`,
//! the instructions one more frame costs, set-up and tear-down cancelled out. With `--check FILE`
//! (lines `NAME<TAB>IR`, as `report` prints them) it exits 1 if a ringflow loop costs more than
//! 20% over its recorded figure, or has none. Build it with `--release`: counts of an unoptimized
//! build mean nothing.
//!
//! Exit status: 0 done (and within the recorded figures); 1 a figure grew; 2 bad arguments or
//! valgrind failed.
//!
//! Arguments are parsed by hand: two subcommands and two flags, and this crate keeps its
//! dependencies to the two queues it measures.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use ringflow_ir::one_thread;

/// How much a ringflow loop's count may grow over its recorded figure.
const TOLERANCE: f64 = 1.20;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["run", name, frames] => run(name, frames),
        ["report", rest @ ..] => report(rest),
        _ => Err(usage()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ringflow-ir: {message}");
            ExitCode::from(2)
        }
    }
}

fn usage() -> String {
    "usage: ringflow-ir report [--frames N] [--check FILE] | ringflow-ir run NAME FRAMES".into()
}

fn run(name: &str, frames: &str) -> Result<ExitCode, String> {
    let frames: u64 = frames
        .parse()
        .map_err(|_| format!("FRAMES {frames}: not a count"))?;
    let (_, f) = one_thread::contestants()
        .into_iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| format!("no loop named {name:?}"))?;
    f(frames);
    Ok(ExitCode::SUCCESS)
}

fn report(mut rest: &[&str]) -> Result<ExitCode, String> {
    let mut frames = 20_000u64;
    let mut check: Option<PathBuf> = None;
    while let [flag, value, tail @ ..] = rest {
        match *flag {
            "--frames" => {
                frames = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--frames {value}: not a positive count"))?
            }
            "--check" => check = Some(PathBuf::from(value)),
            _ => return Err(usage()),
        }
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(usage());
    }
    let recorded = check.as_deref().map(read_figures).transpose()?;
    let exe = std::env::current_exe().map_err(|e| format!("where am I: {e}"))?;
    let scratch = std::env::temp_dir().join(format!("ringflow-ir-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let figures = measure_all(&exe, &scratch, frames);
    let _ = std::fs::remove_dir_all(&scratch);
    let figures = figures?;
    let mut grown = Vec::new();
    for (name, ir) in &figures {
        println!("{name}\t{ir:.1}");
        let Some(recorded) = &recorded else { continue };
        if !name.starts_with("ringflow") {
            continue;
        }
        match recorded.iter().find(|(n, _)| n == name) {
            Some((_, was)) if *ir > was * TOLERANCE => grown.push(format!(
                "{name}: {ir:.1} instructions per frame, {:.0}% over the recorded {was:.1}",
                (ir / was - 1.0) * 100.0
            )),
            Some(_) => {}
            None => grown.push(format!("{name}: no recorded figure")),
        }
    }
    if grown.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for g in &grown {
            eprintln!("ringflow-ir: {g}");
        }
        Ok(ExitCode::from(1))
    }
}

fn measure_all(exe: &Path, scratch: &Path, frames: u64) -> Result<Vec<(String, f64)>, String> {
    one_thread::contestants()
        .into_iter()
        .map(|(name, _)| {
            let short = instructions(exe, scratch, name, frames)?;
            let long = instructions(exe, scratch, name, 3 * frames)?;
            let per_frame = long.saturating_sub(short) as f64 / (2 * frames) as f64;
            Ok((name.to_string(), per_frame))
        })
        .collect()
}

/// The instructions callgrind counts for `ringflow-ir run NAME FRAMES`.
fn instructions(exe: &Path, scratch: &Path, name: &str, frames: u64) -> Result<u64, String> {
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!(
            "--callgrind-out-file={}",
            scratch.join("callgrind.out").display()
        ))
        .arg(exe)
        .args(["run", name, &frames.to_string()])
        .output()
        .map_err(|e| {
            format!(
                "running valgrind: {e} (install it: Debian's `valgrind` package, or `make setup`)"
            )
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "valgrind on {name:?} failed ({}): {stderr}",
            out.status
        ));
    }
    // callgrind's summary line: "==PID== Collected : 123456".
    stderr
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().parse().ok())
        })
        .flatten()
        .ok_or_else(|| format!("no instruction count in callgrind's output for {name:?}: {stderr}"))
}

fn read_figures(path: &Path) -> Result<Vec<(String, f64)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, ir) = l
                .rsplit_once('\t')
                .ok_or_else(|| format!("{}: {l:?} is not NAME<TAB>IR", path.display()))?;
            let ir = ir
                .trim()
                .parse()
                .map_err(|_| format!("{}: {ir:?} is not a number", path.display()))?;
            Ok((name.to_string(), ir))
        })
        .collect()
}

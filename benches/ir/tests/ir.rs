//! The CPU cost of a frame, held in place by instruction counts (deterministic, unlike times):
//! builds `ringflow-ir` with `--release` (counts of an unoptimized build mean nothing), runs its
//! report under callgrind on a short stream, and fails if a ringflow loop costs more than 20% over
//! the figure recorded in `baseline.txt`.
//!
//! Needs `valgrind` on the PATH (`make setup` installs it where apt is available).

use std::path::Path;
use std::process::Command;

#[test]
fn ringflow_instructions_per_frame_stay_within_the_recorded_figures() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `target/<profile>/deps/ir-<hash>` → `target`.
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap();
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "ringflow-ir",
            "--bin",
            "ringflow-ir",
        ])
        .arg("--target-dir")
        .arg(target)
        .status()
        .expect("running cargo");
    assert!(
        status.success(),
        "cargo build --release -p ringflow-ir failed"
    );
    let out = Command::new(target.join("release/ringflow-ir"))
        .args(["report", "--frames", "20000", "--check"])
        .arg(manifest.join("baseline.txt"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    print!("{stdout}");
    assert!(out.status.success(), "{stdout}{stderr}");
    // Every loop reported a figure (a loop that ran nothing would cost 0).
    let figures: Vec<f64> = stdout
        .lines()
        .map(|l| l.rsplit_once('\t').unwrap().1.parse().unwrap())
        .collect();
    assert_eq!(figures.len(), ringflow_ir::one_thread::contestants().len());
    assert!(figures.iter().all(|&ir| ir > 10.0), "{stdout}");
}

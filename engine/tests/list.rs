//! `ringflow list` and `ringflow rm`, driven as a user would.

mod common;

use common::{inspect, ringflow, wait_until, Running};

fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Rings with their schema and attachment; other files skipped, or listed with `--all`; a FIFO
/// (which would block an open) and a directory never hang or crash it.
#[test]
fn list_shows_rings_and_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |n: &str| d.join(n).to_str().unwrap().to_owned();
    assert_eq!(
        ringflow(&["create", &p("a"), "--schema", "audio", "--slots", "64"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        ringflow(&["create", &p("t"), "--schema", "telemetry", "--slots", "64"])
            .status
            .code(),
        Some(0)
    );
    std::fs::write(p("text"), b"hello").unwrap();
    std::fs::write(p("big"), vec![7u8; 1 << 20]).unwrap();
    std::fs::create_dir(p("sub")).unwrap();
    let fifo = std::ffi::CString::new(p("fifo")).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let _reader = Running::spawn(&["consume", &p("t"), "--timeout", "60"], &[]);
    wait_until("the reader registered", || {
        inspect(&d.join("t"))["consumers"]
            .as_array()
            .is_some_and(|c| c.len() == 1)
    });

    let out = ringflow(&["list", d.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let rows = json_lines(&out.stdout);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["path"], p("a"));
    assert_eq!(
        (
            &rows[0]["schema"]["kind"],
            &rows[0]["attached"],
            &rows[0]["slots"]
        ),
        (&"audio".into(), &false.into(), &64.into())
    );
    assert_eq!(
        (
            &rows[1]["schema"]["kind"],
            &rows[1]["attached"],
            &rows[1]["live_consumers"]
        ),
        (&"telemetry".into(), &true.into(), &1.into())
    );

    let all = json_lines(&ringflow(&["list", d.to_str().unwrap(), "--all", "--json"]).stdout);
    let not_rings: Vec<_> = all
        .iter()
        .filter(|r| r["ring"] == false)
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(not_rings, [p("big"), p("fifo"), p("sub"), p("text")]);

    let table = String::from_utf8(ringflow(&["list", d.to_str().unwrap()]).stdout).unwrap();
    assert!(table.contains("1 consumer"), "{table}");
    assert!(table.contains("audio (48000 Hz"), "{table}");
    assert!(!table.contains("text"), "{table}");
}

/// `rm` removes idle rings, refuses a live one (one line) unless `--force`, and leaves a file
/// that is no ring alone.
#[test]
fn rm_refuses_live_rings_without_force_and_other_files_always() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |n: &str| d.join(n).to_str().unwrap().to_owned();
    for name in ["idle", "live"] {
        assert_eq!(
            ringflow(&["create", &p(name), "--slots", "64"])
                .status
                .code(),
            Some(0)
        );
    }
    std::fs::write(p("text"), vec![1u8; 4096]).unwrap();
    for name in ["idle", "live"] {
        std::fs::write(p(&format!("{name}.bridge-pull")), b"{}").unwrap();
    }
    let reader = Running::spawn(&["consume", &p("live"), "--timeout", "60"], &[]);
    wait_until("the reader registered", || {
        inspect(&d.join("live"))["consumers"]
            .as_array()
            .is_some_and(|c| c.len() == 1)
    });

    let out = ringflow(&["rm", &p("idle"), &p("live"), &p("text")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].contains(&format!("consumer pid {}", reader.id())) && lines[0].contains("--force"),
        "{stderr}"
    );
    assert!(lines[1].contains("not a ring"), "{stderr}");
    assert!(!d.join("idle").exists());
    assert!(d.join("live").exists() && d.join("text").exists());
    assert!(
        !d.join("idle.bridge-pull").exists(),
        "a pull bridge's state file goes with its ring"
    );
    assert!(d.join("live.bridge-pull").exists());

    assert_eq!(
        ringflow(&["rm", "--force", &p("live")]).status.code(),
        Some(0)
    );
    assert!(!d.join("live").exists() && !d.join("live.bridge-pull").exists());
    assert_eq!(
        ringflow(&["rm", "--force", &p("text")]).status.code(),
        Some(2)
    );
    assert!(d.join("text").exists());
}

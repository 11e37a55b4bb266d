//! `ringflow consume --name`: a durable named reader resumes where the last run released.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ringflow::Ring;

fn ringflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringflow"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| {
            panic!("{text}{}", String::from_utf8_lossy(&out.stderr));
        });
    serde_json::from_str(line).unwrap()
}

#[test]
fn a_named_consume_resumes_where_the_last_one_released() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r");
    let p = path.to_str().unwrap();
    assert!(
        ringflow(&["create", p, "--slots", "64", "--slot-size", "64"])
            .status
            .success()
    );
    let first = std::thread::spawn({
        let p = p.to_owned();
        move || {
            ringflow(&[
                "consume", &p, "--name", "n", "--grace", "30", "--frames", "10", "--json",
            ])
        }
    });
    let ring = Ring::open(&path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ring.stats().consumers.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the named reader never registered"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(ringflow(&["produce", p, "--frames", "30"]).status.success());
    let out = first.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["frames"], 10);
    let stats = ring.stats();
    let c = &stats.consumers[0];
    assert_eq!(
        (c.name.as_deref(), c.ownerless, c.read),
        (Some("n"), true, 10)
    );
    // inspect's table says the dead pid is an ownerless durable consumer's.
    let table = ringflow(&["inspect", p]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("name n (ownerless: kept for its next owner)"),
        "{table}"
    );
    let out = ringflow(&[
        "consume",
        p,
        "--name",
        "n",
        "--frames",
        "20",
        "--verify",
        "--timeout",
        "5",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(
        (v["start_seq"].as_u64(), v["frames"].as_u64()),
        (Some(10), Some(20))
    );
    assert_eq!(v["verified"], true);
    // --grace without --name is refused as bad usage.
    let out = ringflow(&["consume", p, "--grace", "3"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn rm_consumer_forgets_an_ownerless_name_and_refuses_a_live_or_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r");
    let p = path.to_str().unwrap();
    let ring = Ring::create(&path, &ringflow::RingConfig::new(64, 64)).unwrap();
    let live = ring
        .consumer_named(
            "live",
            ringflow::Delivery::Lossless,
            Duration::from_secs(60),
        )
        .unwrap();
    drop(
        ring.consumer_named(
            "idle",
            ringflow::Delivery::Lossless,
            Duration::from_secs(60),
        )
        .unwrap(),
    );
    let out = ringflow(&["rm", "--consumer", "live", p]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"live\" is taken") && err.contains("--force"),
        "{err}"
    );
    let out = ringflow(&["rm", "--consumer", "idle", p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<_> = ring
        .stats()
        .consumers
        .into_iter()
        .filter_map(|c| c.name)
        .collect();
    assert_eq!(names, ["live"]);
    let out = ringflow(&["rm", "--consumer", "idle", p]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no consumer named \"idle\""));
    let out = ringflow(&["rm", "--consumer", "live", "--force", p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ring.stats().consumers.iter().all(|c| c.name.is_none()));
    assert!(path.exists(), "the ring stays");
    drop(live);
}

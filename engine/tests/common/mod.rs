//! Running the `ringflow` binary from tests: children killed if a test fails, bounded waits.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn ringflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringflow"))
        .args(args)
        .output()
        .expect("run ringflow")
}

/// A running `ringflow`, killed (SIGKILL) and reaped if the test ends before it does.
pub struct Running(Option<Child>);

impl Running {
    pub fn spawn(args: &[&str], env: &[(&str, &Path)]) -> Running {
        use std::os::unix::process::CommandExt;
        let mut c = Command::new(env!("CARGO_BIN_EXE_ringflow"));
        c.args(args);
        // The child takes SIGHUP as a terminal hang-up whatever this test process inherited: a
        // test run under `nohup` (or a CI runner that ignores SIGHUP) would otherwise pass the
        // ignored disposition on, and `ringflow` keeps an ignored SIGHUP ignored, as `nohup`
        // asks. The `nohup` test starts its child through `nohup` itself.
        // SAFETY: runs in the child between fork and exec, and only calls signal(2), which is
        // async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_DFL);
                Ok(())
            });
        }
        for (k, v) in env {
            c.env(k, v);
        }
        Running::start(c)
    }

    /// Starts `command` with stdout and stderr captured.
    pub fn start(mut command: Command) -> Running {
        let c = command.stdout(Stdio::piped()).stderr(Stdio::piped());
        Running(Some(c.spawn().expect("spawn")))
    }

    pub fn is_running(&mut self) -> bool {
        let c = self.0.as_mut().expect("running");
        c.try_wait().unwrap().is_none()
    }

    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    /// The child's stdout, to read as it runs (what is read from it is not in `finish`'s
    /// output).
    pub fn take_stdout(&mut self) -> std::process::ChildStdout {
        self.0
            .as_mut()
            .expect("running")
            .stdout
            .take()
            .expect("stdout")
    }

    /// Sends `kill -SIG`.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{sig}");
    }

    /// SIGSTOP, then waits until every thread of the process is stopped. `kill` returns once the
    /// signal is queued: the kernel wakes one thread to take it, and the others (a tokio worker
    /// reading the ring) run on until that thread is scheduled and stops the whole group, which
    /// on a loaded machine is long enough for them to see a peer die and unregister.
    pub fn stop(&self) {
        self.signal("STOP");
        let tasks = format!("/proc/{}/task", self.id());
        wait_until("every thread of the stopped process", || {
            let threads = std::fs::read_dir(&tasks)
                .unwrap_or_else(|e| panic!("{tasks}: {e}: the process ended instead of stopping"));
            threads.into_iter().all(|task| {
                // A thread that ended since the listing reads as not stopped: look again.
                let stat =
                    std::fs::read_to_string(task.unwrap().path().join("stat")).unwrap_or_default();
                // The state follows the command name, which is in parentheses (and may hold
                // spaces or parentheses itself): `T` stopped, `t` stopped under a tracer.
                let state = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.trim_start().chars().next());
                assert_ne!(
                    state,
                    Some('Z'),
                    "{tasks}: the process ended instead of stopping"
                );
                matches!(state, Some('T' | 't'))
            })
        });
    }

    /// SIGKILL, and reap.
    pub fn kill(mut self) -> Output {
        let mut c = self.0.take().expect("running");
        c.kill().unwrap();
        c.wait_with_output().unwrap()
    }

    /// Waits for the exit, failing the test (and killing the child) after `limit`.
    pub fn finish(mut self, limit: Duration) -> Output {
        let mut c = self.0.take().expect("running");
        let deadline = Instant::now() + limit;
        while c.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                c.kill().unwrap();
                panic!(
                    "ringflow still running after {limit:?}: {:?}",
                    c.wait_with_output().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        c.wait_with_output().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The JSON object on the last line of stdout.
pub fn last_json(out: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(out);
    let line = text.lines().last().unwrap_or_else(|| panic!("no output"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

pub fn inspect(path: &Path) -> serde_json::Value {
    last_json(&ringflow(&["inspect", path.to_str().unwrap(), "--json"]).stdout)
}

/// Waits (30 s at most) until `ready` holds.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "waited 30 s for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The sizes a WAV file's header gives: (RIFF size, data offset, data size).
pub fn wav_sizes(bytes: &[u8]) -> (u64, u64, u64) {
    let u32_at = |o: usize| u64::from(u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()));
    assert_eq!(&bytes[..4], b"RIFF");
    let mut at = 12;
    while &bytes[at..at + 4] != b"data" {
        at += 8 + u32_at(at + 4) as usize;
    }
    (u32_at(4), at as u64 + 8, u32_at(at + 4))
}

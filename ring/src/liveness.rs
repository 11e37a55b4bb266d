//! Clocks and process liveness: how one side of a ring tells whether the other is still there.

/// `CLOCK_MONOTONIC` in nanoseconds. System-wide on Linux, so a timestamp taken in one process
/// can be compared in another (frame latency, heartbeats). A vDSO call, not a syscall.
#[inline]
pub fn monotonic_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Nanoseconds since the Unix epoch.
pub fn realtime_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// The pid of this process.
pub fn current_pid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}

/// Whether process `pid` is alive. A zombie (killed, not yet reaped) counts as dead: it will
/// never touch the ring again.
pub fn pid_alive(pid: u32) -> bool {
    if pid == current_pid() {
        return true;
    }
    let Some(raw) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    // /proc/PID/stat: "pid (comm) S ..."; the state letter follows the last ')'.
    match std::fs::read(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let after = stat
                .iter()
                .rposition(|&b| b == b')')
                .map(|i| &stat[i + 1..]);
            !matches!(
                after.and_then(|rest| rest.iter().find(|b| !b.is_ascii_whitespace())),
                Some(b'Z' | b'X')
            )
        }
        // No /proc: ask the kernel whether a signal could be sent (EPERM still means alive).
        Err(_) => match rustix::process::test_kill_process(raw) {
            Ok(()) => true,
            Err(e) => e != rustix::io::Errno::SRCH,
        },
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(pid_alive(current_pid()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!pid_alive(pid));
    }

    #[test]
    fn a_zombie_counts_as_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Wait for the child to exit without reaping it: its stat turns to Z.
        let stat = format!("/proc/{pid}/stat");
        while std::fs::read_to_string(&stat)
            .map(|s| !s.contains(") Z"))
            .unwrap_or(false)
        {
            std::thread::yield_now();
        }
        assert!(!pid_alive(pid));
        child.wait().unwrap();
    }

    #[test]
    fn clocks_move_forward() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(b >= a);
        assert!(realtime_ns() > 1_600_000_000_000_000_000);
    }
}

//! Exact liveness of a file-backed ring's participants: each holds an open file description lock
//! (`fcntl(F_OFD_SETLK)`) on one byte of the ring file, its own block's first byte, for as long
//! as it is attached. The kernel drops the lock when the process dies, however it dies, so
//! "alive" is a lock test rather than a pid guess, and a pid the kernel hands to another process
//! cannot fake it (iceoryx2 tells dead nodes the same way).
//!
//! Two descriptions of the file per mapping: `holder`, on which this process takes its
//! participants' locks (OFD locks on distinct bytes of one description coexist, and each is
//! released alone), and `probe`, on which it asks whether a byte is locked: a description never
//! conflicts with its own locks, so asking through `holder` would not see this process's own
//! participants.
//!
//! By hand with `libc`: neither `rustix` nor `std` exposes byte-range OFD locks.

use std::fs::File;
use std::os::fd::AsRawFd;

/// The two open file descriptions of one mapped ring file.
#[derive(Debug)]
pub(crate) struct ParticipantLocks {
    /// `None` for a read-only look ([`ParticipantLocks::probe_only`]): it takes no lock.
    holder: Option<File>,
    probe: File,
}

/// `F_OFD_SETLK` / `F_OFD_GETLK` with a write lock (or unlock) of one byte at `offset`.
fn ofd(
    file: &File,
    cmd: libc::c_int,
    kind: libc::c_short,
    offset: usize,
) -> Result<libc::flock, i32> {
    // SAFETY: `flock` is plain data; all-zero is a valid value, then filled in below.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock.l_start = offset as libc::off_t;
    lock.l_len = 1;
    // OFD locks require l_pid to be 0.
    lock.l_pid = 0;
    // SAFETY: `file` is an open descriptor for the call's duration, and `lock` a valid flock the
    // kernel reads (and, for F_OFD_GETLK, writes).
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut lock as *mut libc::flock) };
    if rc == -1 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(lock)
    }
}

impl ParticipantLocks {
    /// Two new descriptions of the open ring file `file` (through `/proc/self/fd`, so they
    /// are of the mapped inode whatever name it has or gets: a ring is built under a temporary
    /// name and linked to its own later, or replaced at its name). `None` if they cannot be
    /// opened (no `/proc`, or no write permission: a write lock needs a writable description);
    /// pid liveness is then the fallback.
    pub(crate) fn of(file: &File) -> Option<ParticipantLocks> {
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        let holder = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .ok()?;
        let probe = File::open(&path).ok()?;
        Some(ParticipantLocks {
            holder: Some(holder),
            probe,
        })
    }

    /// One read-only description of `file`, to ask whether bytes are locked and never to lock
    /// one (a lock test needs no write permission; taking a write lock does): for a process that
    /// only looks at a ring it may read. `None` if it cannot be opened.
    pub(crate) fn probe_only(file: &File) -> Option<ParticipantLocks> {
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        Some(ParticipantLocks {
            holder: None,
            probe: File::open(&path).ok()?,
        })
    }

    #[cfg(test)]
    fn open(path: &std::path::Path) -> Option<ParticipantLocks> {
        Self::of(&File::open(path).ok()?)
    }

    /// Takes the lock on `offset` for a participant of this process; false if another open file
    /// description (a live participant, in this process or another) holds it, or if these locks
    /// are only a probe.
    pub(crate) fn take(&self, offset: usize) -> bool {
        let Some(holder) = &self.holder else {
            return false;
        };
        // A write lock: conflicts with every other description's lock on the byte.
        ofd(
            holder,
            libc::F_OFD_SETLK,
            libc::F_WRLCK as libc::c_short,
            offset,
        )
        .is_ok()
    }

    /// Gives the lock on `offset` back (a participant detached).
    pub(crate) fn release(&self, offset: usize) {
        let Some(holder) = &self.holder else {
            return;
        };
        let _ = ofd(
            holder,
            libc::F_OFD_SETLK,
            libc::F_UNLCK as libc::c_short,
            offset,
        );
    }

    /// Whether some live participant holds the lock on `offset` (this process's own included).
    /// An error asking counts as held: never declare a participant dead on a failed syscall.
    pub(crate) fn held(&self, offset: usize) -> bool {
        match ofd(
            &self.probe,
            libc::F_OFD_GETLK,
            libc::F_WRLCK as libc::c_short,
            offset,
        ) {
            Ok(found) => found.l_type != libc::F_UNLCK as libc::c_short,
            Err(_) => true,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::ParticipantLocks;

    #[test]
    fn a_lock_is_seen_from_the_probe_and_gone_when_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [0u8; 64]).unwrap();
        let a = ParticipantLocks::open(&path).unwrap();
        let b = ParticipantLocks::open(&path).unwrap();
        assert!(!a.held(8));
        assert!(a.take(8));
        assert!(a.held(8), "the own probe sees the own lock");
        assert!(b.held(8));
        assert!(!b.take(8), "another description cannot take it");
        assert!(b.take(9), "other bytes are free");
        a.release(8);
        assert!(!b.held(8));
        drop(b); // closing the description drops its locks, as a process death does
        assert!(!a.held(9));
    }
}

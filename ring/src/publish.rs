//! Making a ring file appear only complete.
//!
//! A new ring is built under a temporary name in the directory it will live in: the file is
//! created `0600` with `O_EXCL`, every page of it is allocated (`fallocate`), it is mapped and its
//! header written, magic last (`Ring::init`). Only then does it get its name:
//!
//! - `create` publishes with `link(2)`, which fails with `EEXIST` if the name exists: of two
//!   creators racing on one path exactly one links, and the other opens the winner's ring, which
//!   was complete before it had a name. (`rename(2)` would silently replace the winner's ring.)
//! - a replace publishes with `rename(2)`, which swaps the name over to the new file atomically:
//!   an opener finds the old ring or the new one, never no file and never half of one.
//!
//! The temporary name is `.NAME.ringflow-tmp.PID.N` (`N` counts the creations of this process).
//! It is removed when the build fails or the ring was linked; a creator killed mid-build leaves
//! it behind, but never a file at the ring's own name. A stray `.*.ringflow-tmp.*` whose pid is
//! dead can be deleted.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rustix::fs::{FallocateFlags, CWD};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// What the temporary names of ring files contain, after the ring's own name.
pub const TMP_MARK: &str = ".ringflow-tmp.";

/// Creations of this process so far: makes temporary names of threads racing in one process
/// distinct.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A ring file under construction. Dropping it removes its temporary name (after a link the
/// ring keeps its own name; after a rename there is nothing left to remove).
pub(crate) struct TempRing {
    pub(crate) file: File,
    path: PathBuf,
    dir: PathBuf,
    /// Whether the temporary name is gone (renamed, or removed already).
    gone: bool,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl TempRing {
    /// Creates an empty temporary file next to `target`.
    pub(crate) fn new(target: &Path) -> Result<TempRing> {
        let Some(name) = target.file_name() else {
            return Err(Error::InvalidArgument(format!(
                "{} names no file",
                target.display()
            )));
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let pid = crate::liveness::current_pid();
        loop {
            // Relaxed: only distinctness matters, and a fetch_add gives it.
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut tmp_name = std::ffi::OsString::from(".");
            tmp_name.push(name);
            tmp_name.push(format!("{TMP_MARK}{pid}.{n}"));
            let path = dir.join(tmp_name);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(TempRing {
                        file,
                        path,
                        dir,
                        gone: false,
                    })
                }
                // Left by a dead process that had our pid: take the next number.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(target)(e)),
            }
        }
    }

    /// Allocates `len` bytes of backing store: afterwards no access to the mapping can fault
    /// for want of space (which a file-backed mapping reports as SIGBUS). A filesystem that
    /// cannot hold them fails with [`Error::NoSpace`], and the temporary file is removed first,
    /// so the free space reported is what the filesystem has without it.
    pub(crate) fn allocate(&mut self, len: u64) -> Result<()> {
        match rustix::fs::fallocate(&self.file, FallocateFlags::empty(), 0, len) {
            Ok(()) => Ok(()),
            Err(Errno::NOSPC | Errno::DQUOT) => {
                self.remove();
                let free = rustix::fs::statvfs(&self.dir)
                    .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
                    .map_err(|e| io(&self.dir)(e.into()))?;
                Err(Error::NoSpace {
                    dir: self.dir.clone(),
                    needed: len,
                    free,
                })
            }
            // A filesystem without fallocate: a sparse file, allocated as pages are touched
            // (the mapping is populated at once, which touches every page).
            Err(Errno::OPNOTSUPP) => self.file.set_len(len).map_err(io(&self.path)),
            Err(e) => Err(io(&self.path)(e.into())),
        }
    }

    /// Gives the ring the name `target` if no file has it: [`Error::AlreadyExists`] otherwise.
    pub(crate) fn link_to(self, target: &Path) -> Result<()> {
        match rustix::fs::linkat(CWD, &self.path, CWD, target, rustix::fs::AtFlags::empty()) {
            Ok(()) => Ok(()),
            Err(Errno::EXIST) => Err(Error::AlreadyExists {
                path: target.to_path_buf(),
            }),
            Err(e) => Err(io(target)(e.into())),
        }
        // Dropping `self` removes the temporary name; the ring keeps `target`.
    }

    /// Gives the ring the name `target`, replacing whatever file has it, atomically.
    pub(crate) fn rename_to(mut self, target: &Path) -> Result<()> {
        rustix::fs::renameat(CWD, &self.path, CWD, target).map_err(|e| io(target)(e.into()))?;
        self.gone = true;
        Ok(())
    }

    fn remove(&mut self) {
        if !self.gone {
            let _ = std::fs::remove_file(&self.path);
            self.gone = true;
        }
    }
}

impl Drop for TempRing {
    fn drop(&mut self) {
        self.remove();
    }
}

//! A look at a ring without the right to change it: what `inspect` and `list` need, for any user
//! who may read the file.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::layout::{Geometry, Header};
use crate::mem::RingMem;
use crate::region::{Access, Schema, Shared};
use crate::stats::{Participant, RingStats};

/// A ring file mapped read-only: header, counters and who is attached, and nothing else.
///
/// The file is opened for reading and its pages are mapped without write permission, so a
/// `RingView` works on a ring the caller may only read (mode 0444, or 0644 and another user's),
/// and nothing done through it can write the region: it hands out no producer or consumer, and
/// it tells live participants by a lock test, which needs no write access. Every value is a
/// snapshot, as for [`Ring::stats`](crate::Ring::stats).
///
/// ```
/// use ringflow::{ProducerOptions, Ring, RingConfig, RingView};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("ring");
/// let ring = Ring::create(&path, &RingConfig::new(4, 16))?;
/// ring.producer(ProducerOptions::default())?.push(b"hi")?;
/// let view = RingView::open(&path)?;
/// assert_eq!((view.capacity(), view.stats().published), (4, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RingView {
    shared: std::sync::Arc<Shared>,
}

impl std::fmt::Debug for RingView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingView")
            .field("path", &self.shared.path())
            .field("geometry", self.shared.geometry())
            .finish()
    }
}

impl RingView {
    /// Opens the ring file at `path` for reading only, validating it as
    /// [`Ring::open`](crate::Ring::open) does before anything else is read.
    pub fn open(path: impl AsRef<Path>) -> Result<RingView> {
        let path = path.as_ref();
        // Non-blocking: opening a FIFO for reading would otherwise wait for a writer for ever;
        // opened at once, it is then refused as not a regular file. (The flag changes nothing
        // for a regular file's mapping or locks.)
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(RingView {
            shared: std::sync::Arc::new(Shared::open_file(&file, path, Access::ReadOnly)?),
        })
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        self.shared.header()
    }

    /// The validated layout.
    pub fn geometry(&self) -> &Geometry {
        self.shared.geometry()
    }

    /// The frame schema from the header.
    pub fn schema(&self) -> Schema {
        Schema::of(self.shared.header())
    }

    /// Whether the ring was created overwritable.
    pub fn is_overwritable(&self) -> bool {
        self.shared.overwritable()
    }

    /// Payload bytes one slot holds.
    pub fn slot_size(&self) -> usize {
        self.shared.slot_payload()
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.shared.geometry().slot_count as usize
    }

    /// The ring file.
    pub fn path(&self) -> &Path {
        self.shared.path().expect("a view is of a file")
    }

    /// A snapshot of every cursor and counter, with each participant's liveness.
    pub fn stats(&self) -> RingStats {
        RingStats::read(&*self.shared)
    }

    /// The live processes attached as producers or registered as consumers
    /// ([`Ring::live_participants`](crate::Ring::live_participants)).
    pub fn live_participants(&self) -> Vec<Participant> {
        crate::stats::live_participants(&*self.shared)
    }

    /// The pid of the process that replaced this ring at its path, if one did.
    pub fn replaced_by(&self) -> Option<u32> {
        self.shared.replaced_by()
    }

    /// Bytes of the mapping.
    pub fn region_len(&self) -> usize {
        self.shared.geometry().total_len as usize
    }
}

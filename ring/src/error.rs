//! Errors: one typed enum for everything a ring operation can refuse, and `PushError` to give a
//! refused frame back.

use std::path::PathBuf;

use crate::layout::LayoutError;

/// Why a ring operation failed.
///
/// Not `#[non_exhaustive]`: the engine's `ErrorKind` table matches every variant without a
/// wildcard, so a new variant is a compile error until it is given its C status, Kotlin class
/// and exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The region's bytes do not describe a valid ring (bad magic, version, sizes, truncation).
    #[error("invalid ring region: {0}")]
    Layout(#[from] LayoutError),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A replace found something at the path that is not a regular file (a FIFO, socket,
    /// device or directory): it is never a ring, and is never replaced.
    #[error("{} is {what}, not a regular file: only a file is replaced by a ring", .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What is there: "a FIFO", "a socket", "a character device", "a block device", "a
        /// directory" or "of an unknown kind".
        what: &'static str,
    },
    /// `create` found a file at the path already.
    #[error("{path} already exists (open it, or create with replace)")]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// Every producer detached cleanly and every committed frame has been read.
    #[error("the ring is closed: no producer is attached and no frame is left")]
    Closed,
    /// The producer process died (pid gone) with nothing left to read.
    #[error("producer process {pid} is gone")]
    ProducerGone {
        /// The dead producer's pid.
        pid: u32,
    },
    /// No producer is left, but frame `seq` was never committed while later ones were: a producer
    /// claimed it and died before committing it, and the hole could not be repaired (only rings
    /// with exact liveness, file-backed ones this process can lock, are: elsewhere a dead pid
    /// may be a live process in another pid namespace). The frames after it are not delivered;
    /// the reader must not report a clean end.
    #[error("frame {seq} was claimed by a producer that ended without committing it; {unread} frames committed after it are not delivered")]
    Abandoned {
        /// The frame that was never committed.
        seq: u64,
        /// Frames published after it that the reader will not get.
        unread: u64,
    },
    /// A producer evicted this consumer (its heartbeat was stale), or its block was reused.
    #[error("consumer {index} was evicted by a producer")]
    Evicted {
        /// The consumer block index.
        index: usize,
    },
    /// A live consumer (of process `pid`) owns the consumer name asked for, or another process
    /// was taking a name throughout (`pid` 0).
    #[error("consumer name {name:?} is taken by process {pid}")]
    NameTaken {
        /// The name.
        name: String,
        /// The owner's pid (0: another process held the ring's naming lock).
        pid: u32,
    },
    /// A slot holds a value no producer writes: reported, never trusted.
    #[error("corrupt slot for frame {seq}: {detail}")]
    Corrupt {
        /// The frame's sequence number.
        seq: u64,
        /// What is wrong.
        detail: String,
    },
    /// Every consumer block is taken by a live consumer.
    #[error("all {max} consumer blocks are in use")]
    NoConsumerSlot {
        /// `max_consumers` of the ring.
        max: usize,
    },
    /// A single-producer ring already has a live producer.
    #[error("the ring is single-producer and process {pid} is attached as its producer")]
    ProducerBusy {
        /// The attached producer's pid.
        pid: u32,
    },
    /// Every producer table entry is taken by a live producer.
    #[error("all {max} producer entries are in use")]
    TooManyProducers {
        /// `MAX_PRODUCERS`.
        max: usize,
    },
    /// An `overwrite` producer asked to attach to a ring created without
    /// [`RingConfig::overwritable`](crate::RingConfig::overwritable).
    #[error("the ring was not created overwritable: an `overwrite` producer may not attach (create it with overwrite allowed)")]
    NotOverwritable,
    /// The ring is full and the producer's policy is `fail`.
    #[error("the ring is full")]
    Full,
    /// A wait passed its timeout.
    #[error("timed out")]
    Timeout,
    /// A frame from `poll_held` is still held: release it before reading on.
    #[error("frame {seq} is still held: release it before the next read")]
    FrameHeld {
        /// The held frame.
        seq: u64,
    },
    /// An argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The filesystem cannot hold the ring: `create` allocates every page before the ring gets
    /// its name, so a ring that does not fit fails here instead of raising SIGBUS later.
    #[error("no space left on {}: the ring needs {needed} bytes, {free} are free", .dir.display())]
    NoSpace {
        /// The directory the ring was to be created in.
        dir: PathBuf,
        /// Bytes of the ring.
        needed: u64,
        /// Bytes free there (`statvfs`, available to unprivileged users), after cleaning up.
        free: u64,
    },
    /// A replace that spares live rings found processes still using the ring at the path.
    #[error("{} is in use by live processes: {}", .path.display(), crate::stats::list(.participants))]
    InUse {
        /// The ring file.
        path: PathBuf,
        /// Who uses it.
        participants: Vec<crate::stats::Participant>,
    },
    /// A new ring was created in place of this one (`create_or_replace`): the path now names
    /// another ring, and frames written here reach no one who opens it.
    #[error(
        "the ring was replaced by process {by}: its path now names a new ring (open it again)"
    )]
    Replaced {
        /// Pid of the replacing process.
        by: u32,
    },
    /// `open_or_create` found a ring at the path (another creator won the race) whose shape
    /// differs from the one asked for.
    #[error("{} exists with another shape: {detail}", .path.display())]
    Mismatch {
        /// The ring file.
        path: PathBuf,
        /// Each field that differs, found and asked for.
        detail: String,
    },
}

/// Why a read failed: `poll`, `recv`, `read_into`, `recv_into`, the batch calls, `poll_held`,
/// `wait` and `check_producer` of every consumer handle. Only what a read can meet (the wide
/// [`Error`] is for `open`, `create` and registration); each converts into the `Error` variant
/// of the same name, so `?` works in functions that return [`Error`].
#[derive(Debug, thiserror::Error)]
pub enum RecvError {
    /// The wait passed its timeout.
    #[error("timed out")]
    Timeout,
    /// Every producer detached cleanly and every committed frame has been read.
    #[error("the ring is closed: no producer is attached and no frame is left")]
    Closed,
    /// Every attached producer's process died, and every frame they committed has been read.
    #[error("producer process {pid} is gone")]
    ProducerGone {
        /// The dead producer's pid.
        pid: u32,
    },
    /// No producer is left and frame `seq` was never committed while later ones were, on a ring
    /// whose holes cannot be repaired (see [`Error::Abandoned`]).
    #[error("frame {seq} was claimed by a producer that ended without committing it; {unread} frames committed after it are not delivered")]
    Abandoned {
        /// The frame that was never committed.
        seq: u64,
        /// Frames published after it that the reader will not get.
        unread: u64,
    },
    /// A producer evicted this consumer: it no longer sees every frame.
    #[error("consumer {index} was evicted by a producer")]
    Evicted {
        /// The consumer block index.
        index: usize,
    },
    /// A new ring was created at this ring's path by process `by`: no frame will come here.
    #[error("the ring was replaced by a new one (created by process {by}): no frame will come to this one")]
    Replaced {
        /// Pid of the replacing process.
        by: u32,
    },
    /// A slot holds what no producer writes: reported, never trusted.
    #[error("corrupt slot for frame {seq}: {detail}")]
    Corrupt {
        /// The frame's sequence number.
        seq: u64,
        /// What is wrong.
        detail: String,
    },
    /// A frame from `poll_held` is still held: release it before reading on.
    #[error("frame {seq} is still held: release it before the next read")]
    FrameHeld {
        /// The held frame.
        seq: u64,
    },
    /// An argument is out of range (a buffer shorter than the frame, a batch of 0).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl From<RecvError> for Error {
    fn from(e: RecvError) -> Error {
        match e {
            RecvError::Timeout => Error::Timeout,
            RecvError::Closed => Error::Closed,
            RecvError::ProducerGone { pid } => Error::ProducerGone { pid },
            RecvError::Abandoned { seq, unread } => Error::Abandoned { seq, unread },
            RecvError::Evicted { index } => Error::Evicted { index },
            RecvError::Replaced { by } => Error::Replaced { by },
            RecvError::Corrupt { seq, detail } => Error::Corrupt { seq, detail },
            RecvError::FrameHeld { seq } => Error::FrameHeld { seq },
            RecvError::InvalidArgument(m) => Error::InvalidArgument(m),
        }
    }
}

/// Why a claim failed: `claim`, `claim_batch`, `push`. The frame is not written.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The ring is full and the producer's policy is `fail`.
    #[error("the ring is full")]
    Full,
    /// The producer's policy is `block` and its timeout passed.
    #[error("timed out waiting for space")]
    Timeout,
    /// A new ring was created at this ring's path by process `by`.
    #[error("the ring was replaced by a new one (created by process {by})")]
    Replaced {
        /// Pid of the replacing process.
        by: u32,
    },
    /// An argument is out of range (a batch of 0 or more than the ring, a frame larger than a
    /// slot).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl From<ClaimError> for Error {
    fn from(e: ClaimError) -> Error {
        match e {
            ClaimError::Full => Error::Full,
            ClaimError::Timeout => Error::Timeout,
            ClaimError::Replaced { by } => Error::Replaced { by },
            ClaimError::InvalidArgument(m) => Error::InvalidArgument(m),
        }
    }
}

/// `release_held` was given a frame this consumer is not holding (another consumer's, or not the
/// one it handed out last): nothing moved, and the frame is given back.
#[cfg(not(loom))]
#[derive(Debug, thiserror::Error)]
#[error("frame {} is not the frame this consumer holds ({})", .frame.info().seq, match .held { Some(h) => format!("it holds frame {h}"), None => "it holds none".to_string() })]
pub struct ReleaseError {
    /// The frame offered, to release through the consumer that handed it out.
    pub frame: crate::HeldFrame,
    /// The frame this consumer holds, if any.
    pub held: Option<u64>,
}

/// A frame the ring refused, given back with the reason (as `rtrb::PushError` does).
#[derive(thiserror::Error)]
pub enum PushError<T> {
    /// The ring is full and the producer's policy is `fail`.
    #[error("the ring is full")]
    Full(T),
    /// The producer's policy is `block` and its timeout passed.
    #[error("timed out waiting for space")]
    Timeout(T),
    /// The ring was replaced by the process with this pid ([`Error::Replaced`]).
    #[error("the ring was replaced by process {1}")]
    Replaced(T, u32),
}

// By hand, so the refused value (often a closure) need not be `Debug`.
impl<T> std::fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::Full(_) => f.write_str("Full(..)"),
            PushError::Timeout(_) => f.write_str("Timeout(..)"),
            PushError::Replaced(_, by) => write!(f, "Replaced(.., {by})"),
        }
    }
}

impl<T> PushError<T> {
    /// The refused frame.
    pub fn into_inner(self) -> T {
        match self {
            PushError::Full(t) | PushError::Timeout(t) | PushError::Replaced(t, _) => t,
        }
    }
}

/// Shorthand for results of ring operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

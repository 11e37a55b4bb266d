//! Engine errors: ring errors, handle misuse, I/O, WAV files, and tasks that panicked.

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The ring refused.
    #[error(transparent)]
    Ring(#[from] ringflow::Error),
    /// No live entry has this handle (never issued, or already released).
    #[error("unknown or stale handle {0}")]
    UnknownHandle(u64),
    /// The handle names another kind of entry.
    #[error("handle {handle} is a {found}, not a {expected}")]
    WrongKind {
        /// The handle.
        handle: u64,
        /// What it is.
        found: &'static str,
        /// What the call needs.
        expected: &'static str,
    },
    /// The shared runtime was already built with another configuration.
    #[error("the shared runtime is already initialized")]
    AlreadyInitialized,
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file is not a WAV file this engine reads, or a WAV file cannot grow further.
    #[error("{path}: {reason}")]
    Wav {
        /// The file.
        path: String,
        /// Why, in one sentence.
        reason: String,
    },
    /// An argument is out of range or does not fit the ring.
    #[error("{0}")]
    InvalidArgument(String),
    /// A source or sink panicked; its task ended, nothing else did.
    #[error("task panicked: {0}")]
    Panicked(String),
    /// The task was cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// What kind of failure an error is, one meaning each: the key of the one table ([`Boundary`])
/// that gives every failure its C status, its Kotlin exception class and its CLI exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A wait passed its timeout.
    Timeout,
    /// Every producer detached and every frame was read (or the handle was closed).
    Closed,
    /// The producer's process died with nothing left to read.
    ProducerGone,
    /// No producer is left and a frame was never committed while later ones were: the frames
    /// after the hole are not delivered.
    Abandoned,
    /// A new ring was created at the ring's path: nothing more will come through this one.
    Replaced,
    /// A producer evicted this consumer (it held the producer back with a stale heartbeat, or
    /// its process died): it no longer sees every frame. (Not "lapped": a lossy reader that is
    /// lapped goes on and counts what it lost; that is no error.)
    Evicted,
    /// The file is not a valid ring, or a slot holds what no producer writes.
    Corrupt,
    /// The ring is full and the producer's policy is `fail`.
    Full,
    /// An argument is out of range or does not fit the ring (including an `overwrite` producer
    /// on a ring not created overwritable, and a read while a held frame is not released).
    BadArgument,
    /// Every consumer block or producer entry is taken by a live process, or a ring to replace
    /// is in use.
    Busy,
    /// `create` found a file at the path.
    AlreadyExists,
    /// A file or WAV file could not be read or written (including: no space left for a ring).
    Io,
    /// No live entry has this handle (never issued, made up, or stale).
    UnknownHandle,
    /// The task was cancelled.
    Cancelled,
    /// A source, sink or call panicked; nothing else was affected.
    Panicked,
    /// The shared runtime was already built with another configuration.
    AlreadyInitialized,
}

/// What a failure of one [`ErrorKind`] is at each boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boundary {
    /// The C ABI's status (`RF_*` in `ringflow.h`).
    pub c_status: i32,
    /// That status's name in `ringflow.h`.
    pub c_name: &'static str,
    /// The Kotlin exception class thrown through JNI (JNI class name).
    pub kotlin_class: &'static str,
    /// The `ringflow` CLI's exit code: 1 the job failed, 2 bad usage or bad input.
    pub exit_code: u8,
}

impl ErrorKind {
    /// Every kind, for tests that hold the other languages against the table.
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::Timeout,
        ErrorKind::Abandoned,
        ErrorKind::Replaced,
        ErrorKind::Closed,
        ErrorKind::ProducerGone,
        ErrorKind::Evicted,
        ErrorKind::Corrupt,
        ErrorKind::Full,
        ErrorKind::BadArgument,
        ErrorKind::Busy,
        ErrorKind::AlreadyExists,
        ErrorKind::Io,
        ErrorKind::UnknownHandle,
        ErrorKind::Cancelled,
        ErrorKind::Panicked,
        ErrorKind::AlreadyInitialized,
    ];

    /// The one table: what this kind is in C, in Kotlin and as an exit code.
    pub const fn boundary(self) -> Boundary {
        const fn row(
            c_status: i32,
            c_name: &'static str,
            kotlin: &'static str,
            exit_code: u8,
        ) -> Boundary {
            Boundary {
                c_status,
                c_name,
                kotlin_class: kotlin,
                exit_code,
            }
        }
        match self {
            ErrorKind::Timeout => row(1, "RF_TIMEOUT", "dev/ringflow/RingTimeoutException", 1),
            ErrorKind::Closed => row(2, "RF_CLOSED", "dev/ringflow/RingClosedException", 1),
            ErrorKind::ProducerGone => row(
                3,
                "RF_PRODUCER_GONE",
                "dev/ringflow/ProducerGoneException",
                1,
            ),
            ErrorKind::Corrupt => row(4, "RF_CORRUPT", "dev/ringflow/RingCorruptException", 2),
            ErrorKind::Full => row(5, "RF_FULL", "dev/ringflow/RingFullException", 1),
            ErrorKind::Evicted => row(6, "RF_EVICTED", "dev/ringflow/EvictedException", 1),
            ErrorKind::BadArgument => {
                row(7, "RF_BAD_ARGUMENT", "dev/ringflow/BadArgumentException", 2)
            }
            ErrorKind::UnknownHandle => row(
                8,
                "RF_UNKNOWN_HANDLE",
                "dev/ringflow/StaleHandleException",
                2,
            ),
            ErrorKind::Panicked => row(10, "RF_PANIC", "dev/ringflow/RingException", 1),
            ErrorKind::Cancelled => {
                row(11, "RF_CANCELLED", "dev/ringflow/RingCancelledException", 1)
            }
            ErrorKind::Io => row(12, "RF_IO", "dev/ringflow/RingIoException", 2),
            ErrorKind::Busy => row(14, "RF_BUSY", "dev/ringflow/RingBusyException", 2),
            ErrorKind::AlreadyExists => row(15, "RF_EXISTS", "dev/ringflow/RingExistsException", 2),
            ErrorKind::Replaced => row(18, "RF_REPLACED", "dev/ringflow/RingReplacedException", 1),
            ErrorKind::Abandoned => row(
                17,
                "RF_ABANDONED",
                "dev/ringflow/AbandonedFrameException",
                1,
            ),
            ErrorKind::AlreadyInitialized => row(
                16,
                "RF_ALREADY_INITIALIZED",
                "dev/ringflow/RingException",
                1,
            ),
        }
    }
}

impl EngineError {
    /// What kind of failure this is (see [`ErrorKind::boundary`] for what it is at each
    /// boundary). Exhaustive over every engine and ring error: no wildcard.
    pub fn kind(&self) -> ErrorKind {
        use ringflow::Error as R;
        match self {
            EngineError::Ring(e) => match e {
                R::Layout(_) | R::Corrupt { .. } => ErrorKind::Corrupt,
                R::Io { .. } => ErrorKind::Io,
                R::AlreadyExists { .. } => ErrorKind::AlreadyExists,
                R::Closed => ErrorKind::Closed,
                R::ProducerGone { .. } => ErrorKind::ProducerGone,
                R::Abandoned { .. } => ErrorKind::Abandoned,
                R::Replaced { .. } => ErrorKind::Replaced,
                R::NoSpace { .. } => ErrorKind::Io,
                R::InUse { .. } => ErrorKind::Busy,
                R::Mismatch { .. } | R::NotAFile { .. } => ErrorKind::BadArgument,
                R::Evicted { .. } => ErrorKind::Evicted,
                R::NoConsumerSlot { .. }
                | R::ProducerBusy { .. }
                | R::TooManyProducers { .. }
                | R::NameTaken { .. } => ErrorKind::Busy,
                R::NotOverwritable | R::FrameHeld { .. } | R::InvalidArgument(_) => {
                    ErrorKind::BadArgument
                }
                R::Full => ErrorKind::Full,
                R::Timeout => ErrorKind::Timeout,
            },
            EngineError::UnknownHandle(_) | EngineError::WrongKind { .. } => {
                ErrorKind::UnknownHandle
            }
            EngineError::AlreadyInitialized => ErrorKind::AlreadyInitialized,
            EngineError::Io { .. } | EngineError::Wav { .. } => ErrorKind::Io,
            EngineError::InvalidArgument(_) => ErrorKind::BadArgument,
            EngineError::Panicked(_) => ErrorKind::Panicked,
            EngineError::Cancelled => ErrorKind::Cancelled,
        }
    }
}

impl From<ringflow::RecvError> for EngineError {
    fn from(e: ringflow::RecvError) -> Self {
        EngineError::Ring(e.into())
    }
}

impl From<ringflow::ClaimError> for EngineError {
    fn from(e: ringflow::ClaimError) -> Self {
        EngineError::Ring(e.into())
    }
}

/// Shorthand for engine results.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

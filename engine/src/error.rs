//! Engine errors: ring errors, handle misuse, I/O, WAV files, and tasks that panicked.

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// A WAV file could not be read or written.
    #[error("{path}: {source}")]
    Wav {
        /// The file.
        path: String,
        /// What hound said.
        source: hound::Error,
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

/// Shorthand for engine results.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

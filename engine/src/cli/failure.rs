//! A failed command: its message and exit status.

use ringflow_engine::EngineError;

/// A failure, with the exit status it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    pub(crate) fn job(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        // The exit code is the error kind's row of the one error table: 2 for bad usage or
        // bad input (a file that is not a ring, sizes out of range, a missing file), else 1.
        Failure {
            code: e.kind().boundary().exit_code,
            message: e.to_string(),
        }
    }
}

impl From<ringflow::Error> for Failure {
    fn from(e: ringflow::Error) -> Self {
        EngineError::from(e).into()
    }
}

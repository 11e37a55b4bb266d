//! `ringflow rm PATH...`: removes rings, refusing (one line each) a ring that live processes
//! use unless `--force`, and any file that is not a ring.

use std::path::PathBuf;

use clap::Args;
use ringflow::Ring;

use super::Failure;

#[derive(Args)]
pub(crate) struct RmArgs {
    /// Ring files to remove.
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
    /// Remove rings even if live processes use them (they keep their mapping; nothing new can
    /// open it).
    #[arg(long)]
    pub(crate) force: bool,
}

/// Removes each ring; the exit code is that of the first refusal (2 for a live ring, a missing
/// file or a file that is no ring), after trying every path.
pub(crate) fn rm(a: RmArgs) -> Result<u8, Failure> {
    let mut code = 0;
    for path in &a.paths {
        let result = if a.force {
            Ring::remove(path)
        } else {
            Ring::remove_idle(path)
        };
        let refusal: Failure = match result {
            Ok(()) => continue,
            Err(e @ ringflow::Error::InUse { .. }) => {
                Failure::usage(format!("{e}; give --force to remove it anyway"))
            }
            Err(e @ (ringflow::Error::Layout(_) | ringflow::Error::Corrupt { .. })) => {
                Failure::usage(format!("{}: not a ring ({e}); left alone", path.display()))
            }
            Err(e) => e.into(),
        };
        eprintln!("ringflow: {}", refusal.message);
        if code == 0 {
            code = refusal.code;
        }
    }
    Ok(code)
}

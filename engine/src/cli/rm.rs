//! `ringflow rm PATH...`: removes rings (and a pull bridge's `PATH.bridge-pull` state file
//! with each), refusing (one line each) a ring that live processes use unless `--force`, and
//! any file that is not a ring. `ringflow rm --consumer NAME PATH...`
//! removes a durable named consumer from each ring instead (`Ring::forget_consumer`).

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
    /// Remove the durable named consumer NAME from each ring (the ring stays), so its cursor no
    /// longer holds producers back; refused while a live process owns it unless --force (which
    /// evicts it).
    #[arg(long, value_name = "NAME")]
    pub(crate) consumer: Option<String>,
}

/// Removes each ring; the exit code is that of the first refusal (2 for a live ring, a missing
/// file or a file that is no ring), after trying every path.
pub(crate) fn rm(a: RmArgs) -> Result<u8, Failure> {
    if let Some(name) = &a.consumer {
        return Ok(forget(name, &a));
    }
    let mut code = 0;
    for path in &a.paths {
        let result = if a.force {
            Ring::remove(path)
        } else {
            Ring::remove_idle(path)
        };
        let refusal: Failure = match result {
            // The pull bridge's record of which stream the ring's frames came from goes with
            // the ring.
            Ok(()) => match ringflow_engine::bridge::pull::remove_state(path) {
                Ok(()) => continue,
                Err(source) => Failure::from(ringflow::Error::Io {
                    path: ringflow_engine::bridge::pull::state_path(path),
                    source,
                }),
            },
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

/// Forgets consumer `name` in each ring; the exit code is that of the first refusal (2: no such
/// consumer, a live owner without `--force`, a bad name or a file that is no ring), after
/// trying every path.
fn forget(name: &str, a: &RmArgs) -> u8 {
    let mut code = 0;
    for path in &a.paths {
        let result = Ring::open(path).and_then(|ring| ring.forget_consumer(name, a.force));
        let refusal: Failure = match result {
            Ok(true) => continue,
            Ok(false) => Failure::usage(format!("{}: no consumer named {name:?}", path.display())),
            Err(e @ ringflow::Error::NameTaken { .. }) => {
                Failure::usage(format!("{}: {e}; give --force to evict it", path.display()))
            }
            Err(e) => e.into(),
        };
        eprintln!("ringflow: {}", refusal.message);
        if code == 0 {
            code = refusal.code;
        }
    }
    code
}

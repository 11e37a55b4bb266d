//! `ringflow create`.

use std::path::PathBuf;

use clap::Args;
use ringflow::Ring;
use ringflow_engine::stats;

use super::ring_args::{ring_config, RingArgs};
use super::Failure;

#[derive(Args)]
pub(crate) struct CreateArgs {
    pub(crate) path: PathBuf,
    #[command(flatten)]
    pub(crate) ring: RingArgs,
    /// Replace an existing file, unless live processes use the ring in it (give it twice to
    /// replace a live ring: its producers and consumers then end with "replaced").
    #[arg(long, action = clap::ArgAction::Count)]
    pub(crate) force: u8,
    /// Replace an existing file even if live processes use the ring in it (`--force --force`).
    #[arg(long)]
    pub(crate) replace_live: bool,
    /// Print the ring as one JSON line.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn create(a: CreateArgs) -> Result<u8, Failure> {
    let config = ring_config(&a.ring, a.ring.schema()?)?;
    if a.path.is_dir() {
        return Err(Failure::usage(format!(
            "{} is a directory: give the path of a ring file",
            a.path.display()
        )));
    }
    // `--force` replaces a file (a ring, or what is left of one); a FIFO, socket or device at
    // the path (`/dev/null` run as root, say) is never a ring, and is never replaced.
    if std::fs::metadata(&a.path).is_ok_and(|m| !m.is_file()) {
        return Err(Failure::usage(format!(
            "{} is not a regular file (a FIFO, socket or device): give the path of a ring file",
            a.path.display()
        )));
    }
    let ring = match (a.force, a.replace_live) {
        (0, false) => Ring::create(&a.path, &config).map_err(|e| match e {
            ringflow::Error::AlreadyExists { path } => Failure::usage(format!(
                "{} already exists: give --force to replace it",
                path.display()
            )),
            e => e.into(),
        })?,
        (1, false) => Ring::create_or_replace_idle(&a.path, &config).map_err(|e| match e {
            ringflow::Error::InUse { .. } => Failure::usage(format!(
                "{e}; give --force twice (or --replace-live) to replace it anyway"
            )),
            e => e.into(),
        })?,
        _ => Ring::create_or_replace(&a.path, &config)?,
    };
    if a.json {
        println!("{}", stats::ring_json(&ring));
    } else {
        println!(
            "created {}: {} slots of {} bytes, {} consumers, {} bytes",
            a.path.display(),
            ring.capacity(),
            ring.slot_size(),
            ring.header().max_consumers,
            ring.region_len()
        );
    }
    Ok(0)
}

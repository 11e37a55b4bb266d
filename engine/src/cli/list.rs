//! `ringflow list [DIR]`: every ring in a directory (`/dev/shm` by default), with its schema,
//! size and whether any live process is attached. Files that are not rings are skipped (or, with
//! `--all`, listed as such); nothing in the directory can make the command fail but the directory
//! itself.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use ringflow::{RingView, Role};
use ringflow_engine::stats;

use super::inspect::schema_words;
use super::Failure;

#[derive(Args)]
pub(crate) struct ListArgs {
    /// The directory to look in.
    #[arg(default_value = "/dev/shm")]
    pub(crate) dir: PathBuf,
    /// Also list the files that are not rings, and why.
    #[arg(long)]
    pub(crate) all: bool,
    /// One JSON object per file (JSON Lines).
    #[arg(long)]
    pub(crate) json: bool,
}

/// What one directory entry turned out to be.
enum Entry {
    Ring(Box<RingView>),
    NotARing(String),
}

pub(crate) fn list(a: ListArgs) -> Result<u8, Failure> {
    let entries = std::fs::read_dir(&a.dir)
        .map_err(|e| Failure::usage(format!("{}: {e}", a.dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut rows = Vec::new();
    for path in paths {
        let entry = look(&path);
        if matches!(entry, Entry::NotARing(_)) && !a.all {
            continue;
        }
        rows.push((path, entry));
    }
    if a.json {
        for (path, entry) in &rows {
            println!("{}", json(path, entry));
        }
        return Ok(0);
    }
    if rows.is_empty() {
        println!("no rings in {}", a.dir.display());
        return Ok(0);
    }
    println!("{:<40} {:>14} {:<24} schema", "path", "slots", "attached");
    for (path, entry) in &rows {
        match entry {
            Entry::Ring(view) => println!(
                "{:<40} {:>14} {:<24} {}",
                path.display(),
                format!("{} x {}", view.capacity(), view.slot_size()),
                attached(view),
                schema_words(view.schema())
            ),
            Entry::NotARing(why) => {
                println!(
                    "{:<40} {:>14} {:<24} not a ring: {why}",
                    path.display(),
                    "-",
                    "-"
                )
            }
        }
    }
    Ok(0)
}

/// Opens `path` as a ring if it is one. Only regular files are opened (a FIFO would block the
/// open), and their first eight bytes are read before anything is mapped, so a large file that
/// is no ring costs one small read.
fn look(path: &Path) -> Entry {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Entry::NotARing(e.to_string()),
    };
    if !meta.is_file() {
        return Entry::NotARing(
            if meta.is_dir() {
                "a directory"
            } else {
                "not a regular file"
            }
            .into(),
        );
    }
    let mut magic = [0u8; 8];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    if let Err(e) = read {
        return Entry::NotARing(match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "shorter than a ring header".into(),
            _ => e.to_string(),
        });
    }
    if u64::from_le_bytes(magic) != ringflow::layout::MAGIC {
        return Entry::NotARing("no ringflow magic".into());
    }
    match RingView::open(path) {
        Ok(view) => Entry::Ring(Box::new(view)),
        Err(e) => Entry::NotARing(e.to_string()),
    }
}

/// `no`, or who is attached: `1 producer, 2 consumers`.
fn attached(view: &RingView) -> String {
    let live = view.live_participants();
    let producers = live.iter().filter(|p| p.role == Role::Producer).count();
    let consumers = live.len() - producers;
    if live.is_empty() {
        return "no".into();
    }
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (producers, consumers) {
        (0, c) => plural(c, "consumer"),
        (p, 0) => plural(p, "producer"),
        (p, c) => format!("{}, {}", plural(p, "producer"), plural(c, "consumer")),
    }
}

fn json(path: &Path, entry: &Entry) -> serde_json::Value {
    match entry {
        Entry::Ring(view) => {
            let live = view.live_participants();
            serde_json::json!({
                "path": path.display().to_string(),
                "ring": true,
                "schema": stats::schema_json(view.schema()),
                "slots": view.capacity(),
                "slot_size": view.slot_size(),
                "attached": !live.is_empty(),
                "live_producers": live.iter().filter(|p| p.role == Role::Producer).count(),
                "live_consumers": live.iter().filter(|p| p.role == Role::Consumer).count(),
            })
        }
        Entry::NotARing(why) => serde_json::json!({
            "path": path.display().to_string(),
            "ring": false,
            "why": why,
        }),
    }
}

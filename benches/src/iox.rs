//! A place of its own for each run of iceoryx2 in the benches, removed afterwards.
//!
//! iceoryx2 0.10 keeps node and service records under its root path (`/tmp/iceoryx2/` by
//! default) and its shared memory in `/dev/shm`, every file named with its prefix (`iox2_` by
//! default); the directories stay after every node is gone, and a process that ends early leaves
//! its files. A [`IoxScope`] gives one run a root path and a prefix that name it alone (this
//! process's pid and a counter), so every process of the run, the parent and the children it
//! passes [`IoxScope::spec`] to, meets in the same place, and dropping the parent's scope
//! removes exactly that run's files: no other run's, and nothing of another user of iceoryx2 on
//! the machine.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use iceoryx2::prelude::*;

/// Where iceoryx2 puts its shared memory (POSIX `shm_open` on Linux).
const SHM_DIR: &str = "/dev/shm";

/// An iceoryx2 configuration private to one run; the owner's drop removes its files.
pub struct IoxScope {
    config: Config,
    root: PathBuf,
    prefix: String,
    /// Whether this process made the scope (and removes it on drop).
    owner: bool,
}

impl IoxScope {
    /// A new scope for a run of this process, under the system's temporary directory.
    pub fn new() -> IoxScope {
        // Relaxed: a unique number; nothing is ordered by it.
        static RUN: AtomicU32 = AtomicU32::new(0);
        let run = RUN.fetch_add(1, Ordering::Relaxed);
        let id = format!("rfxp{}x{run}", std::process::id());
        let root = std::env::temp_dir().join(format!("ringflow-iox-{id}"));
        Self::build(root, format!("iox2_{id}_"), true)
    }

    /// The scope a parent made, from its [`spec`](Self::spec): this process uses it and leaves
    /// its removal to the parent.
    pub fn join(spec: &str) -> IoxScope {
        let (root, prefix) = spec
            .split_once(' ')
            .unwrap_or_else(|| panic!("an iceoryx2 scope is `ROOT PREFIX`, got {spec:?}"));
        Self::build(PathBuf::from(root), prefix.to_string(), false)
    }

    fn build(root: PathBuf, prefix: String, owner: bool) -> IoxScope {
        let mut config = Config::default();
        // iceoryx2 joins the root path and its subdirectories by string: it ends with '/'.
        let root_text = format!("{}/", root.display());
        config
            .global
            .set_root_path(&iceoryx2::prelude::Path::new(root_text.as_bytes()).unwrap());
        config.global.prefix = FileName::new(prefix.as_bytes()).unwrap();
        IoxScope {
            config,
            root,
            prefix,
            owner,
        }
    }

    /// What a child passes to [`join`](Self::join): one line without newlines.
    pub fn spec(&self) -> String {
        format!("{} {}", self.root.display(), self.prefix)
    }

    /// A node of this scope; every service and port made from it stays in the scope.
    pub fn node(&self) -> Node<ipc::Service> {
        NodeBuilder::new()
            .config(&self.config)
            .create::<ipc::Service>()
            .unwrap()
    }

    /// The scope's files now: its shared-memory files and what is under its root path.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = names_in(Path::new(SHM_DIR), &self.prefix);
        if self.root.exists() {
            files.push(self.root.clone());
        }
        files
    }
}

impl Default for IoxScope {
    fn default() -> Self {
        IoxScope::new()
    }
}

/// The entries of `dir` whose names start with `prefix`.
fn names_in(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect()
}

impl Drop for IoxScope {
    /// The owner removes the scope's files (its children have ended by then: each run waits
    /// for its child). Best effort: a file already gone is fine.
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.root);
        for file in names_in(Path::new(SHM_DIR), &self.prefix) {
            let _ = std::fs::remove_file(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scope's node, service and ports put their files in the scope (so the cleanup has
    /// something to remove, and the default places get nothing), and its drop removes them all.
    #[test]
    fn a_scope_holds_its_runs_files_and_removes_them() {
        let scope = IoxScope::new();
        let other = IoxScope::new();
        assert_ne!(scope.spec(), other.spec(), "two runs share no place");
        {
            let node = scope.node();
            let service = node
                .service_builder(&"ringflow-iox-test".try_into().unwrap())
                .publish_subscribe::<u64>()
                .open_or_create()
                .unwrap();
            let publisher = service.publisher_builder().create().unwrap();
            let subscriber = service.subscriber_builder().create().unwrap();
            publisher.send_copy(7).unwrap();
            assert_eq!(*subscriber.receive().unwrap().unwrap().payload(), 7);
            let files = scope.files();
            assert!(files.contains(&scope.root), "{files:?}");
            assert!(
                files.iter().any(|f| f.starts_with(SHM_DIR)),
                "the shared memory is named with the scope's prefix: {files:?}"
            );
            // A child joining the scope meets the same service.
            let joined = IoxScope::join(&scope.spec());
            let peer = joined.node();
            peer.service_builder(&"ringflow-iox-test".try_into().unwrap())
                .publish_subscribe::<u64>()
                .open()
                .unwrap();
            drop(joined);
            assert!(scope.root.exists(), "a joined scope removes nothing");
        }
        let (root, prefix) = (scope.root.clone(), scope.prefix.clone());
        drop(scope);
        assert!(!root.exists(), "{root:?}");
        assert_eq!(names_in(Path::new(SHM_DIR), &prefix), Vec::<PathBuf>::new());
        drop(other);
    }
}

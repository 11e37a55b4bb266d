//! The one shared tokio runtime, built once: by `init` with a configuration, or on first use with
//! the defaults (two workers, as on a phone).

use std::sync::{Arc, OnceLock};

use tokio::runtime::{Builder, Runtime};

use crate::error::{EngineError, Result};

/// A hook run on every runtime thread (workers and blocking threads) as it starts or stops; the
/// JNI layer attaches and detaches threads with them.
pub type ThreadHook = Arc<dyn Fn() + Send + Sync>;

/// How the shared runtime is built.
#[derive(Clone)]
pub struct RuntimeConfig {
    /// Worker threads (2 by default).
    pub worker_threads: usize,
    /// Thread name prefix.
    pub thread_name: String,
    /// Stack size of each thread, if not tokio's default.
    pub stack_size: Option<usize>,
    /// Run on each thread as it starts.
    pub on_thread_start: Option<ThreadHook>,
    /// Run on each thread as it stops.
    pub on_thread_stop: Option<ThreadHook>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            worker_threads: 2,
            thread_name: "ringflow".into(),
            stack_size: None,
            on_thread_start: None,
            on_thread_stop: None,
        }
    }
}

impl std::fmt::Debug for RuntimeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeConfig")
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .field("stack_size", &self.stack_size)
            .finish_non_exhaustive()
    }
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

fn build(config: &RuntimeConfig) -> Runtime {
    let mut b = Builder::new_multi_thread();
    b.worker_threads(config.worker_threads.max(1))
        .thread_name(config.thread_name.clone())
        .enable_all();
    if let Some(size) = config.stack_size {
        b.thread_stack_size(size);
    }
    if let Some(hook) = config.on_thread_start.clone() {
        b.on_thread_start(move || hook());
    }
    if let Some(hook) = config.on_thread_stop.clone() {
        b.on_thread_stop(move || hook());
    }
    b.build().expect("building the tokio runtime")
}

/// Builds the shared runtime with `config`. Fails if it was already built.
pub fn init(config: RuntimeConfig) -> Result<&'static Runtime> {
    let mut fresh = false;
    let rt = RUNTIME.get_or_init(|| {
        fresh = true;
        build(&config)
    });
    if fresh {
        Ok(rt)
    } else {
        Err(EngineError::AlreadyInitialized)
    }
}

/// The shared runtime, built with the defaults if `init` was not called.
pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| build(&RuntimeConfig::default()))
}

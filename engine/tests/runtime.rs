//! The shared runtime: built once, with the configured threads and hooks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ringflow_engine::runtime::{self, RuntimeConfig};
use ringflow_engine::EngineError;

#[test]
fn the_runtime_is_built_once_with_its_hooks() {
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let config = RuntimeConfig {
        worker_threads: 3,
        thread_name: "rf-test".into(),
        on_thread_start: Some(Arc::new(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })),
        ..Default::default()
    };
    let rt = runtime::init(config).unwrap();
    let name = rt.block_on(async {
        tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap()
    });
    assert_eq!(name.as_deref(), Some("rf-test"));
    assert_eq!(rt.metrics().num_workers(), 3);
    assert!(started.load(Ordering::SeqCst) >= 1);
    assert!(std::ptr::eq(runtime::runtime(), rt));
    assert!(matches!(
        runtime::init(RuntimeConfig::default()),
        Err(EngineError::AlreadyInitialized)
    ));
}
